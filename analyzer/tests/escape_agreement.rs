//! `cargo gomem-lint --explain-escapes` and `#[gomem::escape]` make the same decision for
//! every allocation site of the shared fixture (tests/fixtures/escape/routes.rs), and both
//! match what the fixture's comments promise (`// stays`, `// escapes`).
//!
//! The attribute side calls `attribute::expand`, the function the proc macro calls
//! on its item (the macro adds only token plumbing); the command-line side runs the whole
//! pipeline, as the binary does.

use std::collections::BTreeMap;
use std::path::Path;

use gomem_analyzer::attribute::{expand, Options};
use gomem_analyzer::config::Config;
use gomem_analyzer::driver::analyze;
use gomem_analyzer::lint_defs::Level;
use gomem_analyzer::lint_defs::LintId;
use gomem_analyzer::span::FileId;
use gomem_analyzer::workspace::Workspace;

/// `(line, what) -> escapes` for every site.
type Decisions = BTreeMap<(usize, String), bool>;

fn fixture() -> (std::path::PathBuf, String) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/escape/routes.rs")
        .canonicalize()
        .unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    (path, text)
}

fn line_of(text: &str, byte: usize) -> usize {
    text[..byte].matches('\n').count() + 1
}

fn from_cli(path: &Path, text: &str) -> Decisions {
    let mut config = Config::default();
    config.levels.set("escape", Level::Note).unwrap();
    let analysis = analyze(Workspace::from_paths(&[path.to_path_buf()]), config);
    analysis
        .diagnostics
        .iter()
        .filter(|d| d.lint == LintId::Escape && !d.message.starts_with("leaking param"))
        .map(|d| {
            let (what, escapes) = match d.message.strip_suffix(" escapes to heap") {
                Some(what) => (what, true),
                None => (d.message.strip_suffix(" does not escape").unwrap(), false),
            };
            (
                (line_of(text, d.primary.span.lo as usize), what.to_string()),
                escapes,
            )
        })
        .collect()
}

fn from_attribute(text: &str) -> Decisions {
    let file: syn::File = syn::parse_str(text).unwrap();
    let mut out = Decisions::new();
    for item in file.items {
        let annotated =
            |attrs: &[syn::Attribute]| attrs.iter().any(|a| a.path().is_ident("escape"));
        let attrs = match &item {
            syn::Item::Fn(f) => &f.attrs,
            syn::Item::Impl(i) => &i.attrs,
            syn::Item::Mod(m) => &m.attrs,
            _ => continue,
        };
        if !annotated(attrs) {
            continue;
        }
        let expansion = expand(FileId(0), &mut item.clone(), Options::default());
        for d in expansion.reports.iter().flat_map(|r| &r.decisions) {
            let line = line_of(text, d.site.span.lo as usize);
            out.insert((line, d.site.what.clone()), d.escapes.is_some());
        }
    }
    out
}

#[test]
fn the_command_line_and_the_attribute_agree_on_every_site() {
    let (path, text) = fixture();
    let cli = from_cli(&path, &text);
    let attribute = from_attribute(&text);
    assert!(cli.len() >= 20, "the fixture has its sites: {cli:?}");
    // Every site of the fixture is inside an annotated item, so the sets are the same.
    assert_eq!(cli, attribute);
}

#[test]
fn decisions_match_the_fixture_comments() {
    let (_, text) = fixture();
    let attribute = from_attribute(&text);
    let mut promised = 0;
    for (i, line) in text.lines().enumerate() {
        let Some(comment) = line.split("// ").nth(1) else {
            continue;
        };
        let expected = if comment.starts_with("stays") {
            false
        } else if comment.starts_with("escapes") {
            true
        } else {
            continue;
        };
        promised += 1;
        let on_line: Vec<_> = attribute.iter().filter(|((l, _), _)| *l == i + 1).collect();
        assert!(!on_line.is_empty(), "no site on line {}: {line}", i + 1);
        for (site, escapes) in on_line {
            assert_eq!(*escapes, expected, "line {}: {site:?}: {line}", i + 1);
        }
    }
    assert!(promised >= 15);
}
