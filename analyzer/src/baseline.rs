//! Baselines: record today's findings (`--write-baseline FILE`), then report only new ones
//! (`--baseline FILE`), so a team can adopt gomem on a large codebase and fix old findings at
//! its own pace while CI blocks new ones.
//!
//! An entry is a finding's lint, file and [`fingerprint`](crate::fingerprint), with a count:
//! equal findings in one file are counted, not merged, so a second copy of a finding is new.
//! Entries that match nothing any more are stale: the run lists them, so the baseline can be
//! rewritten when old findings get fixed.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::driver::Analysis;
use crate::fingerprint::{fingerprint, relative_uri};

const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct File {
    version: u32,
    findings: Vec<Entry>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Entry {
    pub lint: String,
    pub file: String,
    pub fingerprint: String,
    pub count: usize,
    /// The message when it was recorded, for people reading the file.
    pub message: String,
}

type Key = (String, String, String);

fn key(analysis: &Analysis, d: &crate::diagnostic::Diagnostic) -> Key {
    let root = &analysis.workspace.root;
    let path = &analysis.db.get(d.primary.span.file).path;
    (
        d.lint.name().to_string(),
        relative_uri(root, path),
        format!("{:016x}", fingerprint(&analysis.db, root, d)),
    )
}

/// Writes the findings of `analysis` to `path`.
pub fn write(path: &Path, analysis: &Analysis) -> Result<(), String> {
    let mut counts: HashMap<Key, (usize, String)> = HashMap::new();
    for d in &analysis.diagnostics {
        let e = counts
            .entry(key(analysis, d))
            .or_insert((0, d.message.clone()));
        e.0 += 1;
    }
    let mut findings: Vec<Entry> = counts
        .into_iter()
        .map(|((lint, file, fingerprint), (count, message))| Entry {
            lint,
            file,
            fingerprint,
            count,
            message,
        })
        .collect();
    findings.sort_by(|a, b| {
        (&a.file, &a.lint, &a.fingerprint).cmp(&(&b.file, &b.lint, &b.fingerprint))
    });
    let text = serde_json::to_string_pretty(&File {
        version: VERSION,
        findings,
    })
    .map_err(|e| e.to_string())?;
    std::fs::write(path, text + "\n")
        .map_err(|e| format!("cannot write the baseline `{}`: {e}", path.display()))
}

/// Removes from `analysis` the findings recorded in the baseline at `path`; returns the
/// baseline entries (with what is left of their counts) that matched nothing.
pub fn apply(path: &Path, analysis: &mut Analysis) -> Result<Vec<Entry>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the baseline `{}`: {e}", path.display()))?;
    let file: File = serde_json::from_str(&text)
        .map_err(|e| format!("`{}` is not a gomem baseline: {e}", path.display()))?;
    if file.version != VERSION {
        return Err(format!(
            "`{}` is a baseline of version {}, this gomem reads version {VERSION}",
            path.display(),
            file.version
        ));
    }
    let mut left: HashMap<Key, Entry> = file
        .findings
        .into_iter()
        .map(|e| ((e.lint.clone(), e.file.clone(), e.fingerprint.clone()), e))
        .collect();
    let keys: Vec<Key> = analysis
        .diagnostics
        .iter()
        .map(|d| key(analysis, d))
        .collect();
    let mut keep = keys.iter().map(|k| match left.get_mut(k) {
        Some(e) if e.count > 0 => {
            e.count -= 1;
            false
        }
        _ => true,
    });
    analysis.diagnostics.retain(|_| keep.next().unwrap_or(true));
    let mut stale: Vec<Entry> = left.into_values().filter(|e| e.count > 0).collect();
    stale.sort_by(|a, b| (&a.file, &a.lint).cmp(&(&b.file, &b.lint)));
    Ok(stale)
}
