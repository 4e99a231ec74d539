//! Every lint's id, name and default level, and what a level is.
//!
//! This is the part of a lint that the layers under the lints need: configuration reads
//! levels by lint name, a [`Diagnostic`](crate::diagnostic::Diagnostic) carries its lint's
//! id, suppressions name lints. It sits at the bottom of the engine, as rustc's
//! `rustc_lint_defs` sits under its lint passes; what each lint finds and how it checks
//! (its docs and its check) lives in `lints/<name>.rs`, above the engine it uses.
//!
//! Invariant: [`LintId::ALL`] lists every id in declaration order, so `id as usize`
//! indexes it, and every name is unique.

/// How seriously a finding is taken, as in rustc: `Allow` drops it, `Warn` reports it, `Deny`
/// reports it and fails the run (exit code 1). `Note` is informational output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Allow,
    Note,
    Warn,
    Deny,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Allow => "allow",
            Level::Note => "note",
            Level::Warn => "warn",
            Level::Deny => "deny",
        }
    }
}

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

    /// The name used in output codes, configuration and suppressions.
    pub fn name(self) -> &'static str {
        match self {
            LintId::ParseError => "parse_error",
            LintId::UnjoinedTask => "unjoined_task",
            LintId::OversizedStatic => "oversized_static",
            LintId::UnboundedRecursion => "unbounded_recursion",
            LintId::RetainedGlobal => "retained_global",
            LintId::UnboundedGlobal => "unbounded_global",
            LintId::UnboundedLoopGrowth => "unbounded_loop_growth",
            LintId::LeakedAllocation => "leaked_allocation",
            LintId::RcCycle => "rc_cycle",
            LintId::LargeStackValue => "large_stack_value",
            LintId::UnwaitedChild => "unwaited_child",
            LintId::UnusedSuppression => "unused_suppression",
            LintId::SuppressionWithoutReason => "suppression_without_reason",
            LintId::Escape => "escape",
            LintId::InternalError => "internal_error",
        }
    }

    /// The level a finding has unless configuration says otherwise. `escape` notes are off
    /// unless asked for; parse errors and internal errors fail the run.
    pub fn default_level(self) -> Level {
        match self {
            LintId::ParseError | LintId::InternalError => Level::Deny,
            LintId::Escape | LintId::SuppressionWithoutReason => Level::Allow,
            LintId::UnjoinedTask
            | LintId::OversizedStatic
            | LintId::UnboundedRecursion
            | LintId::RetainedGlobal
            | LintId::UnboundedGlobal
            | LintId::UnboundedLoopGrowth
            | LintId::LeakedAllocation
            | LintId::RcCycle
            | LintId::LargeStackValue
            | LintId::UnwaitedChild
            | LintId::UnusedSuppression => Level::Warn,
        }
    }

    /// Whether `-A/-W/-D`, configuration files and suppressions may change its level. Only
    /// `internal_error` is fixed: a crashed check must never pass silently.
    pub fn configurable(self) -> bool {
        self != LintId::InternalError
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_lists_every_id_in_declaration_order_with_unique_names() {
        for (i, id) in LintId::ALL.into_iter().enumerate() {
            assert_eq!(id as usize, i);
            assert_eq!(LintId::from_name(id.name()), Some(id));
            assert_eq!(LintId::from_name(&id.code()), Some(id));
        }
        assert_eq!(
            LintId::from_name("unjoined-task"),
            Some(LintId::UnjoinedTask)
        );
        assert_eq!(LintId::from_name("unjoined_tasks"), None);
    }
}
