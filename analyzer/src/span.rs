//! Source locations as the analyzer stores them: a file and a byte range.
//!
//! syn hands out `proc_macro2::Span`s, which only mean something on the thread that parsed
//! the file (they index a thread-local source map). Everything that leaves the parsing thread
//! (index entries, diagnostics) carries a [`Span`] instead: plain data, `Send`, comparable,
//! and directly usable by codespan-reporting and the JSON reporter.

use std::ops::Range;

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
        Span::new(file, span.byte_range())
    }

    /// The span from the start of `tokens` to their end, e.g. a whole expression.
    pub fn of_tokens(file: FileId, tokens: &impl syn::spanned::Spanned) -> Span {
        Span::of(file, tokens.span())
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
