//! Bad and extreme input: the analyzer reports it and goes on, and never crashes.

use std::path::{Path, PathBuf};

use gomem_analyzer::config::Config;
use gomem_analyzer::driver::{analyze, analyze_with_checks};
use gomem_analyzer::lint::{Check, FileContext};
use gomem_analyzer::lint_defs::LintId;
use gomem_analyzer::workspace::Workspace;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gomem-robustness-{}-{name}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn thousands_of_nested_parens_blocks_and_closures() {
    let dir = temp_dir("deep");
    let n = 3000;
    let spawn = "{ std::thread::spawn(|| ()); 1 }";
    std::fs::write(
        dir.join("parens.rs"),
        format!(
            "fn f() -> i32 {{ {}{spawn}{} }}",
            "(".repeat(n),
            ")".repeat(n)
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("blocks.rs"),
        format!(
            "fn f() -> i32 {{ {}{spawn}{} }}",
            "{ ".repeat(n),
            " }".repeat(n)
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("closures.rs"),
        format!("fn f() {{ let _c = {}{spawn}; }}", "|| ".repeat(n)),
    )
    .unwrap();
    std::fs::write(
        dir.join("absurd.rs"),
        format!(
            "fn f() -> i32 {{ {}1{} }}",
            "(".repeat(200_000),
            ")".repeat(200_000)
        ),
    )
    .unwrap();
    let analysis = analyze(
        Workspace::from_paths(std::slice::from_ref(&dir)),
        Config::default(),
    );
    let mut found: Vec<_> = analysis
        .diagnostics
        .iter()
        .map(|d| {
            (
                analysis
                    .db
                    .get(d.primary.span.file)
                    .path
                    .file_name()
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .to_string(),
                d.lint,
            )
        })
        .collect();
    found.sort();
    assert_eq!(
        found,
        [
            ("absurd.rs".to_string(), LintId::ParseError),
            ("blocks.rs".to_string(), LintId::UnjoinedTask),
            ("closures.rs".to_string(), LintId::UnjoinedTask),
            ("parens.rs".to_string(), LintId::UnjoinedTask),
        ]
    );
    std::fs::remove_dir_all(&dir).ok();
}

fn panics_on_boom(cx: &FileContext<'_>) -> Vec<gomem_analyzer::diagnostic::Diagnostic> {
    if cx.source.path.ends_with("boom.rs") {
        panic!("index out of bounds");
    }
    Vec::new()
}

#[test]
fn a_crashing_check_loses_nothing_else() {
    let dir = temp_dir("panic");
    std::fs::write(
        dir.join("boom.rs"),
        "static BIG: [u8; 1 << 30] = [0; 1 << 30];\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("fine.rs"),
        "fn f() { std::thread::spawn(|| ()); }\n",
    )
    .unwrap();
    let checks = vec![
        (LintId::UnjoinedTask, Check::File(panics_on_boom)),
        (
            LintId::OversizedStatic,
            gomem_analyzer::lints::lint(LintId::OversizedStatic).check,
        ),
        (
            LintId::UnjoinedTask,
            gomem_analyzer::lints::lint(LintId::UnjoinedTask).check,
        ),
    ];
    let analysis = analyze_with_checks(
        Workspace::from_paths(std::slice::from_ref(&dir)),
        Config::default(),
        2,
        checks,
    );
    assert!(analysis.has_internal_errors());
    let lints: Vec<_> = analysis.diagnostics.iter().map(|d| d.lint).collect();
    assert!(
        lints.contains(&LintId::OversizedStatic),
        "boom.rs's other findings survive: {lints:?}"
    );
    assert!(
        lints.contains(&LintId::UnjoinedTask),
        "other files' findings survive: {lints:?}"
    );
    let internal = analysis
        .diagnostics
        .iter()
        .find(|d| d.lint == LintId::InternalError)
        .unwrap();
    assert!(
        internal.message.contains("lint `unjoined_task`")
            && internal.message.contains("index out of bounds")
    );
    assert!(analysis
        .db
        .get(internal.primary.span.file)
        .path
        .ends_with("boom.rs"));
    std::fs::remove_dir_all(&dir).ok();
}

/// Every package of this workspace's `Cargo.lock` whose source cargo has unpacked.
fn dependency_sources() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).unwrap();
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cargo"));
    let registries: Vec<PathBuf> = std::fs::read_dir(cargo_home.join("registry/src"))
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    let mut dirs = Vec::new();
    for package in lock.split("[[package]]").skip(1) {
        let field = |key: &str| {
            package.lines().find_map(|l| {
                l.strip_prefix(&format!("{key} = \""))
                    .map(|v| v.trim_end_matches('"').to_string())
            })
        };
        if field("source").is_none_or(|s| !s.starts_with("registry+")) {
            continue;
        }
        let dir_name = format!("{}-{}", field("name").unwrap(), field("version").unwrap());
        dirs.extend(
            registries
                .iter()
                .map(|r| r.join(&dir_name))
                .find(|d| d.is_dir()),
        );
    }
    dirs
}

/// Lints every dependency's source. Slow in debug builds, so `.ci/run` runs it in release:
/// `cargo test --release -p gomem-analyzer --test robustness -- --ignored`.
#[test]
#[ignore]
fn every_dependency_source_in_cargo_lock() {
    let dirs = dependency_sources();
    assert!(
        dirs.len() >= 20,
        "build the workspace first so cargo unpacks the sources ({} found)",
        dirs.len()
    );
    let analysis = analyze(Workspace::from_paths(&dirs), Config::default());
    let internal: Vec<_> = analysis
        .diagnostics
        .iter()
        .filter(|d| d.lint == LintId::InternalError)
        .collect();
    assert!(internal.is_empty(), "{internal:#?}");
    let mut counts = std::collections::BTreeMap::new();
    for d in &analysis.diagnostics {
        *counts.entry(d.lint.name()).or_insert(0) += 1;
    }
    eprintln!(
        "{} packages, {} files, findings by lint: {counts:?}",
        dirs.len(),
        analysis.db.len()
    );
    for d in analysis
        .diagnostics
        .iter()
        .filter(|d| d.lint == LintId::ParseError)
    {
        let file = analysis.db.get(d.primary.span.file);
        eprintln!(
            "parse_error: {}:{}: {}",
            file.path.display(),
            file.line_col(d.primary.span.lo as usize).0,
            d.message
        );
    }
    assert!(analysis.db.len() > 500);
}

/// The lexer's tokens with those a doc comment became (`#`, `!` for an inner one, and the
/// `[doc = ".."]` group) left out: what lexing the blanked text must give.
fn without_doc_comments(
    text: &str,
    tokens: proc_macro2::TokenStream,
) -> Vec<proc_macro2::TokenTree> {
    use proc_macro2::TokenTree;
    let from_comment = |t: &TokenTree| text[t.span().byte_range().start..].starts_with('/');
    let mut out = Vec::new();
    let mut tokens = tokens.into_iter().peekable();
    while let Some(t) = tokens.next() {
        match t {
            TokenTree::Punct(ref p) if p.as_char() == '#' && from_comment(&t) => {
                if matches!(tokens.peek(), Some(TokenTree::Punct(p)) if p.as_char() == '!') {
                    tokens.next();
                }
                assert!(matches!(tokens.next(), Some(TokenTree::Group(_))));
            }
            TokenTree::Group(g) => {
                let inner = without_doc_comments(text, g.stream());
                let mut group = proc_macro2::Group::new(g.delimiter(), inner.into_iter().collect());
                group.set_span(g.span());
                out.push(TokenTree::Group(group));
            }
            t => out.push(t),
        }
    }
    out
}

/// The same tokens at the same byte offsets (spacing of a punct before a comment aside).
fn same_tokens(a: &[proc_macro2::TokenTree], b: proc_macro2::TokenStream) -> Result<(), String> {
    use proc_macro2::TokenTree;
    let b: Vec<TokenTree> = b.into_iter().collect();
    if a.len() != b.len() {
        return Err(format!("{} tokens against {}", a.len(), b.len()));
    }
    for (x, y) in a.iter().zip(&b) {
        if x.span().start() != y.span().start() && x.span().byte_range() != y.span().byte_range() {
            return Err(format!(
                "`{x}` at {:?} against `{y}` at {:?}",
                x.span().byte_range(),
                y.span().byte_range()
            ));
        }
        match (x, y) {
            (TokenTree::Group(x), TokenTree::Group(y)) if x.delimiter() == y.delimiter() => {
                let inner: Vec<TokenTree> = x.stream().into_iter().collect();
                same_tokens(&inner, y.stream())?;
            }
            (TokenTree::Punct(x), TokenTree::Punct(y)) if x.as_char() == y.as_char() => {}
            (TokenTree::Ident(x), TokenTree::Ident(y)) if x == y => {}
            (TokenTree::Literal(x), TokenTree::Literal(y)) if x.to_string() == y.to_string() => {}
            _ => return Err(format!("`{x}` against `{y}`")),
        }
    }
    Ok(())
}

/// Blanking doc comments (which the parser does, see `gomem_analyzer::parse`) must lose
/// nothing but them: on every dependency source, lexing the blanked text gives the same
/// tokens at the same offsets as lexing the file and dropping the doc comments' tokens.
#[test]
#[ignore]
fn blanking_doc_comments_keeps_every_other_token_of_every_dependency_source() {
    let files = Workspace::from_paths(&dependency_sources()).plain_files;
    assert!(files.len() > 500, "{} files", files.len());
    // Lexing keeps every text in a thread-local source map: split the files over threads.
    let results: Vec<(usize, usize, Vec<String>)> = std::thread::scope(|s| {
        let workers: Vec<_> = files
            .chunks(files.len().div_ceil(4))
            .map(|chunk| s.spawn(|| check_blanking(chunk)))
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    let checked: usize = results.iter().map(|r| r.0).sum();
    let blanked: usize = results.iter().map(|r| r.1).sum();
    let failures: Vec<&String> = results.iter().flat_map(|r| &r.2).collect();
    eprintln!("{checked} files lexed, {blanked} had doc comments");
    assert!(failures.is_empty(), "{failures:#?}");
}

/// For [`blanking_doc_comments_keeps_every_other_token_of_every_dependency_source`]: how many
/// of `files` were lexed, how many had doc comments, and what differed.
fn check_blanking(files: &[PathBuf]) -> (usize, usize, Vec<String>) {
    let (mut checked, mut blanked) = (0, 0);
    let mut failures = Vec::new();
    for path in files {
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        let Ok(original) = text.parse::<proc_macro2::TokenStream>() else {
            continue;
        };
        let expected = without_doc_comments(&text, original);
        let lexable = gomem_analyzer::parse::blank_doc_comments(&text);
        blanked += usize::from(lexable != text);
        match lexable.parse::<proc_macro2::TokenStream>() {
            Ok(tokens) => {
                if let Err(e) = same_tokens(&expected, tokens) {
                    failures.push(format!("{}: {e}", path.display()));
                }
            }
            Err(e) => failures.push(format!("{}: no longer lexes: {e}", path.display())),
        }
        checked += 1;
    }
    (checked, blanked, failures)
}
