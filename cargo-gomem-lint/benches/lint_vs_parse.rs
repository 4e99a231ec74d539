//! The whole lint run against syn's parse-only time on the same files: as separate processes
//! (what a user waits for), and inside this process.
//!
//! Usage: `cargo bench -p cargo-gomem-lint --bench lint_vs_parse -- [PATH...]`
//! (`scripts/bench-lint.sh` fetches tokio's source and passes it). Without paths it lints
//! this workspace's dependency sources from cargo's registry.
//!
//! Both sides use the same number of threads (one per core), the same allocator (mimalloc, as
//! the command does), and read the files from disk.
//! The lint side is the full run: module tree, parse, index, every lint, and JSON rendering.
//! Rounds alternate between the two so that machine noise hits both; the medians and their
//! ratio are printed, and for the separate processes (on Linux) what each used besides: user
//! and kernel time and page faults, which tell instructions from memory when the ratio moves.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use gomem_analyzer::config::Config;
use gomem_analyzer::driver::analyze;
use gomem_analyzer::parse::STACK_SIZE;
use gomem_analyzer::report;
use gomem_analyzer::workspace::Workspace;

// The same allocator as the command, so that both sides of every comparison use one.
// (Its unit tests are the binary's: a bench runs without the test harness.)
#[path = "../src/mimalloc_plain.rs"]
#[allow(unused)]
mod mimalloc_plain;
#[global_allocator]
static ALLOCATOR: mimalloc_plain::Mimalloc = mimalloc_plain::Mimalloc;

const ROUNDS: usize = 15;

fn main() {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    if std::env::args().any(|a| a == "--parse-only-child") {
        // A fresh process that only reads and parses, to compare with the command's process.
        let paths: Vec<PathBuf> = std::env::args()
            .skip(1)
            .filter(|a| !a.starts_with("--"))
            .map(PathBuf::from)
            .collect();
        parse_only(
            &Workspace::from_paths(&paths).plain_files,
            threads,
            |text| drop(std::hint::black_box(syn::parse_file(text))),
        );
        return;
    }
    let mut paths: Vec<PathBuf> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .map(PathBuf::from)
        .collect();
    if paths.is_empty() {
        paths = registry_sources();
    }
    let first = analyze(Workspace::from_paths(&paths), Config::default());
    let files: Vec<PathBuf> = first.db.iter().map(|(_, f)| f.path.clone()).collect();
    let bytes: usize = first.db.iter().map(|(_, f)| f.text.len()).sum();
    println!(
        "{} files, {:.1} MiB, {} findings",
        files.len(),
        bytes as f64 / (1 << 20) as f64,
        first.diagnostics.len()
    );

    // The library run frees everything, as a caller that analyzes more than once needs. The
    // command (run as a separate process, output to /dev/null) skips freeing the syntax trees,
    // since it exits right after; leaking them here would slow down everything measured after.
    let command = env!("CARGO_BIN_EXE_cargo-gomem-lint");
    let run = |program: &str, args: &[&str]| {
        let start = Instant::now();
        let child = std::process::Command::new(program)
            .args(args)
            .args(&paths)
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("the command runs");
        let (code, usage) = wait(child);
        assert!(code.is_some_and(|c| c < 2), "{program} failed: {code:?}");
        Sample {
            wall: start.elapsed(),
            usage,
        }
    };
    drop(first);
    let this = std::env::current_exe().unwrap();
    let this = this.to_str().unwrap();
    // The separate processes first, alternating, while this process holds little memory: a
    // lint run in this process just before would leave its freed heap resident, and on a VM
    // that slows the next process's first touch of fresh memory.
    let (mut cli, mut parse_process) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        cli.push(run(command, &["--message-format=json"]));
        parse_process.push(run(this, &["--parse-only-child"]));
    }
    let (mut lint, mut parse, mut ours) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let start = Instant::now();
        let analysis = analyze(Workspace::from_paths(&paths), Config::default());
        report::json::write(&mut std::io::sink(), &analysis, true).unwrap();
        drop(analysis);
        lint.push(start.elapsed());

        let start = Instant::now();
        parse_only(&files, threads, |text| {
            drop(std::hint::black_box(syn::parse_file(text)))
        });
        parse.push(start.elapsed());

        let start = Instant::now();
        parse_only(&files, threads, |text| {
            drop(std::hint::black_box(gomem_analyzer::parse::parse_file(
                gomem_analyzer::span::FileId(0),
                text,
                gomem_analyzer::parse::Edition::E2021,
            )))
        });
        ours.push(start.elapsed());
    }
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let ratio = |d: Duration, base: Duration| d.as_secs_f64() / base.as_secs_f64();
    println!("in separate processes (what a user waits for), median and range of {ROUNDS}:");
    // Each round runs the two back to back, so their ratio within a round shares that
    // moment's load; on a noisy machine its median moves less than the ratio of medians.
    let mut paired: Vec<f64> = cli
        .iter()
        .zip(&parse_process)
        .map(|(c, p)| c.wall.as_secs_f64() / p.wall.as_secs_f64())
        .collect();
    paired.sort_by(f64::total_cmp);
    let (cli_usage, parse_usage) = (Usage::median(&cli), Usage::median(&parse_process));
    let (cli, parse_process): (Vec<Duration>, Vec<Duration>) = (
        cli.iter().map(|s| s.wall).collect(),
        parse_process.iter().map(|s| s.wall).collect(),
    );
    let (cli_range, parse_range) = (range(&cli), range(&parse_process));
    let (cli, parse_process) = (median(cli), median(parse_process));
    println!(
        "  parse only (syn):              {:>8.1} ms        ({parse_range})",
        ms(parse_process)
    );
    println!(
        "  cargo-gomem-lint:              {:>8.1} ms  {:.2}x ({cli_range}; target: at most 1.5x)",
        ms(cli),
        ratio(cli, parse_process)
    );
    if let (Some(cli_usage), Some(parse_usage)) = (cli_usage, parse_usage) {
        println!(
            "  where the time goes, medians (CPU time in user mode and in the kernel, page faults):"
        );
        println!("    parse only (syn):            {parse_usage}");
        println!("    cargo-gomem-lint:            {cli_usage}");
    }
    println!(
        "  per-round ratio:                {:>8.2}x median ({:.2}-{:.2}x between the quartiles)",
        paired[paired.len() / 2],
        paired[paired.len() / 4],
        paired[paired.len() * 3 / 4]
    );
    let (lint, parse, ours) = (median(lint), median(parse), median(ours));
    println!("in this process (warm heap):");
    println!(
        "  parse only (syn, {threads} threads):   {:>8.1} ms",
        ms(parse)
    );
    println!(
        "  gomem's parse step alone:      {:>8.1} ms  {:.2}x",
        ms(ours),
        ratio(ours, parse)
    );
    println!(
        "  lint run, library:             {:>8.1} ms  {:.2}x",
        ms(lint),
        ratio(lint, parse)
    );
}

/// Reads and parses every file with `syn::parse_file`, on `threads` threads with the
/// analyzer's stack size, dropping each tree on the thread that built it.
fn parse_only(files: &[PathBuf], threads: usize, parse: impl Fn(&str) + Sync) {
    let next = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..threads {
            std::thread::Builder::new()
                .stack_size(STACK_SIZE)
                .spawn_scoped(s, || loop {
                    let parse = &parse;
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(path) = files.get(i) else { break };
                    if let Ok(text) = std::fs::read_to_string(path) {
                        parse(&text);
                    }
                })
                .unwrap();
        }
    });
}

/// One run of a separate process.
struct Sample {
    wall: Duration,
    /// `None` where the platform does not say (see [`wait`]).
    usage: Option<Usage>,
}

/// What a process used, as the kernel counted it: where the wall time went beyond the
/// instructions (kernel time is mostly page faults, one per page of memory first touched).
/// No peak memory: a child's `ru_maxrss` counts the parent's pages it was forked with.
#[derive(Clone, Copy)]
struct Usage {
    user: Duration,
    system: Duration,
    faults: u64,
}

impl Usage {
    /// The median of each figure on its own.
    fn median(samples: &[Sample]) -> Option<Usage> {
        let usages: Vec<Usage> = samples.iter().filter_map(|s| s.usage).collect();
        if usages.is_empty() {
            return None;
        }
        Some(Usage {
            user: median(usages.iter().map(|u| u.user).collect()),
            system: median(usages.iter().map(|u| u.system).collect()),
            faults: median(usages.iter().map(|u| u.faults).collect()),
        })
    }
}

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "user {:>5.0} ms, kernel {:>4.0} ms, {:>6} page faults",
            self.user.as_secs_f64() * 1e3,
            self.system.as_secs_f64() * 1e3,
            self.faults
        )
    }
}

/// Waits for `child`: its exit code, and on Linux what it used (`wait4`), which
/// `std::process` does not give.
#[cfg(target_os = "linux")]
fn wait(child: std::process::Child) -> (Option<i32>, Option<Usage>) {
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: an all-zero `rusage` is a valid value of that plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our own child, not yet waited for (`child` is dropped unwaited, which
    // neither waits nor kills it), and both pointers are to live locals of the right types.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid, "wait4: {}", std::io::Error::last_os_error());
    let time = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    let usage = Usage {
        user: time(usage.ru_utime),
        system: time(usage.ru_stime),
        faults: (usage.ru_minflt + usage.ru_majflt) as u64,
    };
    (code, Some(usage))
}

#[cfg(not(target_os = "linux"))]
fn wait(mut child: std::process::Child) -> (Option<i32>, Option<Usage>) {
    (child.wait().expect("the command runs").code(), None)
}

fn range(v: &[Duration]) -> String {
    let ms = |d: Option<&Duration>| d.map_or(0.0, |d| d.as_secs_f64() * 1e3);
    format!("{:.0}-{:.0} ms", ms(v.iter().min()), ms(v.iter().max()))
}

fn median<T: Ord + Copy>(mut v: Vec<T>) -> T {
    v.sort();
    v[v.len() / 2]
}

fn registry_sources() -> Vec<PathBuf> {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cargo")
        });
    let Ok(registries) = std::fs::read_dir(home.join("registry/src")) else {
        return Vec::new();
    };
    registries
        .filter_map(Result::ok)
        .flat_map(|r| std::fs::read_dir(r.path()).into_iter().flatten())
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect()
}
