//! `suppression_without_reason`: a suppression that does not say why.
//!
//! Reported by [`crate::suppress::apply`]; allowed unless `--require-reason` (or `-D`).

use crate::lint::{Check, Lint};
use crate::lint_defs::LintId;

pub const LINT: Lint = Lint {
    id: LintId::SuppressionWithoutReason,
    summary: "a suppression without a reason (denied by `--require-reason`)",
    explanation: r#"## What it finds
A `#[gomem::allow(..)]` without `reason = ".."`, or a `// gomem: allow(..)` comment with no
text after the closing parenthesis.

## Why it matters
A suppression is a claim that a finding does not apply. Without the why, the next reader
cannot tell a deliberate exception (a thread detached on purpose, a cycle broken at shutdown)
from a warning someone wanted gone. Teams that want every exception explained turn this on.

## Example
```rust
#[gomem::allow(rc_cycle)]
struct Node { next: RefCell<Option<Rc<Node>>>, prev: RefCell<Option<Rc<Node>>> }
```
Use instead:
```rust
#[gomem::allow(rc_cycle, reason = "the list is cleared by Drop for List")]
struct Node { next: RefCell<Option<Rc<Node>>>, prev: RefCell<Option<Rc<Node>>> }
```

## How to turn it on
`cargo gomem-lint --require-reason`, or `-D suppression_without_reason`. It is allowed by
default.
"#,
    check: Check::Builtin,
};
