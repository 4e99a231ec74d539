//! Reading settings from `gomem.toml` and `[workspace.metadata.gomem]` /
//! `[package.metadata.gomem]` tables.
//!
//! The format is the same in all three places:
//! ```toml
//! exclude = ["src/generated/**"]      # findings in these files are not reported
//! [lints]
//! unjoined_task = "deny"
//! rc_cycle = "allow"
//! [lints.unwaited_child]              # the same, with a level for test code of its own
//! level = "deny"
//! in_tests = "warn"                   # `#[test]` fns, `#[cfg(test)]` items, tests, benches, examples
//! [thresholds]
//! static-size = "1MiB"                # oversized_static, retained_global
//! stack-value-size = "512KiB"         # large_stack_value
//! ```
//! Precedence: workspace table, then `gomem.toml`, then the package's table, then the command
//! line. An unknown key or lint, or a bad value, is an error that names the file, the key and
//! the valid choices: a setting that is silently ignored is worse than none.

use std::path::Path;

use serde_json::Value;

use crate::config::{configurable_names, Settings};
use crate::lint_defs::Level;
use crate::lint_defs::LintId;

const KEYS: &[&str] = &["lints", "thresholds", "exclude"];
const THRESHOLDS: &[&str] = &["static-size", "stack-value-size"];
/// The keys of a `[lints.<id>]` table.
const LINT_KEYS: &str = "level, in_tests";

/// `"allow"`, `"warn"` or `"deny"`, the value of the setting `key`.
fn level_of(origin: &str, key: &str, value: &Value) -> Result<Level, String> {
    match value.as_str() {
        Some("allow") => Ok(Level::Allow),
        Some("warn") => Ok(Level::Warn),
        Some("deny") => Ok(Level::Deny),
        _ => Err(format!(
            "{origin}: `{key}` must be \"allow\", \"warn\" or \"deny\", not {value}"
        )),
    }
}

/// Settings from a metadata table or a parsed `gomem.toml` (as JSON values).
pub fn parse(origin: &str, base: &Path, value: &Value) -> Result<Settings, String> {
    let mut settings = Settings {
        origin: origin.to_string(),
        base: base.to_path_buf(),
        ..Settings::default()
    };
    let Value::Object(table) = value else {
        return Err(format!("{origin}: expected a table of settings"));
    };
    for (key, v) in table {
        match key.as_str() {
            "lints" => {
                let Value::Object(lints) = v else {
                    return Err(format!(
                        "{origin}: `lints` must be a table of `lint = \"level\"`"
                    ));
                };
                for (name, setting) in lints {
                    let known = name == "warnings"
                        || LintId::from_name(name).is_some_and(|id| id.configurable());
                    if !known {
                        return Err(format!(
                            "{origin}: in `lints`: {}",
                            crate::lint_defs::unknown_lint(name, &configurable_names())
                        ));
                    }
                    // `lint = "warn"`, or `[lints.lint]` with `level` and `in_tests`.
                    let Value::Object(table) = setting else {
                        let level = level_of(origin, &format!("lints.{name}"), setting)?;
                        settings.levels.push((name.clone(), level));
                        continue;
                    };
                    for (key, value) in table {
                        let level = level_of(origin, &format!("lints.{name}.{key}"), value)?;
                        match key.as_str() {
                            "level" => settings.levels.push((name.clone(), level)),
                            "in_tests" if name != "warnings" => {
                                settings.test_levels.push((name.clone(), level))
                            }
                            _ => {
                                let keys = if name == "warnings" {
                                    "level"
                                } else {
                                    LINT_KEYS
                                };
                                return Err(format!(
                                    "{origin}: unknown key `lints.{name}.{key}`; the keys of a lint's table are: {keys}"
                                ));
                            }
                        }
                    }
                }
            }
            "thresholds" => {
                let Value::Object(t) = v else {
                    return Err(format!("{origin}: `thresholds` must be a table"));
                };
                for (name, size) in t {
                    let bytes = match size {
                        Value::Number(n) => n.as_u64().ok_or(()),
                        Value::String(s) => crate::config::parse_size(s).map_err(|_| ()),
                        _ => Err(()),
                    }
                    .map_err(|()| {
                        format!(
                            "{origin}: `thresholds.{name}` must be a size such as 1048576, \"1MiB\" or \"512KiB\", not {size}"
                        )
                    })?;
                    match name.as_str() {
                        "static-size" => settings.static_size = Some(bytes),
                        "stack-value-size" => settings.stack_value_size = Some(bytes),
                        _ => {
                            return Err(format!(
                                "{origin}: unknown key `thresholds.{name}`; the thresholds are: {}",
                                THRESHOLDS.join(", ")
                            ))
                        }
                    }
                }
            }
            "exclude" => {
                let patterns = v.as_array().ok_or_else(|| {
                    format!("{origin}: `exclude` must be a list of glob patterns")
                })?;
                for p in patterns {
                    let p = p.as_str().ok_or_else(|| {
                        format!("{origin}: `exclude` must be a list of glob patterns, not {p}")
                    })?;
                    globset::Glob::new(p)
                        .map_err(|e| format!("{origin}: bad pattern in `exclude`: {e}"))?;
                    settings.exclude.push(p.to_string());
                }
            }
            _ => {
                return Err(format!(
                    "{origin}: unknown key `{key}`; the keys are: {}",
                    KEYS.join(", ")
                ))
            }
        }
    }
    Ok(settings)
}

/// `gomem.toml` at the workspace root, if there is one.
pub fn load_gomem_toml(root: &Path) -> Result<Option<Settings>, String> {
    let path = root.join("gomem.toml");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read `{}`: {e}", path.display())),
    };
    let origin = path.display().to_string();
    let value: toml::Value =
        toml::from_str(&text).map_err(|e| format!("{origin}: {}", e.to_string().trim()))?;
    let json = serde_json::to_value(value).map_err(|e| format!("{origin}: {e}"))?;
    parse(&origin, root, &json).map(Some)
}

/// Paths whose findings are not reported.
pub struct Exclusions {
    sets: Vec<(std::path::PathBuf, globset::GlobSet)>,
}

impl Exclusions {
    pub fn new<'a>(layers: impl IntoIterator<Item = &'a Settings>) -> Exclusions {
        let mut sets = Vec::new();
        for s in layers {
            if s.exclude.is_empty() {
                continue;
            }
            let mut b = globset::GlobSetBuilder::new();
            for p in &s.exclude {
                if let Ok(g) = globset::Glob::new(p) {
                    b.add(g);
                }
            }
            if let Ok(set) = b.build() {
                sets.push((s.base.clone(), set));
            }
        }
        Exclusions { sets }
    }

    pub fn excludes(&self, path: &Path) -> bool {
        self.sets
            .iter()
            .any(|(base, set)| path.strip_prefix(base).is_ok_and(|rel| set.is_match(rel)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse_ok(v: Value) -> Settings {
        parse("gomem.toml", Path::new("/ws"), &v).unwrap()
    }

    fn parse_err(v: Value) -> String {
        parse("gomem.toml", Path::new("/ws"), &v).unwrap_err()
    }

    #[test]
    fn reads_levels_thresholds_and_excludes() {
        let s = parse_ok(json!({
            "lints": {"unjoined_task": "deny", "rc-cycle": "allow"},
            "thresholds": {"static-size": "2MiB", "stack-value-size": 4096},
            "exclude": ["gen/**"]
        }));
        assert_eq!(
            s.levels,
            vec![
                ("rc-cycle".into(), Level::Allow),
                ("unjoined_task".into(), Level::Deny)
            ]
        );
        assert!(s.test_levels.is_empty());
        assert_eq!(s.static_size, Some(2 << 20));
        assert_eq!(s.stack_value_size, Some(4096));
        let ex = Exclusions::new([&s]);
        assert!(ex.excludes(Path::new("/ws/gen/a/b.rs")));
        assert!(!ex.excludes(Path::new("/ws/src/gen.rs")));
    }

    #[test]
    fn a_lint_table_sets_its_level_and_its_level_in_tests() {
        let s = parse_ok(json!({
            "lints": {"unjoined_task": {"level": "deny", "in_tests": "warn"}, "rc_cycle": "allow"}
        }));
        assert_eq!(
            s.levels,
            vec![
                ("rc_cycle".into(), Level::Allow),
                ("unjoined_task".into(), Level::Deny)
            ]
        );
        assert_eq!(s.test_levels, vec![("unjoined_task".into(), Level::Warn)]);
    }

    #[test]
    fn every_mistake_names_the_file_the_key_and_the_choices() {
        let e = parse_err(json!({"lint": {}}));
        assert!(
            e.contains("gomem.toml")
                && e.contains("`lint`")
                && e.contains("lints, thresholds, exclude"),
            "{e}"
        );
        let e = parse_err(json!({"lints": {"unjoined_tasks": "deny"}}));
        assert!(
            e.contains("unknown lint `unjoined_tasks`") && e.contains("unjoined_task"),
            "{e}"
        );
        let e = parse_err(json!({"lints": {"rc_cycle": "forbid"}}));
        assert!(
            e.contains("`lints.rc_cycle`") && e.contains("\"allow\", \"warn\" or \"deny\""),
            "{e}"
        );
        let e = parse_err(json!({"lints": {"unjoined_task": {"in_test": "warn"}}}));
        assert!(
            e.contains("`lints.unjoined_task.in_test`") && e.contains("level, in_tests"),
            "{e}"
        );
        let e = parse_err(json!({"lints": {"unjoined_task": {"in_tests": "sometimes"}}}));
        assert!(
            e.contains("`lints.unjoined_task.in_tests`")
                && e.contains("\"allow\", \"warn\" or \"deny\""),
            "{e}"
        );
        let e = parse_err(json!({"lints": {"warnings": {"in_tests": "deny"}}}));
        assert!(e.contains("`lints.warnings.in_tests`"), "{e}");
        let e = parse_err(json!({"thresholds": {"static-size": "big"}}));
        assert!(
            e.contains("`thresholds.static-size`") && e.contains("1MiB"),
            "{e}"
        );
        let e = parse_err(json!({"thresholds": {"stack-size": 1}}));
        assert!(
            e.contains("`thresholds.stack-size`") && e.contains("static-size, stack-value-size"),
            "{e}"
        );
        let e = parse_err(json!({"exclude": "gen/**"}));
        assert!(e.contains("`exclude` must be a list"), "{e}");
        let e = parse_err(json!({"lints": {"internal_error": "allow"}}));
        assert!(e.contains("unknown lint `internal_error`"), "{e}");
    }
}
