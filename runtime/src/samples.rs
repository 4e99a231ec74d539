//! The process-wide sampler of the profiling allocator ([`Profiled`](crate::Profiled)):
//! when to sample an allocation, and the record of what was sampled (call stacks, sizes,
//! which samples are still live), shared by every thread.
//!
//! Sampling is Go's: a thread draws the distance to its next sample from an exponential
//! distribution of mean `rate` bytes and counts its allocations down to it. The cost of an
//! allocation that is not sampled is that count alone: one thread-local subtraction and a
//! branch, not even a load of the rate. The rate is read only where the count runs out:
//! with sampling off, a thread that gets there counts [`RECHECK`] bytes down before it
//! looks again, so it starts sampling at most that many bytes after another thread turns
//! sampling on (one out-of-line call per 64 KiB allocated is the price of sampling off);
//! turned off, a thread takes no sample after it, since the rate is read before the stack
//! is. The rate and its environment variable are the GC heap's (`GOMEM_MEMPROFILERATE`,
//! [`set_mem_profile_rate`](crate::set_mem_profile_rate)).
//!
//! A free must tell whether its block was sampled without a table lookup on every free:
//! sampled blocks are marked in a side filter of 65,536 bits (8 KiB of zeroed static
//! memory, small enough to stay in the first-level cache) indexed by the block's address in
//! 16-byte units, modulo 1 MiB. A free reads its bit (a shift, a mask, a load and a bit
//! test: frees of neighbouring blocks read the same cache line) and goes straight on when
//! it is clear, as all are unless a live sampled block maps there; otherwise the record is
//! looked up under its lock, and a false positive just finds nothing. With `n` samples
//! live, about `n` in 65,536 frees are false positives (blocks a multiple of 1 MiB from a
//! sampled one). A bit is set while any live sample maps to it: the record counts them per
//! bit, under its lock, which is also the only place bits change. (The filter this
//! replaced, 16-bit counters in 128 KiB under a Fibonacci hash of the address, had its
//! loads take 3% of binary-trees' CPU samples in `perf` and made 1.8x `System`'s
//! first-level cache misses in cachegrind; this one, 1.05x.) Until a first block is
//! sampled (in a process that never turns sampling on: always), a free reads one flag
//! instead, [`EVER_MARKED`], which stays in cache where the filter's lines compete with the
//! program's data: `cargo gomem-lint` on tokio runs 0.8% fewer instructions with it, and its
//! `dealloc` takes 0.8% of the CPU samples in `perf` instead of 1.5%. Blocks are never
//! laid out differently when sampled, so a free that goes unrecorded (see below) is only a
//! sample counted live too long, never a wrong pointer handed to the allocator.
//!
//! Invariants that make this safe inside a global allocator:
//! - *Reentrancy.* Sampling allocates (the stack, the record's tables) and so does writing
//!   a profile. Everything that takes the record's lock first sets this thread's `BUSY`
//!   flag; an allocation or free made while it is set is neither sampled nor looked up, so
//!   the lock is never taken twice by one thread. The profiler's own blocks are made under
//!   the flag, hence never sampled, so skipping their frees loses nothing.
//! - *Signal handlers.* A handler that allocates or frees on a thread that is inside the
//!   sampler sees `BUSY` and passes straight through: it never waits for a lock its own
//!   thread holds. (A sampled block freed there is counted live until its address is
//!   sampled and freed again; the block itself is freed normally.) The sampler adds no
//!   lock the allocator's own fast path would not already make unsafe in a handler.
//! - *Thread exit.* The thread-locals here are `const`-initialized and have no
//!   destructor, so they stay usable while other thread-locals are destroyed; an
//!   allocation made then is sampled like any other.
//! - The lock is a `std::sync::Mutex` (a futex on Linux: it never allocates).

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Mutex, MutexGuard};

/// The most frames a sample keeps (Go keeps 32 plus the runtime's own).
pub(crate) const MAX_FRAMES: usize = 64;

/// The rate before the environment was read.
const UNSET: u64 = u64::MAX;
/// Bytes between samples on average, 0 for none; `UNSET` until the first sampled check.
static RATE: AtomicU64 = AtomicU64::new(UNSET);
/// Whether a profiling allocator has allocated (so that leak checks can say whether they
/// see memory at all).
static INSTALLED: AtomicBool = AtomicBool::new(false);

/// Bytes a thread allocates with sampling off before it reads the rate again.
const RECHECK: i64 = 64 * 1024;

/// The filter has `1 << FILTER_BITS` bits.
const FILTER_BITS: u32 = 16;
/// Whether a live sampled block maps to the bit (see [`slot`]); changed only under the
/// record's lock.
static FILTER: [AtomicU64; 1 << (FILTER_BITS - 6)] =
    [const { AtomicU64::new(0) }; 1 << (FILTER_BITS - 6)];

/// Whether a bit of [`FILTER`] was ever set: until then no free needs to read it. Set
/// before the first bit, under the record's lock, and never cleared. Relaxed is enough, as
/// for the filter's bits: a block's free happens after its allocation returned, hence after
/// the store its sampling made.
static EVER_MARKED: AtomicBool = AtomicBool::new(false);

/// Numbers the threads that allocate, for leak checks by thread.
static NEXT_THREAD: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// This thread is in the sampler or holds the record's lock.
    static BUSY: Cell<bool> = const { Cell::new(false) };
    /// Bytes this thread may still allocate before its next sample.
    static LEFT: Cell<i64> = const { Cell::new(0) };
    /// Whether `LEFT` was drawn (at the rate of the time).
    static DRAWN: Cell<bool> = const { Cell::new(false) };
    /// The state of this thread's random draws (splitmix64); 0 until seeded.
    static RNG: Cell<u64> = const { Cell::new(0) };
    /// This thread's number; 0 until it allocates a sample.
    static THREAD: Cell<u64> = const { Cell::new(0) };
}

/// What `GOMEM_MEMPROFILERATE` asks for: bytes between samples on average, 0 for none.
pub(crate) fn rate_from_env() -> u64 {
    std::env::var("GOMEM_MEMPROFILERATE")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// The profiling allocator's rate: the environment's until set.
pub(crate) fn rate() -> u64 {
    let rate = RATE.load(Relaxed);
    if rate != UNSET {
        return rate;
    }
    // Reading the environment allocates: not sampled, since `BUSY` is set (here, or by
    // the sampler that called).
    let _busy = Busy::enter();
    started();
    let rate = rate_from_env();
    // Another thread may have set it meanwhile: a set rate wins over the environment.
    match RATE.compare_exchange(UNSET, rate, Relaxed, Relaxed) {
        Ok(_) => rate,
        Err(set) => set,
    }
}

/// Sets the profiling allocator's rate, and draws the calling thread's next sample at it
/// (other threads keep the point they drew until they reach it).
pub(crate) fn set_rate(rate: u64) {
    started();
    RATE.store(rate, Relaxed);
    let _ = DRAWN.try_with(|d| d.set(false));
    let _ = LEFT.try_with(|l| l.set(0));
}

/// Runs `f` with the profiling allocator's sampling off on this thread (for memory some
/// other profile already samples).
pub(crate) fn unsampled<R>(f: impl FnOnce() -> R) -> R {
    let _busy = Busy::enter();
    f()
}

static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

/// Marks when sampling could first begin (a profile's duration counts from it).
fn started() {
    START.get_or_init(std::time::Instant::now);
}

/// How long the profiling allocator has been able to sample.
pub(crate) fn duration() -> std::time::Duration {
    START.get().map(|s| s.elapsed()).unwrap_or_default()
}

/// Whether a profiling allocator is in use.
pub(crate) fn installed() -> bool {
    INSTALLED.load(Relaxed)
}

/// The calling thread's number, as samples record it.
pub(crate) fn thread_id() -> u64 {
    THREAD
        .try_with(|t| {
            if t.get() == 0 {
                t.set(NEXT_THREAD.fetch_add(1, Relaxed));
            }
            t.get()
        })
        .unwrap_or(0)
}

/// This thread's hold on the sampler; leaving clears `BUSY`.
struct Busy;

impl Busy {
    /// None if this thread is already in the sampler (a reentrant call, or a signal
    /// handler that interrupted it).
    fn enter() -> Option<Busy> {
        BUSY.try_with(|b| !b.replace(true))
            .unwrap_or(false)
            .then(|| Busy)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        let _ = BUSY.try_with(|b| b.set(false));
    }
}

/// Counts an allocation of `size` bytes down to this thread's next sample (or, with
/// sampling off, to its next look at the rate): whether it is to be sampled (then call
/// [`sampled`], which looks). The profiling allocator's whole cost on an allocation that
/// is not sampled, made before the allocation so that the wrapped allocator's call stays a
/// tail call.
#[inline(always)]
pub(crate) fn due(size: usize) -> bool {
    LEFT.try_with(|left| {
        let l = left.get() - size as i64;
        left.set(l);
        l <= 0
    })
    .unwrap_or(false)
}

/// Samples the new block of `size` bytes at `addr` that [`due`] picked.
#[cold]
#[inline(never)]
pub(crate) fn sampled(addr: usize, size: usize) {
    sample(addr, size);
}

/// A block at `addr` is being freed: if it was sampled, counts it freed.
#[inline(always)]
pub(crate) fn freeing(addr: usize) {
    if EVER_MARKED.load(Relaxed) && marked(slot(addr)) {
        freed(addr);
    }
}

/// The filter's bit for a block at `addr`: its address in 16-byte units (the least
/// alignment of a block of 16 bytes or more from malloc or mimalloc), modulo the filter's
/// size.
#[inline(always)]
fn slot(addr: usize) -> usize {
    (addr >> 4) & ((1 << FILTER_BITS) - 1)
}

#[inline(always)]
fn marked(slot: usize) -> bool {
    FILTER[slot / 64].load(Relaxed) & 1 << (slot % 64) != 0
}

/// Counts a live sample at filter bit `slot`, under the record's lock.
fn mark(record: &mut Record, slot: usize) {
    if record.marks.is_empty() {
        record.marks = vec![0; 1 << FILTER_BITS];
    }
    if record.marks[slot] == 0 {
        EVER_MARKED.store(true, Relaxed);
        FILTER[slot / 64].fetch_or(1 << (slot % 64), Relaxed);
    }
    record.marks[slot] += 1;
}

/// Uncounts a live sample at filter bit `slot` that [`mark`] counted, under the record's
/// lock.
fn unmark(record: &mut Record, slot: usize) {
    record.marks[slot] -= 1;
    if record.marks[slot] == 0 {
        FILTER[slot / 64].fetch_and(!(1 << (slot % 64)), Relaxed);
    }
}

fn sample(addr: usize, size: usize) {
    INSTALLED.store(true, Relaxed);
    let Some(_busy) = Busy::enter() else {
        return;
    };
    let rate = rate();
    if rate == 0 {
        // Off: look again after `RECHECK` bytes, then draw as a thread's first draw.
        let _ = DRAWN.try_with(|d| d.set(false));
        let _ = LEFT.try_with(|l| l.set(RECHECK));
        return;
    }
    let drawn = DRAWN.try_with(|d| d.replace(true)).unwrap_or(true);
    if !drawn && rate != 1 {
        // The thread's first draw (or the first at a new rate): count from here.
        let _ = LEFT.try_with(|l| l.set(draw(rate)));
        return;
    }
    let _ = LEFT.try_with(|l| l.set(draw(rate)));
    // On this stack, not the heap: a sample allocates only for a stack not seen before
    // (freeing a short-lived buffer per sample made glibc's malloc consolidate its free
    // lists on every sample, 15% of binary-trees' time).
    let mut frames = [0usize; MAX_FRAMES];
    let n = capture_into(&mut frames);
    let stack = &frames[..n];
    let thread = thread_id();
    let mut record = lock();
    let record = record.get_or_insert_with(Record::default);
    let id = match record.stacks.get(stack) {
        Some(&id) => id,
        None => {
            let id = record.stack_list.len();
            record.stacks.insert(stack.into(), id);
            record.stack_list.push(stack.into());
            id
        }
    };
    let next = record.counts.len();
    let index = *record.buckets.entry((id, size, rate)).or_insert(next);
    if index == next {
        record.counts.push(Counts::default());
        record.keys.push((id, size, rate));
    }
    record.counts[index].allocs += 1;
    record.seq += 1;
    let seq = record.seq;
    if let Some(old) = record.live.insert(
        addr,
        Live {
            bucket: index,
            seq,
            thread,
        },
    ) {
        // Its free went unrecorded (see the module docs): it is not live any more.
        record.counts[old.bucket].frees += 1;
    } else {
        mark(record, slot(addr));
    }
}

#[cold]
#[inline(never)]
fn freed(addr: usize) {
    let Some(_busy) = Busy::enter() else {
        return;
    };
    let mut record = lock();
    let Some(record) = record.as_mut() else {
        return;
    };
    if let Some(live) = record.live.remove(&addr) {
        record.counts[live.bucket].frees += 1;
        unmark(record, slot(addr));
    }
}

/// Draws the bytes to the next sample: exponential with mean `rate` (0 at rate 1: every
/// allocation is sampled).
fn draw(rate: u64) -> i64 {
    if rate <= 1 {
        return 0;
    }
    let state = RNG
        .try_with(|rng| {
            let mut s = rng.get();
            if s == 0 {
                s = seed();
            }
            s = s.wrapping_add(0x9e37_79b9_7f4a_7c15);
            rng.set(s);
            s
        })
        .unwrap_or(0x2545_f491_4f6c_dd1d);
    exponential(state, rate) as i64
}

/// A seed for random draws that differs between threads and runs (Go's samples differ
/// from run to run too), so that no run keeps the luck of one fixed sequence.
pub(crate) fn seed() -> u64 {
    let time = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos() as u64;
    let here = 0u8;
    let seed = time ^ (std::ptr::addr_of!(here) as u64).rotate_left(32);
    // Never 0, which means "not seeded".
    seed | 1
}

/// An exponential draw of mean `rate` from a splitmix64 state: -ln(u) * rate.
pub(crate) fn exponential(state: u64, rate: u64) -> u64 {
    let mut z = state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    let u = ((z >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
    (-u.ln() * rate as f64).min(i64::MAX as f64 / 2.0) as u64
}

/// The current call stack's return addresses, innermost first.
pub(crate) fn capture() -> Box<[usize]> {
    let mut frames = [0usize; MAX_FRAMES];
    let n = capture_into(&mut frames);
    frames[..n].into()
}

/// Writes the current call stack's return addresses into `frames`, innermost first;
/// returns how many. Allocates nothing.
fn capture_into(frames: &mut [usize; MAX_FRAMES]) -> usize {
    let mut n = 0;
    let frame = |frame: &backtrace::Frame| {
        let ip = frame.ip() as usize;
        // Some unwinders end a stack with a frame at address 0.
        if ip != 0 {
            frames[n] = ip;
            n += 1;
        }
        n < MAX_FRAMES
    };
    // Unix unwinders (libgcc's and LLVM's `_Unwind_Backtrace`) are thread-safe, so the
    // backtrace crate's global lock is not taken: samples on other threads then need not
    // wait while a profile is symbolized under that lock.
    #[cfg(unix)]
    // SAFETY: `_Unwind_Backtrace` may run on several threads at once; see above.
    unsafe {
        backtrace::trace_unsynchronized(frame)
    };
    #[cfg(not(unix))]
    backtrace::trace(frame);
    n
}

/// What a bucket counted: sampled allocations, and how many of them were freed.
#[derive(Clone, Copy, Default)]
pub(crate) struct Counts {
    pub allocs: u64,
    pub frees: u64,
}

/// What a bucket is for: a call stack (return addresses, innermost first), a block size,
/// and the rate its samples were drawn at (they are scaled by it, even if it changed since).
pub(crate) type BucketKey = (Box<[usize]>, usize, u64);

/// A sampled block still allocated.
struct Live {
    bucket: usize,
    /// Its place in the order of samples, from 1.
    seq: u64,
    /// The number of the thread that allocated it.
    thread: u64,
}

#[derive(Default)]
struct Record {
    /// Stack ids by stack, and the stacks by id.
    stacks: HashMap<Box<[usize]>, usize>,
    stack_list: Vec<Box<[usize]>>,
    /// Bucket indices by (stack id, size, rate), and those keys by index.
    buckets: HashMap<(usize, usize, u64), usize>,
    keys: Vec<(usize, usize, u64)>,
    /// By bucket index, in the order the buckets were made.
    counts: Vec<Counts>,
    /// By address.
    live: HashMap<usize, Live>,
    /// Samples taken so far.
    seq: u64,
    /// Live samples by filter bit (empty until the first).
    marks: Vec<u32>,
}

static RECORD: Mutex<Option<Record>> = Mutex::new(None);

fn lock() -> MutexGuard<'static, Option<Record>> {
    // Nothing panics while holding it, but a poisoned record is still a record.
    RECORD.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs `f` on the record, with this thread marked busy (what `f` allocates is not
/// sampled, and must be freed only after `f` returns, or only inside it). None if this
/// thread is already in the sampler.
fn with_record<R>(f: impl FnOnce(&Record) -> R) -> Option<R> {
    let _busy = Busy::enter()?;
    let record = lock();
    record.as_ref().map(f)
}

/// Every bucket with its counts, in the order they were made.
pub(crate) fn buckets() -> Vec<(BucketKey, Counts)> {
    with_record(|r| (0..r.keys.len()).map(|i| (r.key(i), r.counts[i])).collect())
        .unwrap_or_default()
}

impl Record {
    fn key(&self, bucket: usize) -> BucketKey {
        let (stack, size, rate) = self.keys[bucket];
        (self.stack_list[stack].clone(), size, rate)
    }
}

/// The samples taken so far (the position a snapshot starts after).
pub(crate) fn seq() -> u64 {
    with_record(|r| r.seq).unwrap_or(0)
}

/// Live sampled blocks taken after sample `after`, by bucket (only those allocated by
/// `thread`, if given): the bucket's key and how many of its samples are live.
pub(crate) fn live_since(after: u64, thread: Option<u64>) -> Vec<(BucketKey, u64)> {
    with_record(|r| {
        let mut by_bucket: HashMap<usize, u64> = HashMap::new();
        for live in r.live.values() {
            if live.seq > after && thread.is_none_or(|t| t == live.thread) {
                *by_bucket.entry(live.bucket).or_default() += 1;
            }
        }
        let mut out: Vec<(BucketKey, u64)> =
            by_bucket.into_iter().map(|(i, n)| (r.key(i), n)).collect();
        out.sort_unstable_by_key(|(k, n)| std::cmp::Reverse(k.1 as u64 * n));
        out
    })
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filter_spreads_neighbouring_blocks() {
        let slots: std::collections::HashSet<usize> =
            (0..1000).map(|i| slot(0x7f00_0000_0000 + i * 16)).collect();
        assert_eq!(slots.len(), 1000);
        // Blocks of one page share a cache line (512 bytes of bits at most).
        let page = 0x7f00_0001_2000;
        let lines: std::collections::HashSet<usize> =
            (0..256).map(|i| slot(page + i * 16) / 512).collect();
        assert_eq!(lines.len(), 1);
    }

    #[test]
    fn page_aligned_blocks_take_bits_of_their_own() {
        // Blocks at the same place in their pages (page-aligned buffers, one size class's
        // blocks in pages of their own) differ in their page number's low bits.
        let slots: std::collections::HashSet<usize> = (0..256)
            .map(|i| slot(0x7f00_0000_0010 + i * 4096))
            .collect();
        assert_eq!(slots.len(), 256);
    }

    #[test]
    fn a_bit_stays_set_while_any_sample_hashing_to_it_is_live() {
        let mut record = Record::default();
        // A slot no real sample of this test process uses (the tests here sample nothing).
        let s = (1 << FILTER_BITS) - 1;
        assert!(!marked(s));
        mark(&mut record, s);
        mark(&mut record, s);
        assert!(marked(s));
        unmark(&mut record, s);
        assert!(marked(s), "cleared while a sample is live");
        unmark(&mut record, s);
        assert!(!marked(s));
        assert!(!marked(s - 1) && !marked(s - 64));
    }
}
