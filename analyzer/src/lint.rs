//! What a lint is: its description ([`Lint`]), the kinds of check it may run ([`Check`]),
//! and the contexts and facts those checks see.
//!
//! A file check sees one parsed file at a time plus the workspace-wide [`ItemIndex`]. A crate
//! check (a call graph, the types of a crate) first collects facts from each file, on the
//! thread that holds its syntax tree ([`FactSource`]), then judges all the facts together.
//! Checks return diagnostics and never print.
//!
//! This module sits under the fact collectors (`callgraph`, `globals`, `allocation`), which
//! name its [`FileContext`] and [`FactSource`], and under the lints themselves; the list of
//! lints (the registry, `lints/mod.rs`) sits above them all.

use std::any::Any;

use crate::config::Config;
use crate::diagnostic::Diagnostic;
use crate::index::{ItemIndex, ModuleId};
use crate::lint_defs::LintId;
use crate::semantics::Semantics;
use crate::source::{SourceDb, SourceFile};
use crate::span::FileId;

/// The context a file lint runs in.
pub struct FileContext<'a> {
    pub file: FileId,
    pub source: &'a SourceFile,
    pub syntax: &'a syn::File,
    /// The module the file's top level is.
    pub module: ModuleId,
    pub index: &'a ItemIndex,
    pub semantics: &'a Semantics,
    pub config: &'a Config,
}

impl FileContext<'_> {
    /// The module an inline `mod m { .. }` inside module `outer` is (or `outer` itself when the
    /// index does not know it, e.g. a module inside an `if` block of a fn body).
    pub fn inner_module(&self, outer: ModuleId, m: &syn::ItemMod) -> ModuleId {
        self.index
            .child_module(outer, &m.ident.to_string())
            .unwrap_or(outer)
    }

    /// The scope the body of fn (or const) `name` is read in, inside module `outer`: the
    /// scope of the items it declares (`fn f() { struct A; impl Display for A { .. } }`), or
    /// `outer` when it declares none.
    pub fn body_module(&self, outer: ModuleId, name: &syn::Ident, body: &syn::Block) -> ModuleId {
        let declares = |s: &syn::Stmt| matches!(s, syn::Stmt::Item(_));
        if !self.index.has_body_modules() || !body.stmts.iter().any(declares) {
            return outer;
        }
        self.index
            .body_module(crate::span::Span::of(self.file, name.span()))
            .unwrap_or(outer)
    }
}

pub type FileCheck = fn(&FileContext<'_>) -> Vec<Diagnostic>;

/// What a crate check learned from one file; its judge downcasts it back (see [`facts_of`]).
pub type Facts = Box<dyn Any + Send>;

/// What a crate check's `judge` sees: the whole workspace's index, sources and settings.
pub struct CrateContext<'a> {
    pub index: &'a ItemIndex,
    pub semantics: &'a Semantics,
    pub db: &'a SourceDb,
    pub config: &'a Config,
}

/// A kind of per-file facts. Lints that judge the same facts (the globals lints, say) name
/// the same source, and the driver collects it once per file for all of them.
pub struct FactSource {
    pub name: &'static str,
    /// Runs on every file, on the worker that parsed it.
    pub collect: fn(&FileContext<'_>) -> Facts,
}

/// Judges the facts of every file (in no particular order).
pub type Judge = fn(&CrateContext<'_>, &[(FileId, &Facts)]) -> Vec<Diagnostic>;

/// A check that needs more than one file at a time.
#[derive(Clone, Copy)]
pub struct CrateCheck {
    pub facts: &'static FactSource,
    /// Runs once, after every file's facts are collected.
    pub judge: Judge,
}

#[derive(Clone, Copy)]
pub enum Check {
    /// Reported by the pipeline itself (parse errors, internal errors).
    Builtin,
    File(FileCheck),
    Crate(CrateCheck),
}

/// The facts of type `T` in `facts`: what a [`FactSource`] collected from each file.
pub fn facts_of<'f, T: 'static>(facts: &[(FileId, &'f Facts)]) -> Vec<(FileId, &'f T)> {
    facts
        .iter()
        .filter_map(|(file, f)| Some((*file, f.downcast_ref::<T>()?)))
        .collect()
}

/// A lint's description. The `explanation` follows one outline for every lint: what it
/// finds, why it matters, an example, how to fix it, and what it deliberately does not catch.
pub struct Lint {
    pub id: LintId,
    /// One line, for `--help` and listings.
    pub summary: &'static str,
    /// Markdown, printed by `--explain <id>`.
    pub explanation: &'static str,
    pub check: Check,
}
