//! The registry: the list of every lint, from its id to its description and check.
//!
//! A lint lives in one file, `lints/<id>.rs`, which holds its [`Lint`] description (whose
//! `explanation` is what `--explain <id>` prints), its check and its tests. Its id, name and
//! default level are declared in [`crate::lint_defs`], below the engine, so that
//! configuration and diagnostics can name lints without depending on the lints themselves;
//! what a lint is (the [`Lint`] type, checks and contexts) is in [`crate::lint`].

use crate::lint::{Check, Lint};
use crate::lint_defs::LintId;

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

/// The description and check of lint `id`.
pub fn lint(id: LintId) -> &'static Lint {
    match id {
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

const INTERNAL_ERROR: Lint = Lint {
    id: LintId::InternalError,
    summary: "the analyzer failed on a file (a bug in gomem; please report it)",
    explanation: "An `internal_error` means that one of gomem's checks crashed on a file. The \
        other checks and files were still analyzed, but the run exits with code 2 because its \
        result is incomplete. Please report it with the file that triggers it.",
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
            let lint = lint(id);
            assert_eq!(lint.id, id, "{} is registered under another id", id.name());
            assert!(
                !lint.summary.is_empty() && !lint.summary.ends_with('.'),
                "{}",
                id.name()
            );
            if id == LintId::InternalError {
                continue;
            }
            for section in ["## What it finds", "## Why it matters", "## Example"] {
                assert!(
                    lint.explanation.contains(section),
                    "`{}` lacks `{section}`",
                    id.name()
                );
            }
            if matches!(lint.check, Check::File(_) | Check::Crate(_)) {
                assert!(
                    lint.explanation.contains("## What it does not report"),
                    "`{}` does not say what it leaves alone",
                    id.name()
                );
            }
        }
    }
}
