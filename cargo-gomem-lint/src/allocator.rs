//! The heap's settings for a lint run: no transparent huge pages, and no purging.
//!
//! A run keeps the skeleton of every file of a batch (its items, most fn bodies left out)
//! until its checks are done (the command's last batch: until it exits), and each file's
//! bodies until the file's own are: its heap grows to ~20 times the batch's source (tokio:
//! ~50 MB of skeletons, ~105 MB resident at the peak; ~130 MB of trees before skeletons).
//! Every page of that is fresh memory the kernel must fault in and zero; on a VM that
//! zeroing is bimodal, and in its slow mode `clear_page_erms` took a third of the run's
//! samples in `perf`. mimalloc's defaults make that memory larger than it has to be:
//! - **Transparent huge pages.** mimalloc asks for them (`MADV_HUGEPAGE`) on its arena, and
//!   a huge page is faulted and zeroed 2 MB at a time, used or not: tokio's run touched
//!   ~205 MB with them and ~160 MB without. They are turned off for the process as mimalloc's
//!   own `MIMALLOC_ALLOW_THP=0` does it, with `prctl(PR_SET_THP_DISABLE)`: mimalloc reads
//!   that option when it starts, before `main`, so setting it would be too late. The prctl
//!   runs as the process loads ([`DISABLE_THP_AT_LOAD`]), before `main` too: the Rust
//!   runtime's first allocation, before `main`, faults in mimalloc's first arena page, a
//!   whole 2 MB huge page otherwise (~3 ms of zeroing on the one thread before any worker
//!   starts).
//! - **Purging.** Freed pages (the token buffers syn builds for each file and drops, a
//!   growing vector's old buffer) are given back to the OS (`MADV_DONTNEED`), then faulted in
//!   and zeroed again when the heap grows into them: ~70 MB of tokio's run. A run frees a
//!   file's bodies once its checks are done (a library run the whole tree) and reuses that
//!   memory for the next file's bodies (and for the next batch), so giving pages back buys
//!   nothing before the process exits.
//!
//! Measured on tokio, alternating with the previous binary (20 rounds, a loaded 2-core VM):
//! kernel time ~85-120 ms instead of 150-300 ms, CPU time 1.18-1.24x of syn's parse-only run
//! instead of 1.27-1.60x; findings unchanged.
//!
//! The cargo processes a run starts (`cargo metadata`, `--with-check`'s `cargo check`)
//! inherit the THP setting. With the usual `madvise` THP mode that changes nothing for them
//! (rustc's and cargo's allocators do not ask for huge pages); with `always`, their heaps get
//! 4 KB pages.

use std::ffi::{c_int, c_long};

/// `mi_option_purge_delay` in mimalloc v3's `mi_option_t` (libmimalloc-sys 0.1.49):
/// milliseconds before freed memory is purged; -1 never purges. The tests check the index
/// against the documented defaults.
const PURGE_DELAY: c_int = 15;

extern "C" {
    // In the static mimalloc that `libmimalloc-sys` links for the global allocator.
    fn mi_option_set(option: c_int, value: c_long);
    #[cfg(test)]
    fn mi_option_get(option: c_int) -> c_long;
}

/// Sets the heap's purging up for this process; call it first thing in `main`, before any
/// thread starts (huge pages are already off: [`DISABLE_THP_AT_LOAD`]). A user's
/// `MIMALLOC_PURGE_DELAY` / `MIMALLOC_ALLOW_THP` still wins (for experiments).
pub fn configure() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: a setter of mimalloc's option table, valid for this index (see the tests),
        // which may be called at any time.
        unsafe { mi_option_set(PURGE_DELAY, -1) };
    }
}

/// Turns transparent huge pages off as the process loads: the dynamic loader runs the
/// functions of `.init_array` before the Rust runtime starts, so before any allocation.
#[cfg(target_os = "linux")]
#[used]
#[link_section = ".init_array"]
static DISABLE_THP_AT_LOAD: extern "C" fn() = disable_thp;

/// Runs before the Rust runtime is set up: it must not allocate (the first allocation is
/// the one it is here to precede) nor use `std`'s environment lock, hence `getenv`.
#[cfg(target_os = "linux")]
extern "C" fn disable_thp() {
    // SAFETY: getenv with a NUL-terminated name, before any thread exists that could
    // change the environment; prctl with integer arguments, which fails harmlessly
    // (EINVAL) on kernels before 3.15, which then keep huge pages.
    unsafe {
        if libc::getenv(c"MIMALLOC_ALLOW_THP".as_ptr()).is_null() {
            libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The index names the option we mean: a mimalloc whose `mi_option_t` moved would give
    /// other defaults here (the tests run without `configure`).
    #[test]
    fn purge_delay_is_mimalloc_v3s_option() {
        // SAFETY (all): getters of mimalloc's option table.
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            assert_eq!(unsafe { mi_option_get(PURGE_DELAY) }, 1000);
        }
        // Its neighbours with distinctive defaults: eager_commit_delay, os_tag, max_errors.
        assert_eq!(unsafe { mi_option_get(PURGE_DELAY - 1) }, 1);
        assert_eq!(unsafe { mi_option_get(PURGE_DELAY + 3) }, 100);
        assert_eq!(unsafe { mi_option_get(PURGE_DELAY + 4) }, 32);
    }

    /// The load-time constructor ran in this test binary too (it holds this module), before
    /// its `main`: without it huge pages would be on.
    #[cfg(target_os = "linux")]
    #[test]
    fn huge_pages_are_off_from_the_start() {
        if std::env::var_os("MIMALLOC_ALLOW_THP").is_some() {
            return;
        }
        // SAFETY: prctl with integer arguments; it returns the flag.
        assert_eq!(
            unsafe { libc::prctl(libc::PR_GET_THP_DISABLE, 0, 0, 0, 0) },
            1
        );
    }
}
