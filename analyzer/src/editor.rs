//! What an editor's check needs from one run: which packages to lint and which `cargo check`
//! to run beside it (`--with-check`, `--saved-file`, `-p`).
//!
//! rust-analyzer's `check.overrideCommand` replaces its own `cargo check`, and rust-analyzer
//! treats the output as it treats cargo's: the first message about a package (an artifact or a
//! diagnostic) replaces every diagnostic it showed for that package, and when the run ends it
//! drops the older diagnostics of the packages it asked about (with `check.workspace = true`,
//! of all packages). So one run must be complete for every package it speaks of: gomem lints
//! exactly the members that the check compiles, and the check covers what rust-analyzer's own
//! check covers (`--all-targets`, so errors in `#[cfg(test)]` code show).

use std::io::Write;
use std::path::Path;
use std::process::Command;

use crate::workspace::Workspace;

/// What the check runs on; the members to lint are those [`narrow`] leaves in the workspace.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Scope {
    /// `-p` arguments for `cargo check`; empty for `--workspace`.
    pub check_packages: Vec<String>,
}

/// Narrows `ws` (every member, as loaded) to the packages the run lints, and says what the
/// check runs on.
///
/// - `--saved-file FILE` in a member: that package and the members it depends on (what
///   `cargo check -p` compiles, and what rust-analyzer refreshes), checked with `-p` and its
///   package id. A file outside every member (a path dependency's) lints and checks the whole
///   workspace: the run cannot tell whether rust-analyzer will then drop every package's
///   diagnostics (`check.workspace = true`) or only the dependency's, and a complete run is
///   right in both cases.
/// - `-p SPEC`: those packages, checked with the same specs; with `--with-check`, also the
///   members they depend on, whose messages the check prints too. A package id of a package
///   outside the workspace (rust-analyzer's `{label}` for a path dependency) lints nothing
///   and is still checked.
pub fn narrow(
    ws: &mut Workspace,
    specs: &[String],
    saved_file: Option<&Path>,
    with_check: bool,
) -> Result<Scope, String> {
    if let Some(file) = saved_file {
        let abs = std::fs::canonicalize(file)
            .map_err(|e| format!("cannot find the saved file `{}`: {e}", file.display()))?;
        let Some(package) = ws.package_of_file(&abs) else {
            // Not `eprintln!`: a closed stderr must not panic (see `cli::tell`).
            let _ = writeln!(
                std::io::stderr(),
                "gomem-lint: `{}` is in no package of the workspace at `{}`: \
                 linting the whole workspace",
                file.display(),
                ws.root.display(),
            );
            return Ok(Scope::default());
        };
        let members = ws.with_member_deps(&[package]);
        let scope = Scope {
            check_packages: vec![ws.package(package).cargo_id.clone()],
        };
        ws.retain_packages(&members);
        return Ok(scope);
    }
    if !specs.is_empty() {
        let selected = ws.select(specs)?;
        let members = match with_check {
            true => ws.with_member_deps(&selected),
            false => selected,
        };
        ws.retain_packages(&members);
    }
    Ok(Scope {
        check_packages: specs.to_vec(),
    })
}

/// `cargo check` (or `clippy`, ...) `--message-format=json` on `scope`, over every target
/// unless `check_args` choose targets themselves: rust-analyzer's own check passes
/// `--all-targets`, so the override must too, or errors in tests, examples and benches vanish
/// from the editor.
pub fn check_command(
    cargo: &std::ffi::OsStr,
    subcommand: &str,
    manifest_path: Option<&Path>,
    scope: &Scope,
    check_args: &[String],
) -> Command {
    let mut cmd = Command::new(cargo);
    cmd.arg(subcommand).arg("--message-format=json");
    if let Some(m) = manifest_path {
        cmd.arg("--manifest-path").arg(m);
    }
    for p in &scope.check_packages {
        cmd.arg("-p").arg(p);
    }
    if scope.check_packages.is_empty() {
        cmd.arg("--workspace");
    }
    if !selects_targets(check_args) {
        cmd.arg("--all-targets");
    }
    cmd.args(check_args);
    cmd
}

/// Whether cargo arguments choose the targets to build (then `--all-targets` is not added).
/// Arguments after a `--` go to rustc, not cargo.
pub fn selects_targets(args: &[String]) -> bool {
    const TARGET_FLAGS: &[&str] = &[
        "--lib",
        "--bin",
        "--bins",
        "--example",
        "--examples",
        "--test",
        "--tests",
        "--bench",
        "--benches",
        "--all-targets",
    ];
    args.iter()
        .take_while(|a| *a != "--")
        .any(|a| TARGET_FLAGS.contains(&a.split('=').next().unwrap_or(a)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(cmd: &Command) -> Vec<String> {
        cmd.get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn checks_every_target_unless_told_which() {
        let all = |extra: &[&str]| {
            let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
            let cmd = check_command("cargo".as_ref(), "check", None, &Scope::default(), &extra);
            args(&cmd).contains(&"--all-targets".to_string())
        };
        assert!(all(&[]));
        assert!(all(&["--features", "x"]));
        assert!(all(&["--", "--test-this-rustc-flag"]));
        assert!(!all(&["--lib"]));
        assert!(!all(&["--bin=server"]));
        assert!(!all(&["--tests"]));
    }

    #[test]
    fn a_package_scope_replaces_workspace() {
        let scope = Scope {
            check_packages: vec!["path+file:///w/b#0.1.0".into()],
        };
        let cmd = check_command("cargo".as_ref(), "check", None, &scope, &[]);
        assert_eq!(
            args(&cmd),
            [
                "check",
                "--message-format=json",
                "-p",
                "path+file:///w/b#0.1.0",
                "--all-targets"
            ]
        );
    }
}
