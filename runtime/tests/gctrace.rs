//! `GOMEM_GCTRACE=1` prints one line per collection cycle on stderr, as Go's
//! `GODEBUG=gctrace=1` does, and nothing without it. The variable is read when a thread's
//! heap is made, so each case runs this test binary again as a child with the environment
//! it needs.

extern crate gomem_runtime as gomem;

use std::process::Command;

use gomem::{Gc, GcCell};
use gomem_macros::Trace;

#[derive(Trace)]
struct Node {
    next: GcCell<Option<Gc<Node>>>,
    payload: [u64; 4],
}

/// The child's work: garbage cycles enough for pacing to run several collections, then one
/// `collect()`. Prints how many cycles ran.
fn make_garbage_cycles() {
    for i in 0..300_000u64 {
        let a = Gc::new(Node {
            next: GcCell::new(None),
            payload: [i; 4],
        });
        *a.next.borrow_mut() = Some(a.clone());
    }
    gomem::collect();
    // On a line of its own: libtest has printed the test's name without a line break.
    println!("\nnum_gc={}", gomem::stats().num_gc);
}

/// Runs `child` in a new process of this test binary, with `GOMEM_GCTRACE` set to `trace`
/// (or unset); returns the cycles it ran and its trace lines.
fn run_child(child: &str, trace: Option<&str>) -> (u64, Vec<String>) {
    let mut cmd = Command::new(std::env::current_exe().expect("the test binary"));
    cmd.args([child, "--exact", "--nocapture", "--test-threads=1"])
        .env("GOMEM_GCTRACE_CHILD", "1")
        .env_remove("GOMEM_GOGC");
    match trace {
        Some(v) => cmd.env("GOMEM_GCTRACE", v),
        None => cmd.env_remove("GOMEM_GCTRACE"),
    };
    let out = cmd.output().expect("the child runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "child failed:\n{stdout}\n{stderr}");
    let num_gc = stdout
        .lines()
        .find_map(|l| l.split_once("num_gc="))
        .and_then(|(_, n)| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("the child reports its cycles:\n{stdout}"));
    (num_gc, stderr.lines().map(str::to_owned).collect())
}

#[test]
fn child() {
    if std::env::var_os("GOMEM_GCTRACE_CHILD").is_some() {
        make_garbage_cycles();
    }
}

/// The numbers of a trace line, in order, with the words between them.
fn fields(line: &str) -> (Vec<f64>, String) {
    let mut numbers = Vec::new();
    let mut words = String::new();
    let mut number = String::new();
    for c in line.chars().chain([' ']) {
        if c.is_ascii_digit() || (c == '.' && !number.is_empty()) {
            number.push(c);
            continue;
        }
        if !number.is_empty() {
            numbers.push(number.parse().expect("a number"));
            number.clear();
            words.push('#');
        }
        words.push(c);
    }
    (numbers, words.trim_end().to_owned())
}

#[test]
fn gctrace_prints_one_line_per_cycle() {
    let (num_gc, lines) = run_child("child", Some("1"));
    assert!(num_gc >= 3, "pacing ran cycles before collect(): {num_gc}");
    // A line per cycle, and one more if the heap's teardown at thread exit (libtest runs
    // each test on a thread of its own) collected once more.
    assert!(
        lines.len() as u64 == num_gc || lines.len() as u64 == num_gc + 1,
        "a line per cycle ({num_gc}):\n{lines:#?}"
    );
    let mut last_at = 0.0;
    for (i, line) in lines.iter().enumerate() {
        let (n, words) = fields(line);
        // collect() ran the child's last cycle, and the teardown the one after it.
        let forced = i + 1 >= num_gc as usize;
        let shape = "gc # @#s #%: #+#+# ms count+mark+sweep, # slices (longest # ms), # ms clock, \
                     #->#-># MB, # MB goal, # candidates, # examined, # objects freed";
        if forced {
            assert_eq!(words, format!("{shape}, full (forced)"), "{line}");
        } else {
            // The child's garbage is young: paced by its candidates, not by the heap.
            assert_eq!(words, format!("{shape}, young"), "{line}");
        }
        let [number, at, share, count, mark, sweep, slices, longest, clock, start, end, live, goal, candidates, examined, freed] =
            n[..]
        else {
            panic!("sixteen numbers: {line}");
        };
        // A cycle examines what its candidates reach, and frees no more than that.
        assert!(examined >= candidates && freed <= examined, "{line}");
        assert_eq!(number, (i + 1) as f64, "cycles are numbered from 1: {line}");
        assert!(at >= last_at, "times grow: {line}");
        last_at = at;
        assert!(share <= 100.0, "{line}");
        assert!(slices >= 1.0 && longest <= clock + 0.001, "{line}");
        // The slices' phases add up to no more than the cycle's clock.
        assert!(count + mark + sweep <= clock + 0.003, "{line}");
        assert!(live <= end + 0.05 && goal > 0.0, "{line}");
        if forced {
            // collect() runs the whole cycle in one pause.
            assert_eq!(slices, 1.0, "{line}");
        } else {
            // Young cycles start once enough candidates wait, and free the garbage they
            // reach (here, all of it: each candidate is a self-loop).
            assert!(start > 0.0 && freed == candidates, "{line}");
            // The count phase visited thousands of objects, over several slices, and freed
            // them there (each self-loop is a closed subgraph): marking and the sweep are
            // left with nothing, and may take no measurable time.
            assert!(
                count > 0.0 && mark >= 0.0 && sweep >= 0.0 && slices > 1.0,
                "{line}"
            );
        }
    }
}

#[test]
fn no_trace_without_the_variable_or_with_zero() {
    for trace in [None, Some("0"), Some("yes")] {
        let (num_gc, lines) = run_child("child", trace);
        assert!(num_gc >= 3);
        assert!(
            lines.iter().all(|l| !l.starts_with("gc ")),
            "GOMEM_GCTRACE={trace:?}: {lines:#?}"
        );
    }
}
