//! The heap profile: sampled allocations by call stack, in pprof's protobuf format. The
//! profile is decoded here with a reader of protobuf's wire format written from the spec
//! (`profile.proto` of github.com/google/pprof), apart from the writer.

extern crate gomem_runtime as gomem;

use gomem::Gc;
use gomem_macros::Trace;
use pprof::{decode, Profile};

mod pprof;

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

// Not inlined into the test harness's closure, as a release build would do: without debug
// info an inlined frame has no name of its own, and the test looks for this one.
#[inline(never)]
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
