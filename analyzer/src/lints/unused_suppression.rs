//! `unused_suppression`: a `gomem::allow` that silences nothing, or names no lint.
//!
//! Reported by [`crate::suppress::apply`] after every other finding is known.

use crate::lint::{Check, Lint};
use crate::lint_defs::LintId;

pub const LINT: Lint = Lint {
    id: LintId::UnusedSuppression,
    summary: "a suppression (`#[gomem::allow]`, `// gomem: allow`) that silences nothing",
    explanation: r#"## What it finds
A `#[gomem::allow(..)]` attribute or `// gomem: allow(..)` comment under which no finding of
the lints it names starts, or one that names a lint gomem does not have.

## Why it matters
Suppressions outlive the code they were written for. A stale one hides nothing today but
will silently hide the next real finding at that place; a misspelt lint name hides nothing
ever, while its author believes it works. Like rustc's unused `allow`, reporting them keeps
the set of exceptions honest.

## Example
```rust
// gomem: allow(unjoined_task) the worker is joined in shutdown()
let handle = std::thread::spawn(work); // (now joined below: nothing to silence)
handle.join().unwrap();
```

## How to fix
Remove the suppression, or fix the lint's name (`cargo gomem-lint --list`).

## What it does not report
Suppressions of lints that are turned off for the run (`-A lint`): they may be needed when the
lint is on.
"#,
    check: Check::Builtin,
};
