//! The whole lint run against syn's parse-only time, on the same files, in one process.
//!
//! Usage: `cargo bench -p gomem-analyzer --bench lint_vs_parse -- [PATH...]`
//! (`scripts/bench-lint.sh` fetches tokio's source and passes it). Without paths it lints
//! this workspace's dependency sources from cargo's registry.
//!
//! Both sides use the same number of threads (one per core) and read the files from disk.
//! The lint side is the full run: module tree, parse, index, every lint, and JSON rendering.
//! Rounds alternate between the two so that machine noise hits both; the medians and their
//! ratio are printed.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use gomem_analyzer::config::Config;
use gomem_analyzer::driver::analyze;
use gomem_analyzer::parse::STACK_SIZE;
use gomem_analyzer::report;
use gomem_analyzer::workspace::Workspace;

const ROUNDS: usize = 7;

fn main() {
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
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());

    let (mut lint, mut parse, mut ours) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let start = Instant::now();
        let analysis = analyze(Workspace::from_paths(&paths), Config::default());
        let mut sink = std::io::sink();
        report::json::write(&mut sink, &analysis, true).unwrap();
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
            )))
        });
        ours.push(start.elapsed());
    }
    let ours = median(ours);
    println!(
        "gomem's parse step alone:         {:>8.1} ms",
        ours.as_secs_f64() * 1e3
    );
    let (lint, parse) = (median(lint), median(parse));
    println!(
        "parse only (syn, {threads} threads): {:>8.1} ms",
        parse.as_secs_f64() * 1e3
    );
    println!(
        "full lint run ({threads} threads):   {:>8.1} ms",
        lint.as_secs_f64() * 1e3
    );
    println!(
        "ratio lint / parse: {:.2}x (target: at most 1.5x)",
        lint.as_secs_f64() / parse.as_secs_f64()
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

fn median(mut v: Vec<Duration>) -> Duration {
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
