//! Escape analysis: for each heap allocation in a fn, whether the value can outlive the call.
//!
//! Go decides this to put values on the stack; gomem decides it to tell which allocations
//! could live in a per-call arena (`#[gomem::escape]`) and to explain, like
//! `go build -gcflags=-m`, where each allocation goes (`--explain-escapes`).
//!
//! It is intraprocedural, with summaries of the fns and methods of the file (see
//! [`Summaries`] for how a call finds its callee's: by the call graph's resolution on the
//! command line, by name in the attribute). Each expression is
//! visited with the place its value goes to (its *destination*): returned, stored through
//! `self` or a parameter or into a global, moved into a spawned thread or sent on a channel,
//! passed by value to a fn or method, moved into a local (whose own destinations then
//! decide), borrowed or used in place (which cannot outlive the call: the borrow checker sees
//! to it), or dropped. An allocation escapes if any place its value (or a local holding it)
//! goes to lets it outlive the call.
//!
//! What it cannot see, it takes as the worst case, as Go does: a value moved into a fn or
//! method whose body it does not see escapes ("passed to `.name()`, which gomem does not look
//! into"), and so does the receiver of a method it does not know (it may take `self` by value
//! and keep it in its result); std's methods it knows are listed below by what they do with
//! their receiver and arguments. std's macros are read as the expressions they take
//! ([`crate::std_macros`]); what goes into any other macro escapes. A clone of an
//! `Rc`/`Arc`/`Gc` is the same allocation: where any clone goes, the allocation goes. A `move`
//! closure or async block takes the locals it names to wherever it goes (a local closure that
//! is only borrowed keeps them in the call); what a closure returns goes to its callers, which
//! are not followed (escaping), unless it is given to a std adaptor whose result holds it
//! (`map`, `unwrap_or_else`) or that calls it in place (`any`, `for_each`). A collection and
//! the values it holds are one destination: a value pushed into a local `Vec` goes where the
//! `Vec` goes, and a value taken out of it (`drain`, `pop`) takes the `Vec` along, so a `Vec`
//! whose elements escape is reported as escaping (conservative). A value and its fields are
//! one destination too: a field read by value takes the value along. Shadowed names are not
//! told apart.
//!
//! Invariant: a decision of "does not escape" is only made when every use of the value was
//! seen; when in doubt, the site escapes and the reason says what was not followed.

use std::collections::{HashMap, HashSet};

use syn::visit::Visit;
use syn::{Expr, Stmt};

use crate::span::{FirstToken, Span};
use crate::std_macros::{ArgList, ParsedArgs};
use crate::syntax::{local_name, ADDS_ELEMENTS};

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
    ("Box", "pin"),
    ("Vec", "new"),
    ("Vec", "with_capacity"),
    ("Vec", "from"),
    ("String", "new"),
    ("String", "from"),
    ("String", "with_capacity"),
    ("Rc", "new"),
    ("Arc", "new"),
    ("Gc", "new"),
    ("HashMap", "new"),
    ("HashMap", "with_capacity"),
    ("HashMap", "with_hasher"),
    ("HashMap", "with_capacity_and_hasher"),
    ("HashMap", "from"),
    ("HashSet", "new"),
    ("HashSet", "with_capacity"),
    ("HashSet", "with_hasher"),
    ("HashSet", "with_capacity_and_hasher"),
    ("HashSet", "from"),
    ("BTreeMap", "new"),
    ("BTreeMap", "from"),
    ("BTreeSet", "new"),
    ("BTreeSet", "from"),
    ("VecDeque", "new"),
    ("VecDeque", "with_capacity"),
    ("VecDeque", "from"),
    ("BinaryHeap", "new"),
    ("BinaryHeap", "with_capacity"),
    ("BinaryHeap", "from"),
];
/// Reference-counted pointers: a clone is another handle to the same allocation.
const SHARED_POINTERS: &[&str] = &["Rc", "Arc", "Gc"];
/// Methods that allocate a new value, with the number of arguments that tells them from
/// look-alikes of other types (`handle.join()` is no `[..].join(sep)`).
const ALLOCATING_METHODS: &[(&str, usize)] = &[
    ("to_string", 0),
    ("to_owned", 0),
    ("to_vec", 0),
    ("into_boxed_slice", 0),
    ("into_boxed_str", 0),
    ("collect", 0),
    // `str`'s and slices' methods that return a new `String` or `Vec`.
    ("to_uppercase", 0),
    ("to_lowercase", 0),
    ("repeat", 1),
    ("replace", 2),
    ("replacen", 3),
    ("join", 1),
    ("concat", 0),
];
const ALLOCATING_MACROS: &[&str] = &["vec", "format"];

/// Methods whose result holds the receiver's value, or values taken out of it
/// (`opt.unwrap()`, `v.into_iter()`, `stack.pop()`, `it.map(f)`): the receiver goes where
/// the result goes.
const RESULT_HOLDS_RECEIVER: &[&str] = &[
    "unwrap",
    "expect",
    "unwrap_or",
    "unwrap_or_else",
    "unwrap_or_default",
    "unwrap_unchecked",
    "ok",
    "err",
    "ok_or",
    "ok_or_else",
    "or",
    "or_else",
    "and_then",
    "map",
    "map_err",
    "map_or",
    "map_or_else",
    "into_iter",
    "flatten",
    "rev",
    "skip",
    "take",
    "step_by",
    "chain",
    "zip",
    "enumerate",
    "peekable",
    "fuse",
    "cycle",
    "filter",
    "filter_map",
    "flat_map",
    "map_while",
    "take_while",
    "skip_while",
    "inspect",
    "scan",
    "collect",
    "into_boxed_slice",
    "last",
    "next",
    "next_back",
    "nth",
    "max",
    "min",
    "max_by",
    "min_by",
    "max_by_key",
    "min_by_key",
    "find",
    "find_map",
    "fold",
    "reduce",
    "pop",
    "pop_front",
    "pop_back",
    "remove",
    "swap_remove",
    "drain",
    "split_off",
    "into_inner",
    "into_values",
    "into_keys",
];
/// Methods whose arguments end up in the result (`opt.unwrap_or(v)`, `it.chain(v)`), or
/// closures whose results do (`it.map(|x| ..)`, `local.with(|v| ..)`).
const ARGS_INTO_RESULT: &[&str] = &[
    "map",
    "map_err",
    "map_or",
    "map_or_else",
    "and_then",
    "or",
    "or_else",
    "and",
    "xor",
    "unwrap_or",
    "unwrap_or_else",
    "ok_or",
    "ok_or_else",
    "filter_map",
    "flat_map",
    "map_while",
    "scan",
    "chain",
    "zip",
    "fold",
    "try_fold",
    "find_map",
    "then",
    "then_some",
    "with",
    "get_or_insert_with",
];
/// Methods that keep their arguments in the receiver besides those that add elements
/// ([`ADDS_ELEMENTS`]: `v.push(x)`, `map.insert(k, v)`): the arguments go where the receiver
/// lives.
const ALSO_STORES_INTO_RECEIVER: &[&str] = &[
    "or_insert",
    "or_insert_with",
    "or_insert_with_key",
    "get_or_insert",
    "get_or_insert_with",
    "set",
    "replace",
    "resize",
    "resize_with",
    "fill",
    "fill_with",
];
/// Methods that only use their arguments during the call (comparisons, lookups, closures
/// called in place whose results are not kept).
const USES_ARGS_IN_PLACE: &[&str] = &[
    "for_each",
    "try_for_each",
    "any",
    "all",
    "position",
    "rposition",
    "find",
    "filter",
    "take_while",
    "skip_while",
    "inspect",
    "count",
    "max_by",
    "min_by",
    "max_by_key",
    "min_by_key",
    "sort_by",
    "sort_by_key",
    "sort_by_cached_key",
    "sort_unstable_by",
    "sort_unstable_by_key",
    "retain",
    "retain_mut",
    "dedup_by",
    "dedup_by_key",
    "binary_search",
    "binary_search_by",
    "binary_search_by_key",
    "partition_point",
    "contains",
    "contains_key",
    "get",
    "get_mut",
    "get_key_value",
    "remove",
    "starts_with",
    "ends_with",
    "strip_prefix",
    "strip_suffix",
    "split",
    "splitn",
    "rsplit",
    "split_once",
    "rsplit_once",
    "split_terminator",
    "matches",
    "trim_matches",
    "trim_start_matches",
    "trim_end_matches",
    "rfind",
    "eq",
    "ne",
    "cmp",
    "partial_cmp",
    "lt",
    "le",
    "gt",
    "ge",
    "eq_ignore_ascii_case",
    "is_some_and",
    "is_ok_and",
    "is_err_and",
    "is_none_or",
    "write_all",
    "write_str",
    "write_fmt",
    "read_exact",
    "read_to_string",
    "read_to_end",
    "read_line",
    "fetch_add",
    "fetch_sub",
    "store",
    "compare_exchange",
    "nth",
    "skip",
    "take",
    "step_by",
];
/// Methods that take their receiver by reference, and whose result cannot hold it (or
/// only borrows it, which the borrow checker keeps inside the call).
const BORROWS_RECEIVER: &[&str] = &[
    "len",
    "is_empty",
    "capacity",
    "iter",
    "iter_mut",
    "keys",
    "values",
    "values_mut",
    "chars",
    "char_indices",
    "bytes",
    "lines",
    "split_whitespace",
    "trim",
    "trim_start",
    "trim_end",
    "as_ref",
    "as_mut",
    "as_str",
    "as_slice",
    "as_mut_slice",
    "as_bytes",
    "as_ptr",
    "as_mut_ptr",
    "as_deref",
    "as_deref_mut",
    "as_path",
    "borrow",
    "borrow_mut",
    "lock",
    "try_lock",
    "read",
    "write",
    "try_read",
    "try_write",
    "first",
    "last",
    "first_mut",
    "last_mut",
    "load",
    "is_some",
    "is_none",
    "is_ok",
    "is_err",
    "clone",
    "cloned",
    "copied",
    "hash",
    "fmt",
    "poll",
    "wait",
    "join",
    "clear",
    "truncate",
    "reserve",
    "shrink_to_fit",
    "sort",
    "sort_unstable",
    "dedup",
    "reverse",
    "swap",
    "to_vec",
    "to_string",
    "to_owned",
    "unwrap_err",
    "elapsed",
    "display",
    "metadata",
    "get_ref",
    "get_mut",
    "get_pin_mut",
];
/// Methods that hand their argument to another thread.
const SENDS: &[&str] = &[
    "send",
    "try_send",
    "send_timeout",
    "blocking_send",
    "unbounded_send",
];

/// What the fns a body calls do with their parameters' values (Go's "leaking param"), one
/// [`ParamFlow`] per input (a method's receiver first), and how a call finds its callee's.
///
/// Two ways to find the callee. With an index (the command line): the call graph's
/// resolution through the semantic layer (paths through `use`s, methods by the receiver's
/// type, `Type::f`), keyed by the call expression. Without one (the attribute, which sees one
/// item), and for calls the command line leaves unresolved (a call on `self` whose type's name
/// has two `cfg` alternatives in one module; a call inside a macro the call graph does not
/// read): by name, a free fn by its name (not when a local or parameter has that name) and a
/// method by `.name`, only on `self`, since another receiver may be of another type with a
/// method of the same name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summaries {
    /// By name (`f`, `.method`), when calls are not resolved.
    by_name: HashMap<String, Vec<ParamFlow>>,
    /// By the definition's name span, for resolved calls.
    by_def: HashMap<Span, Vec<ParamFlow>>,
    /// Call expression → the definition it calls, as [`crate::callgraph`] resolved it.
    resolved: Option<HashMap<Span, Span>>,
}

impl Summaries {
    /// No summaries: every call to a fn of the workspace is taken as the worst case.
    pub fn new() -> Summaries {
        Summaries::default()
    }

    /// The summary of the fn that `call` (the whole call expression, a path call or a method
    /// call) runs, if it is known. `name` is the fn's name as the by-name lookup wants it;
    /// `by_name` says whether that lookup is sound for a call the call graph did not resolve
    /// (a method call on `self`; a call of a name that is not a local of the body, where the
    /// call graph does not look, such as the arguments of a macro it does not know).
    fn of_call(
        &self,
        file: crate::span::FileId,
        call: &impl quote::ToTokens,
        by_name: bool,
        name: impl FnOnce() -> Option<String>,
    ) -> Option<&Vec<ParamFlow>> {
        if self.by_def.is_empty() && self.by_name.is_empty() {
            return None;
        }
        if let Some(resolved) = &self.resolved {
            if let Some(def) = resolved.get(&Span::of_tokens(file, call)) {
                return self.by_def.get(def);
            }
            if !by_name {
                return None;
            }
        }
        self.by_name.get(&name()?)
    }
}

/// What a fn does with the value of one of its parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamFlow {
    /// Used in place or dropped: it cannot outlive the call.
    Stays,
    /// It may outlive the call (Go's "leaking param").
    Leaks,
    /// It goes into the call's result, and from there where the result goes: the
    /// by-value parameters of an `async fn`, which its future holds until it is polled to
    /// the end (`f(x).await` keeps `x` in the caller; `spawn(f(x))` sends it away).
    IntoResult,
}

/// Analyzes one fn body in file `file`; calls to fns of `summaries` use their summary.
/// `sig`, when given, tells which parameters hold `Rc`/`Arc` handles (a clone of one is the
/// caller's allocation).
pub fn analyze(
    file: crate::span::FileId,
    sig: Option<&syn::Signature>,
    body: &syn::Block,
    summaries: &Summaries,
) -> FnEscapes {
    analyze_returning(file, sig, body, summaries, true, None)
}

/// [`analyze`], keeping the macro arguments it parses in `parsed` for a later reader of the
/// same body (the arena rewrite), and taking those already there.
pub fn analyze_sharing(
    file: crate::span::FileId,
    sig: Option<&syn::Signature>,
    body: &syn::Block,
    summaries: &Summaries,
    parsed: &ParsedArgs,
) -> FnEscapes {
    analyze_returning(file, sig, body, summaries, true, Some(parsed))
}

/// [`analyze`], where what the body returns escapes only if `returned_escapes`: an async fn's
/// body returns into its future, whose destination is the caller's to follow.
fn analyze_returning(
    file: crate::span::FileId,
    sig: Option<&syn::Signature>,
    body: &syn::Block,
    summaries: &Summaries,
    returned_escapes: bool,
    parsed: Option<&ParsedArgs>,
) -> FnEscapes {
    // Names the body binds: a place rooted at any other name (a static, a const) is a global.
    let mut bound = Bound::default();
    bound.visit_block(body);
    let mut w = Walker {
        file,
        sites: Vec::new(),
        uses: HashMap::new(),
        summaries,
        locals: bound.0,
        shared: HashSet::new(),
        chars: HashSet::new(),
        temps: 0,
        returned_escapes,
        params: HashSet::new(),
        parsed,
    };
    for input in sig.iter().flat_map(|s| &s.inputs) {
        if let syn::FnArg::Typed(t) = input {
            if let Some(name) = binding(&t.pat) {
                w.params.insert(name.clone());
                if is_shared_type(&t.ty) {
                    w.shared.insert(name);
                }
            }
        }
    }
    w.block(body, &Dest::Return);
    FnEscapes {
        sites: w.sites,
        uses: w.uses,
    }
}

/// The names a pattern or body binds.
#[derive(Default)]
struct Bound(HashSet<String>);

impl<'ast> Visit<'ast> for Bound {
    fn visit_pat_ident(&mut self, i: &'ast syn::PatIdent) {
        self.0.insert(i.ident.to_string());
        syn::visit::visit_pat_ident(self, i);
    }
    // A closure's parameters are its caller's values, as a fn's are (`QUEUE.with(|q| ..)`
    // hands it a global): storing into one may outlive the call.
    fn visit_expr_closure(&mut self, c: &'ast syn::ExprClosure) {
        self.visit_expr(&c.body);
    }
    fn visit_item(&mut self, _: &'ast syn::Item) {}
}

/// Whether a written type is `Rc<..>`, `Arc<..>` or `Gc<..>` (any path to them).
fn is_shared_type(ty: &syn::Type) -> bool {
    match ty {
        syn::Type::Path(p) => p
            .path
            .segments
            .last()
            .is_some_and(|s| SHARED_POINTERS.iter().any(|t| s.ident == t)),
        syn::Type::Paren(p) => is_shared_type(&p.elem),
        syn::Type::Group(g) => is_shared_type(&g.elem),
        _ => false,
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
                // Temporaries (a `match`'s scrutinee, a destructured tuple) have no name
                // the user wrote.
                flow.retain(|name| !name.contains('@'));
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
    locals: HashSet<String>,
    /// Locals (and parameters) that hold an `Rc`/`Arc`/`Gc` handle: a clone of one is the
    /// same allocation, so where the clone goes, the allocation goes.
    shared: HashSet<String>,
    /// Locals that hold a `char` (`for c in s.chars()`): `c.to_uppercase()` allocates nothing.
    chars: HashSet<String>,
    /// Temporaries made so far (`match@3`): the value of a scrutinee or of a destructured
    /// `let`, which goes to each name its pattern binds.
    temps: usize,
    /// Whether what the body returns outlives the call (not for an async fn's summary: see
    /// [`ParamFlow::IntoResult`]).
    returned_escapes: bool,
    /// The fn's parameters (a closure parameter `f` is not the file's fn `f`).
    params: HashSet<String>,
    /// Where std macros' arguments parsed for this body are kept for a later reader.
    parsed: Option<&'s ParsedArgs>,
}

impl Walker<'_> {
    fn span(&self, node: &impl quote::ToTokens) -> Span {
        Span::of_tokens(self.file, node)
    }

    /// Runs `walk` over expressions that are not the body's but copies read from a macro's
    /// tokens, which live only while walked: the macros inside them stay out of
    /// [`Walker::parsed`], which keys a macro by its address (a later copy could reuse it).
    fn walk_copies(&mut self, walk: impl FnOnce(&mut Self)) {
        let parsed = self.parsed.take();
        walk(self);
        self.parsed = parsed;
    }

    /// Where a value goes that is stored into `place` (assigned to it, or moved into it by a
    /// method call) at `at`; `unknown` says why when the place has no root we can name.
    fn stored_into(
        &self,
        place: &Expr,
        at: &impl quote::ToTokens,
        unknown: impl FnOnce() -> String,
    ) -> Dest {
        // The span only where the value escapes: it can cost calls into the compiler.
        match root_of(place) {
            Some(Root::SelfOrParam(place)) => Dest::Escapes(
                self.span(at),
                format!("stored in `{place}` here, which outlives the call"),
            ),
            Some(Root::Local(name)) if !self.locals.contains(&name) => Dest::Escapes(
                self.span(at),
                format!("stored in `{name}` here, a global or a parameter"),
            ),
            Some(Root::Local(name)) => Dest::Var(name),
            None => Dest::Escapes(self.span(at), unknown()),
        }
    }

    fn site(&mut self, node: &impl FirstToken, what: String, dest: &Dest) {
        let span = Span::of_expr(self.file, node);
        let dest = self.at(span, dest);
        self.sites.push(Site { span, what, dest });
    }

    /// `dest` for a value at `span`: the fn's result becomes "returned here".
    fn at(&self, span: Span, dest: &Dest) -> Dest {
        match dest {
            Dest::Return if !self.returned_escapes => Dest::Local,
            Dest::Return => Dest::Escapes(span, "returned here".into()),
            d => d.clone(),
        }
    }

    /// A use of the local `name` whose value goes to `dest` (at `node`, if returned).
    fn use_of(&mut self, name: String, node: &impl quote::ToTokens, dest: &Dest) {
        // A span costs printing the tokens: only a returned value needs one.
        let d = match dest {
            Dest::Return => self.at(self.span(node), dest),
            d => d.clone(),
        };
        self.uses.entry(name).or_default().push(d);
    }

    /// Where a value matched by `pat` goes: the local it binds, a temporary that goes to
    /// each of the locals it binds, or nowhere (`_`, literals, `ref` bindings).
    fn bind(&mut self, pat: &syn::Pat) -> Dest {
        if let Some(name) = binding(pat) {
            return Dest::Var(name);
        }
        let mut names = Vec::new();
        by_value_bindings(pat, &mut names);
        match names.len() {
            0 => Dest::Local,
            1 => Dest::Var(names.pop().unwrap_or_default()),
            _ => {
                self.temps += 1;
                let temp = format!("let@{}", self.temps);
                self.uses
                    .insert(temp.clone(), names.into_iter().map(Dest::Var).collect());
                Dest::Var(temp)
            }
        }
    }

    /// A block's statements, its tail going to `tail`.
    fn block(&mut self, b: &syn::Block, tail: &Dest) {
        let n = b.stmts.len();
        for (i, stmt) in b.stmts.iter().enumerate() {
            match stmt {
                Stmt::Local(l) => {
                    if let Some(init) = &l.init {
                        let dest = self.bind(&l.pat);
                        self.expr(&init.expr, &dest);
                        if let Some((_, els)) = &init.diverge {
                            self.expr(els, &Dest::Local);
                        }
                        if let Dest::Var(name) = &dest {
                            if self.holds_shared(&l.pat, &init.expr) {
                                self.shared.insert(name.clone());
                            }
                            if matches!(&l.pat, syn::Pat::Type(t) if is_char_type(&t.ty)) {
                                self.chars.insert(name.clone());
                            }
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

    /// Whether `let pat = init` binds a handle of a reference-counted allocation.
    fn holds_shared(&self, pat: &syn::Pat, init: &Expr) -> bool {
        if let syn::Pat::Type(t) = pat {
            if is_shared_type(&t.ty) {
                return true;
            }
        }
        match init {
            Expr::Call(call) => matches!(&*call.func, Expr::Path(p)
                if matches!(crate::syntax::segment_names(&p.path).as_slice(),
                    [.., ty, f] if SHARED_POINTERS.contains(&ty.as_str())
                        && matches!(f.as_str(), "new" | "clone" | "from"))),
            Expr::MethodCall(m) if m.method == "clone" && m.args.is_empty() => {
                local_name(&m.receiver).is_some_and(|n| self.shared.contains(&n.to_string()))
            }
            _ => false,
        }
    }

    /// A value given to a callee as an argument, going to `dest`. A closure given so is
    /// called by the callee: what it returns goes to `dest` too.
    fn arg(&mut self, a: &Expr, dest: &Dest) {
        match a {
            Expr::Closure(c) => self.closure(c, dest, dest),
            Expr::Async(b) => self.async_block(b, dest, dest),
            _ => self.expr(a, dest),
        }
    }

    /// A closure that goes to `dest` and whose results go to `tail`. A `move` closure takes
    /// the locals it names along; one that borrows them cannot outlive them, and a value it
    /// moves out of a local is a use in its body.
    fn closure(&mut self, c: &syn::ExprClosure, dest: &Dest, tail: &Dest) {
        if c.capture.is_some() {
            let mut inner = Bound::default();
            for input in &c.inputs {
                inner.visit_pat(input);
            }
            inner.visit_expr(&c.body);
            let mut named = Named::default();
            named.visit_expr(&c.body);
            self.captured(named, inner, self.span(c), dest);
        }
        self.expr(&c.body, tail);
    }

    /// An async block: like a closure, a `move` one takes the locals it names along to
    /// where the future goes, and its value goes to `tail`.
    fn async_block(&mut self, a: &syn::ExprAsync, dest: &Dest, tail: &Dest) {
        if a.capture.is_some() {
            let mut inner = Bound::default();
            inner.visit_block(&a.block);
            let mut named = Named::default();
            named.visit_block(&a.block);
            self.captured(named, inner, self.span(a), dest);
        }
        self.block(&a.block, tail);
    }

    /// The outer locals a `move` closure or block at `at` names go where it goes.
    fn captured(&mut self, named: Named, inner: Bound, at: Span, dest: &Dest) {
        let d = self.at(at, dest);
        for name in named.0 {
            if !inner.0.contains(&name) {
                self.uses.entry(name).or_default().push(d.clone());
            }
        }
    }

    fn expr(&mut self, e: &Expr, dest: &Dest) {
        match e {
            Expr::Path(p) => {
                if let Some(name) = p.path.get_ident() {
                    self.use_of(name.to_string(), p, dest);
                }
            }
            Expr::Call(call) => self.call(call, dest),
            Expr::MethodCall(m) => self.method_call(m, dest),
            Expr::Macro(m) => self.mac(&m.mac, dest),
            Expr::Return(r) => {
                if let Some(v) = &r.expr {
                    self.expr(v, &Dest::Return);
                }
            }
            Expr::Assign(a) => {
                let at = self.stored_into(&a.left, &a.left, || "stored in a global here".into());
                self.expr(&a.right, &at);
                self.expr(&a.left, &Dest::Local);
            }
            Expr::Reference(r) => self.expr(&r.expr, &Dest::Local),
            Expr::Struct(s) => {
                for f in &s.fields {
                    self.expr(&f.expr, dest);
                }
                if let Some(rest) = &s.rest {
                    self.expr(rest, dest);
                }
            }
            Expr::Tuple(t) => t.elems.iter().for_each(|x| self.expr(x, dest)),
            Expr::Array(a) => a.elems.iter().for_each(|x| self.expr(x, dest)),
            Expr::Repeat(r) => self.expr(&r.expr, dest),
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
                // The scrutinee goes to the names the arms bind.
                let mut names = Vec::new();
                for arm in &m.arms {
                    by_value_bindings(&arm.pat, &mut names);
                }
                let scrutinee = if names.is_empty() {
                    Dest::Local
                } else {
                    self.temps += 1;
                    let temp = format!("match@{}", self.temps);
                    self.uses
                        .insert(temp.clone(), names.into_iter().map(Dest::Var).collect());
                    Dest::Var(temp)
                };
                self.expr(&m.expr, &scrutinee);
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
                if let Some(c) = char_binding(&f.expr, &f.pat) {
                    self.chars.insert(c);
                }
                let each = self.bind(&f.pat);
                self.expr(&f.expr, &each);
                self.block(&f.body, &Dest::Local);
            }
            Expr::Closure(c) => {
                // What the closure returns goes to its callers, which are not followed.
                let tail = Dest::Escapes(
                    self.span(c),
                    "returned by this closure, whose callers gomem does not follow".into(),
                );
                self.closure(c, dest, &tail);
            }
            Expr::Async(a) => {
                // What the block evaluates to goes to whoever awaits it, which is not followed.
                let tail = Dest::Escapes(
                    self.span(a),
                    "returned by this async block, whose awaiter gomem does not follow".into(),
                );
                self.async_block(a, dest, &tail);
            }
            Expr::Try(t) => self.expr(&t.expr, dest),
            Expr::Await(a) => match &*a.base {
                // `async { .. }.await`: its value is the await's.
                Expr::Async(block) => self.async_block(block, dest, dest),
                base => self.expr(base, dest),
            },
            Expr::Cast(c) => self.expr(&c.expr, dest),
            // A field read by value moves it out (or copies it: which, the syntax does not
            // tell), and the value and its fields are one destination: `s.v` returned takes
            // `s` along.
            Expr::Field(f) => self.expr(&f.base, dest),
            Expr::Index(i) => {
                self.expr(&i.expr, &Dest::Local);
                self.expr(&i.index, &Dest::Local);
            }
            Expr::Binary(b) => {
                self.expr(&b.left, &Dest::Local);
                self.expr(&b.right, &Dest::Local);
            }
            Expr::Unary(u) => self.expr(&u.expr, &Dest::Local),
            Expr::Let(l) => {
                let d = self.bind(&l.pat);
                self.expr(&l.expr, &d);
            }
            Expr::Break(b) => {
                if let Some(v) = &b.expr {
                    self.expr(v, &Dest::Local);
                }
            }
            _ => {}
        }
    }

    fn call(&mut self, call: &syn::ExprCall, dest: &Dest) {
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
                self.arg(a, dest);
            }
            return;
        }
        // `Arc::clone(&a)`: another handle to `a`'s allocation, which goes where it goes.
        if let [.., ty, f] = callee.as_slice() {
            if f == "clone" && SHARED_POINTERS.contains(&ty.as_str()) && call.args.len() == 1 {
                if let Some(name) = local_name(strip_ref(&call.args[0])) {
                    self.use_of(name.to_string(), call, dest);
                    return;
                }
            }
        }
        if call.args.is_empty() {
            return;
        }
        let name = callee.join("::");
        let last = callee.last().map(String::as_str).unwrap_or_default();
        if last == "drop" {
            for a in &call.args {
                self.expr(a, &Dest::Local);
            }
            return;
        }
        if last.chars().next().is_some_and(char::is_uppercase) {
            // A tuple struct or enum variant: the value goes where the new one goes.
            for a in &call.args {
                self.arg(a, dest);
            }
            return;
        }
        let why = if last.contains("spawn") {
            "moved into a spawned thread or task here".to_string()
        } else if name.is_empty() {
            // `(self.0)(x)`, `handlers[i](x)`: a closure or fn pointer held in a value.
            "passed to a fn value, which gomem does not look into".to_string()
        } else {
            format!("passed to `{name}`, which gomem does not look into")
        };
        let at = Dest::Escapes(self.span(&call.func), why);
        // A fn of this file whose summary says which parameters keep their value.
        let one = match callee.as_slice() {
            [one] if !self.locals.contains(one) && !self.params.contains(one) => Some(one),
            _ => None,
        };
        let summary = self
            .summaries
            .of_call(self.file, call, one.is_some(), || one.cloned());
        for (i, a) in call.args.iter().enumerate() {
            match summary.and_then(|s| s.get(i)) {
                Some(ParamFlow::Stays) => self.arg(a, &Dest::Local),
                Some(ParamFlow::IntoResult) => self.arg(a, dest),
                Some(ParamFlow::Leaks) => {
                    let leaks = Dest::Escapes(
                        self.span(&call.func),
                        format!("passed to `{name}`, which lets it escape (leaking param)"),
                    );
                    self.arg(a, &leaks)
                }
                None => self.arg(a, &at),
            }
        }
    }

    fn method_call(&mut self, m: &syn::ExprMethodCall, dest: &Dest) {
        let method = m.method.to_string();
        let method = method.as_str();
        let allocates = ALLOCATING_METHODS
            .iter()
            .any(|&(name, args)| name == method && args == m.args.len())
            && !(matches!(method, "to_uppercase" | "to_lowercase") && self.is_char(&m.receiver));
        if allocates {
            self.site(m, format!(".{method}()"), dest);
            // `collect` and `into_boxed_slice` take their receiver's values along; the
            // others read theirs.
            let receiver = if RESULT_HOLDS_RECEIVER.contains(&method) {
                dest.clone()
            } else {
                Dest::Local
            };
            self.expr(&m.receiver, &receiver);
            for a in &m.args {
                self.expr(a, &Dest::Local);
            }
            return;
        }
        // `a.clone()` of an `Rc`/`Arc`: another handle to `a`'s allocation.
        if method == "clone" && m.args.is_empty() {
            if let Some(name) = local_name(&m.receiver) {
                if self.shared.contains(&name.to_string()) {
                    self.use_of(name.to_string(), m, dest);
                    return;
                }
            }
        }
        // The receiver is used in place (`&self`, `&mut self`: methods known to borrow), or
        // its value may go into the result (`into_*`, `unwrap`, iterator adaptors, and any
        // method gomem does not know, which may take `self` by value and keep it).
        let borrows = BORROWS_RECEIVER.contains(&method)
            || method_summary(self.summaries, self.file, m)
                .is_some_and(|s| s.first() == Some(&ParamFlow::Stays))
            || USES_ARGS_IN_PLACE.contains(&method)
            || stores_into_receiver(method)
            || SENDS.contains(&method)
            || method.contains("spawn");
        let receiver_dest =
            if method.starts_with("into_") || RESULT_HOLDS_RECEIVER.contains(&method) || !borrows {
                dest.clone()
            } else {
                Dest::Local
            };
        self.expr(&m.receiver, &receiver_dest);
        // A closure given to an adaptor of `s.chars()` takes `char`s.
        if receiver_reads_chars(&m.receiver) {
            for a in &m.args {
                if let Expr::Closure(c) = a {
                    if let Some(name) = c.inputs.first().and_then(|p| char_binding(&m.receiver, p))
                    {
                        self.chars.insert(name);
                    }
                }
            }
        }
        if m.args.is_empty() {
            return;
        }
        let at = if method.contains("spawn") {
            Dest::Escapes(
                self.span(&m.method),
                "moved into a spawned thread or task here".into(),
            )
        } else if SENDS.contains(&method) {
            Dest::Escapes(self.span(&m.method), "sent to another thread here".into())
        } else if stores_into_receiver(method) {
            // Arguments moved into the receiver: where the receiver lives decides.
            self.stored_into(&m.receiver, &m.method, || {
                format!("stored by `.{method}()` into a value gomem does not follow")
            })
        } else if ARGS_INTO_RESULT.contains(&method) {
            dest.clone()
        } else if USES_ARGS_IN_PLACE.contains(&method) {
            Dest::Local
        } else if let Some(summary) = method_summary(self.summaries, self.file, m) {
            // A method of this file (by name): its summary says which arguments it keeps.
            let leaks = Dest::Escapes(
                self.span(&m.method),
                format!("passed to `.{method}()`, which lets it escape (leaking param)"),
            );
            for (i, a) in m.args.iter().enumerate() {
                match summary.get(i + 1) {
                    Some(ParamFlow::Stays) => self.arg(a, &Dest::Local),
                    Some(ParamFlow::IntoResult) => self.arg(a, dest),
                    _ => self.arg(a, &leaks),
                }
            }
            return;
        } else {
            Dest::Escapes(
                self.span(&m.method),
                format!("passed to `.{method}()`, which gomem does not look into"),
            )
        };
        for a in &m.args {
            self.arg(a, &at);
        }
    }

    /// Whether `e` is known to be a `char`: a literal, or a local bound to one.
    fn is_char(&self, e: &Expr) -> bool {
        match e {
            Expr::Lit(l) => matches!(l.lit, syn::Lit::Char(_)),
            Expr::Paren(p) => self.is_char(&p.expr),
            _ => local_name(e).is_some_and(|n| self.chars.contains(&n.to_string())),
        }
    }

    fn mac(&mut self, mac: &syn::Macro, dest: &Dest) {
        let Some(name) = mac.path.segments.last().map(|s| s.ident.to_string()) else {
            return;
        };
        if ALLOCATING_MACROS.contains(&name.as_str()) {
            self.site(mac, format!("{name}![..]"), dest);
        }
        // std's macros, read as the expressions they take (`crate::std_macros`): `vec![..]`,
        // `dbg!(..)` and `ready!(..)` give their arguments to their result; the others
        // (`println!`, `format!`, `write!`, `assert_eq!`, `pin!`..) borrow them or keep them
        // in the caller's frame.
        if let Some(args) = crate::std_macros::read_with(mac, self.parsed) {
            let d = if matches!(name.as_str(), "vec" | "dbg" | "ready") {
                dest.clone()
            } else {
                Dest::Local
            };
            self.walk_copies(|w| {
                for a in &args.exprs {
                    w.expr(a, &d);
                }
            });
            return;
        }
        // A macro gomem does not know: what it does with what it is given is not known
        // (`tokio::join!` awaits its futures in place, a `spawn!` would send them away).
        let unknown = Dest::Escapes(
            self.span(&mac.path),
            format!("passed to `{name}!`, which gomem does not look into"),
        );
        match mac.parse_body_with(ArgList::parse_terminated) {
            Ok(args) => self.walk_copies(|w| {
                for a in &args {
                    w.expr(a, &unknown);
                }
            }),
            // Not a list of expressions (`select! { v = rx.recv() => .. }`): every local
            // it names goes there.
            Err(_) => {
                let mut named = Named::default();
                named.tokens(mac.tokens.clone());
                for n in named.0 {
                    if self.locals.contains(&n) || self.params.contains(&n) {
                        self.use_of(n, mac, &unknown);
                    }
                }
            }
        }
    }
}

/// The locals named in a closure's or async block's body, macro arguments included: what a
/// `move` takes along (plus names bound inside, which the caller leaves out).
#[derive(Default)]
struct Named(HashSet<String>);

impl Named {
    fn tokens(&mut self, tokens: proc_macro2::TokenStream) {
        for tree in tokens {
            match tree {
                proc_macro2::TokenTree::Ident(i) => {
                    self.0.insert(i.to_string());
                }
                proc_macro2::TokenTree::Group(g) => self.tokens(g.stream()),
                _ => {}
            }
        }
    }
}

impl<'ast> Visit<'ast> for Named {
    fn visit_expr_path(&mut self, p: &'ast syn::ExprPath) {
        if let Some(name) = p.path.get_ident() {
            self.0.insert(name.to_string());
        }
    }
    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        self.tokens(m.tokens.clone());
    }
    fn visit_item(&mut self, _: &'ast syn::Item) {}
}

/// The names a pattern binds by value (not `ref x`), in order.
fn by_value_bindings(p: &syn::Pat, out: &mut Vec<String>) {
    struct V<'o>(&'o mut Vec<String>);
    impl<'ast> Visit<'ast> for V<'_> {
        fn visit_pat_ident(&mut self, i: &'ast syn::PatIdent) {
            if i.by_ref.is_none() {
                self.0.push(i.ident.to_string());
            }
            syn::visit::visit_pat_ident(self, i);
        }
        // A path pattern (`None`, `Kind::A`) binds nothing; an ident pattern that names a
        // unit variant is told apart by case below.
    }
    let mut found = Vec::new();
    V(&mut found).visit_pat(p);
    // `None`, `Empty`: unit variants and consts written as idents bind nothing.
    out.extend(
        found
            .into_iter()
            .filter(|n| !n.chars().next().is_some_and(char::is_uppercase)),
    );
}

/// The summary of the method `m` calls, if known: resolved by the receiver's type, or, by
/// name, a method of the file called on `self` (see [`Summaries`]).
fn method_summary<'a>(
    summaries: &'a Summaries,
    file: crate::span::FileId,
    m: &syn::ExprMethodCall,
) -> Option<&'a Vec<ParamFlow>> {
    let on_self = local_name(&m.receiver).is_some_and(|r| r == "self");
    summaries.of_call(file, m, on_self, || {
        on_self.then(|| format!(".{}", m.method))
    })
}

/// Whether `.method(args)` keeps its arguments in its receiver.
fn stores_into_receiver(method: &str) -> bool {
    ADDS_ELEMENTS.contains(&method) || ALSO_STORES_INTO_RECEIVER.contains(&method)
}

/// `&x`, `&mut x` -> `x`.
fn strip_ref(e: &Expr) -> &Expr {
    match e {
        Expr::Reference(r) => strip_ref(&r.expr),
        Expr::Paren(p) => strip_ref(&p.expr),
        _ => e,
    }
}

fn is_char_type(ty: &syn::Type) -> bool {
    matches!(ty, syn::Type::Path(p) if p.path.is_ident("char"))
}

/// Whether `e` is a chain of method calls that goes through `.chars()` (or
/// `.char_indices()`), so that its items are `char`s (or `(usize, char)`s).
fn receiver_reads_chars(e: &Expr) -> bool {
    let mut e = e;
    while let Expr::MethodCall(m) = e {
        if m.method == "chars" || m.method == "char_indices" {
            return true;
        }
        e = &m.receiver;
    }
    false
}

/// `for c in s.chars()` or `for (i, c) in s.char_indices()`: the name bound to the `char`.
fn char_binding(iterable: &Expr, pat: &syn::Pat) -> Option<String> {
    if !receiver_reads_chars(iterable) {
        return None;
    }
    match pat {
        syn::Pat::Ident(i) => Some(i.ident.to_string()),
        syn::Pat::Tuple(t) if t.elems.len() == 2 => binding(&t.elems[1]),
        _ => None,
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

/// A fn body of a file, with its signature and attributes.
pub struct FnBody<'a> {
    /// A free fn (not in an impl): one a path of one name can call.
    pub free: bool,
    pub attrs: &'a [syn::Attribute],
    pub sig: &'a syn::Signature,
    pub block: &'a syn::Block,
}

/// Every fn body of a file.
pub fn fn_bodies(file: &syn::File) -> Vec<FnBody<'_>> {
    #[derive(Default)]
    struct Bodies<'a>(Vec<FnBody<'a>>);
    impl<'a> Visit<'a> for Bodies<'a> {
        fn visit_item_fn(&mut self, f: &'a syn::ItemFn) {
            self.0.push(FnBody {
                free: true,
                attrs: &f.attrs,
                sig: &f.sig,
                block: &f.block,
            });
            syn::visit::visit_item_fn(self, f);
        }
        fn visit_impl_item_fn(&mut self, f: &'a syn::ImplItemFn) {
            self.0.push(FnBody {
                free: false,
                attrs: &f.attrs,
                sig: &f.sig,
                block: &f.block,
            });
            syn::visit::visit_impl_item_fn(self, f);
        }
    }
    let mut v = Bodies::default();
    v.visit_file(file);
    v.0
}

/// The name a summary goes by: a free fn's name, or `.name` for a method (called through a
/// receiver whose type is not known: a method name defined twice in the file has none).
pub fn summary_key(sig: &syn::Signature) -> String {
    if sig.receiver().is_some() {
        format!(".{}", sig.ident)
    } else {
        sig.ident.to_string()
    }
}

/// Summaries of the given fns and methods, which call each other by name.
pub fn summaries_of(
    file: crate::span::FileId,
    list: &[(&syn::Signature, &syn::Block)],
) -> Summaries {
    let fns: Vec<(String, &syn::Signature, &syn::Block)> = list
        .iter()
        .map(|&(sig, block)| (summary_key(sig), sig, block))
        .collect();
    refine(file, &fns, Summaries::new(), |s| &mut s.by_name, &[])
}

/// Summaries of the given fns and methods (each with its name's span, the identity the call
/// graph gives it), which call each other through `resolved`: the call graph's resolution of
/// the file's calls, from each call expression to the definition it runs. Methods are also
/// known by name, for calls on `self` that stay unresolved.
pub fn resolved_summaries(
    file: crate::span::FileId,
    bodies: &[(Span, &FnBody<'_>)],
    resolved: HashMap<Span, Span>,
) -> Summaries {
    let start = Summaries {
        resolved: Some(resolved),
        ..Summaries::new()
    };
    // By-name summaries for free fns and methods (an associated fn is called by a path); a
    // name defined twice in the file has none.
    let mut names: HashMap<String, Option<Span>> = HashMap::new();
    for &(def, body) in bodies {
        if body.free || body.sig.receiver().is_some() {
            names
                .entry(summary_key(body.sig))
                .and_modify(|d| *d = None)
                .or_insert(Some(def));
        }
    }
    let names: Vec<(String, Span)> = names
        .into_iter()
        .filter_map(|(n, d)| Some((n, d?)))
        .collect();
    let list: Vec<_> = bodies
        .iter()
        .map(|&(def, body)| (def, body.sig, body.block))
        .collect();
    refine(file, &list, start, |s| &mut s.by_def, &names)
}

/// Starts from "every parameter leaks" (no summary) and refines a few times: each round only
/// uses what the previous round proved, so it stays on the safe side for recursion. A key
/// listed twice gets no summary. After each round, the summary of each `(name, key)` of
/// `names` is also the by-name summary of `name`.
fn refine<K: Clone + Eq + std::hash::Hash>(
    file: crate::span::FileId,
    fns: &[(K, &syn::Signature, &syn::Block)],
    mut summaries: Summaries,
    table: fn(&mut Summaries) -> &mut HashMap<K, Vec<ParamFlow>>,
    names: &[(String, K)],
) -> Summaries {
    let mut count: HashMap<&K, usize> = HashMap::new();
    for (key, _, _) in fns {
        *count.entry(key).or_default() += 1;
    }
    for _ in 0..3 {
        let mut next = HashMap::new();
        for (key, sig, body) in fns {
            if count[key] > 1 {
                continue;
            }
            // An async fn's future holds every parameter taken by value, and what its body
            // returns is the future's output: a parameter goes into the result unless the
            // body lets it escape some other way.
            let is_async = sig.asyncness.is_some();
            let escapes = analyze_returning(file, Some(sig), body, &summaries, !is_async, None);
            let flow = |leaks: bool| match (leaks, is_async) {
                (true, _) => ParamFlow::Leaks,
                (false, false) => ParamFlow::Stays,
                (false, true) => ParamFlow::IntoResult,
            };
            let leaks = sig
                .inputs
                .iter()
                .map(|input| match input {
                    // `&self` cannot leak what it points to past the call; `self` by value
                    // (or `self: Box<Self>`) is taken as leaking.
                    syn::FnArg::Receiver(r) => {
                        flow(!matches!(r.kind, syn::ReceiverKind::Reference(..)))
                    }
                    syn::FnArg::Typed(t) => {
                        flow(binding(&t.pat).is_none_or(|p| escapes.var_escapes(&p).is_some()))
                    }
                })
                .collect();
            next.insert(key.clone(), leaks);
        }
        if *table(&mut summaries) == next {
            break;
        }
        for (name, key) in names {
            if let Some(leaks) = next.get(key) {
                summaries.by_name.insert(name.clone(), leaks.clone());
            }
        }
        *table(&mut summaries) = next;
    }
    summaries
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::span::FileId;

    /// By-name summaries of the free fns and methods of a file, as the attribute makes them.
    fn summaries(file: FileId, syntax: &syn::File) -> Summaries {
        let list: Vec<_> = fn_bodies(syntax)
            .into_iter()
            .filter(|b| b.free || b.sig.receiver().is_some())
            .map(|b| (b.sig, b.block))
            .collect();
        summaries_of(file, &list)
    }

    /// `(what, escapes, reason)` of every site of the first fn in `src`.
    fn decide(src: &str) -> Vec<(String, bool, String)> {
        let file = syn::parse_file(src).unwrap();
        let FnBody {
            sig, block: body, ..
        } = fn_bodies(&file)[0];
        analyze(FileId(0), Some(sig), body, &summaries(FileId(0), &file))
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
