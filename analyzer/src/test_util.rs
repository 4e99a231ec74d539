//! Runs the whole pipeline on one source text, for the lints' unit tests.
//!
//! Test code sits outside the layering (as a crate's dev-dependencies may), so the lints'
//! unit tests can run the driver, which sits above them.
use crate::config::Config;
use crate::lint_defs::LintId;
use crate::workspace::Workspace;

/// `(1-based line, message)` of every finding of `lint` in `src`.
pub fn findings(lint: LintId, src: &str) -> Vec<(usize, String)> {
    static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("gomem-unit-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("lib.rs");
    std::fs::write(&path, src).unwrap();
    let analysis =
        crate::driver::analyze_with(Workspace::from_paths(&[path]), Config::default(), 1);
    std::fs::remove_dir_all(&dir).ok();
    analysis
        .diagnostics
        .iter()
        .filter(|d| d.lint == lint || d.lint == LintId::InternalError)
        .map(|d| {
            let file = analysis.db.get(d.primary.span.file);
            (
                file.line_col(d.primary.span.lo as usize).0,
                d.message.clone(),
            )
        })
        .collect()
}
