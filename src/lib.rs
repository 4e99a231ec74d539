//! gomem: Go's memory story for Rust.
//!
//! - [`Gc`], [`GcCell`] and `#[derive(Trace)]`: a garbage-collected heap for shared and cyclic
//!   data (see [`gomem_runtime`] for the design);
//! - `cargo gomem-lint` (the `gomem-analyzer` crate): the leak linter.

pub use gomem_runtime::{
    collect, set_gc_percent, set_memory_limit, stats, Gc, GcCell, GcCellRef, GcCellRefMut,
    MemStats, Trace, Tracer,
};

/// `#[gomem::escape]`: see the attribute's docs.
pub use gomem_macros::escape;

/// The per-call arena `#[gomem::escape]` rewrites allocations onto.
pub use gomem_runtime::arena;

/// `#[derive(Trace)]`: see [`gomem_runtime::Trace`].
pub use gomem_macros::Trace;

/// Silences `cargo gomem-lint` findings on an item: `#[gomem::allow(rc_cycle, reason = "..")]`.
pub use gomem_macros::allow;

#[doc(hidden)]
pub use gomem_runtime::__private;
