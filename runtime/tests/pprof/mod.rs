//! A reader of pprof profiles, written from `profile.proto` (github.com/google/pprof) and
//! protobuf's wire format, apart from the runtime's writer: what the tests decode
//! profiles with.

use std::collections::HashMap;

/// A field's value on the wire.
#[derive(Clone, Copy, Debug)]
enum Value<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
}

fn varint(b: &[u8], at: &mut usize) -> u64 {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = b[*at];
        *at += 1;
        v |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return v;
        }
    }
    panic!("a varint of more than ten bytes");
}

/// A message's fields in order.
fn fields(b: &[u8]) -> Vec<(u64, Value<'_>)> {
    let mut at = 0;
    let mut out = Vec::new();
    while at < b.len() {
        let key = varint(b, &mut at);
        let value = match key & 7 {
            0 => Value::Varint(varint(b, &mut at)),
            2 => {
                let n = varint(b, &mut at) as usize;
                at += n;
                Value::Bytes(&b[at - n..at])
            }
            wire => panic!("wire type {wire} is not one pprof uses"),
        };
        out.push((key >> 3, value));
    }
    out
}

fn get(fields: &[(u64, Value<'_>)], field: u64) -> u64 {
    fields
        .iter()
        .find_map(|&(f, v)| match (f == field, v) {
            (true, Value::Varint(n)) => Some(n),
            _ => None,
        })
        .unwrap_or(0)
}

fn all<'a>(fields: &[(u64, Value<'a>)], field: u64) -> Vec<&'a [u8]> {
    fields
        .iter()
        .filter_map(|&(f, v)| match (f == field, v) {
            (true, Value::Bytes(b)) => Some(b),
            _ => None,
        })
        .collect()
}

fn packed(b: &[u8]) -> Vec<u64> {
    let mut at = 0;
    let mut out = Vec::new();
    while at < b.len() {
        out.push(varint(b, &mut at));
    }
    out
}

/// A decoded profile: its sample types, and each sample's function names (innermost
/// first) with its values.
pub struct Profile {
    pub sample_types: Vec<(String, String)>,
    pub samples: Vec<(Vec<String>, Vec<u64>)>,
    pub period: u64,
    pub default_type: String,
}

pub fn decode(bytes: &[u8]) -> Profile {
    let top = fields(bytes);
    let strings: Vec<String> = all(&top, 6)
        .into_iter()
        .map(|s| String::from_utf8(s.to_vec()).expect("UTF-8 strings"))
        .collect();
    assert_eq!(
        strings.first().map(String::as_str),
        Some(""),
        "string 0 is empty"
    );
    let s = |i: u64| strings[i as usize].clone();
    let functions: HashMap<u64, String> = all(&top, 5)
        .into_iter()
        .map(|f| {
            let f = fields(f);
            (get(&f, 1), s(get(&f, 2)))
        })
        .collect();
    let locations: HashMap<u64, Vec<String>> = all(&top, 4)
        .into_iter()
        .map(|l| {
            let l = fields(l);
            let lines = all(&l, 4)
                .into_iter()
                .map(|line| functions[&get(&fields(line), 1)].clone())
                .collect();
            (get(&l, 1), lines)
        })
        .collect();
    let sample_types = all(&top, 1)
        .into_iter()
        .map(|vt| {
            let vt = fields(vt);
            (s(get(&vt, 1)), s(get(&vt, 2)))
        })
        .collect();
    let samples = all(&top, 2)
        .into_iter()
        .map(|sample| {
            let sample = fields(sample);
            let ids = packed(all(&sample, 1)[0]);
            let values = packed(all(&sample, 2)[0]);
            let names = ids.iter().flat_map(|id| locations[id].clone()).collect();
            (names, values)
        })
        .collect();
    Profile {
        sample_types,
        samples,
        period: get(&top, 12),
        default_type: s(get(&top, 14)),
    }
}
