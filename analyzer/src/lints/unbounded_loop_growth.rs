//! `unbounded_loop_growth`: an endless loop that adds to a collection it never shrinks. (Being written: registered so that the lints can be built side by side.)

use super::{Check, FileContext, Lint, LintId};
use crate::diagnostic::{Diagnostic, Level};

pub const LINT: Lint = Lint {
    id: LintId::UnboundedLoopGrowth,
    name: "unbounded_loop_growth",
    default_level: Level::Warn,
    summary: "an endless loop that adds to a collection it never shrinks",
    explanation: "Not written yet.",
    configurable: true,
    check: Check::File(check),
};

fn check(_cx: &FileContext<'_>) -> Vec<Diagnostic> {
    Vec::new()
}
