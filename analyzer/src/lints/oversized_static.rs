//! `oversized_static`: a global whose size, computable from the source, is over the threshold.

use syn::visit::Visit;
use syn::Expr;

use crate::allocation::sized_allocations;
use crate::diagnostic::Diagnostic;
use crate::index::{macro_statics, ModuleId};
use crate::layout::{human_size, TypeShape};
use crate::lint::{Check, FileContext, Lint};
use crate::lint_defs::LintId;
use crate::span::Span;

pub const LINT: Lint = Lint {
    id: LintId::OversizedStatic,
    summary: "a static, const, lazy or thread-local value that pins more memory than the threshold",
    explanation: r#"## What it finds
A `static`, `const`, `thread_local!` or lazily initialized global (`LazyLock`, `OnceLock`,
`once_cell`'s `Lazy`, `lazy_static!`) whose size can be computed from the source and is over
the threshold (1 MiB by default; `--static-size-limit` changes it). Sizes come from array
types and repeat expressions with integer arithmetic (`[u8; 64 * 1024 * 1024]`, `1 << 20`,
crate constants), primitive element sizes, structs of the crate made of such fields, and
allocations in the initializer (`vec![0u8; N]`, `Vec::with_capacity(N)`, `Box::new([0; N])`).

## Why it matters
A global lives as long as the program: the memory it holds is never given back. This is the
Go talk's "global given a gigabyte": a value that would be freed when a function returns
instead pins its memory for the whole run. A `thread_local!` pins it once per thread. A large
`const` is worse in another way: every use of it is a fresh copy, often on the stack.

## Example
```rust
static BUFFER: Mutex<[u8; 64 * 1024 * 1024]> = Mutex::new([0; 64 * 1024 * 1024]);
```
Use instead:
```rust
fn process(input: &[u8]) {
    let mut buffer = vec![0u8; input.len()]; // sized to the data, freed on return
}
```

## How to fix
Give the memory a local scope: allocate it where it is needed, sized to the data, and let it
drop. If it must be shared, keep a small global handle (`Mutex<Vec<u8>>` that starts empty)
and clear it when done. Make a large `const` a `static` so that there is one copy.

## What it does not report
Sizes are lower bounds (padding is ignored), and a size that depends on something the source
does not spell out (a generic, a type from another crate, a function call) is not guessed:
such globals are not reported. Globals filled at run time are `retained_global`'s business.
"#,
    check: Check::File(check),
};

fn check(cx: &FileContext<'_>) -> Vec<Diagnostic> {
    let mut v = Checker {
        cx,
        module: cx.module,
        out: Vec::new(),
    };
    v.visit_file(cx.syntax);
    v.out
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Static,
    Const,
    ThreadLocal,
    LazyStatic,
}

struct Checker<'a> {
    cx: &'a FileContext<'a>,
    module: ModuleId,
    out: Vec<Diagnostic>,
}

impl<'ast> Visit<'ast> for Checker<'_> {
    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        let outer = self.module;
        self.module = self.cx.inner_module(outer, m);
        syn::visit::visit_item_mod(self, m);
        self.module = outer;
    }

    // A body's statics are read in the scope of the items it declares (`const N: usize = ..;`).
    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        let module = self.module;
        self.module = self.cx.body_module(module, &f.sig.ident, &f.block);
        syn::visit::visit_item_fn(self, f);
        self.module = module;
    }

    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        let module = self.module;
        self.module = self.cx.body_module(module, &f.sig.ident, &f.block);
        syn::visit::visit_impl_item_fn(self, f);
        self.module = module;
    }

    // Globals are items: statements of fn bodies are visited for the items among them, but
    // expressions are not walked (most of a file, and no static lives in one).
    fn visit_expr(&mut self, _: &'ast Expr) {}

    fn visit_item_static(&mut self, s: &'ast syn::ItemStatic) {
        let kind = if is_lazy(&s.ty) {
            Kind::LazyStatic
        } else {
            Kind::Static
        };
        self.check_global(kind, &s.ident, &s.ty, Some(&s.expr));
        syn::visit::visit_item_static(self, s);
    }

    fn visit_item_const(&mut self, c: &'ast syn::ItemConst) {
        self.check_global(Kind::Const, &c.ident, &c.ty, Some(&c.expr));
        syn::visit::visit_item_const(self, c);
    }

    fn visit_impl_item_const(&mut self, c: &'ast syn::ImplItemConst) {
        self.check_global(Kind::Const, &c.ident, &c.ty, Some(&c.expr));
        syn::visit::visit_impl_item_const(self, c);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        let kind = match mac.path.segments.last() {
            Some(s) if s.ident == "thread_local" => Kind::ThreadLocal,
            Some(s) if s.ident == "lazy_static" => Kind::LazyStatic,
            _ => return,
        };
        for s in macro_statics(mac) {
            self.check_global(kind, &s.ident, &s.ty, Some(&s.expr));
        }
    }
}

impl Checker<'_> {
    fn span(&self, node: &impl quote::ToTokens) -> Span {
        Span::of_tokens(self.cx.file, node)
    }

    fn check_global(
        &mut self,
        kind: Kind,
        ident: &syn::Ident,
        ty: &syn::Type,
        init: Option<&Expr>,
    ) {
        let limit = self.cx.config.thresholds.static_size;
        let inline = self
            .cx
            .index
            .size_of(self.module, &TypeShape::from_syn(ty))
            .unwrap_or(0);
        let allocations = match init {
            Some(init) if kind != Kind::Const => {
                sized_allocations(self.cx, self.module, TypeShape::vec_element(ty), init)
            }
            _ => Vec::new(),
        };
        let heap_total: u64 = allocations
            .iter()
            .fold(0u64, |acc, (_, n)| acc.saturating_add(*n));
        let total = inline.saturating_add(heap_total);
        if total <= limit {
            return;
        }
        let size = human_size(total);
        let (what, how_long) = match kind {
            Kind::Static => ("static", "for the whole run"),
            Kind::LazyStatic => ("lazy static", "from its first use to the end of the run"),
            Kind::ThreadLocal => (
                "thread-local",
                "in every thread that touches it, until that thread exits",
            ),
            Kind::Const => ("const", ""),
        };
        let message = if kind == Kind::Const {
            format!("const `{ident}` is at least {size}, and every use of it makes a copy")
        } else {
            format!("{what} `{ident}` holds at least {size} {how_long}")
        };
        let mut d =
            Diagnostic::new(LintId::OversizedStatic, self.span(ident), message).primary_label(
                format!("at least {size}, over the {} limit", human_size(limit)),
            );
        // A few bytes of handle next to a large allocation are not worth a label.
        if inline > 1024 && !allocations.is_empty() {
            d = d.label(self.span(ty), format!("{} inline", human_size(inline)));
        } else if allocations.is_empty() {
            d = d.label(
                self.span(ty),
                format!("this type is at least {}", human_size(inline)),
            );
        }
        for (span, n) in &allocations {
            d = d.label(*span, format!("allocates {}", human_size(*n)));
        }
        d = if kind == Kind::Const {
            d.note("a const is inlined at each use: a large one is copied again and again, often onto the stack")
                .help("make it a `static` so there is one copy, or build the data at run time where it is needed")
        } else {
            d.note("memory held by a global is never given back while the program runs (the Go talk's \"global given a gigabyte\")")
                .help("give the memory a local scope: allocate it where it is needed, sized to the data, and let it drop")
        };
        self.out.push(d);
    }
}

/// `LazyLock<T>`, `Lazy<T>`, `OnceLock<T>`...: filled on first use, then kept.
fn is_lazy(ty: &syn::Type) -> bool {
    let syn::Type::Path(p) = ty else { return false };
    p.path.segments.last().is_some_and(|s| {
        matches!(
            s.ident.to_string().as_str(),
            "LazyLock" | "Lazy" | "OnceLock" | "OnceCell" | "LazyCell"
        )
    })
}

#[cfg(test)]
mod tests {
    use crate::lint_defs::LintId;
    use crate::test_util::findings;

    fn found(src: &str) -> Vec<(usize, String)> {
        findings(LintId::OversizedStatic, src)
    }

    #[test]
    fn big_globals_fire_with_their_size() {
        let src = r#"
const MIB: usize = 1 << 20;
static A: [u8; 64 * 1024 * 1024] = [0; 64 * 1024 * 1024];
static B: Mutex<[u64; 2 * MIB]> = Mutex::new([0; 2 * MIB]);
const C: [u32; 1 << 20] = [0; 1 << 20];
static D: LazyLock<Vec<u8>> = LazyLock::new(|| vec![0; 100 * MIB]);
static E: Lazy<Mutex<String>> = Lazy::new(|| Mutex::new(String::with_capacity(8 * MIB)));
thread_local! { static F: RefCell<Vec<u64>> = RefCell::new(Vec::with_capacity(MIB)); }
lazy_static! { static ref G: Box<[u8; 4 * MIB]> = Box::new([0u8; 4 * MIB]); }
struct Page { bytes: [u8; 4096] }
static H: [Page; 1024] = [const { Page { bytes: [0; 4096] } }; 1024];
impl Tables { const T: [u16; MIB] = [0; MIB]; }
"#;
        let found = found(src);
        let lines: Vec<_> = found.iter().map(|f| f.0).collect();
        assert_eq!(lines, [3, 4, 5, 6, 7, 8, 9, 11, 12], "{found:#?}");
        assert_eq!(
            found[0].1,
            "static `A` holds at least 64 MiB for the whole run"
        );
        assert_eq!(
            found[1].1,
            "static `B` holds at least 16 MiB for the whole run"
        );
        assert_eq!(
            found[2].1,
            "const `C` is at least 4 MiB, and every use of it makes a copy"
        );
        assert_eq!(
            found[3].1,
            "lazy static `D` holds at least 100 MiB from its first use to the end of the run"
        );
        assert!(found[5]
            .1
            .starts_with("thread-local `F` holds at least 8 MiB in every thread"));
        assert!(found[6]
            .1
            .starts_with("lazy static `G` holds at least 4 MiB"));
        assert_eq!(
            found[7].1,
            "static `H` holds at least 4 MiB for the whole run"
        );
    }

    #[test]
    fn small_unknown_or_generic_globals_are_silent() {
        let src = r#"
static A: [u8; 1024 * 1024] = [0; 1024 * 1024];
static B: [u8; N] = [0; N];
static C: Vec<u8> = Vec::new();
static D: LazyLock<Vec<u8>> = LazyLock::new(|| vec![0; len()]);
const E: &str = "hello";
static F: Mutex<Vec<u8>> = Mutex::new(Vec::new());
static G: LazyLock<Vec<()>> = LazyLock::new(|| vec![(); 1 << 30]);
struct Big<T> { x: [T; 1 << 30] }
static H: Option<Big<u8>> = None;
fn f() { let local = [0u8; 1 << 24]; let v = vec![0u8; 1 << 30]; }
"#;
        assert_eq!(found(src), Vec::<(usize, String)>::new());
    }
}
