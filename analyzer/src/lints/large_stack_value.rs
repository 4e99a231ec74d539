//! `large_stack_value`: a local value large enough to overflow the stack it runs on. (Being written: registered so that the lints can be built side by side.)

use super::{Check, FileContext, Lint, LintId};
use crate::diagnostic::{Diagnostic, Level};

pub const LINT: Lint = Lint {
    id: LintId::LargeStackValue,
    name: "large_stack_value",
    default_level: Level::Warn,
    summary: "a local value large enough to overflow the stack it runs on",
    explanation: "Not written yet.",
    configurable: true,
    check: Check::File(check),
};

fn check(_cx: &FileContext<'_>) -> Vec<Diagnostic> {
    Vec::new()
}
