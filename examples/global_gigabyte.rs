//! Bad: a global given a gigabyte keeps it for the rest of the program.
//!
//! The Go talk's "global given 100 MB": memory assigned to a package-level variable is never
//! collected, because the global is always reachable. In Rust a `static` lives as long as the
//! process, so whatever it holds is never freed either.
//!
//! What gomem says: `warning[gomem::oversized_static]` on `CACHE` ("holds at least 1 GiB from
//! its first use to the end of the run") and on `TABLE` ("holds at least 64 MiB for the whole
//! run"), and `warning[gomem::retained_global]` where `load` gives `BUFFER` 100 MiB at run
//! time ("keeps it until the program exits"), each with the fix: give the memory a local scope.

use std::sync::{LazyLock, Mutex};

static CACHE: LazyLock<Mutex<Vec<u8>>> = LazyLock::new(|| Mutex::new(vec![0; 1 << 30]));

static TABLE: Mutex<[u8; 64 * 1024 * 1024]> = Mutex::new([0; 64 * 1024 * 1024]);

static BUFFER: Mutex<Vec<u8>> = Mutex::new(Vec::new());

/// Go's `var buffer []byte; buffer = make([]byte, 100<<20)`: filled once, kept for ever.
fn load() {
    *BUFFER.lock().unwrap() = vec![0; 100 * 1024 * 1024];
}

fn main() {
    // Touching CACHE would commit a gigabyte; the example only does it when asked.
    if std::env::args().any(|a| a == "--touch") {
        CACHE.lock().unwrap()[0] = 1;
        load();
    }
    TABLE.lock().unwrap()[0] = 1;
    println!("TABLE pins 64 MiB until the process exits");
}
