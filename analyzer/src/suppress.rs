//! Suppressions: the places where the code says "not this finding, here", and their use.
//!
//! Two forms, both naming lints by id:
//! - `#[gomem::allow(rc_cycle, reason = "broken at shutdown")]` on an item, an impl, a
//!   statement or a field (the `gomem` crate provides `allow` as an attribute that leaves the
//!   code unchanged), and `#![gomem::allow(..)]` at the top of a file or an inline module;
//! - a comment, for code that does not depend on gomem: `// gomem: allow(rc_cycle) reason`
//!   on the line before the finding, or at the end of its line.
//!
//! A finding is silenced when its primary span starts inside what a suppression covers. A
//! suppression that silences nothing, or names a lint that does not exist, is itself reported
//! (`unused_suppression`), so stale ones get cleaned up; one without a reason is reported by
//! `suppression_without_reason` (allowed by default; `--require-reason` denies it).
//!
//! rustc's and clippy's own `#[allow(..)]` and `#[expect(..)]` count too, for the lints of
//! theirs that report what a gomem lint reports ([`LintId::also_silenced_by`]:
//! `unconditional_recursion`, `clippy::zombie_processes`...): code that already says "this
//! recursion is meant" to rustc should not have to say it again to gomem. Those attributes
//! belong to rustc and clippy, which judge whether they are used, so gomem never reports
//! them. `cfg_attr(.., allow(..))` is not read: whether its condition holds is not known here.

use syn::visit::Visit;

use crate::config::Config;
use crate::diagnostic::Diagnostic;
use crate::lint_defs::Level;
use crate::lint_defs::LintId;
use crate::source::SourceFile;
use crate::span::{FileId, Span};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suppression {
    /// The lints it names, as written, each with its span.
    pub lints: Vec<(String, Span)>,
    pub reason: Option<String>,
    /// The attribute or comment.
    pub span: Span,
    /// The bytes it covers (in `span`'s file).
    pub covers: std::ops::Range<u32>,
    /// A rustc or clippy `allow`/`expect`; `lints` are the gomem lints its names stand for.
    pub foreign: bool,
}

/// Every suppression of one file.
pub fn collect(file: FileId, source: &SourceFile, syntax: &syn::File) -> Vec<Suppression> {
    let mut out = Vec::new();
    // Both forms spell `gomem`, and rustc's and clippy's attributes name one of a few lints:
    // most files have neither, and skip the walk.
    let text = &*source.text;
    if memchr::memmem::find(text.as_bytes(), b"gomem").is_none() && !allows_foreign_lint(text) {
        return out;
    }
    let whole = 0..source.text.len() as u32;
    attrs(file, &syntax.attrs, true, whole.clone(), &mut out);
    let mut v = Attrs {
        file,
        out: &mut out,
    };
    v.visit_file(syntax);
    comments(file, source, &mut out);
    out
}

/// Collects `gomem::allow` attributes from `attrs`; inner ones cover `inner`, outer ones the
/// node they are on (`node`).
fn attrs(
    file: FileId,
    attrs: &[syn::Attribute],
    want_inner: bool,
    covers: std::ops::Range<u32>,
    out: &mut Vec<Suppression>,
) {
    for attr in attrs {
        let inner = matches!(attr.style, syn::AttrStyle::Inner(_));
        if inner != want_inner {
            continue;
        }
        let foreign = match kind(attr) {
            Some(Kind::Gomem) => false,
            Some(Kind::Foreign) => true,
            None => continue,
        };
        let mut lints = Vec::new();
        let mut reason = None;
        let _ = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("reason") {
                let value: syn::LitStr = meta.value()?.parse()?;
                reason = Some(value.value());
            } else {
                let name = crate::syntax::segment_names(&meta.path).join("::");
                let span = Span::of_tokens(file, &meta.path);
                if !foreign {
                    lints.push((name, span));
                } else if let Some(id) = LintId::silenced_with(&name) {
                    lints.push((id.name().to_string(), span));
                }
            }
            Ok(())
        });
        // `#[allow(dead_code)]` is none of ours.
        if foreign && lints.is_empty() {
            continue;
        }
        out.push(Suppression {
            lints,
            reason,
            span: Span::of_tokens(file, attr),
            covers: covers.clone(),
            foreign,
        });
    }
}

struct Attrs<'o> {
    file: FileId,
    out: &'o mut Vec<Suppression>,
}

impl Attrs<'_> {
    fn outer(&mut self, attrs: &[syn::Attribute], node: &impl quote::ToTokens) {
        // A node's span is costly (syn prints its tokens): only for nodes we need it of.
        if !attrs.iter().any(|a| kind(a).is_some()) {
            return;
        }
        let span = Span::of_tokens(self.file, node);
        attrs_outer(self.file, attrs, span.lo..span.hi, self.out);
    }
}

/// Whether the text has an `#[allow(..)]` or `#[expect(..)]` (or `#![..]`) that names one of
/// the rustc or clippy lints ours stand for: one pass over the `#`s, cheaper than a search
/// for each name.
fn allows_foreign_lint(text: &str) -> bool {
    memchr::memchr_iter(b'#', text.as_bytes()).any(|at| {
        let rest = &text[at + 1..];
        let rest = rest.strip_prefix('!').unwrap_or(rest).trim_start();
        let Some(rest) = rest.strip_prefix('[') else {
            return false;
        };
        let rest = rest.trim_start();
        if !(rest.starts_with("allow") || rest.starts_with("expect")) {
            return false;
        }
        names_foreign_lint(&rest[..rest.find(']').unwrap_or(rest.len())])
    })
}

/// Whether `text` contains the name of a rustc or clippy lint that one of ours stands for.
fn names_foreign_lint(text: &str) -> bool {
    LintId::ALL
        .iter()
        .flat_map(|id| id.also_silenced_by())
        .any(|name| text.contains(name.trim_start_matches("clippy::")))
}

/// Which kind of suppression an attribute may be.
enum Kind {
    /// `gomem::allow(..)`.
    Gomem,
    /// rustc's `allow(..)` or `expect(..)`, naming a lint that stands for one of ours.
    Foreign,
}

fn kind(attr: &syn::Attribute) -> Option<Kind> {
    let path = attr.path();
    if path.segments.len() == 2
        && path.segments[0].ident == "gomem"
        && path.segments[1].ident == "allow"
    {
        return Some(Kind::Gomem);
    }
    let syn::Meta::List(list) = &attr.meta else {
        return None;
    };
    if !(path.is_ident("allow") || path.is_ident("expect")) {
        return None;
    }
    // Cheaper than parsing the list: one of the names must be in its tokens.
    names_foreign_lint(&list.tokens.to_string()).then_some(Kind::Foreign)
}

fn attrs_outer(
    file: FileId,
    a: &[syn::Attribute],
    covers: std::ops::Range<u32>,
    out: &mut Vec<Suppression>,
) {
    attrs(file, a, false, covers, out);
}

impl<'ast> Visit<'ast> for Attrs<'_> {
    fn visit_item(&mut self, i: &'ast syn::Item) {
        let item_attrs: &[syn::Attribute] = match i {
            syn::Item::Const(x) => &x.attrs,
            syn::Item::Enum(x) => &x.attrs,
            syn::Item::Fn(x) => &x.attrs,
            syn::Item::Impl(x) => &x.attrs,
            syn::Item::Macro(x) => &x.attrs,
            syn::Item::Mod(x) => &x.attrs,
            syn::Item::Static(x) => &x.attrs,
            syn::Item::Struct(x) => &x.attrs,
            syn::Item::Trait(x) => &x.attrs,
            syn::Item::Type(x) => &x.attrs,
            syn::Item::Union(x) => &x.attrs,
            syn::Item::Use(x) => &x.attrs,
            _ => &[],
        };
        self.outer(item_attrs, i);
        if let syn::Item::Mod(m) = i {
            if let Some((brace, _)) = m
                .content
                .as_ref()
                .filter(|_| m.attrs.iter().any(|a| kind(a).is_some()))
            {
                let span = Span::of(self.file, brace.span.join());
                attrs(self.file, &m.attrs, true, span.lo..span.hi, self.out);
            }
        }
        syn::visit::visit_item(self, i);
    }

    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        self.outer(&f.attrs, f);
        syn::visit::visit_impl_item_fn(self, f);
    }

    fn visit_trait_item_fn(&mut self, f: &'ast syn::TraitItemFn) {
        self.outer(&f.attrs, f);
        syn::visit::visit_trait_item_fn(self, f);
    }

    fn visit_field(&mut self, f: &'ast syn::Field) {
        self.outer(&f.attrs, f);
        syn::visit::visit_field(self, f);
    }

    fn visit_local(&mut self, l: &'ast syn::Local) {
        self.outer(&l.attrs, l);
        syn::visit::visit_local(self, l);
    }

    fn visit_stmt_macro(&mut self, m: &'ast syn::StmtMacro) {
        self.outer(&m.attrs, m);
        syn::visit::visit_stmt_macro(self, m);
    }
}

/// `// gomem: allow(a, b) reason` comments. On a line of its own it covers the next line;
/// after code, its own line.
fn comments(file: FileId, source: &SourceFile, out: &mut Vec<Suppression>) {
    let text = &*source.text;
    const MARK: &str = "gomem: allow(";
    let mut from = 0;
    while let Some(at) = text[from..].find(MARK) {
        let start = from + at;
        from = start + MARK.len();
        // Only in a `//` comment: the marker follows `//` and spaces on its line.
        let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
        let before = &text[line_start..start];
        let Some(slashes) = before.rfind("//") else {
            continue;
        };
        if !before[slashes + 2..].trim().is_empty() {
            continue;
        }
        let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
        let args_start = start + MARK.len();
        let Some(close) = text[args_start..line_end].find(')') else {
            continue;
        };
        let args_end = args_start + close;
        let mut lints = Vec::new();
        let mut offset = args_start;
        for part in text[args_start..args_end].split(',') {
            let trimmed = part.trim();
            if !trimmed.is_empty() {
                let lo = offset + part.find(trimmed).unwrap_or(0);
                lints.push((trimmed.to_string(), Span::new(file, lo..lo + trimmed.len())));
            }
            offset += part.len() + 1;
        }
        let reason = text[args_end + 1..line_end].trim();
        let code_before = !before[..slashes].trim().is_empty();
        let covers = if code_before {
            line_start..line_end
        } else {
            // The next line that is not blank and not another comment.
            let mut next = line_end + 1;
            loop {
                if next >= text.len() {
                    break next.min(text.len())..next.min(text.len());
                }
                let end = text[next..].find('\n').map_or(text.len(), |i| next + i);
                let line = text[next..end].trim();
                if line.is_empty() || line.starts_with("//") {
                    next = end + 1;
                    continue;
                }
                break next..end;
            }
        };
        out.push(Suppression {
            lints,
            reason: (!reason.is_empty()).then(|| reason.to_string()),
            span: Span::new(file, line_start + slashes..line_end),
            covers: covers.start as u32..covers.end as u32,
            foreign: false,
        });
    }
}

/// Drops the findings that suppressions silence, and reports the suppressions that silence
/// nothing, name an unknown lint, or give no reason.
pub fn apply(
    diagnostics: &mut Vec<Diagnostic>,
    suppressions: &[Suppression],
    config: &Config,
) -> Vec<Diagnostic> {
    let mut used = vec![false; suppressions.len()];
    diagnostics.retain(|d| {
        if !d.lint.configurable() {
            return true;
        }
        let at = d.primary.span;
        // gomem's own suppression first, so that it counts as used when rustc's covers too.
        let hit = suppressions
            .iter()
            .enumerate()
            .filter(|(_, s)| {
                s.span.file == at.file
                    && s.covers.contains(&at.lo)
                    && s.lints
                        .iter()
                        .any(|(name, _)| LintId::from_name(name) == Some(d.lint))
            })
            .min_by_key(|(_, s)| s.foreign)
            .map(|(i, _)| i);
        if let Some(i) = hit {
            used[i] = true;
        }
        hit.is_none()
    });
    let mut out = Vec::new();
    for (s, used) in suppressions.iter().zip(used) {
        // rustc and clippy judge their own attributes.
        if s.foreign {
            continue;
        }
        let mut silenced_something = used;
        for (name, span) in &s.lints {
            // An unknown name is reported as such, not also as unused.
            if LintId::from_name(name).is_none() {
                silenced_something = true;
            }
            match LintId::from_name(name) {
                None => {
                    let names: Vec<&str> = LintId::ALL.iter().map(|id| id.name()).collect();
                    let d = Diagnostic::new(
                        LintId::UnusedSuppression,
                        *span,
                        format!("unknown lint `{name}` in a suppression"),
                    )
                    .primary_label("no gomem lint has this name");
                    out.push(match crate::lint_defs::closest(name, &names) {
                        Some(near) => {
                            d.suggestion(format!("did you mean `{near}`?"), *span, near, false)
                        }
                        None => d.help("`cargo gomem-lint --list` shows the lints"),
                    });
                }
                // A lint that is turned off may be needed in other runs: not unused.
                Some(id) if config.levels.get(id) == Level::Allow => silenced_something = true,
                Some(_) => {}
            }
        }
        if !silenced_something && !s.lints.is_empty() {
            out.push(
                Diagnostic::new(
                    LintId::UnusedSuppression,
                    s.span,
                    "this suppression silences nothing",
                )
                .primary_label("no finding of these lints starts here")
                .suggestion("remove it", s.span, "", true),
            );
        }
        if s.reason.is_none() {
            out.push(
                Diagnostic::new(
                    LintId::SuppressionWithoutReason,
                    s.span,
                    "this suppression gives no reason",
                )
                .primary_label("say why the finding does not apply")
                .help("`#[gomem::allow(lint, reason = \"...\")]`, or text after `// gomem: allow(lint)`"),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(src: &str) -> Vec<Suppression> {
        let source = SourceFile::new("x.rs".into(), src.into(), None);
        let syntax = syn::parse_file(src).unwrap();
        collect(FileId(0), &source, &syntax)
    }

    #[test]
    fn attributes_cover_their_node_and_comments_their_line() {
        let src = "#![gomem::allow(rc_cycle)]\n\
                   #[gomem::allow(unjoined_task, reason = \"detached on purpose\")]\n\
                   fn f() {}\n\
                   // gomem: allow(leaked_allocation) one-time\n\
                   fn g() {}\n\
                   fn h() {} // gomem: allow(unwaited_child)\n";
        let s = parse(src);
        assert_eq!(s.len(), 4);
        let covered = |i: usize| &src[s[i].covers.start as usize..s[i].covers.end as usize];
        assert_eq!(covered(0), src, "an inner attribute covers the file");
        assert_eq!(
            covered(1).trim(),
            "#[gomem::allow(unjoined_task, reason = \"detached on purpose\")]\nfn f() {}"
        );
        assert_eq!(s[1].reason.as_deref(), Some("detached on purpose"));
        assert_eq!(covered(2), "fn g() {}");
        assert_eq!(s[2].reason.as_deref(), Some("one-time"));
        assert_eq!(covered(3), "fn h() {} // gomem: allow(unwaited_child)");
        assert_eq!(s[3].reason, None);
        assert_eq!(s[3].lints[0].0, "unwaited_child");
    }

    #[test]
    fn rustc_and_clippy_attributes_stand_for_the_lints_that_report_the_same() {
        let src = "#![expect(clippy::zombie_processes)]\n\
                   #[allow(unconditional_recursion, dead_code, reason = \"a test of overflow\")]\n\
                   fn f() { f() }\n\
                   #[allow(dead_code, clippy::large_stack_arrays)]\n\
                   fn g() {}\n\
                   #[allow(dead_code)]\n\
                   fn zombie_processes() {}\n\
                   #[cfg_attr(test, allow(clippy::unconditional_recursion))]\n\
                   fn h() {}\n";
        let s = parse(src);
        let lints: Vec<Vec<&str>> = s
            .iter()
            .map(|s| s.lints.iter().map(|(n, _)| n.as_str()).collect())
            .collect();
        assert_eq!(
            lints,
            [
                vec!["unwaited_child"],
                vec!["unbounded_recursion"],
                vec!["large_stack_value"]
            ]
        );
        assert!(s.iter().all(|s| s.foreign));
        let covered = &src[s[1].covers.start as usize..s[1].covers.end as usize];
        assert!(covered.ends_with("fn f() { f() }"), "{covered}");
        assert_eq!(s[1].reason.as_deref(), Some("a test of overflow"));
        // The span of each name is the name as written.
        let (_, name) = &s[0].lints[0];
        assert_eq!(
            &src[name.lo as usize..name.hi as usize],
            "clippy::zombie_processes"
        );
    }

    #[test]
    fn rustc_attributes_are_never_reported_and_gomem_s_own_counts_first() {
        let src = "#[allow(unconditional_recursion)]\n\
                   fn stale() {}\n\
                   #[allow(clippy::unconditional_recursion)]\n\
                   #[gomem::allow(unbounded_recursion, reason = \"bounded by the input\")]\n\
                   fn f() { f() }\n";
        let s = parse(src);
        let at = src.find("f() }").unwrap() as u32;
        let finding = Diagnostic::new(
            LintId::UnboundedRecursion,
            Span::new(FileId(0), at as usize..at as usize + 1),
            "recursion",
        );
        let mut diagnostics = vec![finding];
        let reported = apply(&mut diagnostics, &s, &Config::default());
        assert!(diagnostics.is_empty(), "the finding is silenced");
        assert!(reported.is_empty(), "{reported:?}");
    }

    #[test]
    fn look_alike_text_is_not_a_suppression() {
        let src = "fn f() { let s = \"gomem: allow(rc_cycle)\"; }\n/* gomem: allow(rc_cycle) */\n";
        assert!(parse(src).is_empty());
    }
}
