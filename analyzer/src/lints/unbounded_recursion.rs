//! `unbounded_recursion`: recursion that never stops, or that a literal argument drives deeper than the stack. (Being written: registered so that the lints can be built side by side.)

use super::{Check, FileContext, Lint, LintId};
use crate::diagnostic::{Diagnostic, Level};

pub const LINT: Lint = Lint {
    id: LintId::UnboundedRecursion,
    name: "unbounded_recursion",
    default_level: Level::Warn,
    summary: "recursion that never stops, or that a literal argument drives deeper than the stack",
    explanation: "Not written yet.",
    configurable: true,
    check: Check::File(check),
};

fn check(_cx: &FileContext<'_>) -> Vec<Diagnostic> {
    Vec::new()
}
