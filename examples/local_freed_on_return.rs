//! Good: a 100 MB buffer that lives in a function is freed when the function returns.
//!
//! The Go talk's first example: a large local does no harm, because its memory goes back as
//! soon as the function is done. In Rust, `Vec`'s destructor runs at the closing brace.
//!
//! What gomem says: nothing. The buffer is neither a global nor kept by anything that outlives
//! the call, so there is no leak to report.

fn checksum(len: usize) -> u64 {
    let buffer = vec![1u8; len]; // 100 MB on the heap...
    buffer.iter().map(|&b| u64::from(b)).sum()
} // ...freed here.

fn main() {
    let sum = checksum(100 * 1024 * 1024);
    println!("checksum: {sum}; the buffer is already gone");
}
