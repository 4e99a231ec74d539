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
//! The profile covers the calling thread's heap only (each thread has its own).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::io::{self, Write};
use std::time::{Duration, SystemTime};

/// The most frames a sample keeps (Go keeps 32 plus the runtime's own).
const MAX_FRAMES: usize = 64;

/// What `GOMEM_MEMPROFILERATE` asks for: bytes between samples on average, 0 for none.
pub(crate) fn rate_from_env() -> u64 {
    std::env::var("GOMEM_MEMPROFILERATE")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// What a bucket counted: sampled allocations, and how many of them were freed.
#[derive(Default)]
struct Counts {
    allocs: u64,
    frees: u64,
}

/// What a bucket is for: a call stack (return addresses, innermost first), an object size,
/// and the rate its samples were drawn at (they are scaled by it, even if it changed
/// since).
type BucketKey = (Box<[usize]>, usize, u64);

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
            rng: Cell::new(seed()),
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
        // splitmix64, then an exponential draw with mean `rate`: -ln(u) * rate.
        let state = self.rng.get().wrapping_add(0x9e37_79b9_7f4a_7c15);
        self.rng.set(state);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        let u = ((z >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
        let gap = (-u.ln() * rate as f64).min(u64::MAX as f64 / 2.0) as u64;
        self.next.set(total.saturating_add(gap));
    }

    /// Records an allocation of `size` bytes at `addr`, made from the current call stack,
    /// and draws the next sample point; `total` is the heap's total allocated bytes.
    #[cold]
    #[inline(never)]
    pub fn sample(&self, addr: usize, size: usize, total: u64) {
        self.draw_next(total);
        let mut stack = Vec::with_capacity(MAX_FRAMES);
        backtrace::trace(|frame| {
            let ip = frame.ip() as usize;
            // Some unwinders end a stack with a frame at address 0.
            if ip != 0 {
                stack.push(ip);
            }
            stack.len() < MAX_FRAMES
        });
        let mut counts = self.counts.borrow_mut();
        let next = counts.len();
        let key = (stack.into_boxed_slice(), size, self.rate.get());
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
    /// well as gzipped). `duration` is how long the heap has been sampling.
    pub fn write(&self, out: &mut dyn Write, duration: Duration) -> io::Result<()> {
        let counts = self.counts.borrow();
        let buckets = self.buckets.borrow();
        // In the order the buckets were made, so that one run's profiles list them alike.
        let mut buckets: Vec<(&BucketKey, usize)> = buckets.iter().map(|(k, &i)| (k, i)).collect();
        buckets.sort_unstable_by_key(|&(_, i)| i);
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
        for ((stack, size, rate), index) in buckets {
            let locations = symbols.stack(stack);
            if locations.is_empty() {
                continue;
            }
            let scale = scale(*size, *rate);
            let value = |n: u64| (n as f64 * scale).round() as i64;
            let Counts { allocs, frees } = counts[index];
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
        profile.int(12, self.rate.get() as i64);
        profile.int(14, default_type);
        out.write_all(&profile.0)
    }
}

/// The wall-clock time, since the Unix epoch.
fn since_epoch() -> Duration {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
}

/// A seed for the sampler that differs between threads and runs (Go's samples differ from
/// run to run too), so that no run keeps the luck of one fixed sequence.
fn seed() -> u64 {
    let time = since_epoch().as_nanos() as u64;
    let here = 0u8;
    time ^ (std::ptr::addr_of!(here) as u64).rotate_left(32)
}

/// How many allocations of `size` bytes one sample stands for, at `rate` (Go's
/// `scaleHeapSample`): a sample is drawn with probability 1 - exp(-size/rate).
fn scale(size: usize, rate: u64) -> f64 {
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
    /// Location ids by address and whether the runtime's inlined frames were cut off it.
    location_ids: HashMap<(usize, bool), usize>,
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

    /// The location ids of a stack, innermost first, without the frames of gomem's
    /// allocation path (Go's profiles leave out the runtime's frames too).
    fn stack(&mut self, stack: &[usize]) -> Vec<usize> {
        let mut ids = Vec::new();
        for &ip in stack {
            let cut = ids.is_empty();
            if let Some(id) = self.location(ip, cut) {
                ids.push(id);
            }
        }
        ids
    }

    /// The id of the location at `ip`; with `cut`, without its leading runtime frames, and
    /// none if that leaves nothing.
    fn location(&mut self, ip: usize, cut: bool) -> Option<usize> {
        if let Some(&id) = self.location_ids.get(&(ip, cut)) {
            return Some(id);
        }
        let mut frames = self.frames(ip);
        if cut {
            let first = frames.iter().position(|(name, _, _)| !is_runtime(name))?;
            frames.drain(..first);
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
        self.location_ids.insert((ip, cut), id);
        Some(id)
    }
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

/// Frames of the allocation path itself: the sampler, the heap, `Gc::new` and what the
/// standard library puts between them.
fn is_runtime(name: &str) -> bool {
    let name = name.trim_start_matches('<');
    [
        "gomem_runtime::",
        "backtrace::",
        "std::thread::local::",
        "core::ops::function::",
    ]
    .iter()
    .any(|p| name.starts_with(p))
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
