//! `--message-format=sarif`: one SARIF 2.1.0 log, for GitHub code scanning and other CI
//! dashboards.
//!
//! One `rule` per lint (id `gomem::<id>`, its summary and documentation), one `result` per
//! finding with its level, message, location (a URI relative to the workspace root, resolved
//! through `uriBaseId` `%SRCROOT%`, and 1-based lines and columns), its labels as related
//! locations, and a `partialFingerprints` entry that stays the same when unrelated lines move
//! the finding or the file is reformatted, so that code scanning tracks an alert across
//! commits.

use std::collections::HashMap;
use std::path::Path;

use serde_json::{json, Value};

use crate::diagnostic::Diagnostic;
use crate::driver::Analysis;
use crate::fingerprint::{fingerprint, relative_uri};
use crate::lint_defs::{Level, LintId};
use crate::source::SourceDb;
use crate::span::Span;

/// The SARIF log of `analysis`.
pub fn log(analysis: &Analysis) -> Value {
    let root = &analysis.workspace.root;
    let rules: Vec<Value> = LintId::ALL.iter().map(|id| rule(*id)).collect();
    let mut seen: HashMap<(LintId, String, u64), usize> = HashMap::new();
    let results: Vec<Value> = analysis
        .diagnostics
        .iter()
        .map(|d| {
            let fingerprint = fingerprint(&analysis.db, root, d);
            // Equal findings in one file are counted, not merged.
            let key = (
                d.lint,
                relative_uri(root, &analysis.db.get(d.primary.span.file).path),
                fingerprint,
            );
            let n = seen.entry(key).or_insert(0);
            *n += 1;
            result(&analysis.db, root, d, format!("{fingerprint:016x}:{n}"))
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "gomem-lint",
                    "semanticVersion": env!("CARGO_PKG_VERSION"),
                    "informationUri": env!("CARGO_PKG_REPOSITORY"),
                    "rules": rules,
                }
            },
            // Columns count characters, as gomem's positions do everywhere.
            "columnKind": "unicodeCodePoints",
            "originalUriBaseIds": {
                "%SRCROOT%": { "uri": dir_uri(root) }
            },
            "results": results,
        }]
    })
}

fn rule(id: LintId) -> Value {
    let lint = crate::lints::lint(id);
    json!({
        "id": id.code(),
        "name": id.name(),
        "shortDescription": { "text": lint.summary },
        "fullDescription": { "text": first_paragraph(lint.explanation) },
        "help": { "text": lint.explanation, "markdown": lint.explanation },
        "defaultConfiguration": { "level": level(id.default_level()) },
    })
}

fn result(db: &SourceDb, root: &Path, d: &Diagnostic, fingerprint: String) -> Value {
    let mut text = d.message.clone();
    for note in &d.notes {
        text.push_str(&format!("\nnote: {note}"));
    }
    for help in &d.help {
        text.push_str(&format!("\nhelp: {help}"));
    }
    let related: Vec<Value> = d
        .secondary
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let mut loc = location(db, root, l.span);
            loc["id"] = json!(i);
            loc["message"] = json!({ "text": l.message });
            loc
        })
        .collect();
    let mut out = json!({
        "ruleId": d.lint.code(),
        "ruleIndex": d.lint as usize,
        "level": level(d.level),
        "message": { "text": text },
        "locations": [location(db, root, d.primary.span)],
        "partialFingerprints": { "gomem/v1": fingerprint },
    });
    if !related.is_empty() {
        out["relatedLocations"] = json!(related);
    }
    out
}

fn location(db: &SourceDb, root: &Path, span: Span) -> Value {
    let file = db.get(span.file);
    let (start_line, start_col) = file.line_col(span.lo as usize);
    let (end_line, end_col) = file.line_col(span.hi as usize);
    json!({
        "physicalLocation": {
            "artifactLocation": {
                "uri": relative_uri(root, &file.path),
                "uriBaseId": "%SRCROOT%",
            },
            "region": {
                "startLine": start_line,
                "startColumn": start_col,
                "endLine": end_line,
                "endColumn": end_col,
            }
        }
    })
}

fn level(level: Level) -> &'static str {
    match level {
        Level::Deny => "error",
        Level::Warn => "warning",
        Level::Note => "note",
        Level::Allow => "none",
    }
}

fn dir_uri(root: &Path) -> String {
    let mut s = format!("file://{}", root.display());
    if !s.ends_with('/') {
        s.push('/');
    }
    s
}

fn first_paragraph(markdown: &str) -> String {
    markdown
        .lines()
        .skip_while(|l| l.starts_with('#') || l.trim().is_empty())
        .take_while(|l| !l.trim().is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}
