//! Bad: two threads started and never joined.
//!
//! The Go talk's leaked goroutines: a goroutine blocked forever on a channel, or just never
//! waited for, keeps its stack and everything it references alive. A detached Rust thread is
//! the same: nothing waits for it, nothing sees it panic, and `main` may return while it runs.
//!
//! What gomem says: `warning[gomem::unjoined_task]` twice, "spawned thread is never joined",
//! once for the handle dropped right away and once for the handle bound to `second` and never
//! joined; the help says to `.join()` the handle or use `std::thread::scope`.

use std::thread;
use std::time::Duration;

fn main() {
    thread::spawn(|| {
        thread::sleep(Duration::from_millis(10));
        println!("first thread: may never print, main does not wait");
    });
    let second = thread::spawn(|| println!("second thread"));
    println!(
        "main is done; is the second thread? {}",
        second.is_finished()
    );
}
