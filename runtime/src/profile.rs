//! Heap profiles: a sample of the allocations with their call stacks, written in pprof's
//! format, as Go's `runtime.MemProfileRate` and `pprof.WriteHeapProfile` give, so that
//! `go tool pprof` (or any pprof viewer) reads them.
//!
//! Sampling works as Go's does: on average one allocation per `rate` bytes allocated is
//! sampled (the distance to the next sample is drawn from an exponential distribution, so
//! that no allocation pattern can dodge it), and the profile scales each sample back up by
//! the chance it had of being drawn. A sampled allocation records its call stack (return
//! addresses only; symbols are looked up when a profile is written) in the bucket of that
//! stack and size; the object carries a flag in its header so that its free, by its last
//! handle or by a collection, is counted in the same bucket. A profile then tells, per call
//! stack, what was allocated while sampling was on (`alloc_objects`, `alloc_space`) and
//! what of it is still live (`inuse_objects`, `inuse_space`, the default view).
//!
//! Unlike Go, sampling is off unless asked for (`GOMEM_MEMPROFILERATE=<bytes>`, read when
//! the thread's heap is made, or [`set_mem_profile_rate`](crate::set_mem_profile_rate)):
//! capturing a stack costs microseconds, 4-6% of binary-trees' time at Go's default rate
//! of 512 KiB (alternating runs at depth 19, `GOMEM_MEMPROFILERATE=524288` against none),
//! and gomem's allocation is meant to cost what `Box`'s does. Turned off, the cost
//! is one comparison per allocation and one flag test per free.
//!
//! A profile holds the calling thread's GC heap (each thread has its own) and, when the
//! program's global allocator is [`Profiled`](crate::Profiled), every allocation that
//! allocator sampled on any thread (`samples.rs`): one writer for both, in the same four
//! sample types. Stacks are cut where the program's own code begins: gomem's frames and the
//! standard library's allocation plumbing (`alloc::`, `core::`, `std::`, `hashbrown::`)
//! at the innermost end of a stack are left out, as Go leaves out its runtime's, so that
//! the top of a profile names the program's functions.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::io::{self, Write};
use std::time::{Duration, SystemTime};

use crate::samples::{self, BucketKey, Counts};

pub(crate) use crate::samples::{rate_from_env, set_rate as set_allocator_rate, unsampled};

/// A heap's sampler and what it sampled.
pub(crate) struct Profiler {
    /// Bytes between samples on average; 0 when sampling is off.
    rate: Cell<u64>,
    /// The heap's total allocated bytes at which the next sample is taken.
    next: Cell<u64>,
    /// State of the random draws (splitmix64).
    rng: Cell<u64>,
    /// The buckets' counts, by their index in `buckets`.
    counts: RefCell<Vec<Counts>>,
    buckets: RefCell<HashMap<BucketKey, usize>>,
    /// Sampled objects still allocated: their address and bucket.
    live: RefCell<HashMap<usize, usize>>,
}

impl Profiler {
    pub fn new(rate: u64) -> Profiler {
        let p = Profiler {
            rate: Cell::new(0),
            next: Cell::new(u64::MAX),
            rng: Cell::new(samples::seed()),
            counts: RefCell::new(Vec::new()),
            buckets: RefCell::new(HashMap::new()),
            live: RefCell::new(HashMap::new()),
        };
        p.set_rate(rate, 0);
        p
    }

    pub fn rate(&self) -> u64 {
        self.rate.get()
    }

    /// Sets the rate, drawing the next sample point after `total` bytes allocated.
    pub fn set_rate(&self, rate: u64, total: u64) {
        self.rate.set(rate);
        self.draw_next(total);
    }

    /// Whether an allocation that brought the heap's total to `total` bytes is sampled.
    #[inline(always)]
    pub fn due(&self, total: u64) -> bool {
        total >= self.next.get()
    }

    fn draw_next(&self, total: u64) {
        let rate = self.rate.get();
        if rate == 0 {
            self.next.set(u64::MAX);
            return;
        }
        // splitmix64, then an exponential draw with mean `rate`.
        let state = self.rng.get().wrapping_add(0x9e37_79b9_7f4a_7c15);
        self.rng.set(state);
        self.next
            .set(total.saturating_add(samples::exponential(state, rate)));
    }

    /// Records an allocation of `size` bytes at `addr`, made from the current call stack,
    /// and draws the next sample point; `total` is the heap's total allocated bytes.
    #[cold]
    #[inline(never)]
    pub fn sample(&self, addr: usize, size: usize, total: u64) {
        self.draw_next(total);
        let stack = samples::capture();
        let mut counts = self.counts.borrow_mut();
        let next = counts.len();
        let key = (stack, size, self.rate.get());
        let index = *self.buckets.borrow_mut().entry(key).or_insert(next);
        if index == next {
            counts.push(Counts::default());
        }
        counts[index].allocs += 1;
        self.live.borrow_mut().insert(addr, index);
    }

    /// A sampled object at `addr` was freed.
    #[cold]
    #[inline(never)]
    pub fn freed(&self, addr: usize) {
        if let Some(index) = self.live.borrow_mut().remove(&addr) {
            self.counts.borrow_mut()[index].frees += 1;
        }
    }

    /// Writes the profile in pprof's protobuf format (uncompressed, which pprof reads as
    /// well as gzipped): this heap's samples and the profiling allocator's. `duration` is
    /// how long the heap has been sampling.
    pub fn write(&self, out: &mut dyn Write, duration: Duration) -> io::Result<()> {
        // In the order the buckets were made, so that one run's profiles list them alike.
        let mut buckets: Vec<(BucketKey, Counts)> = {
            let counts = self.counts.borrow();
            let buckets = self.buckets.borrow();
            let mut own: Vec<(&BucketKey, usize)> = buckets.iter().map(|(k, &i)| (k, i)).collect();
            own.sort_unstable_by_key(|&(_, i)| i);
            own.into_iter()
                .map(|(k, i)| (k.clone(), counts[i]))
                .collect()
        };
        buckets.extend(samples::buckets());
        let period = match self.rate.get() {
            0 => samples::rate(),
            rate => rate,
        };
        // Symbolizing allocates a lot: none of it is sampled (at rate 1 each allocation
        // would capture a stack).
        let duration = duration.max(samples::duration());
        samples::unsampled(|| write(out, &buckets, period, duration))
    }
}

/// Writes a profile of `buckets` in pprof's protobuf format; `period` is the sampling rate
/// and `duration` how long sampling went on.
fn write(
    out: &mut dyn Write,
    buckets: &[(BucketKey, Counts)],
    period: u64,
    duration: Duration,
) -> io::Result<()> {
    let mut symbols = Symbols::new();
    let mut profile = Message::default();
    for (kind, unit) in [
        ("alloc_objects", "count"),
        ("alloc_space", "bytes"),
        ("inuse_objects", "count"),
        ("inuse_space", "bytes"),
    ] {
        let mut vt = Message::default();
        vt.int(1, symbols.string(kind));
        vt.int(2, symbols.string(unit));
        profile.message(1, &vt);
    }
    for ((stack, size, rate), counts) in buckets {
        let locations = symbols.stack(stack);
        if locations.is_empty() {
            continue;
        }
        let scale = scale(*size, *rate);
        let value = |n: u64| (n as f64 * scale).round() as i64;
        let Counts { allocs, frees } = *counts;
        let inuse = allocs - frees;
        let bytes = *size as u64;
        let mut sample = Message::default();
        sample.packed(1, locations.iter().map(|&l| l as i64));
        sample.packed(
            2,
            [
                value(allocs),
                value(allocs * bytes),
                value(inuse),
                value(inuse * bytes),
            ],
        );
        let mut label = Message::default();
        label.int(1, symbols.string("bytes"));
        label.int(3, *size as i64);
        sample.message(3, &label);
        profile.message(2, &sample);
    }
    // One mapping for the program, whose symbols are in the profile already (pprof
    // then neither looks for the binary nor warns that it has none).
    let mut mapping = Message::default();
    mapping.int(1, 1);
    mapping.int(3, i64::MAX);
    let exe = std::env::current_exe().map(|p| p.display().to_string());
    mapping.int(5, symbols.string(exe.as_deref().unwrap_or("")));
    for flag in [7, 8, 9, 10] {
        mapping.int(flag, 1);
    }
    profile.message(3, &mapping);
    for (i, (ip, lines)) in symbols.locations.iter().enumerate() {
        let mut location = Message::default();
        location.int(1, i as i64 + 1);
        location.int(2, 1);
        location.int(3, *ip as i64);
        for &(function, line) in lines {
            let mut l = Message::default();
            l.int(1, function as i64);
            l.int(2, line as i64);
            location.message(4, &l);
        }
        profile.message(4, &location);
    }
    for (i, &(name, file)) in symbols.functions.iter().enumerate() {
        let mut f = Message::default();
        f.int(1, i as i64 + 1);
        f.int(2, name);
        f.int(3, name);
        f.int(4, file);
        profile.message(5, &f);
    }
    let mut period_type = Message::default();
    period_type.int(1, symbols.string("space"));
    period_type.int(2, symbols.string("bytes"));
    let default_type = symbols.string("inuse_space");
    for s in &symbols.strings {
        profile.bytes(6, s.as_bytes());
    }
    profile.int(9, since_epoch().as_nanos() as i64);
    profile.int(10, duration.as_nanos() as i64);
    profile.message(11, &period_type);
    profile.int(12, period as i64);
    profile.int(14, default_type);
    out.write_all(&profile.0)
}

/// The wall-clock time, since the Unix epoch.
fn since_epoch() -> Duration {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
}

/// How many allocations of `size` bytes one sample stands for, at `rate` (Go's
/// `scaleHeapSample`): a sample is drawn with probability 1 - exp(-size/rate).
pub(crate) fn scale(size: usize, rate: u64) -> f64 {
    if rate <= 1 {
        return 1.0;
    }
    1.0 / (1.0 - (-(size as f64) / rate as f64).exp())
}

/// The string, function and location tables of a profile being written.
struct Symbols {
    /// Index 0 is the empty string, as pprof requires.
    strings: Vec<String>,
    string_ids: HashMap<String, i64>,
    /// (name, file) string ids; function ids are indices + 1.
    functions: Vec<(i64, i64)>,
    function_ids: HashMap<(i64, i64), usize>,
    /// (address, [(function id, line)], innermost first); location ids are indices + 1.
    locations: Vec<(usize, Vec<(usize, u32)>)>,
    /// Location ids by address and how many of its (inlined) frames were cut off it.
    location_ids: HashMap<(usize, usize), usize>,
    resolved: HashMap<usize, Vec<Frame>>,
}

impl Symbols {
    fn new() -> Symbols {
        Symbols {
            strings: vec![String::new()],
            string_ids: HashMap::from([(String::new(), 0)]),
            functions: Vec::new(),
            function_ids: HashMap::new(),
            locations: Vec::new(),
            location_ids: HashMap::new(),
            resolved: HashMap::new(),
        }
    }

    fn string(&mut self, s: &str) -> i64 {
        if let Some(&id) = self.string_ids.get(s) {
            return id;
        }
        self.strings.push(s.to_owned());
        self.string_ids
            .insert(s.to_owned(), self.strings.len() as i64 - 1);
        self.strings.len() as i64 - 1
    }

    fn frames(&mut self, ip: usize) -> Vec<Frame> {
        self.resolved
            .entry(ip)
            .or_insert_with(|| resolve(ip))
            .clone()
    }

    /// The location ids of a stack, innermost first, cut where the program's own code
    /// begins (see [`cut`]).
    fn stack(&mut self, stack: &[usize]) -> Vec<usize> {
        let frames: Vec<Vec<Frame>> = stack.iter().map(|&ip| self.frames(ip)).collect();
        let (first, skip) = cut(&frames);
        let mut ids = Vec::new();
        for (i, &ip) in stack.iter().enumerate().skip(first) {
            let skip = if i == first { skip } else { 0 };
            ids.push(self.location(ip, skip, &frames[i][skip..]));
        }
        ids
    }

    /// The id of the location at `ip` without its first `skip` (inlined) frames.
    fn location(&mut self, ip: usize, skip: usize, frames: &[Frame]) -> usize {
        if let Some(&id) = self.location_ids.get(&(ip, skip)) {
            return id;
        }
        let lines: Vec<(usize, u32)> = frames
            .iter()
            .map(|(name, file, line)| {
                let key = (self.string(name), self.string(file));
                let next = self.functions.len() + 1;
                let id = *self.function_ids.entry(key).or_insert(next);
                if id == next {
                    self.functions.push(key);
                }
                (id, *line)
            })
            .collect();
        self.locations.push((ip, lines));
        let id = self.locations.len();
        self.location_ids.insert((ip, skip), id);
        id
    }
}

/// Where a stack's frames (by return address, then inlined, innermost first) are cut: the
/// index of the first address kept, and how many of its frames go. gomem's own frames go
/// always; the standard library's go too if the program's own code follows, so that an
/// allocation by `Vec::push` is put on the function that pushed.
fn cut(frames: &[Vec<Frame>]) -> (usize, usize) {
    let all = || {
        frames
            .iter()
            .enumerate()
            .flat_map(|(i, f)| f.iter().enumerate().map(move |(j, f)| (i, j, f.0.as_str())))
    };
    let own = all().any(|(_, _, name)| !is_runtime(name) && !is_std(name));
    all()
        .find(|&(_, _, name)| !(is_runtime(name) || own && is_std(name)))
        .map_or((frames.len(), 0), |(i, j, _)| (i, j))
}

/// A sampled stack as text, one frame a line (`function (file:line)`), cut as profiles
/// cut it: what a leak check prints.
pub(crate) fn describe(stack: &[usize]) -> Vec<String> {
    samples::unsampled(|| describe_unsampled(stack))
}

fn describe_unsampled(stack: &[usize]) -> Vec<String> {
    let frames: Vec<Vec<Frame>> = stack.iter().map(|&ip| resolve(ip)).collect();
    let (first, skip) = cut(&frames);
    frames
        .iter()
        .enumerate()
        .skip(first)
        .flat_map(|(i, f)| f[if i == first { skip } else { 0 }..].iter())
        .map(|(name, file, line)| {
            if file.is_empty() {
                name.clone()
            } else {
                format!("{name} ({file}:{line})")
            }
        })
        .collect()
}

/// A frame: function name, file and line.
type Frame = (String, String, u32);

/// The frames (inlined ones included, innermost first) at a return address.
fn resolve(ip: usize) -> Vec<Frame> {
    let mut frames = Vec::new();
    // The call instruction is just before the return address.
    let pc = ip.saturating_sub(1);
    backtrace::resolve(pc as *mut std::ffi::c_void, |symbol| {
        let name = symbol
            .name()
            .map(|n| format!("{n:#}"))
            .unwrap_or_else(|| format!("{pc:#x}"));
        let file = symbol
            .filename()
            .map(|f| f.display().to_string())
            .unwrap_or_default();
        frames.push((name, file, symbol.lineno().unwrap_or(0)));
    });
    if frames.is_empty() {
        frames.push((format!("{pc:#x}"), String::new(), 0));
    }
    frames
}

/// Frames of the allocation path itself: the samplers, the heap, `Gc::new`, the global
/// allocator's entry points, and what the standard library puts between them.
fn is_runtime(name: &str) -> bool {
    let name = name.trim_start_matches('<');
    [
        "gomem_runtime::",
        "backtrace::",
        "std::thread::local::",
        "core::ops::function::",
        "__rustc::",
        "__rust_",
        "__rg_",
        "__rdl_",
        "alloc::alloc::",
        "std::alloc::",
    ]
    .iter()
    .any(|p| name.starts_with(p))
        // The global allocator's entry points, made by `#[global_allocator]` in the
        // program's crate.
        || name.contains("::_::__rust")
}

/// Frames of the standard library (and of the hash table behind its `HashMap`), including
/// its trait impls for primitive and standard types (`<u8 as SpecFromElem>::from_elem`);
/// an impl for the program's own type (`<my::Tree as Clone>::clone`) is the program's.
fn is_std(name: &str) -> bool {
    const STD: [&str; 4] = ["alloc::", "core::", "std::", "hashbrown::"];
    let Some(qualified) = name.strip_prefix('<') else {
        return STD.iter().any(|p| name.starts_with(p));
    };
    // `<Self as Trait>::..` or `<Self>::..`: whose is the self type?
    let self_type = qualified
        .split(" as ")
        .next()
        .unwrap_or(qualified)
        .trim_end_matches('>');
    let primitive = self_type.starts_with(['[', '&', '(', '*'])
        || self_type.split(['<', ':']).next().is_some_and(|t| {
            matches!(
                t,
                "u8" | "u16"
                    | "u32"
                    | "u64"
                    | "u128"
                    | "usize"
                    | "i8"
                    | "i16"
                    | "i32"
                    | "i64"
                    | "i128"
                    | "isize"
                    | "f32"
                    | "f64"
                    | "bool"
                    | "char"
                    | "str"
            )
        });
    primitive || is_std(self_type)
}

/// A protobuf message being encoded.
#[derive(Default)]
struct Message(Vec<u8>);

impl Message {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push(v as u8 | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }

    fn key(&mut self, field: u32, wire: u32) {
        self.varint(u64::from(field << 3 | wire));
    }

    /// An int64/uint64 field (varint); zero is the default, so it is left out.
    fn int(&mut self, field: u32, v: i64) {
        if v != 0 {
            self.key(field, 0);
            self.varint(v as u64);
        }
    }

    fn bytes(&mut self, field: u32, b: &[u8]) {
        self.key(field, 2);
        self.varint(b.len() as u64);
        self.0.extend_from_slice(b);
    }

    fn message(&mut self, field: u32, m: &Message) {
        self.bytes(field, &m.0);
    }

    fn packed(&mut self, field: u32, values: impl IntoIterator<Item = i64>) {
        let mut m = Message::default();
        for v in values {
            m.varint(v as u64);
        }
        self.bytes(field, &m.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_encode_as_protobuf_does() {
        let mut m = Message::default();
        m.int(1, 150);
        m.int(2, 0);
        m.bytes(6, b"ab");
        m.packed(2, [3, 270]);
        m.int(3, -1);
        // Field 1 varint 150 = 08 96 01; field 2's zero left out; field 6 "ab" = 32 02 61 62;
        // packed [3, 270] = 12 03 03 8e 02; -1 as a 64-bit varint is ten bytes.
        let mut want = vec![
            0x08, 0x96, 0x01, 0x32, 0x02, b'a', b'b', 0x12, 0x03, 0x03, 0x8e, 0x02,
        ];
        want.extend([
            0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
        ]);
        assert_eq!(m.0, want);
    }

    #[test]
    fn samples_are_drawn_about_rate_bytes_apart() {
        let p = Profiler::new(1000);
        let (mut total, mut samples) = (0u64, 0u64);
        while total < 10_000_000 {
            total += 100;
            if p.due(total) {
                samples += 1;
                p.draw_next(total);
            }
        }
        // The next point is drawn from the end of the sampled allocation, so samples are
        // 1000 bytes plus half an allocation apart on average: about 9,520 of them. A
        // count five standard deviations off would be a broken draw.
        assert!((9_030..10_010).contains(&samples), "{samples}");
        let off = Profiler::new(0);
        assert!(!off.due(u64::MAX - 1));
    }

    #[test]
    fn scaling_undoes_the_sampling_odds() {
        assert_eq!(scale(64, 1), 1.0);
        // An object of the rate's size is drawn with probability 1 - 1/e.
        let s = scale(1000, 1000);
        assert!((s - 1.0 / (1.0 - (-1f64).exp())).abs() < 1e-12);
        // Small objects stand for about rate/size allocations.
        assert!((scale(16, 512 * 1024) - 32768.5).abs() < 1.0);
    }
}
