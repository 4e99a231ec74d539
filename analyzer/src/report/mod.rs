//! Reporters: turn an [`Analysis`](crate::driver::Analysis) into text for people or tools.
//!
//! Reporters only format. They read diagnostics and the source database; they never look at
//! syntax or decide what is a finding.

pub mod human;
pub mod json;
pub mod sarif;

use crate::driver::Analysis;
use crate::lint_defs::Level;

/// The last line of a human run: `gomem-lint: 3 errors, 1 warning in 12 files (0.21s)`, or
/// that no Rust file was found (so an empty or mistyped folder is not taken for clean code).
pub fn summary(analysis: &Analysis) -> String {
    let files = analysis.db.len();
    if files == 0 {
        return "gomem-lint: no Rust file found, nothing was linted".into();
    }
    format!(
        "gomem-lint: {} in {files} {} ({:.2}s)",
        counts(analysis),
        if files == 1 { "file" } else { "files" },
        analysis.elapsed.as_secs_f64()
    )
}

/// `3 errors, 1 warning` (or `no findings`), for summaries.
pub fn counts(analysis: &Analysis) -> String {
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let mut parts = Vec::new();
    let errors = analysis.count(Level::Deny);
    let warnings = analysis.count(Level::Warn);
    let notes = analysis.count(Level::Note);
    if errors > 0 {
        parts.push(plural(errors, "error"));
    }
    if warnings > 0 {
        parts.push(plural(warnings, "warning"));
    }
    if notes > 0 {
        parts.push(plural(notes, "note"));
    }
    if parts.is_empty() {
        "no findings".into()
    } else {
        parts.join(", ")
    }
}
