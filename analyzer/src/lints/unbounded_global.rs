//! `unbounded_global`: a global collection that is added to and never shrunk. (Being written: registered so that the lints can be built side by side.)

use super::{Check, FileContext, Lint, LintId};
use crate::diagnostic::{Diagnostic, Level};

pub const LINT: Lint = Lint {
    id: LintId::UnboundedGlobal,
    name: "unbounded_global",
    default_level: Level::Warn,
    summary: "a global collection that is added to and never shrunk",
    explanation: "Not written yet.",
    configurable: true,
    check: Check::File(check),
};

fn check(_cx: &FileContext<'_>) -> Vec<Diagnostic> {
    Vec::new()
}
