//! Escape analysis: for each heap allocation in a fn, whether the value can outlive the call.
//!
//! Go decides this to put values on the stack; gomem decides it to tell which allocations
//! could live in a per-call arena (`#[gomem::escape]`, in progress) and to explain, like
//! `go build -gcflags=-m`, where each allocation goes (`--explain-escapes`).
//!
//! This is the first, intraprocedural version. Each expression is visited with the place its
//! value goes to (its *destination*): returned, stored through `self` or a parameter or into
//! a global, moved into a spawned thread, passed by value to a fn (which we do not look into
//! yet: that counts as escaping), moved into a local (whose own destinations then decide),
//! borrowed or used in place (which cannot outlive the call: the borrow checker sees to
//! it), or dropped. An allocation escapes if any place its value (or a local holding it) goes
//! to lets it outlive the call. Values moved into a closure or an async block are taken as
//! escaping. Shadowed names are not told apart.

use std::collections::HashMap;

use syn::visit::Visit;
use syn::{Expr, Stmt};

use crate::span::Span;

/// Where a value goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dest {
    /// Used in place, borrowed, or dropped: it cannot outlive the call.
    Local,
    /// Moved into the local of this name.
    Var(String),
    /// Outlives the call: where, and why.
    Escapes(Span, String),
    /// The fn's result (its tail expression or a `return`): recorded as escaping at the
    /// expression that is returned.
    Return,
}

/// One allocation site and where its value goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Site {
    /// The allocating expression.
    pub span: Span,
    /// How it allocates, as written: `Box::new(..)`, `vec![..]`, `.to_string()`.
    pub what: String,
    pub dest: Dest,
}

/// The decision for one site: `None` when it does not escape, or the reason it does, with
/// the chain of locals that led there (Go's `-m=2` flow).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub site: Site,
    pub escapes: Option<(Span, String)>,
    pub flow: Vec<String>,
}

/// The sites of one fn body and the destinations of its locals.
pub struct FnEscapes {
    pub sites: Vec<Site>,
    pub uses: HashMap<String, Vec<Dest>>,
}

/// Constructors that allocate: `Type::function`.
const ALLOCATING_CALLS: &[(&str, &str)] = &[
    ("Box", "new"),
    ("Box", "default"),
    ("Vec", "new"),
    ("Vec", "with_capacity"),
    ("String", "new"),
    ("String", "from"),
    ("String", "with_capacity"),
    ("Rc", "new"),
    ("Arc", "new"),
    ("Gc", "new"),
];
const ALLOCATING_METHODS: &[&str] = &[
    "to_string",
    "to_owned",
    "to_vec",
    "into_boxed_slice",
    "collect",
];
const ALLOCATING_MACROS: &[&str] = &["vec", "format"];

/// Which parameters of a fn let their value escape (Go's "leaking param"), by fn name.
pub type Summaries = HashMap<String, Vec<bool>>;

/// Analyzes one fn body in file `file`; calls to fns of `summaries` use their summary.
pub fn analyze(file: crate::span::FileId, body: &syn::Block, summaries: &Summaries) -> FnEscapes {
    // Names the body binds: a place rooted at any other name (a static, a const) is a global.
    struct Bound(std::collections::HashSet<String>);
    impl<'ast> Visit<'ast> for Bound {
        fn visit_pat_ident(&mut self, i: &'ast syn::PatIdent) {
            self.0.insert(i.ident.to_string());
        }
    }
    let mut bound = Bound(std::collections::HashSet::new());
    bound.visit_block(body);
    let mut w = Walker {
        file,
        sites: Vec::new(),
        uses: HashMap::new(),
        summaries,
        locals: bound.0,
    };
    w.block(body, &Dest::Return);
    FnEscapes {
        sites: w.sites,
        uses: w.uses,
    }
}

impl FnEscapes {
    /// Where each site's value ends up.
    pub fn decisions(&self) -> Vec<Decision> {
        self.sites
            .iter()
            .map(|site| {
                let mut flow = Vec::new();
                let escapes = self.escapes(&site.dest, &mut flow, 0);
                Decision {
                    site: site.clone(),
                    escapes,
                    flow,
                }
            })
            .collect()
    }

    /// Whether the local (or parameter) `name` lets its value outlive the call, and where.
    pub fn var_escapes(&self, name: &str) -> Option<(Span, String)> {
        self.escapes(&Dest::Var(name.to_string()), &mut Vec::new(), 0)
    }

    /// Whether a value sent to `dest` outlives the call.
    fn escapes(&self, dest: &Dest, flow: &mut Vec<String>, depth: usize) -> Option<(Span, String)> {
        match dest {
            Dest::Local => None,
            Dest::Escapes(span, why) => Some((*span, why.clone())),
            // Resolved to `Escapes` when recorded.
            Dest::Return => None,
            Dest::Var(name) => {
                if depth > 32 || flow.contains(name) {
                    return None;
                }
                flow.push(name.clone());
                let uses = self.uses.get(name)?;
                for d in uses {
                    if let Some(found) = self.escapes(d, flow, depth + 1) {
                        return Some(found);
                    }
                }
                flow.pop();
                None
            }
        }
    }
}

struct Walker<'s> {
    file: crate::span::FileId,
    sites: Vec<Site>,
    uses: HashMap<String, Vec<Dest>>,
    summaries: &'s Summaries,
    /// Names bound in the body. Parameters are not: storing into one, as into a global,
    /// lets the value outlive the call.
    locals: std::collections::HashSet<String>,
}

impl Walker<'_> {
    fn span(&self, node: &impl syn::spanned::Spanned) -> Span {
        Span::of_tokens(self.file, node)
    }

    /// Where a value goes that is stored into `place` (assigned to it, or moved into it by a
    /// method call) at `at`; `unknown` says why when the place has no root we can name.
    fn stored_into(&self, place: &Expr, at: Span, unknown: impl FnOnce() -> String) -> Dest {
        match root_of(place) {
            Some(Root::SelfOrParam(place)) => Dest::Escapes(
                at,
                format!("stored in `{place}` here, which outlives the call"),
            ),
            Some(Root::Local(name)) if !self.locals.contains(&name) => Dest::Escapes(
                at,
                format!("stored in `{name}` here, a global or a parameter"),
            ),
            Some(Root::Local(name)) => Dest::Var(name),
            None => Dest::Escapes(at, unknown()),
        }
    }

    fn site(&mut self, node: &impl syn::spanned::Spanned, what: String, dest: &Dest) {
        let span = self.span(node);
        let dest = self.at(span, dest);
        self.sites.push(Site { span, what, dest });
    }

    /// `dest` for a value at `span`: the fn's result becomes "returned here".
    fn at(&self, span: Span, dest: &Dest) -> Dest {
        match dest {
            Dest::Return => Dest::Escapes(span, "returned here".into()),
            d => d.clone(),
        }
    }

    /// A block's statements, its tail going to `tail`.
    fn block(&mut self, b: &syn::Block, tail: &Dest) {
        let n = b.stmts.len();
        for (i, stmt) in b.stmts.iter().enumerate() {
            match stmt {
                Stmt::Local(l) => {
                    if let Some(init) = &l.init {
                        let dest = match binding(&l.pat) {
                            Some(name) => Dest::Var(name),
                            None => Dest::Local,
                        };
                        self.expr(&init.expr, &dest);
                        if let Some((_, els)) = &init.diverge {
                            self.expr(els, &Dest::Local);
                        }
                    }
                }
                Stmt::Expr(e, None) if i + 1 == n => self.expr(e, tail),
                Stmt::Expr(e, _) => self.expr(e, &Dest::Local),
                Stmt::Macro(m) => self.mac(&m.mac, &Dest::Local),
                Stmt::Item(_) => {}
            }
        }
    }

    fn expr(&mut self, e: &Expr, dest: &Dest) {
        match e {
            Expr::Path(p) => {
                if let Some(name) = p.path.get_ident() {
                    // A span costs printing the tokens: only a returned value needs one.
                    let d = match dest {
                        Dest::Return => self.at(self.span(p), dest),
                        d => d.clone(),
                    };
                    self.uses.entry(name.to_string()).or_default().push(d);
                }
            }
            Expr::Call(call) => {
                let callee = match &*call.func {
                    Expr::Path(p) => crate::syntax::segment_names(&p.path),
                    _ => Vec::new(),
                };
                let allocates = matches!(callee.as_slice(), [.., ty, f]
                    if ALLOCATING_CALLS.iter().any(|(t, g)| t == ty && g == f));
                if allocates {
                    let what = format!("{}(..)", callee[callee.len() - 2..].join("::"));
                    self.site(call, what, dest);
                    // What goes into the new value goes where it goes.
                    for a in &call.args {
                        self.expr(a, dest);
                    }
                    return;
                }
                let name = callee.join("::");
                let spawned = callee.last().is_some_and(|l| l.contains("spawn"));
                let why = if spawned {
                    "moved into a spawned thread or task here".to_string()
                } else if matches!(callee.last().map(String::as_str), Some("drop")) {
                    for a in &call.args {
                        self.expr(a, &Dest::Local);
                    }
                    return;
                } else if callee
                    .last()
                    .is_some_and(|l| l.chars().next().is_some_and(char::is_uppercase))
                {
                    // A tuple struct or enum variant: the value goes where the new one goes.
                    for a in &call.args {
                        self.expr(a, dest);
                    }
                    return;
                } else {
                    format!("passed to `{name}`, which gomem does not look into yet")
                };
                let at = Dest::Escapes(self.span(&call.func), why);
                // A fn of this file whose summary says which parameters keep their value.
                let summary = match callee.as_slice() {
                    [one] => self.summaries.get(one),
                    _ => None,
                };
                for (i, a) in call.args.iter().enumerate() {
                    match summary.and_then(|s| s.get(i)) {
                        Some(false) => self.expr(a, &Dest::Local),
                        Some(true) => {
                            let leaks = Dest::Escapes(
                                self.span(&call.func),
                                format!("passed to `{name}`, which lets it escape (leaking param)"),
                            );
                            self.expr(a, &leaks)
                        }
                        None => self.expr(a, &at),
                    }
                }
            }
            Expr::MethodCall(m) => {
                let method = m.method.to_string();
                if ALLOCATING_METHODS.contains(&method.as_str()) {
                    self.site(m, format!(".{method}()"), dest);
                    self.expr(&m.receiver, &Dest::Local);
                    for a in &m.args {
                        self.expr(a, &Dest::Local);
                    }
                    return;
                }
                // The receiver is used in place (methods take `&self` or `&mut self`, or
                // consume it into their result, which goes where the result goes).
                let receiver_dest = if method.starts_with("into_") {
                    dest.clone()
                } else {
                    Dest::Local
                };
                self.expr(&m.receiver, &receiver_dest);
                // Arguments moved into the receiver: where the receiver lives decides.
                let at = self.stored_into(&m.receiver, self.span(&m.method), || {
                    format!("passed to `.{method}()`, which gomem does not look into yet")
                });
                for a in &m.args {
                    self.expr(a, &at);
                }
            }
            Expr::Macro(m) => self.mac(&m.mac, dest),
            Expr::Return(r) => {
                if let Some(v) = &r.expr {
                    self.expr(v, &Dest::Return);
                }
            }
            Expr::Assign(a) => {
                let at = self.stored_into(&a.left, self.span(&a.left), || {
                    "stored in a global here".into()
                });
                self.expr(&a.right, &at);
                self.expr(&a.left, &Dest::Local);
            }
            Expr::Reference(r) => self.expr(&r.expr, &Dest::Local),
            Expr::Struct(s) => {
                for f in &s.fields {
                    self.expr(&f.expr, dest);
                }
            }
            Expr::Tuple(t) => t.elems.iter().for_each(|x| self.expr(x, dest)),
            Expr::Array(a) => a.elems.iter().for_each(|x| self.expr(x, dest)),
            Expr::Paren(p) => self.expr(&p.expr, dest),
            Expr::Group(g) => self.expr(&g.expr, dest),
            Expr::Block(b) => self.block(&b.block, dest),
            Expr::Unsafe(u) => self.block(&u.block, dest),
            Expr::If(i) => {
                self.expr(&i.cond, &Dest::Local);
                self.block(&i.then_branch, dest);
                if let Some((_, e)) = &i.else_branch {
                    self.expr(e, dest);
                }
            }
            Expr::Match(m) => {
                self.expr(&m.expr, &Dest::Local);
                for arm in &m.arms {
                    self.expr(&arm.body, dest);
                }
            }
            Expr::Loop(l) => self.block(&l.body, &Dest::Local),
            Expr::While(w) => {
                self.expr(&w.cond, &Dest::Local);
                self.block(&w.body, &Dest::Local);
            }
            Expr::ForLoop(f) => {
                self.expr(&f.expr, &Dest::Local);
                self.block(&f.body, &Dest::Local);
            }
            Expr::Closure(c) => {
                // What a closure captures or returns lives as long as the closure, which
                // this version does not follow: taken as escaping. A `move` closure takes
                // every local it names.
                let at = Dest::Escapes(self.span(c), "captured by a closure here".into());
                if c.capture.is_some() {
                    struct Names<'w>(&'w mut HashMap<String, Vec<Dest>>, Dest);
                    impl<'ast> Visit<'ast> for Names<'_> {
                        fn visit_expr_path(&mut self, p: &'ast syn::ExprPath) {
                            if let Some(name) = p.path.get_ident() {
                                self.0
                                    .entry(name.to_string())
                                    .or_default()
                                    .push(self.1.clone());
                            }
                        }
                    }
                    Names(&mut self.uses, at.clone()).visit_expr(&c.body);
                }
                self.expr(&c.body, &at);
            }
            Expr::Async(a) => {
                let at = Dest::Escapes(self.span(a), "captured by an async block here".into());
                self.block(&a.block, &at);
            }
            Expr::Try(t) => self.expr(&t.expr, dest),
            Expr::Await(a) => self.expr(&a.base, dest),
            Expr::Cast(c) => self.expr(&c.expr, dest),
            Expr::Field(f) => self.expr(&f.base, &Dest::Local),
            Expr::Index(i) => {
                self.expr(&i.expr, &Dest::Local);
                self.expr(&i.index, &Dest::Local);
            }
            Expr::Binary(b) => {
                self.expr(&b.left, &Dest::Local);
                self.expr(&b.right, &Dest::Local);
            }
            Expr::Unary(u) => self.expr(&u.expr, &Dest::Local),
            Expr::Let(l) => self.expr(&l.expr, &Dest::Local),
            Expr::Break(b) => {
                if let Some(v) = &b.expr {
                    self.expr(v, &Dest::Local);
                }
            }
            _ => {}
        }
    }

    fn mac(&mut self, mac: &syn::Macro, dest: &Dest) {
        let Some(name) = mac.path.segments.last().map(|s| s.ident.to_string()) else {
            return;
        };
        if ALLOCATING_MACROS.contains(&name.as_str()) {
            self.site(mac, format!("{name}![..]"), dest);
        }
        // `println!("{}", x)`, `format!("{x}")` borrow their arguments.
        let parser = syn::punctuated::Punctuated::<Expr, syn::Token![,]>::parse_terminated;
        if let Ok(args) = mac.parse_body_with(parser) {
            for a in args.iter().skip(usize::from(name != "vec")) {
                let d = if name == "vec" {
                    dest.clone()
                } else {
                    Dest::Local
                };
                self.expr(a, &d);
            }
        }
    }
}

enum Root {
    /// `self.items`, `param.field`: a place the caller can still reach.
    SelfOrParam(String),
    Local(String),
}

/// What a place expression (`self.items`, `buf`, `out.list`) is rooted at. Parameters other
/// than `self` count as locals here (a by-reference parameter is not told apart yet), except
/// that fields of `self` always outlive the call.
fn root_of(e: &Expr) -> Option<Root> {
    let mut e = e;
    let mut place = Vec::new();
    loop {
        match e {
            Expr::Field(f) => {
                if let syn::Member::Named(n) = &f.member {
                    place.push(n.to_string());
                }
                e = &f.base;
            }
            Expr::Index(i) => e = &i.expr,
            Expr::Paren(p) => e = &p.expr,
            Expr::Unary(u) => e = &u.expr,
            Expr::MethodCall(m) => e = &m.receiver,
            Expr::Path(p) => {
                let name = p.path.get_ident()?.to_string();
                if name == "self" {
                    place.push("self".into());
                    place.reverse();
                    return Some(Root::SelfOrParam(place.join(".")));
                }
                return Some(Root::Local(name));
            }
            _ => return None,
        }
    }
}

fn binding(p: &syn::Pat) -> Option<String> {
    match p {
        syn::Pat::Ident(i) => Some(i.ident.to_string()),
        syn::Pat::Type(t) => binding(&t.pat),
        _ => None,
    }
}

/// Every fn body of a file, with its signature.
pub fn fn_bodies(file: &syn::File) -> Vec<(&syn::Signature, &syn::Block)> {
    #[derive(Default)]
    struct Bodies<'a>(Vec<(&'a syn::Signature, &'a syn::Block)>);
    impl<'a> Visit<'a> for Bodies<'a> {
        fn visit_item_fn(&mut self, f: &'a syn::ItemFn) {
            self.0.push((&f.sig, &f.block));
            syn::visit::visit_item_fn(self, f);
        }
        fn visit_impl_item_fn(&mut self, f: &'a syn::ImplItemFn) {
            self.0.push((&f.sig, &f.block));
            syn::visit::visit_impl_item_fn(self, f);
        }
    }
    let mut v = Bodies::default();
    v.visit_file(file);
    v.0
}

/// The names of a fn's parameters, in order (`None` for `self` and patterns).
pub fn param_names(sig: &syn::Signature) -> Vec<Option<String>> {
    sig.inputs
        .iter()
        .map(|input| match input {
            syn::FnArg::Typed(t) => binding(&t.pat),
            syn::FnArg::Receiver(_) => None,
        })
        .collect()
}

/// Summaries of the free fns of a file and its inline modules (methods are called through receivers whose type we
/// do not know). Starts from "every parameter leaks" and refines a few times: each round
/// only uses what the previous round proved, so it stays on the safe side for recursion.
pub fn summaries(file: crate::span::FileId, syntax: &syn::File) -> Summaries {
    // Free fns of the file and of its inline modules; a name defined twice is dropped.
    fn free_fns<'a>(items: &'a [syn::Item], out: &mut Vec<(&'a syn::Signature, &'a syn::Block)>) {
        for item in items {
            match item {
                syn::Item::Fn(f) => out.push((&f.sig, &f.block)),
                syn::Item::Mod(m) => {
                    if let Some((_, items)) = &m.content {
                        free_fns(items, out);
                    }
                }
                _ => {}
            }
        }
    }
    let mut fns = Vec::new();
    free_fns(&syntax.items, &mut fns);
    summaries_of(file, &fns)
}

/// Summaries of the given free fns, which call each other by name.
pub fn summaries_of(
    file: crate::span::FileId,
    list: &[(&syn::Signature, &syn::Block)],
) -> Summaries {
    let mut fns: HashMap<String, (&syn::Signature, &syn::Block)> = HashMap::new();
    let mut twice = Vec::new();
    for &(sig, block) in list {
        let name = sig.ident.to_string();
        if fns.insert(name.clone(), (sig, block)).is_some() {
            twice.push(name);
        }
    }
    for name in twice {
        fns.remove(&name);
    }
    let mut summaries = Summaries::new();
    for _ in 0..3 {
        let mut next = Summaries::new();
        for (name, (sig, body)) in &fns {
            let escapes = analyze(file, body, &summaries);
            let leaks = param_names(sig)
                .into_iter()
                .map(|p| p.is_none_or(|p| escapes.var_escapes(&p).is_some()))
                .collect();
            next.insert(name.clone(), leaks);
        }
        if next == summaries {
            break;
        }
        summaries = next;
    }
    summaries
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::span::FileId;

    /// `(what, escapes, reason)` of every site of the first fn in `src`.
    fn decide(src: &str) -> Vec<(String, bool, String)> {
        let file = syn::parse_file(src).unwrap();
        let (_, body) = fn_bodies(&file)[0];
        analyze(FileId(0), body, &summaries(FileId(0), &file))
            .decisions()
            .into_iter()
            .map(|d| {
                let why = d
                    .escapes
                    .as_ref()
                    .map(|(_, w)| w.clone())
                    .unwrap_or_default();
                (d.site.what, d.escapes.is_some(), why)
            })
            .collect()
    }

    #[test]
    fn local_uses_and_borrows_do_not_escape() {
        let d = decide(
            "fn f(n: usize) -> usize { let v = vec![0u8; n]; let s = String::from(\"x\"); \
             let b = Box::new(3); println!(\"{s}\"); takes(&v); v.len() + *b }",
        );
        assert_eq!(d.len(), 3);
        assert!(d.iter().all(|(_, escapes, _)| !escapes), "{d:?}");
    }

    #[test]
    fn returned_stored_spawned_and_passed_values_escape() {
        let d = decide(
            "fn f(&mut self) -> Box<u8> { let a = vec![1]; self.items.push(a); \
             let t = String::new(); std::thread::spawn(move || t.len()); \
             let u = \"x\".to_string(); consume(u); \
             let r = Box::new(1); r }",
        );
        let reasons: Vec<&str> = d.iter().map(|(_, _, w)| w.as_str()).collect();
        assert!(d.iter().all(|(_, escapes, _)| *escapes), "{d:?}");
        assert!(reasons[0].contains("stored in `self.items`"), "{reasons:?}");
        assert!(
            reasons[1].contains("closure") || reasons[1].contains("spawned"),
            "{reasons:?}"
        );
        assert!(reasons[2].contains("passed to `consume`"), "{reasons:?}");
        assert!(reasons[3].contains("returned"), "{reasons:?}");
    }

    #[test]
    fn values_follow_the_locals_they_move_into() {
        let d = decide(
            "fn f() -> Vec<String> { let mut out = Vec::new(); let s = format!(\"x\"); \
             out.push(s); let mut scratch = Vec::new(); scratch.push(String::new()); out }",
        );
        let by_what: Vec<(&str, bool)> = d.iter().map(|(w, e, _)| (w.as_str(), *e)).collect();
        assert_eq!(
            by_what,
            vec![
                ("Vec::new(..)", true),
                ("format![..]", true),
                ("Vec::new(..)", false),
                ("String::new(..)", false)
            ]
        );
    }

    #[test]
    fn local_helpers_get_summaries() {
        let d = decide(
            "fn f() -> usize { let a = vec![1]; let b = vec![2]; len(a) + keep(b) }\n\
             fn len(v: Vec<u8>) -> usize { v.len() }\n\
             fn keep(v: Vec<u8>) -> usize { STORE.lock().unwrap().push(v); 0 }",
        );
        let escapes: Vec<bool> = d.iter().map(|(_, e, _)| *e).collect();
        assert_eq!(escapes, vec![false, true], "{d:?}");
        assert!(d[1].2.contains("leaking param"), "{d:?}");
    }
}
