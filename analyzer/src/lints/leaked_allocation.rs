//! `leaked_allocation`: memory given up on purpose (`Box::leak`, `mem::forget`, `into_raw`) and never reclaimed. (Being written: registered so that the lints can be built side by side.)

use super::{Check, FileContext, Lint, LintId};
use crate::diagnostic::{Diagnostic, Level};

pub const LINT: Lint = Lint {
    id: LintId::LeakedAllocation,
    name: "leaked_allocation",
    default_level: Level::Warn,
    summary:
        "memory given up on purpose (`Box::leak`, `mem::forget`, `into_raw`) and never reclaimed",
    explanation: "Not written yet.",
    configurable: true,
    check: Check::File(check),
};

fn check(_cx: &FileContext<'_>) -> Vec<Diagnostic> {
    Vec::new()
}
