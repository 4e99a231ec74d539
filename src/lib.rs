//! gomem: Go's memory story for Rust.
//!
//! - [`Gc`], [`GcCell`] and `#[derive(Trace)]`: a garbage-collected heap for shared and cyclic
//!   data (see [`gomem_runtime`] for the design), with Go's run-time telemetry: [`stats`],
//!   `GOMEM_GCTRACE=1` and heap profiles ([`write_heap_profile`]);
//! - `#[gomem::escape]`: escape analysis at compile time, onto the per-call [`arena`];
//! - `cargo gomem-lint` (the `cargo-gomem-lint` package): the leak linter.
//!
//! This crate is the one users depend on: it re-exports the whole public API of the runtime
//! (every item `gomem_runtime` exports, so nothing is reachable only through the runtime's
//! own name) and the macros.

/// The runtime's whole public API: `Gc`, `GcCell`, `Trace`, `collect`, `stats`, the heap
/// profile, the arena, and whatever the runtime exports next.
pub use gomem_runtime::*;

/// `#[gomem::escape]`: see the attribute's docs.
pub use gomem_macros::escape;

/// `#[derive(Trace)]`: see [`gomem_runtime::Trace`].
pub use gomem_macros::Trace;

/// Silences `cargo gomem-lint` findings on an item: `#[gomem::allow(rc_cycle, reason = "..")]`.
pub use gomem_macros::allow;

/// Not for use: the attribute `scripts/bench-escape-build.sh` compares `#[gomem::escape]` with
/// (syn's parse of the item alone).
#[doc(hidden)]
pub use gomem_macros::__bench_parse_only;
