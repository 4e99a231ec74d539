//! A heap profile of a whole program, every allocation included (not only `Gc` objects),
//! through the profiling global allocator. It keeps 64 MiB live from one site and churns
//! 1 GiB of short-lived buffers from another:
//!
//!     cargo run --release -p gomem-runtime --example alloc_profile -- heap.pb
//!     go tool pprof -top heap.pb                            # keep_live on top: in use
//!     go tool pprof -sample_index=alloc_space -top heap.pb  # churn on top: allocated
//!
//! (Debian's `golang-go` package brings `go tool pprof`.)

use std::hint::black_box;

#[global_allocator]
static ALLOC: gomem::Profiled<std::alloc::System> = gomem::Profiled::new(std::alloc::System);

/// 64 MiB that stay live: 16,384 buffers of 4 KiB.
#[inline(never)]
fn keep_live() -> Vec<Vec<u8>> {
    // Through black_box, so that the collecting call is not a tail call, which would leave
    // no frame of this function on the stack.
    black_box((0..16_384).map(|i| vec![i as u8; 4096]).collect())
}

/// 1 GiB in 4 KiB buffers, each freed at once.
#[inline(never)]
fn churn() -> u64 {
    let mut sum = 0;
    for i in 0..262_144u64 {
        let buffer = black_box(vec![i as u8; 4096]);
        sum += u64::from(buffer[1]);
    }
    sum
}

fn main() -> std::io::Result<()> {
    let path = std::env::args().nth(1).unwrap_or_else(|| "heap.pb".into());
    // Go's default rate; GOMEM_MEMPROFILERATE=524288 does the same without code.
    gomem::set_mem_profile_rate(512 * 1024);
    let kept = keep_live();
    let sum = churn();
    let mut file = std::fs::File::create(&path)?;
    gomem::write_heap_profile(&mut file)?;
    println!(
        "wrote {path}: {} MiB kept in {} buffers, 1 GiB churned (checksum {sum})",
        kept.iter().map(Vec::len).sum::<usize>() >> 20,
        kept.len()
    );
    Ok(())
}
