//! Source locations as the analyzer stores them: a file and a byte range.
//!
//! syn hands out `proc_macro2::Span`s, which only mean something on the thread that parsed
//! the file (they index a thread-local source map). Everything that leaves the parsing thread
//! (index entries, diagnostics) carries a [`Span`] instead: plain data, `Send`, comparable,
//! and directly usable by codespan-reporting and the JSON reporter.

use std::cell::RefCell;
use std::ops::Range;
use std::sync::Arc;

/// Identifies one file of a [`crate::source::SourceDb`]; an index into its file list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileId(pub u32);

impl FileId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// A byte range in one file. `lo <= hi`, both on UTF-8 character boundaries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    pub file: FileId,
    pub lo: u32,
    pub hi: u32,
}

impl Span {
    pub fn new(file: FileId, range: Range<usize>) -> Span {
        Span {
            file,
            lo: range.start as u32,
            hi: range.end.max(range.start) as u32,
        }
    }

    /// The span of a syntax node of `file`. Only valid on the thread that parsed `file`.
    pub fn of(file: FileId, span: proc_macro2::Span) -> Span {
        let fast = LINE_INDEX.with(|current| match &*current.borrow() {
            Some(index) if index.file == file => index.range(span),
            Some(index) if index.file == POSITIONS => {
                // On stable a node's span is its first token's (no `join`): its start is the
                // whole key, and the end would cost three more calls into the compiler.
                let at = position(span.start()) as usize;
                Some(at..at + 1)
            }
            _ => None,
        });
        Span::new(file, fast.unwrap_or_else(|| span.byte_range()))
    }

    /// The span from the start of `tokens` to their end, e.g. a whole expression.
    ///
    /// From its first token's start to its last token's end, each located on its own: a fn
    /// whose body was parsed apart from its signature (`crate::parse::bodies`) has tokens
    /// of two lexings, which proc-macro2 cannot join into one span.
    pub fn of_tokens(file: FileId, tokens: &impl quote::ToTokens) -> Span {
        use proc_macro2::TokenTree;
        if in_token_positions() {
            return Span::of(file, syn::spanned::Spanned::span(tokens));
        }
        let mut trees = tokens.to_token_stream().into_iter();
        let Some(first) = trees.next() else {
            return Span::of(file, proc_macro2::Span::call_site());
        };
        let last = trees.last();
        let start = match &first {
            TokenTree::Group(g) => g.span_open(),
            t => t.span(),
        };
        let end = match last.as_ref().unwrap_or(&first) {
            TokenTree::Group(g) => g.span_close(),
            t => t.span(),
        };
        let (start, end) = (Span::of(file, start), Span::of(file, end));
        Span::new(file, start.lo as usize..end.hi as usize)
    }

    /// The span of an allocation site or other expression. The same as [`Span::of_tokens`],
    /// but in [`use_token_positions`] mode, where a span is its first token's start, it
    /// finds that token in the tree instead of printing the whole expression to tokens
    /// (every token printed is a call into the compiler in a proc macro).
    pub fn of_expr(file: FileId, e: &impl FirstToken) -> Span {
        // Outside that mode the whole range is wanted: no use looking for the first token.
        match in_token_positions().then(|| e.first_token()).flatten() {
            Some(first) => Span::of(file, first),
            None => Span::of_tokens(file, e),
        }
    }

    /// The span of a whole syntax node, as [`Span::of_tokens`] gives it, found from the
    /// node's first and last tokens where [`Ends`] knows them instead of printing the node
    /// to a token stream (which copies every name and literal in it: a call's span printed
    /// all of its arguments, closures included).
    pub fn of_node(file: FileId, node: &impl Ends) -> Span {
        let Some((first, last)) = node.ends() else {
            return Span::of_tokens(file, node);
        };
        let start = Span::of(file, first);
        // In `use_token_positions` mode a node's span is its first token's, as there.
        if in_token_positions() {
            return start;
        }
        let end = Span::of(file, last);
        Span {
            file,
            lo: start.lo.min(end.lo),
            hi: start.hi.max(end.hi),
        }
    }

    pub fn range(self) -> Range<usize> {
        self.lo as usize..self.hi as usize
    }

    /// The smallest span covering both; both must be in the same file.
    pub fn to(self, other: Span) -> Span {
        debug_assert_eq!(self.file, other.file);
        Span {
            file: self.file,
            lo: self.lo.min(other.lo),
            hi: self.hi.max(other.hi),
        }
    }
}

/// Syntax nodes whose first token can be found without printing them. `None` where it is
/// not simple to say (outer attributes, a qualified path, rarer forms): the caller then
/// prints the node, as [`Span::of_tokens`] does.
pub trait FirstToken: quote::ToTokens {
    fn first_token(&self) -> Option<proc_macro2::Span>;
}

impl FirstToken for syn::Expr {
    fn first_token(&self) -> Option<proc_macro2::Span> {
        use syn::Expr;
        match self {
            Expr::Call(c) => c.first_token(),
            Expr::MethodCall(m) => m.first_token(),
            Expr::Macro(m) if m.attrs.is_empty() => m.mac.first_token(),
            Expr::Path(p) if p.attrs.is_empty() && p.qself.is_none() => path_start(&p.path),
            Expr::Lit(l) if l.attrs.is_empty() => Some(l.lit.span()),
            Expr::Field(f) if f.attrs.is_empty() => f.base.first_token(),
            Expr::Index(i) if i.attrs.is_empty() => i.expr.first_token(),
            Expr::Try(t) if t.attrs.is_empty() => t.expr.first_token(),
            Expr::Await(a) if a.attrs.is_empty() => a.base.first_token(),
            Expr::Binary(b) if b.attrs.is_empty() => b.left.first_token(),
            Expr::Cast(c) if c.attrs.is_empty() => c.expr.first_token(),
            Expr::Reference(r) if r.attrs.is_empty() => Some(r.and_token.span),
            Expr::Paren(p) if p.attrs.is_empty() => Some(p.paren_token.span.open()),
            _ => None,
        }
    }
}

impl FirstToken for syn::ExprCall {
    fn first_token(&self) -> Option<proc_macro2::Span> {
        if !self.attrs.is_empty() {
            return None;
        }
        self.func.first_token()
    }
}

impl FirstToken for syn::ExprMethodCall {
    fn first_token(&self) -> Option<proc_macro2::Span> {
        if !self.attrs.is_empty() {
            return None;
        }
        self.receiver.first_token()
    }
}

impl FirstToken for syn::Macro {
    fn first_token(&self) -> Option<proc_macro2::Span> {
        path_start(&self.path)
    }
}

/// Syntax nodes whose first and last tokens can be found without printing them, for
/// [`Span::of_node`]. `None` where it is not simple to say (outer attributes, qualified paths,
/// closures, rarer forms): the node is then printed, as [`Span::of_tokens`] does. The last
/// token is the last token tree syn would print: a closing delimiter for a group.
pub trait Ends: quote::ToTokens {
    fn ends(&self) -> Option<(proc_macro2::Span, proc_macro2::Span)>;
}

impl<T: Ends> Ends for Box<T> {
    fn ends(&self) -> Option<(proc_macro2::Span, proc_macro2::Span)> {
        (**self).ends()
    }
}

impl Ends for syn::Expr {
    fn ends(&self) -> Option<(proc_macro2::Span, proc_macro2::Span)> {
        use syn::Expr;
        match self {
            Expr::Call(c) => c.ends(),
            Expr::MethodCall(m) => m.ends(),
            Expr::Macro(m) if m.attrs.is_empty() => m.mac.ends(),
            Expr::Path(p) if p.attrs.is_empty() && p.qself.is_none() => p.path.ends(),
            Expr::Lit(l) if l.attrs.is_empty() => Some((l.lit.span(), l.lit.span())),
            Expr::Field(f) if f.attrs.is_empty() => {
                let member = match &f.member {
                    syn::Member::Named(name) => name.span(),
                    syn::Member::Unnamed(i) => i.span,
                };
                Some((f.base.ends()?.0, member))
            }
            Expr::Index(i) => i.ends(),
            Expr::Try(t) if t.attrs.is_empty() => Some((t.expr.ends()?.0, t.question_token.span)),
            Expr::Await(a) if a.attrs.is_empty() => Some((a.base.ends()?.0, a.await_token.span)),
            Expr::Binary(b) => b.ends(),
            Expr::Unary(u) => u.ends(),
            Expr::Reference(r) if r.attrs.is_empty() => Some((r.and_token.span, r.expr.ends()?.1)),
            Expr::Paren(p) if p.attrs.is_empty() => {
                Some((p.paren_token.span.open(), p.paren_token.span.close()))
            }
            Expr::Tuple(t) if t.attrs.is_empty() => {
                Some((t.paren_token.span.open(), t.paren_token.span.close()))
            }
            Expr::Array(a) if a.attrs.is_empty() => {
                Some((a.bracket_token.span.open(), a.bracket_token.span.close()))
            }
            Expr::Block(b) if b.attrs.is_empty() && b.label.is_none() => Some((
                b.block.brace_token.span.open(),
                b.block.brace_token.span.close(),
            )),
            Expr::Struct(s) if s.attrs.is_empty() && s.qself.is_none() => {
                Some((s.path.ends()?.0, s.brace_token.span.close()))
            }
            _ => None,
        }
    }
}

impl Ends for syn::ExprBinary {
    fn ends(&self) -> Option<(proc_macro2::Span, proc_macro2::Span)> {
        if !self.attrs.is_empty() {
            return None;
        }
        Some((self.left.ends()?.0, self.right.ends()?.1))
    }
}

impl Ends for syn::ExprUnary {
    fn ends(&self) -> Option<(proc_macro2::Span, proc_macro2::Span)> {
        if !self.attrs.is_empty() {
            return None;
        }
        Some((self.op.ends()?.0, self.expr.ends()?.1))
    }
}

impl Ends for syn::ExprIndex {
    fn ends(&self) -> Option<(proc_macro2::Span, proc_macro2::Span)> {
        if !self.attrs.is_empty() {
            return None;
        }
        Some((self.expr.ends()?.0, self.bracket_token.span.close()))
    }
}

impl Ends for syn::ExprCall {
    fn ends(&self) -> Option<(proc_macro2::Span, proc_macro2::Span)> {
        if !self.attrs.is_empty() {
            return None;
        }
        Some((self.func.ends()?.0, self.paren_token.span.close()))
    }
}

impl Ends for syn::ExprMethodCall {
    fn ends(&self) -> Option<(proc_macro2::Span, proc_macro2::Span)> {
        if !self.attrs.is_empty() {
            return None;
        }
        Some((self.receiver.ends()?.0, self.paren_token.span.close()))
    }
}

impl Ends for syn::Macro {
    fn ends(&self) -> Option<(proc_macro2::Span, proc_macro2::Span)> {
        let close = match &self.delimiter {
            syn::MacroDelimiter::Paren(p) => p.span.close(),
            syn::MacroDelimiter::Brace(b) => b.span.close(),
            syn::MacroDelimiter::Bracket(b) => b.span.close(),
        };
        Some((path_start(&self.path)?, close))
    }
}

impl Ends for syn::Path {
    fn ends(&self) -> Option<(proc_macro2::Span, proc_macro2::Span)> {
        let last = self.segments.last()?;
        let end = match &last.arguments {
            syn::PathArguments::None => last.ident.span(),
            syn::PathArguments::AngleBracketed(a) => a.gt_token.span,
            // `Fn(A) -> B`: the return type's last token is not simple to say.
            syn::PathArguments::Parenthesized(p) => match p.output {
                syn::ReturnType::Default => p.paren_token.span.close(),
                syn::ReturnType::Type(..) => return None,
            },
        };
        Some((path_start(self)?, end))
    }
}

/// One or two punctuation tokens, cheap to print: left to [`Span::of_tokens`].
impl Ends for syn::BinOp {
    fn ends(&self) -> Option<(proc_macro2::Span, proc_macro2::Span)> {
        None
    }
}

impl Ends for syn::UnOp {
    fn ends(&self) -> Option<(proc_macro2::Span, proc_macro2::Span)> {
        let op = match self {
            syn::UnOp::Deref(t) => t.span,
            syn::UnOp::Not(t) => t.span,
            syn::UnOp::Neg(t) => t.span,
            _ => return None,
        };
        Some((op, op))
    }
}

fn path_start(path: &syn::Path) -> Option<proc_macro2::Span> {
    match &path.leading_colon {
        Some(colons) => Some(colons.spans[0]),
        None => Some(path.segments.first()?.ident.span()),
    }
}

thread_local! {
    /// The line index of the file whose syntax this thread is working on, if any.
    static LINE_INDEX: RefCell<Option<LineIndex>> = const { RefCell::new(None) };
}

/// proc-macro2 locates a token by characters, and turning that into a byte offset
/// (`Span::byte_range`) counts characters from the nearest offset it computed before: costly
/// when spans are far apart, as an item's name and the next item's are. With the file's line
/// starts at hand, a (line, column) on an ASCII line prefix is a byte offset directly.
struct LineIndex {
    file: FileId,
    text: Arc<str>,
    line_starts: Arc<[u32]>,
    /// Most files are ASCII, and then every column is a byte: no prefix to check.
    ascii: bool,
}

impl LineIndex {
    fn byte(&self, at: proc_macro2::LineColumn) -> Option<usize> {
        let start = *self.line_starts.get(at.line.checked_sub(1)?)? as usize;
        if self.ascii {
            let next = self
                .line_starts
                .get(at.line)
                .map_or(self.text.len(), |&n| n as usize);
            return (start + at.column <= next).then_some(start + at.column);
        }
        let prefix = self.text.as_bytes().get(start..start + at.column)?;
        // On a non-ASCII prefix columns are not bytes: let proc-macro2 count.
        (prefix.is_ascii() && !prefix.contains(&b'\n')).then_some(start + at.column)
    }

    fn range(&self, span: proc_macro2::Span) -> Option<Range<usize>> {
        Some(self.byte(span.start())?..self.byte(span.end())?)
    }
}

/// Installs `file`'s line index for [`Span::of`] on this thread until the guard is dropped
/// (also when a check panics and unwinds through it).
pub fn use_line_index(file: FileId, text: &Arc<str>, line_starts: &Arc<[u32]>) -> LineIndexGuard {
    let index = LineIndex {
        file,
        text: text.clone(),
        line_starts: line_starts.clone(),
        ascii: text.is_ascii(),
    };
    LineIndexGuard {
        outer: LINE_INDEX.with(|current| current.replace(Some(index))),
    }
}

/// Marks the mode of [`use_token_positions`] (no file has this id).
const POSITIONS: FileId = FileId(u32::MAX);

/// A position that orders as (line, column) does, for spans with no text behind them.
/// Saturates (a line past 2^20, a column past 4095): positions may then collide, which
/// [`use_token_positions`]'s users check for.
pub fn position(at: proc_macro2::LineColumn) -> u32 {
    let line = (at.line as u32).min((1 << 20) - 1);
    let column = (at.column as u32).min(4095);
    (line << 12) | column
}

/// Whether [`use_token_positions`] is in force on this thread.
fn in_token_positions() -> bool {
    LINE_INDEX.with(|c| c.borrow().as_ref().is_some_and(|i| i.file == POSITIONS))
}

/// Makes [`Span::of`] on this thread, until the guard drops, give each span the
/// [`position`] of its start (and that plus one as its end) instead of byte offsets. For the compiler's own
/// tokens in a proc macro, which have lines and columns (Rust 1.88 and later) but no byte
/// offsets: a span is then a key that tells syntax nodes apart and orders them, not a
/// range of any text. On an older compiler every position is 0.
pub fn use_token_positions() -> LineIndexGuard {
    let index = LineIndex {
        file: POSITIONS,
        text: Arc::from(""),
        line_starts: Arc::from(Vec::new()),
        ascii: true,
    };
    LineIndexGuard {
        outer: LINE_INDEX.with(|current| current.replace(Some(index))),
    }
}

/// Puts back the line index that was installed before [`use_line_index`].
pub struct LineIndexGuard {
    outer: Option<LineIndex>,
}

impl Drop for LineIndexGuard {
    fn drop(&mut self) {
        let outer = self.outer.take();
        LINE_INDEX.with(|current| *current.borrow_mut() = outer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The line-index shortcut agrees with proc-macro2's own conversion, on ASCII and
    /// non-ASCII lines alike, and on a file that is all ASCII (which skips the prefix checks).
    #[test]
    fn fast_spans_match_proc_macro2() {
        let mixed =
            "fn a() { let s = \"héllo\"; let t = 1; }\n// ünïcode\nfn b(x: u8) -> u8 { x }\n";
        let spans = same_spans_both_ways(mixed);
        assert!(spans.iter().any(|s| mixed[s.range()].contains('é')));
        let ascii = "fn a() {\n    let s = \"hello\";\n}\r\nfn b(x: u8) -> u8 { x }";
        let spans = same_spans_both_ways(ascii);
        assert!(spans.iter().any(|s| &ascii[s.range()] == "b"));
    }

    /// A node's span from its ends is the span printing it gives, for every expression,
    /// call, method call, macro and path of a file that has each form `Ends` reads (and
    /// forms it leaves to printing), with and without the line index.
    #[test]
    fn spans_from_ends_match_printed_spans() {
        use syn::visit::Visit;
        let text: Arc<str> = r#"
            fn f(x: &[u8], s: S) -> u32 {
                let a = g::<u8>(x[0], (1, 2), [3, 4]).len() + -x.len() as u32;
                let b = &mut s.0.field[1..].iter().map(|y| *y).sum::<u32>()?;
                let c = S { a: 1, ..Default::default() }.await + (!a) * { 3 };
                let d = <S as T>::f(1) + vec![1, 2][0] + format!("{}", é(a)).len();
                #[allow(x)] h(Fn() , |z| z + 1, std::mem::take(&mut *w)) - 'l: { 1 } - m()
            }
        "#
        .into();
        /// Each node's span both ways.
        struct Nodes(Vec<(Span, Span)>, FileId);
        impl Nodes {
            fn both(&mut self, node: &impl Ends) {
                let file = self.1;
                self.0
                    .push((Span::of_node(file, node), Span::of_tokens(file, node)));
            }
        }
        impl<'a> Visit<'a> for Nodes {
            fn visit_expr(&mut self, e: &'a syn::Expr) {
                self.both(e);
                syn::visit::visit_expr(self, e);
            }
            fn visit_expr_call(&mut self, e: &'a syn::ExprCall) {
                self.both(e);
                syn::visit::visit_expr_call(self, e);
            }
            fn visit_expr_method_call(&mut self, e: &'a syn::ExprMethodCall) {
                self.both(e);
                syn::visit::visit_expr_method_call(self, e);
            }
            fn visit_macro(&mut self, m: &'a syn::Macro) {
                self.both(m);
                syn::visit::visit_macro(self, m);
            }
            fn visit_path(&mut self, p: &'a syn::Path) {
                self.both(p);
                syn::visit::visit_path(self, p);
            }
            fn visit_un_op(&mut self, op: &'a syn::UnOp) {
                self.both(op);
                syn::visit::visit_un_op(self, op);
            }
        }
        let file = FileId(3);
        let tree = syn::parse_file(&text).unwrap();
        let mut slow = Nodes(Vec::new(), file);
        slow.visit_file(&tree);
        let starts = crate::source::SourceFile::new("x.rs".into(), text.clone(), None).line_starts;
        let _guard = use_line_index(file, &text, &starts);
        let mut fast = Nodes(Vec::new(), file);
        fast.visit_file(&tree);
        assert!(slow.0.len() > 60, "{}", slow.0.len());
        for (by_ends, printed) in slow.0.into_iter().chain(fast.0) {
            assert_eq!(by_ends, printed, "`{}`", &text[printed.range()]);
        }
    }

    fn same_spans_both_ways(text: &str) -> Vec<Span> {
        let text: Arc<str> = text.into();
        let file = FileId(7);
        let tokens: proc_macro2::TokenStream = text.parse().unwrap();
        fn walk(ts: proc_macro2::TokenStream, out: &mut Vec<proc_macro2::Span>) {
            for tt in ts {
                out.push(tt.span());
                if let proc_macro2::TokenTree::Group(g) = tt {
                    out.push(g.span_close());
                    walk(g.stream(), out);
                }
            }
        }
        let mut spans = Vec::new();
        walk(tokens, &mut spans);
        let slow: Vec<Span> = spans.iter().map(|s| Span::of(file, *s)).collect();
        let starts = crate::source::SourceFile::new("x.rs".into(), text.clone(), None).line_starts;
        let _guard = use_line_index(file, &text, &starts);
        let fast: Vec<Span> = spans.iter().map(|s| Span::of(file, *s)).collect();
        assert_eq!(slow, fast);
        fast
    }
}
