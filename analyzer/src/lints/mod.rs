//! The lint registry: every lint's stable id, default level, documentation and check.
//!
//! A lint lives in one file, `lints/<id>.rs`, which holds its [`Lint`] description (whose
//! `explanation` is what `--explain <id>` prints) and its [`Check`]. File checks see one parsed
//! file at a time plus the workspace-wide [`ItemIndex`]. Crate checks (a call graph, the types
//! of a crate) first collect facts from each file, on the thread that holds its syntax tree,
//! then judge all the facts together. Checks return diagnostics and never print.

use std::any::Any;

use crate::config::Config;
use crate::diagnostic::{Diagnostic, Level};
use crate::index::{ItemIndex, ModuleId};
use crate::source::{SourceDb, SourceFile};
use crate::span::FileId;

pub mod escape;
pub mod large_stack_value;
pub mod leaked_allocation;
pub mod oversized_static;
pub mod parse_error;
pub mod rc_cycle;
pub mod retained_global;
pub mod suppression_without_reason;
pub mod unbounded_global;
pub mod unbounded_loop_growth;
pub mod unbounded_recursion;
pub mod unjoined_task;
pub mod unused_suppression;
pub mod unwaited_child;

/// The stable id of a lint; spelled `gomem::<id>` in output codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LintId {
    ParseError,
    UnjoinedTask,
    OversizedStatic,
    UnboundedRecursion,
    RetainedGlobal,
    UnboundedGlobal,
    UnboundedLoopGrowth,
    LeakedAllocation,
    RcCycle,
    LargeStackValue,
    UnwaitedChild,
    UnusedSuppression,
    SuppressionWithoutReason,
    Escape,
    /// Not a lint: the analyzer itself failed (a check panicked). Cannot be allowed.
    InternalError,
}

impl LintId {
    /// In declaration order: `id as usize` indexes it.
    pub const ALL: [LintId; 15] = [
        LintId::ParseError,
        LintId::UnjoinedTask,
        LintId::OversizedStatic,
        LintId::UnboundedRecursion,
        LintId::RetainedGlobal,
        LintId::UnboundedGlobal,
        LintId::UnboundedLoopGrowth,
        LintId::LeakedAllocation,
        LintId::RcCycle,
        LintId::LargeStackValue,
        LintId::UnwaitedChild,
        LintId::UnusedSuppression,
        LintId::SuppressionWithoutReason,
        LintId::Escape,
        LintId::InternalError,
    ];

    pub fn lint(self) -> &'static Lint {
        match self {
            LintId::ParseError => &parse_error::LINT,
            LintId::UnjoinedTask => &unjoined_task::LINT,
            LintId::OversizedStatic => &oversized_static::LINT,
            LintId::UnboundedRecursion => &unbounded_recursion::LINT,
            LintId::RetainedGlobal => &retained_global::LINT,
            LintId::UnboundedGlobal => &unbounded_global::LINT,
            LintId::UnboundedLoopGrowth => &unbounded_loop_growth::LINT,
            LintId::LeakedAllocation => &leaked_allocation::LINT,
            LintId::RcCycle => &rc_cycle::LINT,
            LintId::LargeStackValue => &large_stack_value::LINT,
            LintId::UnwaitedChild => &unwaited_child::LINT,
            LintId::UnusedSuppression => &unused_suppression::LINT,
            LintId::SuppressionWithoutReason => &suppression_without_reason::LINT,
            LintId::Escape => &escape::LINT,
            LintId::InternalError => &INTERNAL_ERROR,
        }
    }

    pub fn name(self) -> &'static str {
        self.lint().name
    }

    /// `gomem::<id>`, the code in every output format.
    pub fn code(self) -> String {
        format!("gomem::{}", self.name())
    }

    /// Parses `unjoined_task`, `unjoined-task` or `gomem::unjoined_task`.
    pub fn from_name(name: &str) -> Option<LintId> {
        let name = name
            .strip_prefix("gomem::")
            .unwrap_or(name)
            .replace('-', "_");
        LintId::ALL.into_iter().find(|id| id.name() == name)
    }
}

/// The context a file lint runs in.
pub struct FileContext<'a> {
    pub file: FileId,
    pub source: &'a SourceFile,
    pub syntax: &'a syn::File,
    /// The module the file's top level is.
    pub module: ModuleId,
    pub index: &'a ItemIndex,
    pub config: &'a Config,
}

impl FileContext<'_> {
    /// The module an inline `mod m { .. }` inside module `outer` is (or `outer` itself when the
    /// index does not know it, e.g. a module inside a fn body).
    pub fn inner_module(&self, outer: ModuleId, m: &syn::ItemMod) -> ModuleId {
        self.index
            .child_module(outer, &m.ident.to_string())
            .unwrap_or(outer)
    }
}

pub type FileCheck = fn(&FileContext<'_>) -> Vec<Diagnostic>;

/// What a crate check learned from one file; its judge downcasts it back (see [`facts_of`]).
pub type Facts = Box<dyn Any + Send>;

/// What a crate check's `judge` sees: the whole workspace's index, sources and settings.
pub struct CrateContext<'a> {
    pub index: &'a ItemIndex,
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
    pub name: &'static str,
    pub default_level: Level,
    /// One line, for `--help` and listings.
    pub summary: &'static str,
    /// Markdown, printed by `--explain <id>`.
    pub explanation: &'static str,
    /// Whether `-A/-W/-D` may change its level.
    pub configurable: bool,
    pub check: Check,
}

const INTERNAL_ERROR: Lint = Lint {
    id: LintId::InternalError,
    name: "internal_error",
    default_level: Level::Deny,
    summary: "the analyzer failed on a file (a bug in gomem; please report it)",
    explanation: "An `internal_error` means that one of gomem's checks crashed on a file. The \
        other checks and files were still analyzed, but the run exits with code 2 because its \
        result is incomplete. Please report it with the file that triggers it.",
    configurable: false,
    check: Check::Builtin,
};

#[cfg(test)]
mod tests {
    use super::*;

    /// `--explain` prints these docs: every lint tells what it finds, why it matters, shows
    /// an example, and (for the lints that look at code) what it deliberately leaves alone.
    #[test]
    fn every_lint_documents_itself_in_the_same_outline() {
        for id in LintId::ALL {
            let lint = id.lint();
            assert_eq!(lint.id, id, "{} is registered under another id", lint.name);
            assert_eq!(LintId::from_name(lint.name), Some(id));
            assert!(
                !lint.summary.is_empty() && !lint.summary.ends_with('.'),
                "{}",
                lint.name
            );
            if id == LintId::InternalError {
                continue;
            }
            for section in ["## What it finds", "## Why it matters", "## Example"] {
                assert!(
                    lint.explanation.contains(section),
                    "`{}` lacks `{section}`",
                    lint.name
                );
            }
            if matches!(lint.check, Check::File(_) | Check::Crate(_)) {
                assert!(
                    lint.explanation.contains("## What it does not report"),
                    "`{}` does not say what it leaves alone",
                    lint.name
                );
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod test_util {
    //! Runs the whole pipeline on one source text, for the lints' unit tests.
    use super::LintId;
    use crate::config::Config;
    use crate::workspace::Workspace;

    /// `(1-based line, message)` of every finding of `lint` in `src`.
    pub fn findings(lint: LintId, src: &str) -> Vec<(usize, String)> {
        static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("gomem-unit-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("lib.rs");
        std::fs::write(&path, src).unwrap();
        let analysis =
            crate::driver::analyze_with(Workspace::from_paths(&[path]), Config::default(), 1);
        std::fs::remove_dir_all(&dir).ok();
        analysis
            .diagnostics
            .iter()
            .filter(|d| d.lint == lint || d.lint == LintId::InternalError)
            .map(|d| {
                let file = analysis.db.get(d.primary.span.file);
                (
                    file.line_col(d.primary.span.lo as usize).0,
                    d.message.clone(),
                )
            })
            .collect()
    }
}
