//! Human output: rustc-style diagnostics rendered by codespan-reporting.

use codespan_reporting::diagnostic::{Diagnostic as CsDiagnostic, Label as CsLabel, Severity};
use codespan_reporting::term::{self, termcolor::WriteColor, Config};

use crate::diagnostic::{Diagnostic, Suggestion};
use crate::lint_defs::Level;
use crate::source::SourceDb;

/// The codespan form of a finding: `warning[gomem::unjoined_task]: ...` with its labels, and
/// the why and the fix as `= note:` and `= help:` lines.
pub fn to_codespan(d: &Diagnostic) -> CsDiagnostic<crate::span::FileId> {
    let severity = match d.level {
        Level::Deny => Severity::Error,
        Level::Warn => Severity::Warning,
        Level::Note | Level::Allow => Severity::Note,
    };
    let mut labels = vec![
        CsLabel::primary(d.primary.span.file, d.primary.span.range())
            .with_message(&d.primary.message),
    ];
    labels.extend(
        d.secondary
            .iter()
            .map(|l| CsLabel::secondary(l.span.file, l.span.range()).with_message(&l.message)),
    );
    let mut notes: Vec<String> = d.notes.iter().map(|n| format!("note: {n}")).collect();
    notes.extend(d.help.iter().map(|h| format!("help: {h}")));
    notes.extend(d.suggestions.iter().map(suggestion_line));
    CsDiagnostic::new(severity)
        .with_code(d.lint.code())
        .with_message(&d.message)
        .with_labels(labels)
        .with_notes(notes)
}

/// A suggestion's help line: the message, then the replacement unless the message already
/// names it (`did you mean `unjoined_task`?`) or there is none (`remove it`).
fn suggestion_line(s: &Suggestion) -> String {
    if s.replacement.is_empty() || s.message.contains(&format!("`{}", s.replacement)) {
        format!("help: {}", s.message)
    } else {
        format!("help: {}: `{}`", s.message, s.replacement)
    }
}

/// Renders one finding, e.g. into a terminal or a buffer.
pub fn emit(out: &mut dyn WriteColor, db: &SourceDb, d: &Diagnostic) -> std::io::Result<()> {
    let config = Config::default();
    term::emit_to_write_style(out, &config, db, &to_codespan(d)).map_err(|e| match e {
        codespan_reporting::files::Error::Io(io) => io,
        other => std::io::Error::other(other.to_string()),
    })
}

/// The plain-text rendering (no colors), as the JSON output's `rendered` field carries it.
pub fn render_plain(db: &SourceDb, d: &Diagnostic) -> String {
    let mut buf = term::termcolor::NoColor::new(Vec::new());
    // Writing into memory cannot fail; a file error would mean a broken database.
    let _ = emit(&mut buf, db, d);
    String::from_utf8_lossy(&buf.into_inner()).into_owned()
}
