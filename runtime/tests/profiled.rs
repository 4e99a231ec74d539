//! The profiling global allocator: a profile of every allocation (not only `Gc` objects),
//! decoded with the tests' own pprof reader and checked against known allocation patterns.

extern crate gomem_runtime as gomem;

use std::alloc::System;
use std::hint::black_box;
use std::sync::{Mutex, MutexGuard};

use gomem::{Gc, Profiled};
use gomem_macros::Trace;
use pprof::{decode, Profile};

mod pprof;

#[global_allocator]
static ALLOC: Profiled<System> = Profiled::new(System);

/// The rate is the process's: one test at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn profile() -> Profile {
    let mut out = Vec::new();
    gomem::write_heap_profile(&mut out).expect("writing to a Vec");
    decode(&out)
}

/// The values of the samples whose innermost frame is `name`, summed.
fn values_of(p: &Profile, name: &str) -> [u64; 4] {
    let mut sum = [0; 4];
    for (names, values) in &p.samples {
        if names.first().is_some_and(|n| n.contains(name)) {
            for (s, v) in sum.iter_mut().zip(values) {
                *s += v;
            }
        }
    }
    sum
}

const MIB: u64 = 1 << 20;

/// Keeps 64 MiB live, in 16,384 buffers of 4 KiB.
#[inline(never)]
fn keep_live() -> Vec<Vec<u8>> {
    black_box((0..16_384).map(|i| vec![i as u8; 4096]).collect())
}

/// Allocates 1 GiB in short-lived 4 KiB buffers, none of them kept.
#[inline(never)]
fn churn() -> u64 {
    let mut sum = 0;
    for i in 0..262_144u64 {
        let buffer = black_box(vec![i as u8; 4096]);
        sum += u64::from(buffer[7]);
    }
    sum
}

#[derive(Trace)]
struct Blob {
    bytes: [u64; 6],
}

#[inline(never)]
fn make_gc(i: u64) -> Gc<Blob> {
    Gc::new(Blob { bytes: [i; 6] })
}

#[test]
fn a_profile_of_every_allocation_matches_the_pattern_within_sampling_error() {
    let _serial = serial();
    // 16x Go's rate, for 1,024 samples of the kept site (a standard error of 3%).
    gomem::set_mem_profile_rate(64 * 1024);
    let kept = keep_live();
    let gc: Vec<Gc<Blob>> = (0..100_000).map(make_gc).collect();
    let sum = churn();
    let p = profile();
    gomem::set_mem_profile_rate(0);
    drop((kept, gc, black_box(sum)));

    assert_eq!(p.period, 64 * 1024);
    assert_eq!(p.default_type, "inuse_space");
    let types: Vec<&str> = p.sample_types.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        types,
        [
            "alloc_objects",
            "alloc_space",
            "inuse_objects",
            "inuse_space"
        ]
    );
    let [_, kept_alloc, _, kept_inuse] = values_of(&p, "profiled::keep_live");
    let [_, churn_alloc, _, churn_inuse] = values_of(&p, "profiled::churn");
    let [_, _, _, gc_inuse] = values_of(&p, "profiled::make_gc");
    // Bounds at about six standard errors: a miss is a broken sampler or scaling.
    let within = |v: u64, want: u64, tolerance: f64| {
        (v as f64 - want as f64).abs() <= want as f64 * tolerance
    };
    assert!(
        within(kept_inuse, 64 * MIB, 0.2),
        "64 MiB kept: {kept_inuse}"
    );
    assert_eq!(kept_alloc, kept_inuse, "nothing of the kept site was freed");
    assert!(
        within(churn_alloc, 1024 * MIB, 0.05),
        "1 GiB churned: {churn_alloc}"
    );
    assert_eq!(churn_inuse, 0, "every churned buffer was freed");
    // GC objects are in the same profile: 100,000 of 64 bytes (about 100 samples).
    assert!(within(gc_inuse, 6_400_000, 0.6), "6.4 MB of Gc: {gc_inuse}");
    // The top sites of each view are the pattern's.
    let top = |index: usize| {
        p.samples
            .iter()
            .max_by_key(|(_, v)| v[index])
            .map(|(names, _)| names[0].clone())
            .unwrap()
    };
    assert!(top(3).contains("keep_live"), "top in use: {}", top(3));
    assert!(top(1).contains("churn"), "top allocated: {}", top(1));
}

// The boxes are the point: one allocation each.
#[allow(clippy::vec_box)]
#[inline(never)]
fn boxes(n: usize) -> Vec<Box<[u64; 8]>> {
    black_box((0..n).map(|i| Box::new([i as u64; 8])).collect())
}

#[inline(never)]
fn grow(n: u64) -> Vec<u64> {
    let mut v = Vec::new();
    for i in 0..n {
        v.push(i);
    }
    v
}

#[test]
fn at_rate_one_every_allocation_and_free_is_counted_exactly() {
    let _serial = serial();
    // A profile counts allocations since the process started (Go's alloc_space), and
    // another test may have sampled `boxes` before this one: only what this test adds counts.
    let [before_allocs, before_bytes, ..] = values_of(&profile(), "profiled::boxes");
    gomem::set_mem_profile_rate(1);
    let kept = boxes(300);
    drop(boxes(500));
    // A growing Vec reallocates: each move frees the old block and allocates the new.
    let grown = grow(1000);
    // A block freed on another thread is matched to its sample there.
    let sent = boxes(200);
    std::thread::spawn(move || drop(sent)).join().unwrap();
    let p = profile();
    gomem::set_mem_profile_rate(0);
    // `boxes` keeps 300 boxes of 64 bytes and its vector (300 pointers), drops 500 and
    // the 200 sent away with their vectors.
    let [allocs, bytes, inuse, inuse_bytes] = values_of(&p, "profiled::boxes");
    assert_eq!(
        (allocs - before_allocs, bytes - before_bytes),
        (1003, 1000 * 64 + 8 * 1000)
    );
    assert_eq!((inuse, inuse_bytes), (301, 300 * 64 + 8 * 300));
    let [reallocs, _, live, live_bytes] = values_of(&p, "profiled::grow");
    assert!(reallocs > 3, "{reallocs}");
    assert_eq!((live, live_bytes), (1, 8 * grown.capacity() as u64));
    drop((kept, grown));
    let after = profile();
    assert_eq!(values_of(&after, "profiled::boxes")[2..], [0, 0]);
}

#[test]
fn with_sampling_off_nothing_is_recorded() {
    let _serial = serial();
    assert_eq!(gomem::set_mem_profile_rate(0), 0, "off unless asked");
    // Other tests may have sampled `boxes` before: nothing is added.
    let before = values_of(&profile(), "profiled::boxes");
    let kept = boxes(10_000);
    assert_eq!(values_of(&profile(), "profiled::boxes"), before);
    drop(kept);
}

// As `boxes`, under a name of its own.
#[allow(clippy::vec_box)]
#[inline(never)]
fn late_boxes(n: usize) -> Vec<Box<[u64; 8]>> {
    black_box((0..n).map(|i| Box::new([i as u64; 8])).collect())
}

/// A thread reads the rate only when its count runs out: with sampling off, every 64 KiB
/// it allocates. Turned on by another thread, sampling reaches it within that many bytes.
#[test]
fn sampling_turned_on_elsewhere_reaches_a_thread_within_64_kib() {
    let _serial = serial();
    gomem::set_mem_profile_rate(0);
    let (on_tx, on_rx) = std::sync::mpsc::channel::<()>();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<()>();
    let worker = std::thread::spawn(move || {
        // Off: the thread has read the rate and counts down to its next look.
        drop(boxes(1000));
        ready_tx.send(()).unwrap();
        on_rx.recv().unwrap();
        // 3,000 boxes of 64 bytes (192,000 bytes) and their vector, of which at most the
        // first 64 KiB go by before the thread looks again.
        black_box(late_boxes(3000))
    });
    ready_rx.recv().unwrap();
    gomem::set_mem_profile_rate(1);
    on_tx.send(()).unwrap();
    let kept = worker.join().unwrap();
    let p = profile();
    gomem::set_mem_profile_rate(0);
    let [allocs, ..] = values_of(&p, "profiled::late_boxes");
    assert!((1_975..=3_001).contains(&allocs), "{allocs}");
    drop(kept);
}

/// Threads allocating, freeing each other's blocks and writing profiles at once, with
/// every allocation sampled: no deadlock (the sampler allocates under its own lock), and
/// the counts still balance.
#[test]
fn concurrent_sampling_frees_and_profile_writes_balance() {
    let _serial = serial();
    gomem::set_mem_profile_rate(1);
    let (tx, rx) = std::sync::mpsc::channel::<Vec<Box<[u64; 8]>>>();
    let makers: Vec<_> = (0..3)
        .map(|_| {
            let tx = tx.clone();
            std::thread::spawn(move || {
                gomem::set_mem_profile_rate(1);
                for _ in 0..50 {
                    tx.send(boxes(20)).unwrap();
                }
            })
        })
        .collect();
    drop(tx);
    let writer = std::thread::spawn(|| {
        for _ in 0..5 {
            let mut out = Vec::new();
            gomem::write_heap_profile(&mut out).unwrap();
        }
    });
    let mut received = 0;
    for batch in rx {
        received += batch.len();
    }
    for t in makers {
        t.join().unwrap();
    }
    writer.join().unwrap();
    let p = profile();
    gomem::set_mem_profile_rate(0);
    assert_eq!(received, 3 * 50 * 20);
    let [allocs, _, inuse, _] = values_of(&p, "profiled::boxes");
    assert!(allocs >= 3 * 50 * 21, "{allocs}");
    assert_eq!(inuse, 0);
}

/// Allocates and frees in its destructor, which runs at thread exit.
struct AllocatesAtExit;

impl Drop for AllocatesAtExit {
    fn drop(&mut self) {
        drop(exit_buffers());
    }
}

thread_local! {
    static AT_EXIT: AllocatesAtExit = const { AllocatesAtExit };
}

#[inline(never)]
fn exit_buffers() -> Vec<Vec<u8>> {
    black_box((0..10).map(|i| vec![i as u8; 100]).collect())
}

/// Thread-local destructors run after much of the thread is gone; the sampler's own
/// thread-locals have none, so allocations there are sampled (and their frees matched).
#[test]
fn allocations_in_thread_exit_destructors_are_sampled() {
    let _serial = serial();
    gomem::set_mem_profile_rate(1);
    std::thread::spawn(|| {
        gomem::set_mem_profile_rate(1);
        AT_EXIT.with(|_| ());
    })
    .join()
    .unwrap();
    let p = profile();
    gomem::set_mem_profile_rate(0);
    let [allocs, _, inuse, _] = values_of(&p, "profiled::exit_buffers");
    assert!(allocs >= 11, "{allocs}");
    assert_eq!(inuse, 0);
}
