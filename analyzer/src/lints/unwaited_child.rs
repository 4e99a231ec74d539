//! `unwaited_child`: a child process that is spawned and never waited for. (Being written: registered so that the lints can be built side by side.)

use super::{Check, FileContext, Lint, LintId};
use crate::diagnostic::{Diagnostic, Level};

pub const LINT: Lint = Lint {
    id: LintId::UnwaitedChild,
    name: "unwaited_child",
    default_level: Level::Warn,
    summary: "a child process that is spawned and never waited for",
    explanation: "Not written yet.",
    configurable: true,
    check: Check::File(check),
};

fn check(_cx: &FileContext<'_>) -> Vec<Diagnostic> {
    Vec::new()
}
