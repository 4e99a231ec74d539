//! `retained_global`: a global that is given a large allocation at run time and keeps it for ever. (Being written: registered so that the lints can be built side by side.)

use super::{Check, FileContext, Lint, LintId};
use crate::diagnostic::{Diagnostic, Level};

pub const LINT: Lint = Lint {
    id: LintId::RetainedGlobal,
    name: "retained_global",
    default_level: Level::Warn,
    summary: "a global that is given a large allocation at run time and keeps it for ever",
    explanation: "Not written yet.",
    configurable: true,
    check: Check::File(check),
};

fn check(_cx: &FileContext<'_>) -> Vec<Diagnostic> {
    Vec::new()
}
