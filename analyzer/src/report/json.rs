//! `--message-format=json`: one cargo `compiler-message` per finding, then `build-finished`.
//!
//! The messages are what `cargo check --message-format=json` prints, so rust-analyzer (which
//! deserializes them with `cargo_metadata::Message`) shows gomem's findings in the editor.
//! Each message carries the package id and target of the file it points at: rust-analyzer
//! clears and replaces diagnostics per package.

use serde::Serialize;

use crate::diagnostic::Diagnostic;
use crate::driver::Analysis;
use crate::lint_defs::Level;
use crate::source::SourceDb;
use crate::span::Span;
use crate::workspace::Workspace;

#[derive(Serialize)]
struct CompilerMessage<'a> {
    reason: &'static str,
    package_id: &'a str,
    manifest_path: String,
    target: Target<'a>,
    message: Message,
}

#[derive(Serialize)]
struct Target<'a> {
    kind: &'a [String],
    crate_types: &'a [String],
    name: &'a str,
    src_path: String,
    edition: &'a str,
    doc: bool,
    doctest: bool,
    test: bool,
}

#[derive(Serialize)]
struct Message {
    #[serde(rename = "$message_type")]
    message_type: &'static str,
    message: String,
    code: Option<Code>,
    level: &'static str,
    spans: Vec<JsonSpan>,
    children: Vec<Message>,
    rendered: Option<String>,
}

#[derive(Serialize)]
struct Code {
    code: String,
    explanation: Option<String>,
}

#[derive(Serialize)]
struct JsonSpan {
    file_name: String,
    byte_start: u32,
    byte_end: u32,
    line_start: usize,
    line_end: usize,
    column_start: usize,
    column_end: usize,
    is_primary: bool,
    text: Vec<SpanLine>,
    label: Option<String>,
    suggested_replacement: Option<String>,
    suggestion_applicability: Option<&'static str>,
    expansion: Option<()>,
}

#[derive(Serialize)]
struct SpanLine {
    text: String,
    highlight_start: usize,
    highlight_end: usize,
}

fn level(level: Level) -> &'static str {
    match level {
        Level::Deny => "error",
        Level::Warn => "warning",
        Level::Note | Level::Allow => "note",
    }
}

fn span(db: &SourceDb, span: Span, is_primary: bool, label: &str) -> JsonSpan {
    let file = db.get(span.file);
    let (line_start, column_start) = file.line_col(span.lo as usize);
    let (line_end, column_end) = file.line_col(span.hi as usize);
    let text = (line_start..=line_end)
        .map(|line| {
            let range = file.line_range(line - 1);
            let chars = file.text[range.clone()].chars().count();
            SpanLine {
                text: file.text[range].to_string(),
                highlight_start: if line == line_start { column_start } else { 1 },
                highlight_end: if line == line_end {
                    column_end
                } else {
                    chars + 1
                },
            }
        })
        .collect();
    JsonSpan {
        file_name: file.path.display().to_string(),
        byte_start: span.lo,
        byte_end: span.hi,
        line_start,
        line_end,
        column_start,
        column_end,
        is_primary,
        text,
        label: (!label.is_empty()).then(|| label.to_string()),
        suggested_replacement: None,
        suggestion_applicability: None,
        expansion: None,
    }
}

fn child(level: &'static str, message: &str, spans: Vec<JsonSpan>) -> Message {
    Message {
        message_type: "diagnostic",
        message: message.to_string(),
        code: None,
        level,
        spans,
        children: Vec::new(),
        rendered: None,
    }
}

/// The JSON line of one finding.
pub fn message_line(ws: &Workspace, db: &SourceDb, d: &Diagnostic) -> String {
    let mut spans = vec![span(db, d.primary.span, true, &d.primary.message)];
    spans.extend(
        d.secondary
            .iter()
            .map(|l| span(db, l.span, false, &l.message)),
    );
    let mut children: Vec<Message> = d
        .notes
        .iter()
        .map(|n| child("note", n, Vec::new()))
        .collect();
    children.extend(d.help.iter().map(|h| child("help", h, Vec::new())));
    for s in &d.suggestions {
        let mut js = span(db, s.span, true, "");
        js.suggested_replacement = Some(s.replacement.clone());
        js.suggestion_applicability = Some(if s.machine_applicable {
            "MachineApplicable"
        } else {
            "MaybeIncorrect"
        });
        children.push(child("help", &s.message, vec![js]));
    }
    let file = db.get(d.primary.span.file);
    let target = file.target.map(|t| ws.target(t)).or(ws.targets.first());
    let package = target
        .map(|t| ws.package(t.package))
        .or(ws.packages.first());
    let empty: &[String] = &[];
    let message = Message {
        message_type: "diagnostic",
        message: d.message.clone(),
        code: Some(Code {
            code: d.lint.code(),
            explanation: None,
        }),
        level: level(d.level),
        spans,
        children,
        rendered: Some(super::human::render_plain(db, d)),
    };
    let line = CompilerMessage {
        reason: "compiler-message",
        package_id: package.map_or("", |p| p.cargo_id.as_str()),
        manifest_path: package.map_or(String::new(), |p| p.manifest_path.display().to_string()),
        target: Target {
            kind: target.map_or(empty, |t| &t.kind),
            crate_types: target.map_or(empty, |t| &t.crate_types),
            name: target.map_or("", |t| &t.name),
            src_path: target.map_or(String::new(), |t| t.src_path.display().to_string()),
            edition: target.map_or("2021", |t| t.edition.name()),
            doc: true,
            doctest: true,
            test: true,
        },
        message,
    };
    serde_json::to_string(&line).expect("diagnostics serialize")
}

/// Writes every finding, then the `build-finished` message.
pub fn write(
    out: &mut dyn std::io::Write,
    analysis: &Analysis,
    success: bool,
) -> std::io::Result<()> {
    write_messages(out, analysis)?;
    write_finished(out, success)
}

/// The findings, one `compiler-message` line each.
pub fn write_messages(out: &mut dyn std::io::Write, analysis: &Analysis) -> std::io::Result<()> {
    for d in &analysis.diagnostics {
        writeln!(
            out,
            "{}",
            message_line(&analysis.workspace, &analysis.db, d)
        )?;
    }
    Ok(())
}

/// The closing `build-finished` line.
pub fn write_finished(out: &mut dyn std::io::Write, success: bool) -> std::io::Result<()> {
    writeln!(
        out,
        "{}",
        serde_json::json!({ "reason": "build-finished", "success": success })
    )
}
