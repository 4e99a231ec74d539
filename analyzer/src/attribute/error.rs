//! The errors the attribute reports at compile time: a span in the item and a message, which
//! the macro crate turns into `compile_error!`s at the compiler's spans.

use crate::span::Span;

/// An error the attribute reports at compile time.
#[derive(Debug)]
pub struct Error {
    pub span: Span,
    pub message: String,
}
