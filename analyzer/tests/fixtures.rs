//! Fixture files in, expected findings out.
//!
//! Each fixture marks the lines where a finding must start with `//~ <lint_id>`; every other
//! line is a promise of silence. The harness fails on a missed mark and on an unmarked finding,
//! and snapshots the rendered human and JSON output with insta.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use gomem_analyzer::config::Config;
use gomem_analyzer::driver::{analyze, Analysis};
use gomem_analyzer::report;
use gomem_analyzer::workspace::{cargo, Workspace};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures")
        .canonicalize()
        .unwrap()
}

type Finding = (String, usize, String);

/// `(file relative to root, line, lint)` of every `//~` mark under `root`.
fn marks(root: &Path) -> BTreeSet<Finding> {
    let mut out = BTreeSet::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            stack.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        {
            if path.extension().is_some_and(|e| e == "rs") {
                let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
                for (i, line) in text.lines().enumerate() {
                    if let Some(pos) = line.find("//~ ") {
                        let lint = line[pos + 4..]
                            .split_whitespace()
                            .next()
                            .unwrap()
                            .to_string();
                        out.insert((rel(root, &path), i + 1, lint));
                    }
                }
            }
        }
    }
    out
}

fn rel(root: &Path, path: &Path) -> String {
    let base = if root.is_dir() {
        root
    } else {
        root.parent().unwrap()
    };
    path.strip_prefix(base)
        .unwrap_or(path)
        .display()
        .to_string()
}

fn found(root: &Path, analysis: &Analysis) -> BTreeSet<Finding> {
    analysis
        .diagnostics
        .iter()
        .map(|d| {
            let file = analysis.db.get(d.primary.span.file);
            let line = file.line_col(d.primary.span.lo as usize).0;
            (rel(root, &file.path), line, d.lint.name().to_string())
        })
        .collect()
}

fn assert_marks(root: &Path, analysis: &Analysis) {
    let expected = marks(root);
    let actual = found(root, analysis);
    let missed: Vec<_> = expected.difference(&actual).collect();
    let unexpected: Vec<_> = actual.difference(&expected).collect();
    assert!(
        missed.is_empty() && unexpected.is_empty(),
        "missed (marked but not found): {missed:#?}\nunexpected (found but not marked): {unexpected:#?}"
    );
}

/// Human and JSON output, with the machine-specific fixture path replaced.
fn rendered(analysis: &Analysis) -> (String, String) {
    let root = fixtures().display().to_string();
    let human: String = analysis
        .diagnostics
        .iter()
        .map(|d| report::human::render_plain(&analysis.db, d))
        .collect();
    let mut json = Vec::new();
    report::json::write(&mut json, analysis, true).unwrap();
    let json = String::from_utf8(json).unwrap();
    (
        human.replace(&root, "$FIXTURES"),
        json.replace(&root, "$FIXTURES"),
    )
}

fn check_plain(name: &str, path: PathBuf) {
    let analysis = analyze(
        Workspace::from_paths(std::slice::from_ref(&path)),
        Config::default(),
    );
    assert_marks(&path, &analysis);
    let (human, json) = rendered(&analysis);
    insta::assert_snapshot!(format!("{name}_human"), human);
    insta::assert_snapshot!(format!("{name}_json"), json);
}

#[test]
fn unjoined_task() {
    check_plain("unjoined_task", fixtures().join("lints/unjoined_task.rs"));
}

#[test]
fn oversized_static() {
    check_plain(
        "oversized_static",
        fixtures().join("lints/oversized_static.rs"),
    );
}

#[test]
fn unbounded_recursion() {
    check_plain(
        "unbounded_recursion",
        fixtures().join("lints/unbounded_recursion.rs"),
    );
}

#[test]
fn unbounded_recursion_traits() {
    check_plain(
        "unbounded_recursion_traits",
        fixtures().join("lints/unbounded_recursion_traits.rs"),
    );
}

#[test]
fn unbounded_global() {
    check_plain(
        "unbounded_global",
        fixtures().join("lints/unbounded_global.rs"),
    );
}

#[test]
fn retained_global() {
    check_plain(
        "retained_global",
        fixtures().join("lints/retained_global.rs"),
    );
}

#[test]
fn rc_cycle() {
    check_plain("rc_cycle", fixtures().join("lints/rc_cycle.rs"));
}

#[test]
fn unbounded_loop_growth() {
    check_plain(
        "unbounded_loop_growth",
        fixtures().join("lints/unbounded_loop_growth.rs"),
    );
}

#[test]
fn unwaited_child() {
    check_plain("unwaited_child", fixtures().join("lints/unwaited_child.rs"));
}

#[test]
fn leaked_allocation() {
    check_plain(
        "leaked_allocation",
        fixtures().join("lints/leaked_allocation.rs"),
    );
}

#[test]
fn large_stack_value() {
    check_plain(
        "large_stack_value",
        fixtures().join("lints/large_stack_value.rs"),
    );
}

#[test]
fn suppressions() {
    check_plain("suppressions", fixtures().join("suppress"));
}

#[test]
fn parse_error() {
    check_plain("parse_error", fixtures().join("parse_error"));
}

#[test]
fn cargo_workspace_follows_every_target_and_module_form() {
    let root = fixtures().join("crates/demo");
    let selection = cargo::Selection {
        manifest_path: Some(root.join("Cargo.toml")),
        packages: vec![],
    };
    let workspace = cargo::load(&selection).unwrap();
    let kinds: BTreeSet<_> = workspace
        .targets
        .iter()
        .flat_map(|t| t.kind.clone())
        .collect();
    assert_eq!(
        kinds,
        ["bin", "example", "lib", "test"].map(String::from).into()
    );
    let analysis = analyze(workspace, Config::default());
    assert_marks(&root, &analysis);
    assert!(
        analysis.db.find(&root.join("src/orphan.rs")).is_none(),
        "files outside the module tree are not read"
    );
}

#[test]
fn unknown_package_is_an_error() {
    let root = fixtures().join("crates/demo");
    let selection = cargo::Selection {
        manifest_path: Some(root.join("Cargo.toml")),
        packages: vec!["nope".into()],
    };
    let err = cargo::load(&selection).unwrap_err();
    assert!(
        err.contains("`nope` is not a member") && err.contains("demo"),
        "{err}"
    );
}
