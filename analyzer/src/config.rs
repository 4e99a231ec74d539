//! Settings of a run: lint levels and thresholds.
//!
//! Levels start at each lint's default and are changed by `-A/-W/-D` flags in the order they
//! were given, as rustc does; `warnings` names every warning (`-D warnings` turns warnings into
//! errors, `-A warnings` silences them).
//!
//! Test code (`#[test]` fns, `#[cfg(test)]` items, test, bench and example targets) has a level
//! of its own per lint, set by configuration files (`[lints.<id>] in_tests = ".."`): by
//! default it is the lint's level, except where `LintId::default_level_in_tests` says
//! otherwise. A configuration file's `lints.<id> = ".."` (or `level = ".."`) sets the level
//! outside test code only; a flag (`-D unjoined_task`) sets both, as the command line has the
//! last word; `warnings` applies to both.

use crate::lint_defs::{Level, LintId};

#[derive(Clone, Debug, Default)]
pub struct Config {
    pub levels: LintLevels,
    pub thresholds: Thresholds,
    /// `--explain-escapes` detail: 1 for the decisions, 2 to add the flow behind them.
    pub escape_detail: u8,
    /// Settings of packages that have their own (`[package.metadata.gomem]`), by package
    /// index; `None` for packages that use the run's.
    pub per_package: Vec<Option<Config>>,
    /// Do not free the syntax trees at the end of the run, and of a file's tree free only
    /// its fn bodies once its checks are done. Freeing them costs about a tenth of the run; a
    /// command that exits right after the analysis can skip it, as rustc skips freeing its
    /// arenas. A library caller that analyzes more than once must leave it off.
    pub leak_syntax_at_exit: bool,
    /// Leave to the compiler the unreadable files it reports itself (syntax errors, files
    /// that are not UTF-8, `mod foo;` without a file): set when rustc's messages are shown
    /// beside gomem's (`--with-check`), so that each problem is reported once. Files skipped
    /// for nesting too deep for gomem's parser are still reported: rustc may well compile them.
    pub compiler_reports_unreadable_files: bool,
    /// How much source (bytes) a batch of packages may hold before the next package starts a
    /// new one (see the driver); 0 for the default. Findings do not depend on it.
    pub batch_bytes: u64,
}

impl Config {
    /// The settings that apply to the files of `package` (the run's when it has none).
    pub fn for_package(&self, package: Option<crate::ids::PackageId>) -> &Config {
        package
            .and_then(|p| self.per_package.get(p.0 as usize))
            .and_then(Option::as_ref)
            .unwrap_or(self)
    }

    /// Applies one layer of settings from a configuration file.
    pub fn apply(&mut self, settings: &Settings) -> Result<(), String> {
        for (name, level) in &settings.levels {
            self.levels
                .set_outside_tests(name, *level)
                .map_err(|e| format!("{}: in `lints`: {e}", settings.origin))?;
        }
        for (name, level) in &settings.test_levels {
            self.levels
                .set_in_tests(name, *level)
                .map_err(|e| format!("{}: in `lints`: {e}", settings.origin))?;
        }
        if let Some(n) = settings.static_size {
            self.thresholds.static_size = n;
        }
        if let Some(n) = settings.stack_value_size {
            self.thresholds.stack_value_size = n;
        }
        Ok(())
    }
}

/// One layer of settings, as read from `gomem.toml` or a `[*.metadata.gomem]` table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Settings {
    /// Where it was read, for error messages: `gomem.toml`, `Cargo.toml [package.metadata.gomem]`.
    pub origin: String,
    /// `lints.<id> = "allow" | "warn" | "deny"`, in file order.
    pub levels: Vec<(String, Level)>,
    /// `lints.<id>.in_tests = ".."`: the lint's level in test code, in file order.
    pub test_levels: Vec<(String, Level)>,
    pub static_size: Option<u64>,
    pub stack_value_size: Option<u64>,
    /// Glob patterns of files whose findings are not reported, relative to `base`.
    pub exclude: Vec<String>,
    /// The folder the patterns are relative to: the workspace's or the package's.
    pub base: std::path::PathBuf,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Thresholds {
    /// `oversized_static` fires above this many bytes.
    pub static_size: u64,
    /// `large_stack_value` fires for a local of more than this many bytes.
    pub stack_value_size: u64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            static_size: 1 << 20,
            stack_value_size: 512 << 10,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LintLevels {
    levels: Vec<Level>,
    /// The level in test code, where it is not the lint's level.
    in_tests: Vec<Option<Level>>,
    /// `-D warnings`/`-A warnings`: what happens to findings whose level is `Warn`.
    warnings: Option<Level>,
}

impl Default for LintLevels {
    fn default() -> Self {
        LintLevels {
            levels: LintId::ALL.iter().map(|id| id.default_level()).collect(),
            in_tests: LintId::ALL
                .iter()
                .map(|id| id.default_level_in_tests())
                .collect(),
            warnings: None,
        }
    }
}

impl LintLevels {
    pub fn get(&self, id: LintId) -> Level {
        self.grouped(self.levels[id as usize])
    }

    /// The level of `id`'s findings in test code.
    pub fn get_in_tests(&self, id: LintId) -> Level {
        self.grouped(self.in_tests[id as usize].unwrap_or(self.levels[id as usize]))
    }

    /// The level of a finding of `id`, in test code or not.
    pub fn get_for(&self, id: LintId, in_tests: bool) -> Level {
        if in_tests {
            self.get_in_tests(id)
        } else {
            self.get(id)
        }
    }

    /// Whether `id` is allowed everywhere, in test code too: its check need not run.
    pub fn off(&self, id: LintId) -> bool {
        self.get(id) == Level::Allow && self.get_in_tests(id) == Level::Allow
    }

    /// `level` after `-D warnings`/`-A warnings`.
    fn grouped(&self, level: Level) -> Level {
        match (level, self.warnings) {
            (Level::Warn, Some(w)) => w,
            _ => level,
        }
    }

    /// Sets the level of `name`'s findings in test code (`lints.<name>.in_tests`).
    pub fn set_in_tests(&mut self, name: &str, level: Level) -> Result<(), String> {
        let Some(id) = LintId::from_name(name) else {
            return Err(crate::lint_defs::unknown_lint(name, &lint_names()));
        };
        if !id.configurable() {
            return Err(format!("the level of `{name}` cannot be changed"));
        }
        self.in_tests[id as usize] = Some(level);
        Ok(())
    }

    /// Applies one command-line flag: `level` for `name` (a lint id or `warnings`), in test
    /// code and elsewhere.
    pub fn set(&mut self, name: &str, level: Level) -> Result<(), String> {
        self.set_outside_tests(name, level)?;
        if let Some(id) = LintId::from_name(name) {
            self.in_tests[id as usize] = None;
        }
        Ok(())
    }

    /// `lints.<name> = ".."` in a configuration file: the level outside test code.
    pub fn set_outside_tests(&mut self, name: &str, level: Level) -> Result<(), String> {
        if name == "warnings" {
            self.warnings = if level == Level::Warn {
                None
            } else {
                Some(level)
            };
            return Ok(());
        }
        let Some(id) = LintId::from_name(name) else {
            return Err(crate::lint_defs::unknown_lint(name, &configurable_names()));
        };
        if !id.configurable() {
            return Err(format!("the level of `{name}` cannot be changed"));
        }
        self.levels[id as usize] = level;
        Ok(())
    }
}

/// The names whose level flags and configuration files may set: every lint whose level may
/// change, and the group `warnings`.
pub fn configurable_names() -> Vec<&'static str> {
    LintId::ALL
        .iter()
        .filter(|id| id.configurable())
        .map(|id| id.name())
        .chain(["warnings"])
        .collect()
}

/// The lints whose level in test code may be set (`warnings` is not a lint).
fn lint_names() -> Vec<&'static str> {
    LintId::ALL
        .iter()
        .filter(|id| id.configurable())
        .map(|id| id.name())
        .collect()
}

/// Parses `1048576`, `1MiB`, `512 KiB`, `2GB`. Units are always binary: `KB`, `MB` and `GB`
/// mean KiB, MiB and GiB, as the sizes the lints print do.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !c.is_ascii_digit() && c != '_')
        .unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    let n: u64 = digits
        .replace('_', "")
        .parse()
        .map_err(|_| format!("`{s}` is not a size (try `1MiB` or `4096`)"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        other => return Err(format!("unknown size unit `{other}` (use KiB, MiB or GiB)")),
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("`{s}` is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_flags_win_and_warnings_is_a_group() {
        let mut l = LintLevels::default();
        assert_eq!(l.get(LintId::UnjoinedTask), Level::Warn);
        l.set("unjoined-task", Level::Allow).unwrap();
        l.set("gomem::unjoined_task", Level::Deny).unwrap();
        assert_eq!(l.get(LintId::UnjoinedTask), Level::Deny);
        l.set("oversized_static", Level::Warn).unwrap();
        l.set("warnings", Level::Deny).unwrap();
        assert_eq!(l.get(LintId::OversizedStatic), Level::Deny);
        l.set("warnings", Level::Allow).unwrap();
        assert_eq!(l.get(LintId::OversizedStatic), Level::Allow);
        assert_eq!(l.get(LintId::UnjoinedTask), Level::Deny);
    }

    #[test]
    fn test_code_has_its_own_level() {
        let mut l = LintLevels::default();
        assert_eq!(l.get_in_tests(LintId::UnjoinedTask), Level::Allow);
        assert_eq!(l.get_in_tests(LintId::RcCycle), Level::Warn);
        // A configuration file's level leaves a lint's own test level alone, and moves the
        // others with it.
        l.set_outside_tests("unjoined_task", Level::Deny).unwrap();
        l.set_outside_tests("rc_cycle", Level::Deny).unwrap();
        assert_eq!(l.get_in_tests(LintId::UnjoinedTask), Level::Allow);
        assert_eq!(l.get_in_tests(LintId::RcCycle), Level::Deny);
        assert!(!l.off(LintId::UnjoinedTask));
        l.set_in_tests("unjoined-task", Level::Warn).unwrap();
        assert_eq!(l.get_for(LintId::UnjoinedTask, true), Level::Warn);
        l.set("warnings", Level::Deny).unwrap();
        assert_eq!(l.get_for(LintId::UnjoinedTask, true), Level::Deny);
        l.set_outside_tests("unjoined_task", Level::Allow).unwrap();
        assert!(!l.off(LintId::UnjoinedTask), "still on in tests");
        l.set_in_tests("unjoined_task", Level::Allow).unwrap();
        assert!(l.off(LintId::UnjoinedTask));
        // A flag has the last word, in test code too.
        l.set("unjoined_task", Level::Warn).unwrap();
        assert_eq!(
            l.get_for(LintId::UnjoinedTask, true),
            Level::Deny,
            "-D warnings"
        );
        l.set("unjoined_task", Level::Allow).unwrap();
        assert!(l.off(LintId::UnjoinedTask));
        assert!(l.set_in_tests("warnings", Level::Allow).is_err());
        assert!(l.set_in_tests("internal_error", Level::Allow).is_err());
    }

    #[test]
    fn unknown_and_fixed_lints_are_errors() {
        let mut l = LintLevels::default();
        let err = l.set("unjoined_tasks", Level::Allow).unwrap_err();
        assert!(
            err.contains("unknown lint `unjoined_tasks`") && err.contains("unjoined_task"),
            "{err}"
        );
        assert!(l.set("internal_error", Level::Allow).is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("1MiB"), Ok(1 << 20));
        assert_eq!(parse_size("512 KiB"), Ok(512 << 10));
        assert_eq!(parse_size("1_000"), Ok(1000));
        assert!(parse_size("1 parsec").is_err());
        assert!(parse_size("MiB").is_err());
    }
}
