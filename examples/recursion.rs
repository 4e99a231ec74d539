//! Bad: `recursion(1_000_000)` needs a million stack frames.
//!
//! The Go talk's runaway recursion: Go grows goroutine stacks up to 1 GB and then dies; a Rust
//! thread has a fixed stack (8 MiB for the main thread, 2 MiB for spawned ones) and aborts with
//! a stack overflow long before a million frames.
//!
//! What gomem says: `unbounded_recursion` at the call `recursion(1_000_000)`: about a million
//! levels deep, at least 30.5 MiB of stack, more than the main thread's 8 MiB. The example only
//! makes the deep call when asked, so running it is safe.

fn recursion(n: u64) -> u64 {
    if n == 0 {
        return 0;
    }
    1 + recursion(n - 1)
}

fn main() {
    println!("recursion(10) = {}", recursion(10));
    if std::env::args().any(|a| a == "--overflow") {
        println!("{}", recursion(1_000_000));
    }
}
