//! Leak checks at the end of a test: each case leaks one thing (a thread, a tokio task, a
//! buffer) and must fail with a message that names it, and the same case without the leak
//! must pass. The checks are process-wide, so each case runs alone, in a child process of
//! this test binary.

extern crate gomem_runtime as gomem;

use std::alloc::System;
use std::hint::black_box;
use std::process::Command;
use std::time::Duration;

use gomem::{leakcheck, Profiled};

#[global_allocator]
static ALLOC: Profiled<System> = Profiled::new(System);

/// A thread that runs until the process ends.
fn spawn_forever(name: &str) {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(|| loop {
            std::thread::park();
        })
        .unwrap();
}

#[inline(never)]
fn leak_buffer(len: usize) -> &'static mut [u8] {
    Vec::leak(black_box(vec![7u8; len]))
}

fn run_case(case: &str) {
    match case {
        "thread_leaked" => {
            let snap = leakcheck::snapshot().retry_for(Duration::from_millis(200));
            spawn_forever("leaky-worker");
            snap.verify();
        }
        "thread_joined" => {
            let snap = leakcheck::snapshot();
            let worker = std::thread::Builder::new()
                .name("leaky-worker".into())
                .spawn(|| 42)
                .unwrap();
            assert_eq!(worker.join().unwrap(), 42);
            snap.verify();
        }
        "thread_detached_and_done" => {
            // Not joined, but it ends on its own: the retry waits for it.
            let snap = leakcheck::snapshot();
            std::thread::spawn(|| std::thread::sleep(Duration::from_millis(50)));
            snap.verify();
        }
        "thread_before_snapshot" => {
            spawn_forever("old-worker");
            let snap = leakcheck::snapshot();
            snap.verify();
        }
        "verify_none_thread" => {
            spawn_forever("stray-worker");
            leakcheck::verify_none();
        }
        "verify_none_clean" => {
            let v: Vec<u64> = (0..1000).collect();
            assert_eq!(black_box(v).len(), 1000);
            leakcheck::verify_none();
        }
        "buffer_leaked" => {
            gomem::set_mem_profile_rate(1);
            let snap = leakcheck::snapshot();
            let leaked = leak_buffer(10_000);
            assert_eq!(leaked[9_999], 7);
            snap.verify();
        }
        "buffer_freed" => {
            gomem::set_mem_profile_rate(1);
            let snap = leakcheck::snapshot();
            let kept = black_box(vec![7u8; 10_000]);
            assert_eq!(kept[9_999], 7);
            drop(kept);
            snap.verify();
        }
        #[cfg(feature = "tokio")]
        "task_leaked" => {
            gomem::set_mem_profile_rate(1);
            let rt = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            rt.block_on(async {
                let snap = leakcheck::snapshot().retry_for(Duration::from_millis(100));
                spawn_pending_task();
                tokio::task::yield_now().await;
                snap.verify();
            });
        }
        #[cfg(feature = "tokio")]
        "task_awaited" => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            rt.block_on(async {
                let snap = leakcheck::snapshot();
                let task = tokio::spawn(async { 42 });
                assert_eq!(task.await.unwrap(), 42);
                snap.verify();
            });
        }
        other => panic!("no case {other}"),
    }
}

#[cfg(feature = "tokio")]
#[inline(never)]
fn spawn_pending_task() {
    // Dropping the handle detaches the task: it stays alive, pending forever.
    drop(tokio::spawn(std::future::pending::<()>()));
}

/// Runs a case in a child process; its exit status and stderr.
fn run_child(case: &str) -> (bool, String) {
    let out = Command::new(std::env::current_exe().expect("the test binary"))
        .args(["child", "--exact", "--nocapture", "--test-threads=1"])
        .env("GOMEM_LEAKCHECK_CASE", case)
        .env_remove("GOMEM_MEMPROFILERATE")
        .output()
        .expect("the child runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn child() {
    if let Ok(case) = std::env::var("GOMEM_LEAKCHECK_CASE") {
        run_case(&case);
    }
}

#[track_caller]
fn fails_naming(case: &str, wanted: &[&str]) {
    let (ok, stderr) = run_child(case);
    assert!(!ok, "{case} passed, but it leaks:\n{stderr}");
    for w in wanted {
        assert!(stderr.contains(w), "{case}: no {w:?} in:\n{stderr}");
    }
}

#[track_caller]
fn passes(case: &str) {
    let (ok, stderr) = run_child(case);
    assert!(ok, "{case} failed, but it leaks nothing:\n{stderr}");
}

#[cfg(target_os = "linux")]
#[test]
fn a_thread_left_running_is_named() {
    fails_naming(
        "thread_leaked",
        &["thread \"leaky-worker\"", "is still running"],
    );
    passes("thread_joined");
    passes("thread_detached_and_done");
}

#[cfg(target_os = "linux")]
#[test]
fn threads_from_before_the_snapshot_are_not_reported() {
    passes("thread_before_snapshot");
}

#[cfg(target_os = "linux")]
#[test]
fn verify_none_reports_every_other_thread() {
    fails_naming("verify_none_thread", &["thread \"stray-worker\""]);
    passes("verify_none_clean");
}

#[test]
fn a_buffer_left_allocated_is_named_with_its_stack() {
    fails_naming(
        "buffer_leaked",
        &["10000 bytes still live", "leakcheck::leak_buffer"],
    );
    passes("buffer_freed");
}

#[cfg(feature = "tokio")]
#[test]
fn a_tokio_task_left_alive_is_counted_and_its_spawn_shown() {
    fails_naming(
        "task_leaked",
        &[
            "1 tokio task is still alive",
            "leakcheck::spawn_pending_task",
        ],
    );
    passes("task_awaited");
}
