//! Leak checks for tests, the run-time twin of the linter's `unjoined_task` (and Go's
//! goleak): at the end of a test, fail if it left threads running, tokio tasks alive, or
//! memory allocated.
//!
//! ```no_run
//! use gomem::leakcheck;
//!
//! let snap = leakcheck::snapshot();
//! let worker = std::thread::spawn(|| { /* .. */ });
//! worker.join().unwrap(); // without this, `verify` names the thread
//! snap.verify();
//! ```
//!
//! What is checked:
//! - **Threads** (Linux only, from `/proc/self/task`): threads started since the snapshot
//!   and still running, by name. Elsewhere the thread check is unsupported, and failure
//!   messages say that it was skipped.
//! - **Tokio tasks** (the `tokio` feature): more tasks alive in the current runtime
//!   (`RuntimeMetrics::num_alive_tasks`) than at the snapshot. Tokio names no task outside
//!   `tokio_unstable`, so the message gives the count; with the profiling allocator at
//!   rate 1, the memory check shows each task's `tokio::spawn` site. Call the check from
//!   the test's body (`block_on`'s future), not from a spawned task, which counts itself.
//! - **Memory**, with [`Profiled`](crate::Profiled) as the global allocator: sampled
//!   blocks allocated since the snapshot and still live, grouped by call stack. Only
//!   sampled blocks are seen: `set_mem_profile_rate(1)` samples every allocation, so that
//!   a leak of any size is found; at Go's rate, leaks much smaller than 512 KiB usually
//!   pass. Output a test prints into libtest's capture buffer is ignored.
//!
//! Threads and tasks that are about to end (a detached thread returning, a task just
//! aborted) are given up to [`Snapshot::retry_for`] (1 s by default) to go before they are
//! reported; the check returns as soon as nothing is left.
//!
//! The checks are process-wide, like goleak's: tests running in parallel in the same
//! binary see each other's threads and memory. Run leak-checked tests one at a time
//! (`--test-threads=1`), or in a test binary of their own.

use std::fmt;
use std::time::{Duration, Instant};

use crate::profile;
use crate::samples;

/// What existed when a test began: [`Snapshot::verify`] reports only what came after.
#[derive(Clone, Debug)]
pub struct Snapshot {
    threads: Option<Vec<Thread>>,
    tasks: Option<usize>,
    /// Samples taken before the snapshot.
    seq: u64,
    /// Only memory allocated by this thread ([`verify_none`]).
    thread: Option<u64>,
    retry_for: Duration,
    ignore: Vec<String>,
}

/// Takes a snapshot of the threads, tokio tasks and sampled memory that exist now.
pub fn snapshot() -> Snapshot {
    let mut snap = Snapshot {
        threads: threads(),
        tasks: tasks(),
        seq: 0,
        thread: None,
        retry_for: Duration::from_secs(1),
        ignore: vec!["std::io::stdio::".to_owned()],
    };
    // Last, so that the snapshot's own memory is not the test's.
    snap.seq = samples::seq();
    snap
}

/// Fails (panics) if threads other than this one and the main thread are running, if
/// the current tokio runtime has tasks alive, or if memory this thread allocated is still
/// live, as Go's `goleak.VerifyNone` does at the end of a test. Use [`snapshot`] when the
/// test starts with threads or memory that are not its own.
#[track_caller]
pub fn verify_none() {
    let mut snap = snapshot();
    snap.threads = snap.threads.map(|_| Vec::new());
    snap.tasks = snap.tasks.map(|_| 0);
    snap.seq = 0;
    snap.thread = Some(samples::thread_id());
    snap.verify();
}

impl Snapshot {
    /// How long to wait for threads and tasks that are ending before reporting them.
    pub fn retry_for(mut self, wait: Duration) -> Snapshot {
        self.retry_for = wait;
        self
    }

    /// Ignores memory allocated under a function whose path starts with `prefix`
    /// (`"my_crate::cache::"`): caches filled once, say.
    pub fn ignore(mut self, prefix: &str) -> Snapshot {
        self.ignore.push(prefix.to_owned());
        self
    }

    /// Panics with what the test left behind since the snapshot (see [`Snapshot::check`]).
    #[track_caller]
    pub fn verify(&self) {
        if let Err(leaks) = self.check() {
            panic!("{leaks}");
        }
    }

    /// What the test left behind since the snapshot, if anything.
    pub fn check(&self) -> Result<(), Leaks> {
        let deadline = Instant::now() + self.retry_for;
        let mut wait = Duration::from_millis(1);
        loop {
            let leaks = self.leaks();
            if leaks.is_empty() || Instant::now() >= deadline {
                return if leaks.is_empty() { Ok(()) } else { Err(leaks) };
            }
            std::thread::sleep(wait);
            wait = (wait * 2).min(Duration::from_millis(100));
        }
    }

    fn leaks(&self) -> Leaks {
        // Memory first: what the other checks allocate is live while they run.
        let memory = if samples::installed() {
            let sites = samples::live_since(self.seq, self.thread)
                .into_iter()
                .filter_map(|((stack, size, rate), count)| {
                    let stack = profile::describe(&stack);
                    let ignored = stack
                        .iter()
                        .any(|f| self.ignore.iter().any(|p| f.starts_with(p.as_str())));
                    (!ignored && !stack.is_empty()).then(|| Site {
                        bytes: (profile::scale(size, rate) * (size as u64 * count) as f64).round()
                            as u64,
                        blocks: count,
                        size,
                        stack,
                    })
                })
                .collect();
            Some(sites)
        } else {
            None
        };
        let me = current_thread();
        let threads = match (&self.threads, threads()) {
            (Some(before), Some(now)) => Some(
                now.into_iter()
                    .filter(|t| Some(t.tid) != me && !t.main)
                    .filter(|t| !before.iter().any(|b| (b.tid, b.start) == (t.tid, t.start)))
                    .collect(),
            ),
            _ => None,
        };
        let tasks = match (self.tasks, tasks()) {
            (Some(before), Some(now)) if now > before => now - before,
            _ => 0,
        };
        Leaks {
            threads,
            tasks,
            memory,
        }
    }
}

/// What a test left behind: the [`Display`](fmt::Display) form is the failure message.
#[derive(Debug)]
pub struct Leaks {
    /// Threads started since the snapshot and still running; None where unsupported.
    pub threads: Option<Vec<Thread>>,
    /// Tokio tasks alive beyond those of the snapshot.
    pub tasks: usize,
    /// Live memory allocated since the snapshot, by call stack, largest first; None
    /// without the profiling allocator.
    pub memory: Option<Vec<Site>>,
}

impl Leaks {
    fn is_empty(&self) -> bool {
        self.threads.as_ref().is_none_or(Vec::is_empty)
            && self.tasks == 0
            && self.memory.as_ref().is_none_or(Vec::is_empty)
    }
}

/// A running thread.
#[derive(Clone, Debug)]
pub struct Thread {
    /// The name it was given (`thread::Builder::name`), cut to 15 bytes by the OS.
    pub name: String,
    /// Its OS thread id.
    pub tid: u64,
    /// When it started, in clock ticks since boot (tells a reused id apart).
    start: u64,
    main: bool,
}

/// Live memory allocated from one call stack.
#[derive(Debug)]
pub struct Site {
    /// Bytes, scaled up from the samples as a profile scales them (exact at rate 1).
    pub bytes: u64,
    /// Sampled blocks.
    pub blocks: u64,
    /// The size of each block.
    pub size: usize,
    /// Frames, innermost first: `function (file:line)`.
    pub stack: Vec<String>,
}

impl fmt::Display for Leaks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "leakcheck: the test left these behind:")?;
        match &self.threads {
            Some(threads) => {
                for t in threads {
                    let name = if t.name.is_empty() {
                        "<unnamed>"
                    } else {
                        &t.name
                    };
                    writeln!(f, "- thread {name:?} (tid {}) is still running", t.tid)?;
                }
            }
            None => writeln!(f, "- (threads not checked: unsupported on this OS)")?,
        }
        if self.tasks > 0 {
            writeln!(
                f,
                "- {} tokio task{} still alive in the current runtime",
                self.tasks,
                if self.tasks == 1 { " is" } else { "s are" }
            )?;
        }
        for site in self.memory.iter().flatten() {
            writeln!(
                f,
                "- {} bytes still live ({} sampled block{} of {} bytes), allocated at:",
                site.bytes,
                site.blocks,
                if site.blocks == 1 { "" } else { "s" },
                site.size
            )?;
            // Down to the test harness or `main`'s caller, which every stack shares.
            let frames = site.stack.iter().take_while(|frame| {
                !frame.starts_with("test::") && !frame.starts_with("std::rt::")
            });
            for frame in frames.take(40) {
                writeln!(f, "      {frame}")?;
            }
        }
        Ok(())
    }
}

/// The process's threads, or None where that is unsupported.
#[cfg(target_os = "linux")]
fn threads() -> Option<Vec<Thread>> {
    let pid = std::process::id() as u64;
    let dir = std::fs::read_dir("/proc/self/task").ok()?;
    let mut out = Vec::new();
    for entry in dir.flatten() {
        let Some(tid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
            continue;
        };
        // A thread that ended meanwhile has no files left: it is not running.
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // `tid (comm) state ...`: the name may hold spaces and parentheses; the fields
        // after its last `)` start at the 3rd, and the start time is the 22nd.
        let Some(close) = stat.rfind(')') else {
            continue;
        };
        let start = stat[close + 1..]
            .split_whitespace()
            .nth(19)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let name = stat
            .find('(')
            .map(|open| stat[open + 1..close].to_owned())
            .unwrap_or_default();
        out.push(Thread {
            name,
            tid,
            start,
            main: tid == pid,
        });
    }
    Some(out)
}

#[cfg(not(target_os = "linux"))]
fn threads() -> Option<Vec<Thread>> {
    None
}

#[cfg(target_os = "linux")]
fn current_thread() -> Option<u64> {
    // SAFETY: gettid takes no argument and cannot fail.
    Some(unsafe { libc::syscall(libc::SYS_gettid) } as u64)
}

#[cfg(not(target_os = "linux"))]
fn current_thread() -> Option<u64> {
    None
}

/// Tasks alive in the current tokio runtime, if there is one.
#[cfg(feature = "tokio")]
fn tasks() -> Option<usize> {
    tokio::runtime::Handle::try_current()
        .ok()
        .map(|h| h.metrics().num_alive_tasks())
}

#[cfg(not(feature = "tokio"))]
fn tasks() -> Option<usize> {
    None
}
