//! Findings: what a lint reports, before any reporter formats it.
//!
//! A [`Diagnostic`] is plain data with byte spans. Lints build them, the driver applies
//! levels, reporters render them; nothing here knows about terminals or JSON.

use crate::lint_defs::{Level, LintId};
use crate::span::Span;

/// A secondary location with its explanation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    pub span: Span,
    pub message: String,
}

/// A mechanical fix: replace the text of `span` by `replacement`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suggestion {
    pub message: String,
    pub span: Span,
    pub replacement: String,
    /// True when applying it cannot change the meaning (`MachineApplicable`); false for
    /// `MaybeIncorrect`.
    pub machine_applicable: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub lint: LintId,
    /// Filled in by the driver from the lint levels; lints leave the lint's default.
    pub level: Level,
    pub message: String,
    pub primary: Label,
    pub secondary: Vec<Label>,
    /// Why it matters.
    pub notes: Vec<String>,
    /// How to fix it.
    pub help: Vec<String>,
    pub suggestions: Vec<Suggestion>,
}

impl Diagnostic {
    pub fn new(lint: LintId, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            lint,
            level: lint.default_level(),
            message: message.into(),
            primary: Label {
                span,
                message: String::new(),
            },
            secondary: Vec::new(),
            notes: Vec::new(),
            help: Vec::new(),
            suggestions: Vec::new(),
        }
    }

    pub fn primary_label(mut self, message: impl Into<String>) -> Self {
        self.primary.message = message.into();
        self
    }

    pub fn label(mut self, span: Span, message: impl Into<String>) -> Self {
        self.secondary.push(Label {
            span,
            message: message.into(),
        });
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help.push(help.into());
        self
    }

    /// Adds a mechanical fix: replace `span`'s text by `replacement`.
    pub fn suggestion(
        mut self,
        message: impl Into<String>,
        span: Span,
        replacement: impl Into<String>,
        machine_applicable: bool,
    ) -> Self {
        self.suggestions.push(Suggestion {
            message: message.into(),
            span,
            replacement: replacement.into(),
            machine_applicable,
        });
        self
    }

    pub fn level(mut self, level: Level) -> Self {
        self.level = level;
        self
    }

    /// Position for sorting: file, then offset.
    pub fn sort_key(&self) -> (crate::span::FileId, u32, u32) {
        (
            self.primary.span.file,
            self.primary.span.lo,
            self.primary.span.hi,
        )
    }
}
