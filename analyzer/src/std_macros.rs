//! std's macros read as the expressions they take: `println!("{}", f(x))` evaluates `f(x)`
//! and formats it with `Display`; `assert_eq!(a, b)` compares with `==`; `vec![a, b]` builds
//! from `a` and `b`. The one home of what gomem knows about std's macros, so that every
//! fact collector sees inside them.
//!
//! A macro is known by the last segment of its path (`std::println!` is `println!`): a
//! workspace macro of the same name is read the same way, which errs on the side of seeing
//! calls that its expansion may not make; unknown macros stay opaque.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use syn::Expr;

/// What a known macro does besides evaluating its arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Evaluates its arguments and goes on.
    Plain,
    /// May panic (`assert!`): a way out of the fn, then the path goes on.
    MayPanic,
    /// Always panics (`panic!`, `unreachable!`, `todo!`).
    Panics,
}

/// The shape of a known macro's arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    /// `fmt, args..`
    Format,
    /// `writer, fmt, args..`
    Write,
    /// `n` expressions, then an optional `fmt, args..` (`assert!`: 1, `assert_eq!`: 2).
    ExprsThenFormat(usize),
    /// Comma-separated expressions (`dbg!`, `vec![a, b]`), or `vec![e; n]`.
    Exprs,
    /// One expression, then a pattern (`matches!`).
    FirstExpr,
    /// Nothing evaluated at run time (`stringify!`, `include_str!`, `line!`..).
    Nothing,
}

/// std's macros (and the logging crates' common ones), by name.
const MACROS: &[(&str, Shape, Effect)] = &[
    ("println", Shape::Format, Effect::Plain),
    ("print", Shape::Format, Effect::Plain),
    ("eprintln", Shape::Format, Effect::Plain),
    ("eprint", Shape::Format, Effect::Plain),
    ("format", Shape::Format, Effect::Plain),
    ("format_args", Shape::Format, Effect::Plain),
    ("write", Shape::Write, Effect::Plain),
    ("writeln", Shape::Write, Effect::Plain),
    ("panic", Shape::Format, Effect::Panics),
    ("unreachable", Shape::Format, Effect::Panics),
    ("todo", Shape::Format, Effect::Panics),
    ("unimplemented", Shape::Format, Effect::Panics),
    ("assert", Shape::ExprsThenFormat(1), Effect::MayPanic),
    ("debug_assert", Shape::ExprsThenFormat(1), Effect::MayPanic),
    ("assert_eq", Shape::ExprsThenFormat(2), Effect::MayPanic),
    ("assert_ne", Shape::ExprsThenFormat(2), Effect::MayPanic),
    (
        "debug_assert_eq",
        Shape::ExprsThenFormat(2),
        Effect::MayPanic,
    ),
    (
        "debug_assert_ne",
        Shape::ExprsThenFormat(2),
        Effect::MayPanic,
    ),
    ("dbg", Shape::Exprs, Effect::Plain),
    // `pin!(fut)` pins its argument in the caller's frame; `ready!(poll)` returns from the
    // fn when `poll` is pending (a way out, as a panic is), and gives the ready value.
    ("pin", Shape::Exprs, Effect::Plain),
    ("ready", Shape::Exprs, Effect::MayPanic),
    ("vec", Shape::Exprs, Effect::Plain),
    ("matches", Shape::FirstExpr, Effect::Plain),
    // `log`'s and `tracing`'s macros take fields (`foo = ?x`, `target: ..`) as well as format
    // strings, in syntaxes of their own: known not to leave the fn, not read.
    ("debug", Shape::Nothing, Effect::Plain),
    ("info", Shape::Nothing, Effect::Plain),
    ("warn", Shape::Nothing, Effect::Plain),
    ("error", Shape::Nothing, Effect::Plain),
    ("trace", Shape::Nothing, Effect::Plain),
    ("concat", Shape::Nothing, Effect::Plain),
    ("stringify", Shape::Nothing, Effect::Plain),
    ("include_str", Shape::Nothing, Effect::Plain),
    ("include_bytes", Shape::Nothing, Effect::Plain),
    ("env", Shape::Nothing, Effect::Plain),
    ("option_env", Shape::Nothing, Effect::Plain),
    ("line", Shape::Nothing, Effect::Plain),
    ("column", Shape::Nothing, Effect::Plain),
    ("file", Shape::Nothing, Effect::Plain),
    ("module_path", Shape::Nothing, Effect::Plain),
    ("cfg", Shape::Nothing, Effect::Plain),
];

/// The formatting trait a placeholder calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FmtTrait {
    Display,
    Debug,
    /// `{:x}`, `{:e}`, `{:p}`..: traits no lint follows.
    Other,
}

/// What a placeholder formats: an argument by position, or a name (a `name = value` argument,
/// or a variable captured from the scope: `{self}`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FmtArg {
    /// Index into [`MacroArgs::exprs`].
    Expr(usize),
    Captured(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placeholder {
    pub arg: FmtArg,
    pub trait_: FmtTrait,
}

/// A known macro's invocation, read.
#[derive(Debug)]
pub struct MacroArgs {
    pub effect: Effect,
    /// The expressions it evaluates, in order (a named argument `x = e` as `e`).
    pub exprs: Vec<Expr>,
    pub placeholders: Vec<Placeholder>,
}

/// The effect of the macro named `name`, if gomem knows it.
pub fn effect(name: &str) -> Option<Effect> {
    MACROS.iter().find(|(n, ..)| *n == name).map(|(_, _, e)| *e)
}

/// Reads a known macro's arguments; `None` for an unknown macro or arguments that do not
/// parse as the macro's shape.
pub fn read(mac: &syn::Macro) -> Option<MacroArgs> {
    read_with(mac, None)
}

/// Macro arguments read by syn's parser as a comma-separated list of expressions, kept for
/// the readers of one fn body that come after the first (`#[gomem::escape]` reads them in
/// the escape analysis, then in the arena rewrite's checks), which then do not parse them
/// again. Keyed by the macro's address: the body must not change while it is read.
#[derive(Default)]
pub struct ParsedArgs(RefCell<HashMap<*const syn::Macro, Option<Rc<ArgList>>>>);

/// A macro's arguments as syn reads `a, b, ..`.
pub type ArgList = syn::punctuated::Punctuated<Expr, syn::Token![,]>;

impl ParsedArgs {
    /// `mac`'s arguments as a list of expressions; `None` if they are not one.
    pub fn of(&self, mac: &syn::Macro) -> Option<Rc<ArgList>> {
        self.0
            .borrow_mut()
            .entry(mac as *const syn::Macro)
            .or_insert_with(|| {
                mac.parse_body_with(ArgList::parse_terminated)
                    .ok()
                    .map(Rc::new)
            })
            .clone()
    }
}

/// [`read`], taking the list of arguments from `parsed` (and leaving it there) where it
/// would parse one.
pub fn read_with(mac: &syn::Macro, parsed: Option<&ParsedArgs>) -> Option<MacroArgs> {
    let name = mac.path.segments.last()?.ident.to_string();
    let &(_, shape, effect) = MACROS.iter().find(|(n, ..)| *n == name)?;
    if shape == Shape::Nothing {
        return Some(MacroArgs {
            effect,
            exprs: Vec::new(),
            placeholders: Vec::new(),
        });
    }
    // Most invocations take only literals and names (`panic!("..")`, `write!(f, "{}", x)`):
    // read those without syn's parser, which copies the tokens into a buffer first.
    let simple = (shape != Shape::FirstExpr)
        .then(|| simple_args(&mac.tokens))
        .flatten();
    if name == "vec" && simple.is_none() {
        // `vec![e; n]`
        let repeat = mac.parse_body_with(|input: syn::parse::ParseStream| {
            let e: Expr = input.parse()?;
            let _: syn::Token![;] = input.parse()?;
            let n: Expr = input.parse()?;
            Ok(vec![e, n])
        });
        if let Ok(exprs) = repeat {
            return Some(MacroArgs {
                effect,
                exprs,
                placeholders: Vec::new(),
            });
        }
    }
    if shape == Shape::FirstExpr {
        let first = mac.parse_body_with(|input: syn::parse::ParseStream| {
            let e: Expr = input.parse()?;
            let _: proc_macro2::TokenStream = input.parse()?;
            Ok(e)
        });
        return first.ok().map(|e| MacroArgs {
            effect,
            exprs: vec![e],
            placeholders: Vec::new(),
        });
    }
    let args: Vec<Expr> = match simple {
        Some(args) => args,
        None => match parsed {
            Some(parsed) => parsed.of(mac)?.iter().cloned().collect(),
            None => mac
                .parse_body_with(ArgList::parse_terminated)
                .ok()?
                .into_iter()
                .collect(),
        },
    };
    let fmt_at = match shape {
        Shape::Format => Some(0),
        Shape::Write => Some(1),
        Shape::ExprsThenFormat(n) => Some(n),
        _ => None,
    };
    let mut exprs = Vec::with_capacity(args.len());
    let mut names = Vec::new();
    for a in args {
        match a {
            // `name = value` after the format string.
            Expr::Assign(x) if matches!(&*x.left, Expr::Path(p) if p.path.get_ident().is_some()) => {
                if let Expr::Path(p) = &*x.left {
                    names.push((p.path.get_ident().map(|i| i.to_string()), exprs.len()));
                }
                exprs.push(*x.right);
            }
            e => exprs.push(e),
        }
    }
    let placeholders = match fmt_at.and_then(|i| exprs.get(i)) {
        Some(Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s),
            ..
        })) => {
            let first = fmt_at.unwrap_or(0) + 1;
            parse_placeholders(&s.value())
                .into_iter()
                .filter_map(|(arg, trait_)| {
                    let arg = match arg {
                        RawArg::Position(i) => FmtArg::Expr(first + i),
                        RawArg::Name(n) => {
                            match names.iter().find(|(m, _)| m.as_deref() == Some(&n)) {
                                Some((_, i)) => FmtArg::Expr(*i),
                                None => FmtArg::Captured(n),
                            }
                        }
                    };
                    if let FmtArg::Expr(i) = arg {
                        if i >= exprs.len() {
                            return None;
                        }
                    }
                    Some(Placeholder { arg, trait_ })
                })
                .collect()
        }
        _ => Vec::new(),
    };
    Some(MacroArgs {
        effect,
        exprs,
        placeholders,
    })
}

/// `a, b, ..` where each argument is one literal or one name (what syn reads as
/// [`Expr::Lit`] and a one-segment [`Expr::Path`]), with an optional trailing comma; `None`
/// for anything else, which syn's parser reads.
fn simple_args(tokens: &proc_macro2::TokenStream) -> Option<Vec<Expr>> {
    use proc_macro2::TokenTree;
    let mut args = Vec::new();
    let mut want_arg = true;
    for tt in tokens.clone() {
        match tt {
            TokenTree::Punct(p) if !want_arg && p.as_char() == ',' => want_arg = true,
            TokenTree::Literal(l) if want_arg => {
                args.push(Expr::Lit(syn::ExprLit {
                    attrs: Vec::new(),
                    lit: syn::Lit::new(l),
                }));
                want_arg = false;
            }
            TokenTree::Ident(i) if want_arg && plain_name(&i) => {
                args.push(Expr::Path(syn::ExprPath {
                    attrs: Vec::new(),
                    qself: None,
                    path: syn::Path::from(i),
                }));
                want_arg = false;
            }
            _ => return None,
        }
    }
    Some(args)
}

/// Whether syn reads the identifier alone as a path expression: `self` or a name that is no
/// keyword (`true`, `false` and the rest have meanings of their own).
fn plain_name(i: &proc_macro2::Ident) -> bool {
    if i == "self" {
        return true;
    }
    !matches!(
        i.to_string().as_str(),
        "_" | "abstract"
            | "as"
            | "async"
            | "await"
            | "become"
            | "box"
            | "break"
            | "const"
            | "continue"
            | "crate"
            | "do"
            | "dyn"
            | "else"
            | "enum"
            | "extern"
            | "false"
            | "final"
            | "fn"
            | "for"
            | "if"
            | "impl"
            | "in"
            | "let"
            | "loop"
            | "macro"
            | "match"
            | "mod"
            | "move"
            | "mut"
            | "override"
            | "priv"
            | "pub"
            | "ref"
            | "return"
            | "Self"
            | "static"
            | "struct"
            | "super"
            | "trait"
            | "true"
            | "try"
            | "type"
            | "typeof"
            | "unsafe"
            | "unsized"
            | "use"
            | "virtual"
            | "where"
            | "while"
            | "yield"
            | "builtin"
    )
}

enum RawArg {
    Position(usize),
    Name(String),
}

/// The placeholders of a format string: which argument each formats, and with which trait.
fn parse_placeholders(fmt: &str) -> Vec<(RawArg, FmtTrait)> {
    let mut out = Vec::new();
    let mut next = 0;
    let mut chars = fmt.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '{' if chars.peek().map(|(_, c)| *c) == Some('{') => {
                chars.next();
            }
            '{' => {
                let rest = &fmt[i + 1..];
                let Some(end) = rest.find('}') else { break };
                let inner = &rest[..end];
                let (arg, spec) = inner.split_once(':').unwrap_or((inner, ""));
                // `{:.*}` takes the precision from the next positional argument first.
                if spec.contains(".*") {
                    next += 1;
                }
                let arg = arg.trim();
                let raw = if arg.is_empty() {
                    next += 1;
                    RawArg::Position(next - 1)
                } else if let Ok(n) = arg.parse::<usize>() {
                    RawArg::Position(n)
                } else {
                    RawArg::Name(arg.to_string())
                };
                let trait_ = match spec.chars().last() {
                    None => FmtTrait::Display,
                    Some('?') => FmtTrait::Debug,
                    Some('x' | 'X' | 'o' | 'b' | 'e' | 'E' | 'p') => FmtTrait::Other,
                    Some(_) => FmtTrait::Display,
                };
                out.push((raw, trait_));
                for _ in 0..inner.chars().count() + 1 {
                    chars.next();
                }
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_str(src: &str) -> MacroArgs {
        let mac: syn::Macro = syn::parse_str(src).unwrap();
        read(&mac).unwrap()
    }

    #[test]
    fn placeholders_name_their_arguments_and_traits() {
        let m = read_str(r#"write!(f, "{} and {:?}, {{literal}} {x:>4} {1:#?} {:x}", a, b, c)"#);
        assert_eq!(m.exprs.len(), 5);
        assert_eq!(
            m.placeholders,
            vec![
                Placeholder {
                    arg: FmtArg::Expr(2),
                    trait_: FmtTrait::Display
                },
                Placeholder {
                    arg: FmtArg::Expr(3),
                    trait_: FmtTrait::Debug
                },
                Placeholder {
                    arg: FmtArg::Captured("x".into()),
                    trait_: FmtTrait::Display
                },
                Placeholder {
                    arg: FmtArg::Expr(3),
                    trait_: FmtTrait::Debug
                },
                Placeholder {
                    arg: FmtArg::Expr(4),
                    trait_: FmtTrait::Other
                },
            ]
        );
    }

    #[test]
    fn named_arguments_and_asserts() {
        let m = read_str(r#"println!("{v}", v = self)"#);
        assert_eq!(m.placeholders[0].arg, FmtArg::Expr(1));
        let m = read_str(r#"assert_eq!(a, b, "{}", c)"#);
        assert_eq!(m.effect, Effect::MayPanic);
        assert_eq!(m.placeholders[0].arg, FmtArg::Expr(3));
        let m = read_str("vec![f(); n]");
        assert_eq!(m.exprs.len(), 2);
        let m = read_str("matches!(x.kind(), Kind::A | Kind::B)");
        assert_eq!(m.exprs.len(), 1);
        assert!(read(&syn::parse_str("my_macro!(a, b)").unwrap()).is_none());
    }
}
