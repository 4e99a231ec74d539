//! `rc_cycle`: types whose `Rc`/`Arc` fields can form a strong cycle, which is never freed. (Being written: registered so that the lints can be built side by side.)

use super::{Check, FileContext, Lint, LintId};
use crate::diagnostic::{Diagnostic, Level};

pub const LINT: Lint = Lint {
    id: LintId::RcCycle,
    name: "rc_cycle",
    default_level: Level::Warn,
    summary: "types whose `Rc`/`Arc` fields can form a strong cycle, which is never freed",
    explanation: "Not written yet.",
    configurable: true,
    check: Check::File(check),
};

fn check(_cx: &FileContext<'_>) -> Vec<Diagnostic> {
    Vec::new()
}
