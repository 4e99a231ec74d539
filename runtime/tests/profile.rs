//! The heap profile: sampled allocations by call stack, in pprof's protobuf format. The
//! profile is decoded here with a reader of protobuf's wire format written from the spec
//! (`profile.proto` of github.com/google/pprof), apart from the writer.

extern crate gomem_runtime as gomem;

use std::collections::HashMap;

use gomem::Gc;
use gomem_macros::Trace;

#[derive(Trace)]
struct Blob {
    bytes: [u64; 6],
}

#[inline(never)]
fn make_kept(i: u64) -> Gc<Blob> {
    Gc::new(Blob { bytes: [i; 6] })
}

#[inline(never)]
fn make_dropped(i: u64) -> Gc<Blob> {
    Gc::new(Blob { bytes: [i; 6] })
}

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
struct Profile {
    sample_types: Vec<(String, String)>,
    samples: Vec<(Vec<String>, Vec<u64>)>,
    period: u64,
    default_type: String,
}

fn decode(bytes: &[u8]) -> Profile {
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

fn profile() -> Profile {
    let mut out = Vec::new();
    gomem::write_heap_profile(&mut out).expect("writing to a Vec");
    decode(&out)
}

/// The values of the samples whose innermost frame is `name`, summed.
fn values_of(p: &Profile, name: &str) -> Vec<u64> {
    let mut sum = vec![0; 4];
    for (names, values) in &p.samples {
        if names.first().is_some_and(|n| n.ends_with(name)) {
            for (s, v) in sum.iter_mut().zip(values) {
                *s += v;
            }
        }
    }
    sum
}

#[test]
fn every_allocation_sampled_gives_exact_counts_by_call_stack() {
    gomem::set_mem_profile_rate(1);
    let size = gomem::stats().heap_bytes;
    let kept: Vec<Gc<Blob>> = (0..300).map(make_kept).collect();
    for i in 0..500 {
        drop(make_dropped(i));
    }
    let object = (gomem::stats().heap_bytes - size) as u64 / 300;
    let p = profile();
    gomem::set_mem_profile_rate(0);
    assert_eq!(
        p.sample_types,
        [
            ("alloc_objects", "count"),
            ("alloc_space", "bytes"),
            ("inuse_objects", "count"),
            ("inuse_space", "bytes")
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    assert_eq!((p.period, p.default_type.as_str()), (1, "inuse_space"));
    // The stacks start at the program's call of `Gc::new`: the runtime's own frames are cut.
    assert_eq!(
        values_of(&p, "profile::make_kept"),
        [300, 300 * object, 300, 300 * object]
    );
    assert_eq!(
        values_of(&p, "profile::make_dropped"),
        [500, 500 * object, 0, 0]
    );
    for (names, _) in &p.samples {
        assert!(
            !names[0].contains("gomem_runtime"),
            "a runtime frame at the top: {names:?}"
        );
        assert!(
            names.iter().any(|n| n.contains("every_allocation_sampled")),
            "the caller is on the stack: {names:?}"
        );
    }
    // Frees are counted, and samples keep the rate they were drawn at (1: exact counts)
    // after sampling is turned off.
    drop(kept);
    let after = profile();
    assert_eq!(
        values_of(&after, "profile::make_kept"),
        [300, 300 * object, 0, 0]
    );
}

#[test]
fn sampling_is_off_by_default_and_scaled_when_sparse() {
    assert_eq!(gomem::set_mem_profile_rate(0), 0, "off unless asked");
    for i in 0..1000 {
        drop(make_dropped(i));
    }
    assert!(profile().samples.is_empty());
    // One sample per 4 KiB on average: 40,000 objects of 64 bytes make about 625 samples,
    // each standing for about 64 allocations.
    gomem::set_mem_profile_rate(4096);
    let kept: Vec<Gc<Blob>> = (0..40_000).map(make_kept).collect();
    let p = profile();
    gomem::set_mem_profile_rate(0);
    let [allocs, _, inuse, _] = values_of(&p, "profile::make_kept")[..] else {
        unreachable!()
    };
    assert_eq!(allocs, inuse);
    assert!(
        (30_000..50_000).contains(&allocs),
        "an estimate of 40,000: {allocs}"
    );
    drop(kept);
}
