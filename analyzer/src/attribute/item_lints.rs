//! The lints that look inside one item, run by the attribute on the item it annotates,
//! through the same driver as `cargo gomem-lint`, so that the two agree; deny-level findings
//! become compile errors.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{mpsc, Mutex};

use proc_macro2::TokenStream;

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
    scan(item, false)
}

/// Whether `item` has lint triggers (see [`has_lint_triggers`]) or holds an invisible group
/// (a fragment a `macro_rules!` macro passed in): the items the attribute must read as text.
/// One walk over the tokens, for the proc macro's direct path.
pub fn has_lint_triggers_or_fragments(item: &TokenStream) -> bool {
    scan(item, true)
}

fn scan(item: &TokenStream, fragments: bool) -> bool {
    fn walk(
        tokens: &TokenStream,
        names: &mut HashMap<String, usize>,
        fns: &mut Vec<String>,
        fragments: bool,
    ) -> bool {
        let mut after_fn = false;
        for tree in tokens.clone() {
            match tree {
                proc_macro2::TokenTree::Ident(ident) => {
                    let name = ident.to_string();
                    if name.contains("spawn")
                        || matches!(
                            name.as_str(),
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
                    if after_fn {
                        fns.push(name.clone());
                    }
                    after_fn = name == "fn";
                    *names.entry(name).or_default() += 1;
                }
                proc_macro2::TokenTree::Group(group) => {
                    after_fn = false;
                    if fragments && group.delimiter() == proc_macro2::Delimiter::None {
                        return true;
                    }
                    if group.delimiter() == proc_macro2::Delimiter::Bracket
                        && group.stream().into_iter().any(
                            |t| matches!(t, proc_macro2::TokenTree::Punct(p) if p.as_char() == ';'),
                        )
                    {
                        return true;
                    }
                    if walk(&group.stream(), names, fns, fragments) {
                        return true;
                    }
                }
                _ => after_fn = false,
            }
        }
        false
    }
    let (mut names, mut fns) = (HashMap::new(), Vec::new());
    walk(item, &mut names, &mut fns, fragments)
        || fns.iter().any(|f| names.get(f).is_some_and(|&n| n > 1))
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
