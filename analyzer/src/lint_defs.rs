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

    /// Its level in test code (`#[test]` fns, `#[cfg(test)]` items, test, bench and example
    /// targets), when that differs from its level elsewhere: `None` means the same level.
    /// `unjoined_task` is off there: tests synchronize threads through channels and barriers
    /// and let the test harness end them, and nobody would join those handles.
    pub fn default_level_in_tests(self) -> Option<Level> {
        match self {
            LintId::UnjoinedTask => Some(Level::Allow),
            _ => None,
        }
    }

    /// The rustc and clippy lints that report the same finding, so that an `allow` or
    /// `expect` of one of them where the finding starts silences this lint too, as
    /// rust-analyzer's diagnostics honour the rustc lints they mirror. Only exact
    /// equivalents: clippy's `mem_forget` judges one of the several ways
    /// `leaked_allocation` finds, so allowing it says nothing of a `Box::leak`.
    pub fn also_silenced_by(self) -> &'static [&'static str] {
        match self {
            LintId::UnboundedRecursion => {
                &["unconditional_recursion", "clippy::unconditional_recursion"]
            }
            LintId::UnwaitedChild => &["clippy::zombie_processes"],
            LintId::LargeStackValue => {
                &["clippy::large_stack_arrays", "clippy::large_stack_frames"]
            }
            _ => &[],
        }
    }

    /// The gomem lint that a rustc or clippy lint name (as written in `allow(..)`) stands
    /// for here, if any (see [`LintId::also_silenced_by`]).
    pub fn silenced_with(foreign: &str) -> Option<LintId> {
        LintId::ALL
            .into_iter()
            .find(|id| id.also_silenced_by().contains(&foreign))
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

/// What to say of `name` when it names no lint: the closest of `names` as a "did you mean",
/// as rustc, clippy and cargo suggest, or else the whole list.
pub fn unknown_lint(name: &str, names: &[&str]) -> String {
    match closest(name, names) {
        Some(near) => format!("unknown lint `{name}`; did you mean `{near}`?"),
        None => format!("unknown lint `{name}`; the lints are: {}", names.join(", ")),
    }
}

/// The name of `names` closest to `name` in edits (`-` and `_` alike, case ignored), if it is
/// close enough to be a typo: at most a third of the name's length, as rustc's suggestions.
pub fn closest<'a>(name: &str, names: &[&'a str]) -> Option<&'a str> {
    let name = name
        .strip_prefix("gomem::")
        .unwrap_or(name)
        .replace('-', "_")
        .to_lowercase();
    let limit = (name.chars().count() / 3).max(1);
    names
        .iter()
        .map(|n| (edit_distance(&name, n), *n))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n)
}

/// Levenshtein distance, in chars. (The engine keeps to syn and a few crates, so this small
/// routine is written here rather than taken from strsim.)
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
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

    #[test]
    fn a_rustc_or_clippy_lint_stands_for_at_most_one_gomem_lint() {
        let mut seen = std::collections::HashSet::new();
        for id in LintId::ALL {
            for &foreign in id.also_silenced_by() {
                assert!(seen.insert(foreign), "`{foreign}` is listed twice");
                assert_eq!(LintId::silenced_with(foreign), Some(id));
                assert_eq!(
                    LintId::from_name(foreign),
                    None,
                    "`{foreign}` is a gomem name"
                );
            }
        }
        assert_eq!(
            LintId::silenced_with("clippy::zombie_processes"),
            Some(LintId::UnwaitedChild)
        );
        assert_eq!(LintId::silenced_with("dead_code"), None);
        assert_eq!(LintId::silenced_with("clippy::mem_forget"), None);
    }

    #[test]
    fn an_unknown_name_gets_the_closest_lint_or_the_list() {
        let names: Vec<&str> = LintId::ALL.iter().map(|id| id.name()).collect();
        assert_eq!(closest("unjoined_tasks", &names), Some("unjoined_task"));
        assert_eq!(closest("Unjoined-Task", &names), Some("unjoined_task"));
        assert_eq!(closest("gomem::rc_cycles", &names), Some("rc_cycle"));
        assert_eq!(closest("leaked_alloc", &names), None);
        assert_eq!(closest("xyz", &names), None);
        assert_eq!(
            unknown_lint("unjoined_tasks", &names),
            "unknown lint `unjoined_tasks`; did you mean `unjoined_task`?"
        );
        assert!(unknown_lint("xyz", &names).contains("the lints are: parse_error, unjoined_task"));
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "ab"), 2);
    }
}
