//! `GOMEM_GCTRACE=1`: one line on stderr per collection cycle, as Go's `GODEBUG=gctrace=1`
//! prints, so that a program's collector can be watched without changing its code.
//!
//! ```text
//! gc 7 @1.204s 2%: 0.021+0.390+0.102 ms count+mark+sweep, 12 slices (longest 0.051 ms), 18.234 ms clock, 24.0->26.1->12.3 MB, 24.6 MB goal, 8192 candidates, 16400 examined, 16002 objects freed, young
//! ```
//!
//! The fields, in order: the cycle's number; when it ended, since the heap was made; the
//! share of that time the program was paused for the collector (every slice and every
//! `collect()`, as `MemStats::pause_total` counts); the time paused in each phase, summed
//! over the cycle's slices; how many slices the cycle took and the longest; the wall time
//! from its start to its end, the program's own work in between included; the heap when it
//! started, when it ended, and what it left live (Go's `#->#-># MB`, in MiB: the heap at its
//! start less what it freed); the goal the full cycles are paced to; the candidates it
//! started from, the objects it examined (the subgraph they reach: the cycle's cost follows
//! this, not the heap), and the objects it freed; and whether it was `young` (young
//! candidates, old objects left alone) or `full`. A cycle that `gomem::collect()` ran ends
//! with `(forced)`.
//!
//! The trace costs nothing when off: a cycle always keeps these few figures, and only
//! formats and prints them when the variable asked for it (any number above 0), read once
//! when the thread's heap is made.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

/// Whether `GOMEM_GCTRACE` asks for a trace: a number above 0, as Go's `gctrace=N`.
pub(crate) fn enabled() -> bool {
    std::env::var("GOMEM_GCTRACE")
        .ok()
        .and_then(|v| v.trim().parse::<u32>().ok())
        .is_some_and(|n| n > 0)
}

/// The calling thread's CPU time so far (zero where there is no per-thread CPU clock), to
/// tell the collector's own cost from the time a pause waited for a core. A system call
/// (a third of a microsecond), made twice per pause.
pub(crate) fn thread_cpu() -> Duration {
    #[cfg(unix)]
    {
        let mut t = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `clock_gettime` only writes the `timespec` it is given, a valid local.
        if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) } == 0 {
            return Duration::new(t.tv_sec as u64, t.tv_nsec as u32);
        }
    }
    Duration::ZERO
}

/// What the running cycle has done so far, for its trace line.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Cycle {
    pub began: Instant,
    /// Heap bytes when it started.
    pub heap_start: usize,
    /// The heap goal it was paced to.
    pub goal: usize,
    /// `MemStats::collected_objects` when it started.
    pub collected_before: u64,
    /// Time paused in the count, mark and sweep phases.
    pub paused: [Duration; 3],
    pub slices: u32,
    pub longest: Duration,
    /// Run by `collect()`.
    pub forced: bool,
    /// The candidates it started from, and the objects it examined.
    pub candidates: usize,
    pub examined: usize,
    /// A full cycle (else young).
    pub full: bool,
}

impl Cycle {
    pub fn new(heap_start: usize, goal: usize, collected_before: u64, forced: bool) -> Cycle {
        Cycle {
            began: Instant::now(),
            heap_start,
            goal,
            collected_before,
            paused: [Duration::ZERO; 3],
            slices: 0,
            longest: Duration::ZERO,
            forced,
            candidates: 0,
            examined: 0,
            full: false,
        }
    }

    /// Counts one slice that took `took`.
    pub fn slice(&mut self, took: Duration) {
        self.slices += 1;
        self.longest = self.longest.max(took);
    }
}

/// How the heap stood when a cycle ended.
#[derive(Clone, Copy, Debug)]
pub(crate) struct End {
    /// The cycle's number (`MemStats::num_gc` after it).
    pub number: u64,
    /// Since the heap was made.
    pub at: Duration,
    /// All the time paused for the collector so far.
    pub paused_total: Duration,
    pub heap_end: usize,
    /// The bytes the cycle left live.
    pub live: usize,
    pub collected_after: u64,
}

/// The trace line of a cycle, with its line break.
pub(crate) fn line(cycle: &Cycle, end: &End) -> String {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let mb = |bytes: usize| bytes as f64 / (1u64 << 20) as f64;
    let share = if end.at.is_zero() {
        0.0
    } else {
        100.0 * end.paused_total.as_secs_f64() / end.at.as_secs_f64()
    };
    let [count, mark, sweep] = cycle.paused;
    let mut s = String::new();
    // Writing to a String cannot fail.
    let _ = write!(
        s,
        "gc {} @{:.3}s {:.0}%: {:.3}+{:.3}+{:.3} ms count+mark+sweep, {} slices (longest {:.3} ms), \
         {:.3} ms clock, {:.1}->{:.1}->{:.1} MB, {:.1} MB goal, {} candidates, {} examined, \
         {} objects freed, {}",
        end.number,
        end.at.as_secs_f64(),
        share,
        ms(count),
        ms(mark),
        ms(sweep),
        cycle.slices,
        ms(cycle.longest),
        ms(cycle.began.elapsed()),
        mb(cycle.heap_start),
        mb(end.heap_end),
        mb(end.live),
        mb(cycle.goal),
        cycle.candidates,
        cycle.examined,
        end.collected_after - cycle.collected_before,
        if cycle.full { "full" } else { "young" },
    );
    if cycle.forced {
        s.push_str(" (forced)");
    }
    s.push('\n');
    s
}

/// Prints trace lines. A closed or failing stderr loses them, never the program.
pub(crate) fn print(lines: &str) {
    use std::io::Write as _;
    if !lines.is_empty() {
        let _ = std::io::stderr().write_all(lines.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_has_gos_fields_in_gos_order() {
        let mut cycle = Cycle::new(24 << 20, 25 << 20, 100, false);
        cycle.paused = [
            Duration::from_micros(21),
            Duration::from_micros(390),
            Duration::from_micros(102),
        ];
        cycle.candidates = 8192;
        cycle.examined = 16400;
        cycle.slice(Duration::from_micros(40));
        cycle.slice(Duration::from_micros(51));
        let end = End {
            number: 7,
            at: Duration::from_millis(1204),
            paused_total: Duration::from_millis(24),
            heap_end: 26 << 20,
            live: 12 << 20,
            collected_after: 210_101,
        };
        let line = line(&cycle, &end);
        let (head, clock) = line.split_once(" ms clock").expect("a clock field");
        assert_eq!(
            head.rsplit_once(", ").unwrap().0,
            "gc 7 @1.204s 2%: 0.021+0.390+0.102 ms count+mark+sweep, 2 slices (longest 0.051 ms)"
        );
        assert_eq!(
            clock,
            ", 24.0->26.0->12.0 MB, 25.0 MB goal, 8192 candidates, 16400 examined, \
             210001 objects freed, young\n"
        );
        cycle.forced = true;
        cycle.full = true;
        assert!(super::line(&cycle, &end).ends_with("objects freed, full (forced)\n"));
    }
}
