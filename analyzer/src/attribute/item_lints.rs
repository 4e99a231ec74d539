//! The lints that look inside one item, run by the attribute on the item it annotates,
//! through the same driver as `cargo gomem-lint`, so that the two agree; deny-level findings
//! become compile errors.

use std::path::PathBuf;
use std::sync::{mpsc, Mutex};

use proc_macro2::{Delimiter, TokenStream, TokenTree};
use syn::buffer::{Cursor, TokenBuffer};

use super::error::Error;
use crate::config::Config;
use crate::lint_defs::{Level, LintId};
use crate::workspace::Workspace;

/// The lints that look inside one item, which the attribute runs on the item it annotates.
pub const ITEM_LINTS: [LintId; 5] = [
    LintId::UnjoinedTask,
    LintId::LeakedAllocation,
    LintId::UnboundedRecursion,
    LintId::UnboundedLoopGrowth,
    LintId::LargeStackValue,
];

/// Whether `item` holds anything [`ITEM_LINTS`] look for. When it does not, the macro skips
/// [`lint`] (the whole lint pipeline, most of the attribute's cost at build time). The test
/// over-approximates each lint's trigger at the token level:
/// - unjoined_task: an identifier containing `spawn` (`thread::spawn`, `spawn_local`,
///   `Builder::spawn`, a `use .. spawn as go`);
/// - leaked_allocation: `leak`, `forget`, `ManuallyDrop`, `into_raw`, `into_raw_parts`;
/// - unbounded_loop_growth: `loop` or `while`;
/// - large_stack_value: an array type or repeat expression (`[_; _]`), or `stack_size`;
/// - unbounded_recursion: a fn of the item whose name comes up again in it.
pub fn has_lint_triggers(item: &TokenStream) -> bool {
    has_group_triggers(TokenBuffer::new2(item.clone()).begin(), false)
        || has_word_triggers(&item.to_string())
}

/// The part of [`has_lint_triggers`] that looks at groups, on syn's buffer of the item: an
/// array type or repeat expression (`[_; _]`) at any depth, and, when `fragments` is asked
/// for, an invisible group (a fragment a `macro_rules!` macro passed in). The proc macro's
/// direct path runs it on the buffer it then parses, and [`has_word_triggers`] on the item
/// printed: two cheap passes instead of a walk that turns every identifier into a string,
/// which on the compiler's tokens is a call into the compiler and an allocation each.
pub fn has_group_triggers(mut cursor: Cursor, fragments: bool) -> bool {
    while !cursor.eof() {
        if let Some((inside, delimiter, _, after)) = cursor.any_group() {
            let found = match delimiter {
                Delimiter::None if fragments => true,
                Delimiter::Bracket => {
                    top_level(inside)
                        .any(|t| matches!(t, TokenTree::Punct(p) if p.as_char() == ';'))
                        || has_group_triggers(inside, fragments)
                }
                _ => has_group_triggers(inside, fragments),
            };
            if found {
                return true;
            }
            cursor = after;
        } else {
            match cursor.token_tree() {
                Some((_, next)) => cursor = next,
                None => break,
            }
        }
    }
    false
}

/// The tokens at the top level of `cursor` that are not groups (those are stepped over, not
/// cloned).
fn top_level(mut cursor: Cursor<'_>) -> impl Iterator<Item = TokenTree> + '_ {
    std::iter::from_fn(move || loop {
        if let Some((_, _, _, after)) = cursor.any_group() {
            cursor = after;
            continue;
        }
        let (tree, next) = cursor.token_tree()?;
        cursor = next;
        return Some(tree);
    })
}

/// The identifier triggers of [`has_lint_triggers`] in `text`, the item printed: a word of
/// the list, or the name after a `fn` that comes up again. Words inside string and char
/// literals and comments do not count.
pub fn has_word_triggers(text: &str) -> bool {
    let mut fns: Vec<&str> = Vec::new();
    let mut all: Vec<&str> = Vec::new();
    let mut after_fn = false;
    for (word, right_after) in crate::parse::words(text) {
        all.push(word);
        if word.contains("spawn")
            || matches!(
                word,
                "leak"
                    | "forget"
                    | "ManuallyDrop"
                    | "into_raw"
                    | "into_raw_parts"
                    | "loop"
                    | "while"
                    | "stack_size"
            )
        {
            return true;
        }
        if after_fn && right_after {
            fns.push(word);
        }
        after_fn = word == "fn";
    }
    fns.iter()
        .any(|f| all.iter().filter(|w| *w == f).nth(1).is_some())
}

/// Runs [`ITEM_LINTS`] over `text`, the annotated item as written, with the same pipeline
/// as `cargo gomem-lint` (so `#[gomem::allow]` inside the item works), and returns the
/// deny-level findings as errors. Warnings are left to the command line: a proc macro on
/// stable Rust cannot emit them.
pub fn lint(text: &str) -> Vec<Error> {
    // A proc macro is called once per annotated item: the analyses run one after the other on
    // one thread that lives as long as the compiler process, instead of starting deep-stack
    // threads for every item (which cost more than the analysis).
    type Request = (String, mpsc::Sender<Vec<Error>>);
    static SERVICE: Mutex<Option<mpsc::Sender<Request>>> = Mutex::new(None);
    let mut service = SERVICE.lock().unwrap_or_else(|e| e.into_inner());
    for _ in 0..2 {
        let sender = service.get_or_insert_with(|| {
            let (tx, rx) = mpsc::channel::<Request>();
            // Should the thread not start, `rx` is gone and sending fails below: no lints,
            // but the item still compiles (the command line lints it).
            let _ = std::thread::Builder::new()
                .name("gomem-escape-lint".into())
                .stack_size(crate::parse::STACK_SIZE)
                .spawn(move || {
                    for (text, reply) in rx {
                        let errors = std::panic::catch_unwind(|| lint_now(&text));
                        let _ = reply.send(errors.unwrap_or_default());
                    }
                });
            tx
        });
        let (reply, answer) = mpsc::channel();
        if sender.send((text.to_string(), reply)).is_ok() {
            return answer.recv().unwrap_or_default();
        }
        // The thread is gone: start another once.
        *service = None;
    }
    Vec::new()
}

fn lint_now(text: &str) -> Vec<Error> {
    let workspace = Workspace::from_text(PathBuf::from("/gomem-escape/item.rs"), text);
    let checks = ITEM_LINTS
        .iter()
        .map(|&id| (id, crate::lints::lint(id).check))
        .collect();
    let analysis = crate::driver::analyze_on_this_thread(workspace, Config::default(), checks);
    analysis
        .diagnostics
        .into_iter()
        .filter(|d| ITEM_LINTS.contains(&d.lint) && d.level == Level::Deny)
        .map(|d| {
            let mut message = format!("{} [gomem::{}]", d.message, d.lint.name());
            if !d.primary.message.is_empty() {
                message.push_str(&format!("\nnote: {}", d.primary.message));
            }
            for note in &d.notes {
                message.push_str(&format!("\nnote: {note}"));
            }
            for help in &d.help {
                message.push_str(&format!("\nhelp: {help}"));
            }
            Error {
                span: d.primary.span,
                message,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::ToTokens;

    /// Skipping the lints is safe only if no item without triggers has a finding: checked on
    /// every item of the item lints' fixtures (whose marked items must fire), linted alone as
    /// the attribute lints them.
    #[test]
    fn items_without_lint_triggers_have_no_item_lint_findings() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/lints");
        let mut with_findings = 0;
        for lint in ITEM_LINTS {
            let path = format!("{dir}/{}.rs", lint.name());
            let text = std::fs::read_to_string(&path).unwrap();
            let file = syn::parse_file(&text).unwrap();
            for item in file.items {
                let tokens = item.to_token_stream();
                let item_text = format!(" {tokens}");
                // Every finding counts, whatever its level: `#[gomem::deny]` can raise one.
                let workspace = Workspace::from_text(PathBuf::from("/item.rs"), &item_text);
                let checks = ITEM_LINTS
                    .iter()
                    .map(|&id| (id, crate::lints::lint(id).check))
                    .collect();
                let analysis =
                    crate::driver::analyze_on_this_thread(workspace, Config::default(), checks);
                if analysis
                    .diagnostics
                    .iter()
                    .any(|d| ITEM_LINTS.contains(&d.lint))
                {
                    with_findings += 1;
                    assert!(
                        has_lint_triggers(&tokens),
                        "{path}: an item with findings has no trigger: {item_text}"
                    );
                }
            }
        }
        assert!(
            with_findings >= 10,
            "the fixtures have findings to check: {with_findings}"
        );
        let plain: TokenStream = syn::parse_quote! {
            fn f(text: &str) -> usize {
                let mut words = Vec::new();
                for c in text.chars() { if c.is_alphabetic() { words.push(c); } }
                words.len() + [1, 2].len()
            }
        };
        assert!(!has_lint_triggers(&plain));
    }

    /// The words the trigger test reads skip literals and comments, and a fn's name counts
    /// only when it follows `fn` (not `fn(u8)`, a fn pointer type).
    #[test]
    fn word_triggers_skip_literals_and_comments() {
        let triggers = has_word_triggers;
        assert!(triggers("fn f(n: u32) -> u32 { f(n - 1) }"));
        assert!(triggers("fn r#match() { r#match() }"));
        assert!(triggers("fn f() { std::thread::spawn(|| ()); }"));
        assert!(triggers("fn f() { loop {} }"));
        assert!(!triggers("/// `f` calls nothing\nfn f() -> u32 { 1 }"));
        assert!(!triggers("fn f() -> &'static str { \"f spawn loop\" }"));
        assert!(!triggers(
            "fn f() -> &'static str { r#\"spawn \"quoted\" f\"# }"
        ));
        assert!(!triggers(
            "fn f() -> char { let _c = '\\''; 'f' } /* f /* spawn */ leak */"
        ));
        assert!(!triggers("fn f(g: fn(u8) -> u8) -> u8 { g(1) + g(2) }"));
        assert!(!triggers("fn f<'f>(x: &'f u8) -> &'f u8 { x }"));
    }

    #[test]
    fn deny_level_findings_inside_the_item_become_errors() {
        let src = " fn f() { for i in 0..10 { let b = Box::new(i); Box::leak(b); } \
                   let _ = std::thread::spawn(|| 1); }";
        let errors = lint(src);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].message.contains("[gomem::leaked_allocation]"),
            "{errors:?}"
        );
        assert_eq!(&src[errors[0].span.range()], "Box::leak");
        assert!(lint(" fn g() { let b = Box::new(1); drop(b); }").is_empty());
    }
}
