//! Integer constant expressions, as far as they can be computed from the source alone.
//!
//! Array lengths and sizes are often spelled `64 * 1024 * 1024`, `1 << 20` or `N * SIZE`
//! with `N` a `const` elsewhere in the crate. [`ConstExpr`] is a small owned copy of such an
//! expression (syn trees cannot leave the thread that parsed them); evaluation resolves paths
//! through a callback, so the index can look up crate constants. All arithmetic is checked:
//! an overflow or an unknown operand makes the whole value unknown, never a wrong number.
//!
//! The integer types' own constants (`u16::MAX`, `i32::MIN`, `u64::BITS`, also through the
//! old `std::u16::MAX`) are known when the crate does not define the path itself: buffers are
//! often sized `[0u8; u16::MAX as usize + 1]`. `usize` and `isize` are taken as 64 bits, the
//! targets gomem is run for.

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConstExpr {
    Int(u128),
    /// A path to a constant, e.g. `N` or `crate::limits::MAX`.
    Path(Vec<String>),
    Neg(Box<ConstExpr>),
    Binary(BinOp, Box<ConstExpr>, Box<ConstExpr>),
    Unknown,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    Shl,
    Shr,
    BitAnd,
    BitOr,
    BitXor,
    Pow,
}

impl ConstExpr {
    /// Copies the parts of `expr` that can be computed; everything else becomes `Unknown`.
    pub fn from_syn(expr: &syn::Expr) -> ConstExpr {
        use syn::Expr;
        match expr {
            Expr::Lit(lit) => match &lit.lit {
                syn::Lit::Int(i) => i
                    .base10_parse::<u128>()
                    .map_or(ConstExpr::Unknown, ConstExpr::Int),
                _ => ConstExpr::Unknown,
            },
            Expr::Paren(e) => ConstExpr::from_syn(&e.expr),
            Expr::Group(e) => ConstExpr::from_syn(&e.expr),
            Expr::Cast(e) => ConstExpr::from_syn(&e.expr),
            Expr::Block(b) if b.block.stmts.len() == 1 => match &b.block.stmts[0] {
                syn::Stmt::Expr(e, None) => ConstExpr::from_syn(e),
                _ => ConstExpr::Unknown,
            },
            Expr::Path(p) if p.qself.is_none() => {
                ConstExpr::Path(crate::syntax::segment_names(&p.path))
            }
            Expr::Unary(u) if matches!(u.op, syn::UnOp::Neg(_)) => {
                ConstExpr::Neg(Box::new(ConstExpr::from_syn(&u.expr)))
            }
            Expr::Binary(b) => {
                use syn::BinOp as B;
                let op = match b.op {
                    B::Add(_) => BinOp::Add,
                    B::Sub(_) => BinOp::Sub,
                    B::Mul(_) => BinOp::Mul,
                    B::Div(_) => BinOp::Div,
                    B::Rem(_) => BinOp::Rem,
                    B::Shl(_) => BinOp::Shl,
                    B::Shr(_) => BinOp::Shr,
                    B::BitAnd(_) => BinOp::BitAnd,
                    B::BitOr(_) => BinOp::BitOr,
                    B::BitXor(_) => BinOp::BitXor,
                    _ => return ConstExpr::Unknown,
                };
                ConstExpr::Binary(
                    op,
                    Box::new(ConstExpr::from_syn(&b.left)),
                    Box::new(ConstExpr::from_syn(&b.right)),
                )
            }
            // `2usize.pow(20)`
            Expr::MethodCall(m) if m.method == "pow" && m.args.len() == 1 => ConstExpr::Binary(
                BinOp::Pow,
                Box::new(ConstExpr::from_syn(&m.receiver)),
                Box::new(ConstExpr::from_syn(&m.args[0])),
            ),
            _ => ConstExpr::Unknown,
        }
    }

    /// The value, with `resolve` giving the value of a path (or `None` when unknown).
    /// Negative results are unknown: sizes and lengths are never negative.
    pub fn eval(&self, resolve: &mut dyn FnMut(&[String]) -> Option<u128>) -> Option<u128> {
        self.eval_signed(resolve)
            .and_then(|v| u128::try_from(v).ok())
    }

    fn eval_signed(&self, resolve: &mut dyn FnMut(&[String]) -> Option<u128>) -> Option<i128> {
        Some(match self {
            ConstExpr::Int(v) => i128::try_from(*v).ok()?,
            ConstExpr::Path(p) => match resolve(p) {
                Some(v) => i128::try_from(v).ok()?,
                None => integer_const(p)?,
            },
            ConstExpr::Neg(e) => e.eval_signed(resolve)?.checked_neg()?,
            ConstExpr::Binary(op, a, b) => {
                let (a, b) = (a.eval_signed(resolve)?, b.eval_signed(resolve)?);
                match op {
                    BinOp::Add => a.checked_add(b)?,
                    BinOp::Sub => a.checked_sub(b)?,
                    BinOp::Mul => a.checked_mul(b)?,
                    BinOp::Div => a.checked_div(b)?,
                    BinOp::Rem => a.checked_rem(b)?,
                    BinOp::Shl => a.checked_shl(u32::try_from(b).ok().filter(|&s| s < 127)?)?,
                    BinOp::Shr => a.checked_shr(u32::try_from(b).ok()?)?,
                    BinOp::BitAnd => a & b,
                    BinOp::BitOr => a | b,
                    BinOp::BitXor => a ^ b,
                    BinOp::Pow => a.checked_pow(u32::try_from(b).ok()?)?,
                }
            }
            ConstExpr::Unknown => return None,
        })
    }
}

/// `u16::MAX`, `i8::MIN`, `u32::BITS`, `std::u64::MAX`: an integer type's constant.
/// `u128::MAX` does not fit the evaluator's `i128`, and is unknown.
fn integer_const(path: &[String]) -> Option<i128> {
    let path = match path {
        [krate, rest @ ..] if krate == "std" || krate == "core" => rest,
        _ => path,
    };
    let [ty, name] = path else {
        return None;
    };
    let (signed, bits): (bool, u32) = match ty.as_str() {
        "u8" => (false, 8),
        "u16" => (false, 16),
        "u32" => (false, 32),
        "u64" | "usize" => (false, 64),
        "u128" => (false, 128),
        "i8" => (true, 8),
        "i16" => (true, 16),
        "i32" => (true, 32),
        "i64" | "isize" => (true, 64),
        "i128" => (true, 128),
        _ => return None,
    };
    match (name.as_str(), signed) {
        ("BITS", _) => Some(i128::from(bits)),
        ("MIN", false) => Some(0),
        // -1 << (bits - 1) is the type's MIN, and its complement the type's MAX.
        ("MIN", true) => Some(-1i128 << (bits - 1)),
        ("MAX", true) => Some(!(-1i128 << (bits - 1))),
        ("MAX", false) => 1i128.checked_shl(bits)?.checked_sub(1),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(src: &str) -> Option<u128> {
        let e: syn::Expr = syn::parse_str(src).unwrap();
        ConstExpr::from_syn(&e).eval(&mut |p| (p == ["MIB"]).then_some(1 << 20))
    }

    #[test]
    fn literal_arithmetic() {
        assert_eq!(eval("64 * 1024 * 1024"), Some(64 << 20));
        assert_eq!(eval("1 << 20"), Some(1 << 20));
        assert_eq!(eval("(1usize << 10) as usize + 0x10"), Some(1040));
        assert_eq!(eval("2usize.pow(20)"), Some(1 << 20));
        assert_eq!(eval("100 * MIB"), Some(100 << 20));
        assert_eq!(eval("{ 3 - 1 }"), Some(2));
    }

    #[test]
    fn integer_types_constants() {
        assert_eq!(eval("u16::MAX as usize + 1"), Some(1 << 16));
        assert_eq!(eval("std::u32::MAX"), Some(u128::from(u32::MAX)));
        assert_eq!(eval("usize::MAX"), Some(u128::from(u64::MAX)));
        assert_eq!(eval("i64::MAX"), Some(i64::MAX as u128));
        assert_eq!(eval("i128::MAX"), Some(i128::MAX as u128));
        assert_eq!(eval("i8::MIN + 200"), Some(72));
        assert_eq!(eval("i128::MIN + i128::MAX + 1"), Some(0));
        assert_eq!(eval("u8::MIN"), Some(0));
        assert_eq!(eval("u64::BITS * 2"), Some(128));
        // Not an integer type's, or not a constant it has.
        assert_eq!(eval("f32::MAX"), None);
        assert_eq!(eval("u8::ZERO"), None);
        assert_eq!(eval("mine::u8::MAX"), None);
        // The crate's own path wins.
        let e: syn::Expr = syn::parse_str("u8::MAX").unwrap();
        assert_eq!(ConstExpr::from_syn(&e).eval(&mut |_| Some(7)), Some(7));
    }

    #[test]
    fn unknown_or_overflowing_is_none() {
        assert_eq!(eval("N * 4"), None);
        assert_eq!(eval("1 << 200"), None);
        assert_eq!(eval("u128::MAX"), None);
        assert_eq!(eval("1 - 2"), None);
        assert_eq!(eval("f(3)"), None);
        assert_eq!(eval("7 / 0"), None);
    }
}
