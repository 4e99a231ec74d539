//! Imports flow one way: each module of the analyzer may use only modules of its own layer
//! or of the layers below, and no two modules (of the analyzer or of the runtime) depend on
//! each other, directly or around a longer circle.
//!
//! The layer order is declared here, once ([`ANALYZER_LAYERS`]); ARCHITECTURE.md explains it.
//! A module's dependencies are read from its source with syn: every `use crate::..`,
//! `use super::..` and `use self::..`, and every path in code that starts with `crate`,
//! `super`, `self` or the name of a child module (`parse_error::LINT` in `lints/mod.rs`).
//! Doc comments do not count (an intra-doc link is not a dependency). Code under
//! `#[cfg(test)]` is exempt, as a crate's dev-dependencies are: a lint's unit test may run the
//! driver that sits above it.
//!
//! A new module must be given a layer here; the test names any module that has none.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use syn::visit::Visit;

/// The analyzer's layers, bottom first. A module belongs to the layer of the longest entry
/// that is a prefix of its path (`lints` covers `lints::rc_cycle`).
const ANALYZER_LAYERS: &[(&str, &[&str])] = &[
    ("ids and spans", &["span", "ids", "lint_defs"]),
    (
        "sources, syntax and findings",
        &[
            "source",
            "parse",
            "syntax",
            "std_macros",
            "one_time",
            "test_code",
            "diagnostic",
        ],
    ),
    ("configuration", &["config", "config_file"]),
    ("workspace and module tree", &["workspace", "modtree"]),
    (
        "item index and layout",
        &["consteval", "layout", "types", "index"],
    ),
    ("semantics", &["semantics"]),
    ("what a lint is", &["lint"]),
    ("facts", &["allocation", "callgraph", "globals", "escape"]),
    ("the lints and their registry", &["lints"]),
    ("suppressions", &["suppress"]),
    ("the driver", &["driver"]),
    (
        "the attribute and the outputs",
        &["attribute", "fingerprint", "baseline", "report"],
    ),
    ("the command line", &["cli", "editor"]),
];

/// A module path inside its crate, `[]` for the crate root.
type ModPath = Vec<String>;

struct Crate {
    /// Every module that has a file, with the modules it uses (outside test code).
    deps: BTreeMap<ModPath, BTreeSet<(ModPath, String)>>,
}

fn module_of(src: &Path, file: &Path) -> Option<ModPath> {
    let rel = file.strip_prefix(src).ok()?;
    let mut parts: Vec<String> = rel
        .iter()
        .map(|c| c.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop()?;
    match last.as_str() {
        "lib.rs" | "mod.rs" => {}
        "main.rs" if parts.is_empty() => return None, // a binary: a crate of its own
        _ => parts.push(last.strip_suffix(".rs")?.to_string()),
    }
    Some(parts)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn is_cfg_test(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg")
            && a.parse_args::<syn::Meta>()
                .is_ok_and(|m| m.path().is_ident("test"))
    })
}

/// Collects the module paths one file's code names.
struct Refs<'a> {
    /// The module the visitor is in (the file's module, plus inline modules entered).
    here: ModPath,
    /// Names of the child modules declared in the file's module (`mod x;`).
    children: &'a BTreeSet<String>,
    file_module_len: usize,
    out: Vec<(Vec<String>, String)>,
}

impl Refs<'_> {
    /// `segments` as written, made absolute; `None` for paths into other crates, locals,
    /// types in scope and the like.
    fn absolute(&self, segments: &[String]) -> Option<Vec<String>> {
        let first = segments.first()?;
        let mut base = match first.as_str() {
            "crate" => Vec::new(),
            "self" => self.here.clone(),
            "super" => self.here.clone(),
            name if self.here.len() == self.file_module_len && self.children.contains(name) => {
                return Some(
                    self.here
                        .iter()
                        .cloned()
                        .chain(segments.iter().cloned())
                        .collect(),
                )
            }
            _ => return None,
        };
        let mut rest = segments;
        if first == "crate" || first == "self" {
            rest = &segments[1..];
        }
        while rest.first().is_some_and(|s| s == "super") {
            base.pop()?;
            rest = &rest[1..];
        }
        base.extend(rest.iter().cloned());
        Some(base)
    }

    fn push(&mut self, segments: Vec<String>, written: String) {
        if let Some(abs) = self.absolute(&segments) {
            self.out.push((abs, written));
        }
    }

    fn use_tree(&mut self, tree: &syn::UseTree, prefix: &mut Vec<String>) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(&p.tree, prefix);
                prefix.pop();
            }
            syn::UseTree::Name(n) => {
                let mut segs = prefix.clone();
                if n.ident != "self" {
                    segs.push(n.ident.to_string());
                }
                let written = format!("use {}", segs.join("::"));
                self.push(segs, written);
            }
            syn::UseTree::Rename(r) => {
                let mut segs = prefix.clone();
                if r.ident != "self" {
                    segs.push(r.ident.to_string());
                }
                let written = format!("use {}", segs.join("::"));
                self.push(segs, written);
            }
            syn::UseTree::Glob(_) => {
                let written = format!("use {}::*", prefix.join("::"));
                self.push(prefix.clone(), written);
            }
            syn::UseTree::Group(g) => {
                for t in &g.items {
                    self.use_tree(t, prefix);
                }
            }
        }
    }

    /// `crate :: a :: b` sequences inside a macro's tokens (`format!("{}", crate::x::f())`).
    fn tokens(&mut self, tokens: proc_macro2::TokenStream) {
        let trees: Vec<proc_macro2::TokenTree> = tokens.into_iter().collect();
        for (i, tree) in trees.iter().enumerate() {
            match tree {
                proc_macro2::TokenTree::Group(g) => self.tokens(g.stream()),
                proc_macro2::TokenTree::Ident(id) if id == "crate" || id == "super" => {
                    let mut segs = vec![id.to_string()];
                    let mut j = i + 1;
                    while let (
                        Some(proc_macro2::TokenTree::Punct(a)),
                        Some(proc_macro2::TokenTree::Punct(b)),
                        Some(proc_macro2::TokenTree::Ident(next)),
                    ) = (trees.get(j), trees.get(j + 1), trees.get(j + 2))
                    {
                        if a.as_char() != ':' || b.as_char() != ':' {
                            break;
                        }
                        segs.push(next.to_string());
                        j += 3;
                    }
                    if segs.len() > 1 {
                        let written = segs.join("::");
                        self.push(segs, written);
                    }
                }
                _ => {}
            }
        }
    }
}

impl<'ast> Visit<'ast> for Refs<'_> {
    fn visit_item(&mut self, item: &'ast syn::Item) {
        let attrs = match item {
            syn::Item::Mod(m) => &m.attrs,
            syn::Item::Fn(f) => &f.attrs,
            syn::Item::Impl(i) => &i.attrs,
            syn::Item::Use(u) => &u.attrs,
            syn::Item::Const(c) => &c.attrs,
            syn::Item::Static(s) => &s.attrs,
            syn::Item::Struct(s) => &s.attrs,
            syn::Item::Enum(e) => &e.attrs,
            syn::Item::Trait(t) => &t.attrs,
            syn::Item::Macro(m) => &m.attrs,
            _ => return syn::visit::visit_item(self, item),
        };
        if is_cfg_test(attrs) {
            return;
        }
        syn::visit::visit_item(self, item);
    }

    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        if let Some((_, items)) = &m.content {
            self.here.push(m.ident.to_string());
            for item in items {
                self.visit_item(item);
            }
            self.here.pop();
        }
    }

    /// `pub(super)`, `pub(in crate::x)`: who may see an item, not what it uses.
    fn visit_visibility(&mut self, _: &'ast syn::Visibility) {}

    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        self.use_tree(&u.tree, &mut Vec::new());
    }

    fn visit_path(&mut self, p: &'ast syn::Path) {
        let segs: Vec<String> = p.segments.iter().map(|s| s.ident.to_string()).collect();
        let written = segs.join("::");
        self.push(segs, written);
        syn::visit::visit_path(self, p);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        let name = mac.path.segments.last().map(|s| s.ident.to_string());
        // Quasi-quotes build the user's code: their `crate` is the user's crate.
        if !matches!(
            name.as_deref(),
            Some("quote" | "quote_spanned" | "parse_quote")
        ) {
            self.tokens(mac.tokens.clone());
        }
        syn::visit::visit_macro(self, mac);
    }
}

/// Declared `mod x;` (or inline `mod x {}`) children of a file's module, except test-only.
fn declared_children(file: &syn::File) -> (BTreeSet<String>, BTreeSet<String>) {
    let (mut live, mut test_only) = (BTreeSet::new(), BTreeSet::new());
    for item in &file.items {
        if let syn::Item::Mod(m) = item {
            if is_cfg_test(&m.attrs) {
                test_only.insert(m.ident.to_string());
            } else {
                live.insert(m.ident.to_string());
            }
        }
    }
    (live, test_only)
}

fn read_crate(src: &Path) -> Crate {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.sort();
    let mut parsed = BTreeMap::new();
    for file in &files {
        let Some(module) = module_of(src, file) else {
            continue;
        };
        let text = std::fs::read_to_string(file).unwrap();
        let syntax = syn::parse_file(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        parsed.insert(module, syntax);
    }
    // Modules declared under `#[cfg(test)]`, and everything below them, are test code.
    let mut test_modules: BTreeSet<ModPath> = BTreeSet::new();
    for (module, syntax) in &parsed {
        for child in declared_children(syntax).1 {
            let mut m = module.clone();
            m.push(child);
            test_modules.insert(m);
        }
    }
    let is_test = |m: &ModPath| test_modules.iter().any(|t| m.starts_with(t));
    let known: BTreeSet<ModPath> = parsed.keys().filter(|m| !is_test(m)).cloned().collect();
    let mut deps = BTreeMap::new();
    for (module, syntax) in &parsed {
        if is_test(module) {
            continue;
        }
        let children = declared_children(syntax).0;
        let mut refs = Refs {
            here: module.clone(),
            children: &children,
            file_module_len: module.len(),
            out: Vec::new(),
        };
        refs.visit_file(syntax);
        let mut used = BTreeSet::new();
        for (path, written) in refs.out {
            // The longest prefix that is a module with a file.
            let Some(target) = (0..=path.len())
                .rev()
                .map(|n| path[..n].to_vec())
                .find(|p| known.contains(p))
            else {
                continue;
            };
            if &target != module {
                used.insert((target, written));
            }
        }
        deps.insert(module.clone(), used);
    }
    Crate { deps }
}

fn name(m: &ModPath) -> String {
    if m.is_empty() {
        "crate".into()
    } else {
        m.join("::")
    }
}

/// Each circle of modules that depend on each other, as a list of names.
fn circles(krate: &Crate) -> Vec<String> {
    let ids: Vec<&ModPath> = krate.deps.keys().collect();
    let mut graph = petgraph::graph::DiGraph::<(), ()>::new();
    let nodes: Vec<_> = ids.iter().map(|_| graph.add_node(())).collect();
    let index = |m: &ModPath| ids.iter().position(|x| *x == m);
    for (i, m) in ids.iter().enumerate() {
        for (dep, _) in &krate.deps[*m] {
            // The crate root only declares modules and re-exports: not a layer.
            if dep.is_empty() {
                continue;
            }
            if let Some(j) = index(dep) {
                graph.add_edge(nodes[i], nodes[j], ());
            }
        }
    }
    petgraph::algo::tarjan_scc(&graph)
        .into_iter()
        .filter(|scc| scc.len() > 1)
        .map(|scc| {
            let mut names: Vec<String> = scc.iter().map(|n| name(ids[n.index()])).collect();
            names.sort();
            names.join(", ")
        })
        .collect()
}

fn layer_of(layers: &[(&str, &[&str])], m: &ModPath) -> Option<usize> {
    let mut best: Option<(usize, usize)> = None;
    for (i, (_, prefixes)) in layers.iter().enumerate() {
        for prefix in *prefixes {
            let p: Vec<&str> = prefix.split("::").collect();
            if m.len() >= p.len()
                && m.iter().zip(&p).all(|(a, b)| a == b)
                && best.is_none_or(|(len, _)| p.len() > len)
            {
                best = Some((p.len(), i));
            }
        }
    }
    best.map(|(_, i)| i)
}

/// Every import of `krate` that goes up a layer, as `file-module: import (layer -> layer)`.
fn upward_imports(krate: &Crate, layers: &[(&str, &[&str])]) -> (Vec<String>, Vec<String>) {
    let (mut upward, mut unplaced) = (Vec::new(), Vec::new());
    for (module, used) in &krate.deps {
        if module.is_empty() {
            continue; // the crate root declares every module
        }
        let Some(mine) = layer_of(layers, module) else {
            unplaced.push(name(module));
            continue;
        };
        for (dep, written) in used {
            if dep.is_empty() {
                continue;
            }
            let Some(theirs) = layer_of(layers, dep) else {
                continue; // reported as unplaced on its own
            };
            if theirs > mine {
                upward.push(format!(
                    "`{}` ({}) imports `{written}` from `{}` ({}), a higher layer",
                    name(module),
                    layers[mine].0,
                    name(dep),
                    layers[theirs].0
                ));
            }
        }
    }
    (upward, unplaced)
}

fn src_of(krate: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(krate)
        .join("src")
}

#[test]
fn analyzer_modules_import_only_their_own_layer_or_below() {
    let krate = read_crate(&src_of("analyzer"));
    let (upward, unplaced) = upward_imports(&krate, ANALYZER_LAYERS);
    assert!(
        unplaced.is_empty(),
        "modules with no layer (add them to ANALYZER_LAYERS in {}): {unplaced:#?}",
        file!()
    );
    assert!(
        upward.is_empty(),
        "imports that go up:\n{}",
        upward.join("\n")
    );
}

#[test]
fn no_two_modules_depend_on_each_other() {
    for krate in ["analyzer", "runtime", "macros"] {
        let found = circles(&read_crate(&src_of(krate)));
        assert!(
            found.is_empty(),
            "modules of `{krate}` that depend on each other: {found:#?}"
        );
    }
}

/// The reader itself: it sees `use`, `super::`, child-module paths and macro tokens, and
/// skips doc comments and test code.
#[test]
fn the_reader_finds_each_kind_of_reference() {
    let dir = std::env::temp_dir().join(format!("gomem-layering-{}", std::process::id()));
    let src = dir.join("src");
    std::fs::create_dir_all(src.join("top")).unwrap();
    std::fs::write(
        src.join("lib.rs"),
        "pub mod low; pub mod mid; pub mod top; pub mod docs; #[cfg(test)] mod testing;",
    )
    .unwrap();
    std::fs::write(
        src.join("low.rs"),
        "pub(super) fn f() {} pub(in crate::top) fn g() {}",
    )
    .unwrap();
    std::fs::write(
        src.join("mid.rs"),
        "use crate::low; fn g() { format!(\"{}\", crate::top::h()); } \
         #[cfg(test)] mod tests { use crate::top::child::X; }",
    )
    .unwrap();
    std::fs::write(
        src.join("top/mod.rs"),
        "pub mod child; pub fn h() { child::k(); }",
    )
    .unwrap();
    std::fs::write(
        src.join("top/child.rs"),
        "pub fn k() { super::super::low::f() }",
    )
    .unwrap();
    std::fs::write(
        src.join("docs.rs"),
        "/// See [`crate::top::h`].\npub fn d() { quote!(crate::top::h()); }",
    )
    .unwrap();
    std::fs::write(src.join("testing.rs"), "use crate::top::h;").unwrap();
    let krate = read_crate(&src);
    std::fs::remove_dir_all(&dir).ok();
    let deps = |m: &str| -> Vec<String> {
        let key: ModPath = m.split("::").map(String::from).collect();
        krate.deps[&key].iter().map(|(d, _)| name(d)).collect()
    };
    assert_eq!(deps("mid"), ["low", "top"]);
    assert_eq!(deps("top"), ["top::child"]);
    assert_eq!(deps("top::child"), ["low"]);
    assert!(deps("docs").is_empty());
    assert!(!krate.deps.contains_key(&vec!["testing".to_string()]));
    let layers: &[(&str, &[&str])] = &[
        ("low", &["low", "docs"]),
        ("mid", &["mid"]),
        ("top", &["top"]),
    ];
    let (upward, unplaced) = upward_imports(&krate, layers);
    assert!(unplaced.is_empty(), "{unplaced:?}");
    assert_eq!(upward.len(), 1, "{upward:?}");
    assert!(
        upward[0].starts_with("`mid` (mid) imports `crate::top::h` from `top` (top)"),
        "{upward:?}"
    );
    assert!(circles(&krate).is_empty());
}
