//! Bad: the same kind of buffer as `local_freed_on_return.rs`, written as an array, lives on
//! the stack.
//!
//! Go moves a large local to the heap when it does not fit the stack (escape analysis) and
//! grows goroutine stacks; Rust does neither. An array local is on the stack, whose size is
//! fixed: 8 MiB for the main thread, 2 MiB for spawned threads. A 1 MiB table takes an eighth
//! of the main stack, and half of a worker's: a deeper call chain or a bigger table, and the
//! process aborts with a stack overflow.
//!
//! What gomem says: `warning[gomem::large_stack_value]` twice, on `table` (1 MiB, 13% of the
//! main thread's 8 MiB stack) and on `scratch` (1 MiB, 50% of a spawned thread's 2 MiB stack),
//! each with the fix, `vec![0u32; ENTRIES]`, as a suggestion.

const ENTRIES: usize = 256 * 1024;

fn checksum(data: &[u8]) -> u32 {
    let mut table = [0u32; ENTRIES];
    for (i, b) in data.iter().enumerate() {
        table[i % ENTRIES] ^= u32::from(*b);
    }
    table.iter().fold(0, |a, b| a ^ b)
}

fn main() {
    println!("checksum: {}", checksum(b"hello"));
    let worker = std::thread::spawn(|| {
        let scratch = [1u32; ENTRIES];
        scratch.iter().map(|&x| u64::from(x)).sum::<u64>()
    });
    println!("worker: {:?}", worker.join());
}
