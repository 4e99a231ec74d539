//! The thread's CPU time, shared by the examples that report it beside the wall clock: on a
//! busy machine the wall clock also counts the time the thread waited for a core.

use std::time::Duration;

/// The calling thread's CPU time so far (zero where there is no per-thread CPU clock).
pub fn thread_cpu() -> Duration {
    #[cfg(unix)]
    {
        let mut t = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `clock_gettime` only writes the `timespec` it is given, a valid local.
        if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) } == 0 {
            return Duration::new(t.tv_sec as u64, t.tv_nsec as u32);
        }
    }
    Duration::ZERO
}
