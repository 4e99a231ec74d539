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
