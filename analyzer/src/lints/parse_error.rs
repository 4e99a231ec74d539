//! `parse_error`: a file the analyzer could not read or parse.
//!
//! The check is not a pass over syntax (there is none): the driver reports these while it
//! reads files and follows the module tree, using the constructors below.

use std::path::PathBuf;

use crate::diagnostic::Diagnostic;
use crate::lint::{Check, Lint};
use crate::lint_defs::LintId;
use crate::modtree::ModDecl;
use crate::parse::{FailureKind, ParseFailure};

pub const LINT: Lint = Lint {
    id: LintId::ParseError,
    summary: "a file the analyzer could not read or parse",
    explanation: r#"## What it finds
A source file that gomem could not analyze: a syntax error, a file that is not valid UTF-8,
a file nested too deeply to parse safely, or a `mod foo;` whose file does not exist.

## Why it matters
Nothing in that file is checked, so leaks in it go unreported. Every other file is still
analyzed.

## Example
```rust
mod helpers; // but neither helpers.rs nor helpers/mod.rs exists
fn main() { let x = ; }
```

## How to fix
Fix the syntax error or add the missing file; `cargo check` shows the same problem. If the
file is only compiled with a feature or on another platform, put the `mod` behind `#[cfg(..)]`:
gomem does not report missing files of `cfg`-gated modules.

## What it does not report
Files that are not part of any module tree (in cargo mode) are not read at all; in plain-path
mode every `.rs` file under the given folders is read.
With `--with-check`, what rustc reports itself (a syntax error, a file that is not UTF-8, a
missing module file) is left to rustc's messages, so the editor shows it once; a file skipped
for its nesting is still reported: rustc may well compile it.
"#,
    check: Check::Builtin,
};

/// The diagnostic for a file that does not parse.
pub fn diagnostic(failure: &ParseFailure) -> Diagnostic {
    let d = Diagnostic::new(LintId::ParseError, failure.span, &failure.message);
    match failure.kind {
        FailureKind::Syntax => d
            .primary_label("the parser stopped here")
            .note("the item that holds this error was not analyzed; the rest of the file was")
            .help("fix the syntax error (`cargo check` reports it too)"),
        FailureKind::Delimiter => d
            .primary_label("this delimiter does not balance")
            .note("the lines of the item around it were not analyzed; the rest of the file was")
            .help("close or remove the delimiter (`cargo check` reports it too)"),
        FailureKind::TooDeep => d
            .primary_label("in this file")
            .note("parsing it could exhaust the analyzer's stack, so it was skipped")
            .help("split the deeply nested expression into smaller parts"),
    }
}

/// The diagnostic for `mod name;` with no file.
pub fn missing_module(decl: &ModDecl, tried: &[PathBuf]) -> Diagnostic {
    let tried: Vec<_> = tried.iter().map(|p| format!("`{}`", p.display())).collect();
    Diagnostic::new(LintId::ParseError, decl.span, format!("file not found for module `{}`", decl.name))
        .primary_label("declared here")
        .note(format!("looked for {}", tried.join(" and ")))
        .help(format!(
            "create the file, or put the declaration behind `#[cfg(..)]` if module `{}` only exists on some builds",
            decl.name
        ))
}
