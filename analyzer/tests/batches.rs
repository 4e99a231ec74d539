//! The driver takes packages in batches to bound its memory; the findings must not depend on
//! how the packages fall into batches.

use std::path::Path;

use gomem_analyzer::config::Config;
use gomem_analyzer::driver::analyze_with;
use gomem_analyzer::workspace::Workspace;

fn findings(batch_bytes: u64, jobs: usize) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures");
    let config = Config {
        batch_bytes,
        ..Config::default()
    };
    let analysis = analyze_with(Workspace::from_paths(&[root]), config, jobs);
    analysis
        .diagnostics
        .iter()
        .map(|d| {
            let file = analysis.db.get(d.primary.span.file);
            let (line, col) = file.line_col(d.primary.span.lo as usize);
            format!(
                "{}:{line}:{col} {} {}",
                file.path.display(),
                d.lint.name(),
                d.message
            )
        })
        .collect()
}

#[test]
fn one_batch_per_package_finds_what_one_batch_finds() {
    let whole = findings(u64::MAX, 2);
    // One byte per batch: every package (folder with a Cargo.toml) is a batch of its own, and
    // each is over twice the budget, so its files are parsed again for the checks.
    let split = findings(1, 2);
    assert!(
        whole.len() > 50,
        "the fixtures have findings: {}",
        whole.len()
    );
    assert_eq!(whole, split);
    assert_eq!(whole, findings(1, 1));
}

/// A module that several test targets declare (`mod util;` in `tests/a.rs` and in
/// `tests/b.rs`) belongs to the first of them by path, whichever the workers read first:
/// its findings name the same target in every run.
#[test]
fn a_module_shared_by_targets_belongs_to_the_first_of_them() {
    let dir = std::env::temp_dir().join(format!("gomem-shared-module-{}", std::process::id()));
    // `a.rs` is long, so that with two workers `b.rs` is parsed first and queues the module.
    let long_a = format!(
        "mod util;\n#[test]\nfn a() {{ util::r(1); }}\n{}",
        "fn pad() { let _ = [1, 2, 3]; }\n".repeat(3_000)
    );
    let files = [
        (
            "Cargo.toml",
            "[package]\nname = \"shared\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
        ),
        ("tests/a.rs", &long_a),
        ("tests/b.rs", "mod util;\n#[test]\nfn b() { util::r(2); }\n"),
        (
            "tests/util/mod.rs",
            "pub fn r(n: u32) -> u32 { r(n + 1) }\n",
        ),
    ];
    for (path, text) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let targets = |paths: &[&str], jobs: usize| -> Vec<String> {
        let paths: Vec<_> = paths.iter().map(|p| dir.join(p)).collect();
        let analysis = analyze_with(Workspace::from_paths(&paths), Config::default(), jobs);
        analysis
            .diagnostics
            .iter()
            .filter(|d| d.lint.name() == "unbounded_recursion")
            .map(|d| {
                let file = analysis.db.get(d.primary.span.file);
                let target = analysis.workspace.target(file.target.unwrap());
                format!("{} in {}", file.path.display(), target.name)
            })
            .collect()
    };
    let expected = vec![format!("{} in a", dir.join("tests/util/mod.rs").display())];
    // One worker reads the files in the order given: `b.rs` first, then the module it declares.
    assert_eq!(targets(&["tests/b.rs", "tests/a.rs"], 0), expected);
    assert_eq!(targets(&["tests/a.rs", "tests/b.rs"], 0), expected);
    assert_eq!(targets(&["."], 2), expected);
    std::fs::remove_dir_all(&dir).ok();
}
