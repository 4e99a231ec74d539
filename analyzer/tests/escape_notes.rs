//! `--explain-escapes` notes against fixtures that say, on each allocation's line, what the
//! note must be:
//!
//! - `//~ stays`: "does not escape";
//! - `//~ escapes: <words>`: "escapes to heap", with `<words>` in the reason;
//! - `//~ leaking param: <words>`: Go's "leaking param" on this line's parameter.
//!
//! A note on a line with no mark fails the test, and so does a mark with no note: the
//! fixtures are the specification of what the analysis decides, and why. A line with two
//! sites carries two marks, in the order of the sites.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use gomem_analyzer::config::Config;
use gomem_analyzer::driver::analyze;
use gomem_analyzer::lint_defs::{Level, LintId};
use gomem_analyzer::workspace::Workspace;

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/escape_notes");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect();
    files.sort();
    files
}

/// What a line's note is: "stays", "escapes: <reason>" or "leaking param: <reason>".
type Notes = BTreeMap<usize, Vec<String>>;

fn marks(text: &str) -> Notes {
    let mut out = Notes::new();
    for (i, line) in text.lines().enumerate() {
        // `//~ stays //~ escapes: returned`: one mark per note, in the order of the sites.
        for mark in line.split("//~ ").skip(1) {
            out.entry(i + 1).or_default().push(mark.trim().to_string());
        }
    }
    out
}

fn notes(path: &Path, text: &str) -> Notes {
    let mut config = Config::default();
    config.levels.set("escape", Level::Note).unwrap();
    let analysis = analyze(Workspace::from_paths(&[path.to_path_buf()]), config);
    let mut out = Notes::new();
    for d in analysis
        .diagnostics
        .iter()
        .filter(|d| d.lint == LintId::Escape)
    {
        let line = text[..d.primary.span.lo as usize].matches('\n').count() + 1;
        let why = d
            .secondary
            .first()
            .map(|l| l.message.clone())
            .unwrap_or_default();
        let note = if d.message.starts_with("leaking param") {
            format!("leaking param: {why}")
        } else if d.message.ends_with("does not escape") {
            "stays".to_string()
        } else {
            format!("escapes: {why}")
        };
        out.entry(line).or_default().push(note);
    }
    out
}

#[test]
fn notes_match_the_marks() {
    let mut failures = Vec::new();
    for path in fixtures() {
        let text = std::fs::read_to_string(&path).unwrap();
        let want = marks(&text);
        let got = notes(&path, &text);
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        for line in want
            .keys()
            .chain(got.keys())
            .collect::<std::collections::BTreeSet<_>>()
        {
            let w = want.get(line).cloned().unwrap_or_default();
            let g = got.get(line).cloned().unwrap_or_default();
            let ok = w.len() == g.len()
                && w.iter().zip(&g).all(|(w, g)| match w.split_once(": ") {
                    Some((kind, words)) => g.starts_with(kind) && g.contains(words.trim()),
                    None => g == w,
                });
            if !ok {
                failures.push(format!("{name}:{line}: want {w:?}, got {g:?}"));
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}
