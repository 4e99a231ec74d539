//! gomem's analysis engine: the library behind `cargo gomem-lint` and the
//! `#[gomem::escape]` attribute.
//!
//! Data flows one way: [`workspace`] (what to analyze) -> [`source`] (files, text, lines) ->
//! [`parse`] (syn trees, never crashing) -> [`index`] (modules, items, `use` resolution) ->
//! facts ([`callgraph`], [`globals`], [`allocation`], [`escape`]) -> [`lints`] (findings as
//! [`diagnostic::Diagnostic`]s) -> [`suppress`] -> `report` (human, JSON and SARIF output,
//! with the `cli` feature). [`driver`] runs the pipeline on all cores; [`attribute`] is what
//! the proc macro does to an item. The modules form layers that import only downward: the
//! order is declared in `tests/layering.rs` and explained in the repository's
//! ARCHITECTURE.md.
//!
//! Without the default `cli` feature the engine depends only on syn, proc-macro2, quote,
//! petgraph and memchr, so that a proc-macro crate can use it cheaply.

pub mod allocation;
pub mod attribute;
#[cfg(feature = "cli")]
pub mod baseline;
pub mod callgraph;
#[cfg(feature = "cli")]
pub mod cli;
pub mod config;
#[cfg(feature = "cli")]
pub mod config_file;
pub mod consteval;
pub mod diagnostic;
pub mod driver;
#[cfg(feature = "cli")]
pub mod editor;
pub mod escape;
pub mod fingerprint;
pub mod globals;
pub mod ids;
pub mod index;
pub mod layout;
pub mod lint;
pub mod lint_defs;
pub mod lints;
pub mod modtree;
pub mod one_time;
pub mod parse;
#[cfg(feature = "cli")]
pub mod report;
pub mod semantics;
pub mod source;
pub mod span;
pub mod std_macros;
pub mod suppress;
pub mod syntax;
pub mod test_code;
#[cfg(test)]
mod test_util;
pub mod types;
pub mod workspace;
