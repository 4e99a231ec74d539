//! The `cargo-gomem-lint` binary, run as users and rust-analyzer run it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use cargo_metadata::Message;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures")
        .canonicalize()
        .unwrap()
}

fn gomem_lint(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cargo-gomem-lint"))
        .args(args)
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn json_output_is_what_rust_analyzer_reads() {
    let demo = fixtures().join("crates/demo");
    let manifest = demo.join("Cargo.toml");
    let out = gomem_lint(&[
        "gomem-lint",
        "--manifest-path",
        manifest.to_str().unwrap(),
        "--message-format=json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let metadata = cargo_metadata::MetadataCommand::new()
        .manifest_path(&manifest)
        .no_deps()
        .exec()
        .unwrap();
    let package = &metadata.packages[0];

    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    let mut compiler_messages = 0;
    for (i, line) in lines.iter().enumerate() {
        let message: Message = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("line {i} does not parse: {e}\n{line}"));
        match message {
            Message::CompilerMessage(m) => {
                compiler_messages += 1;
                assert_eq!(m.package_id, package.id);
                let code = m.message.code.as_ref().expect("a code");
                assert!(code.code.starts_with("gomem::"), "{}", code.code);
                let rendered = m.message.rendered.as_deref().unwrap();
                assert!(rendered.contains(&code.code), "{rendered}");
                let primary = m
                    .message
                    .spans
                    .iter()
                    .find(|s| s.is_primary)
                    .expect("a primary span");
                let file = Path::new(&primary.file_name);
                assert!(
                    file.is_absolute() && file.is_file(),
                    "{}",
                    primary.file_name
                );
                // The target is the one whose module tree holds the file.
                let target = package
                    .targets
                    .iter()
                    .find(|t| t.name == m.target.name && t.kind == m.target.kind)
                    .unwrap();
                let expected_kind = match file
                    .strip_prefix(&demo)
                    .unwrap()
                    .components()
                    .next()
                    .unwrap()
                    .as_os_str()
                    .to_str()
                {
                    Some("examples") => "example",
                    Some("tests") => "test",
                    _ if file.ends_with("src/main.rs") => "bin",
                    _ => "lib",
                };
                assert_eq!(
                    target.kind[0].to_string(),
                    expected_kind,
                    "{}",
                    primary.file_name
                );
                // 1-based lines and columns point at the same text as the byte offsets.
                let text = std::fs::read_to_string(file).unwrap();
                let by_bytes = &text[primary.byte_start as usize..primary.byte_end as usize];
                let line = text.lines().nth(primary.line_start - 1).unwrap();
                let by_columns: String = line
                    .chars()
                    .skip(primary.column_start - 1)
                    .take(primary.column_end - primary.column_start)
                    .collect();
                assert_eq!(by_bytes, by_columns);
                assert!(
                    by_bytes.contains("spawn") || by_bytes == "go" || by_bytes == "TABLE",
                    "{by_bytes}"
                );
            }
            Message::BuildFinished(f) => {
                assert!(f.success);
                assert_eq!(i, lines.len() - 1, "build-finished comes last");
            }
            other => panic!("unexpected message {other:?}"),
        }
    }
    // Five in the lib and the bin, one in each of the test code's files (the tests, the
    // example, the test module), which only `unwaited_child` reports by default.
    assert_eq!(compiler_messages, 9);
}

#[test]
fn exit_codes() {
    let lints = fixtures().join("lints");
    let clean = fixtures().join("clean.rs");
    // Warnings only: success.
    assert_eq!(
        gomem_lint(&[lints.join("unjoined_task.rs").to_str().unwrap()])
            .status
            .code(),
        Some(0)
    );
    // Nothing at all.
    let out = gomem_lint(&[clean.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stderr(&out).contains("no findings"), "{}", stderr(&out));
    // A deny-level finding.
    let out = gomem_lint(&[
        "-D",
        "warnings",
        lints.join("unjoined_task.rs").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("error[gomem::unjoined_task]"));
    assert_eq!(
        gomem_lint(&[fixtures().join("parse_error").to_str().unwrap()])
            .status
            .code(),
        Some(1)
    );
    // The run itself fails.
    assert_eq!(
        gomem_lint(&["--message-format", "yaml"]).status.code(),
        Some(2)
    );
    let out = gomem_lint(&["-A", "no_such_lint", clean.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("unknown lint `no_such_lint`"),
        "{}",
        stderr(&out)
    );
    let out = gomem_lint(&["/no/such/path.rs"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("/no/such/path.rs"));
}

#[test]
fn level_flags_apply_in_order() {
    let file = fixtures().join("lints/unjoined_task.rs");
    let file = file.to_str().unwrap();
    let out = gomem_lint(&["-D", "unjoined_task", "-A", "unjoined-task", file]);
    assert_eq!(out.status.code(), Some(0));
    assert!(!stderr(&out).contains("unjoined_task]"));
    let out = gomem_lint(&["-A", "unjoined_task", "-D", "gomem::unjoined_task", file]);
    assert_eq!(out.status.code(), Some(1));
    let out = gomem_lint(&["-A", "warnings", file]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stderr(&out).contains("no findings"));
}

#[test]
fn help_list_and_explain() {
    let out = gomem_lint(&["gomem-lint", "--help"]);
    let help = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "--manifest-path",
        "--message-format",
        "-D, --deny",
        "Exit status",
        "PATH",
    ] {
        assert!(help.contains(needle), "--help lacks {needle}:\n{help}");
    }
    let out = gomem_lint(&["--list"]);
    let list = String::from_utf8_lossy(&out.stdout);
    assert!(
        list.contains("unjoined_task")
            && list.contains("oversized_static")
            && !list.contains("internal_error")
    );
    // A lint with a level of its own in test code says so.
    assert!(
        list.lines()
            .any(|l| l.starts_with("unjoined_task") && l.ends_with("; in test code: allow")),
        "{list}"
    );
    let out = gomem_lint(&["--explain", "oversized-static"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("## Why it matters"));
    let out = gomem_lint(&["--explain", "unjoined_task"]);
    assert!(String::from_utf8_lossy(&out.stdout)
        .starts_with("# gomem::unjoined_task (default: warn; in test code: allow)"));
}

/// `cargo gomem-lint --explain escape | head -c 10`: the reader goes away, and the output
/// just ends, as `ls | head` does: no panic, no error.
#[test]
fn a_closed_output_pipe_ends_the_output_quietly() {
    let lints = fixtures().join("lints");
    let file = lints.join("unjoined_task.rs");
    let file = file.to_str().unwrap();
    for (args, closed) in [
        (vec!["--explain", "escape"], "stdout"),
        (vec!["--list"], "stdout"),
        (vec!["--message-format=json", file], "stdout"),
        (vec!["--message-format=sarif", file], "stdout"),
        (vec![file], "stderr"),
    ] {
        // The read end closes before the command writes anything.
        let mut child = Command::new(env!("CARGO_BIN_EXE_cargo-gomem-lint"))
            .args(&args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut kept: Box<dyn std::io::Read> = if closed == "stdout" {
            drop(child.stdout.take());
            Box::new(child.stderr.take().unwrap())
        } else {
            drop(child.stderr.take());
            Box::new(child.stdout.take().unwrap())
        };
        let mut rest = String::new();
        kept.read_to_string(&mut rest).unwrap();
        let status = child.wait().unwrap();
        assert!(
            !rest.contains("panicked") && !rest.contains("Broken pipe"),
            "{args:?}: {rest}"
        );
        assert!(
            status.code().is_some_and(|c| c == 0 || c == 1),
            "{args:?}: {status}"
        );
    }
}

#[test]
fn a_path_that_does_not_exist_is_reported_and_the_rest_is_linted() {
    let file = fixtures().join("lints/unjoined_task.rs");
    let out = gomem_lint(&[file.to_str().unwrap(), "/nonexistent"]);
    let err = stderr(&out);
    // Incomplete run: exit code 2, but the findings of the readable path are there.
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("error: cannot read `/nonexistent`"), "{err}");
    assert!(err.contains("warning[gomem::unjoined_task]"), "{err}");
    // The same in JSON: the findings are on stdout, the bad path on stderr.
    let out = gomem_lint(&[
        "--message-format=json",
        file.to_str().unwrap(),
        "/nonexistent",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stdout).contains("gomem::unjoined_task"));
    assert!(stderr(&out).contains("/nonexistent"));
}

#[test]
fn an_empty_folder_says_that_no_rust_file_was_found() {
    let dir = std::env::temp_dir().join(format!("gomem-empty-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = gomem_lint(&[dir.to_str().unwrap()]);
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("no Rust file found, nothing was linted"),
        "{}",
        stderr(&out)
    );
    // And one file is "1 file", not "1 files".
    let out = gomem_lint(&[fixtures().join("clean.rs").to_str().unwrap()]);
    assert!(
        stderr(&out).contains("no findings in 1 file ("),
        "{}",
        stderr(&out)
    );
}

/// Linted as plain paths, a package's tests, benches, examples, bins and build script are
/// crate roots, as cargo builds them: `mod helper;` in `tests/a.rs` is `tests/helper.rs`
/// (tokio's tests declare `mod support { pub mod panic; }` that way), not `tests/a/helper.rs`.
/// A module file (`src/m.rs`) still finds its modules in its own folder (`src/m/inner.rs`).
#[test]
fn plain_paths_take_a_packages_targets_for_crate_roots() {
    let dir = std::env::temp_dir().join(format!("gomem-plain-roots-{}", std::process::id()));
    let files = [
        (
            "Cargo.toml",
            "[package]\nname = \"roots\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
        ),
        ("src/lib.rs", "mod m;\n"),
        ("src/m.rs", "mod inner;\n"),
        ("src/m/inner.rs", "pub fn f() {}\n"),
        (
            "tests/a.rs",
            "mod helper;\nmod support { pub mod panic; }\n",
        ),
        ("tests/helper.rs", "pub fn h() {}\n"),
        ("tests/support/panic.rs", "pub fn p() {}\n"),
        ("benches/b.rs", "mod common;\nfn main() {}\n"),
        ("benches/common/mod.rs", "pub fn c() {}\n"),
        ("examples/e.rs", "mod util;\nfn main() {}\n"),
        ("examples/util.rs", "pub fn u() {}\n"),
        ("src/bin/tool.rs", "mod args;\nfn main() {}\n"),
        ("src/bin/args.rs", "pub fn a() {}\n"),
        ("build.rs", "mod gen;\nfn main() {}\n"),
        ("gen.rs", "pub fn g() {}\n"),
    ];
    for (path, text) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let out = gomem_lint(&[dir.to_str().unwrap()]);
    std::fs::remove_dir_all(&dir).ok();
    assert!(!stderr(&out).contains("parse_error"), "{}", stderr(&out));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn an_unknown_lint_name_gets_the_closest_one() {
    let clean = fixtures().join("clean.rs");
    let clean = clean.to_str().unwrap();
    for args in [
        vec!["-A", "unjoined_tasks", clean],
        vec!["--explain", "unjoined_tasks"],
    ] {
        let out = gomem_lint(&args);
        assert_eq!(out.status.code(), Some(2));
        assert!(
            stderr(&out).contains("unknown lint `unjoined_tasks`; did you mean `unjoined_task`?"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    // Nothing close: the list.
    let out = gomem_lint(&["-A", "xyz", clean]);
    assert!(stderr(&out).contains("the lints are: parse_error, unjoined_task"));
}

/// signal-hook-registry 1.4.8 (edition 2015), `src/lib.rs:140`: valid code in its edition.
#[test]
fn files_are_parsed_in_their_crates_edition() {
    let dir = std::env::temp_dir().join(format!("gomem-2015-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("src")).unwrap();
    let src = "type Action = Fn(&u8) + Send + Sync;\n\
               pub fn start() { std::thread::spawn(|| ()); }\n";
    std::fs::write(dir.join("src/lib.rs"), src).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        "[package]\nname = \"old\"\nversion = \"0.1.0\"\nedition = \"2015\"\n",
    )
    .unwrap();
    let manifest = dir.join("Cargo.toml");
    let cargo_mode = gomem_lint(&["--manifest-path", manifest.to_str().unwrap()]);
    let lib = dir.join("src/lib.rs");
    // A plain path takes the edition of the package whose folder holds it.
    let plain = gomem_lint(&[lib.to_str().unwrap()]);
    let plain_2021 = gomem_lint(&["--edition", "2021", lib.to_str().unwrap()]);
    let bad_edition = gomem_lint(&["--edition", "2016", lib.to_str().unwrap()]);
    std::fs::write(
        dir.join("Cargo.toml"),
        "[package]\nname = \"old\"\nversion = \"0.1.0\"\n",
    )
    .unwrap();
    // A manifest that names no edition is 2015, as cargo reads it.
    let unnamed = gomem_lint(&[lib.to_str().unwrap()]);
    std::fs::remove_dir_all(&dir).ok();
    for out in [&cargo_mode, &plain, &unnamed] {
        assert_eq!(out.status.code(), Some(0), "{}", stderr(out));
        assert!(!stderr(out).contains("parse_error"), "{}", stderr(out));
        assert!(
            stderr(out).contains("gomem::unjoined_task"),
            "{}",
            stderr(out)
        );
    }
    // Read as 2021, the alias is an error, and only its item is lost: the spawn below it is
    // still found.
    assert_eq!(plain_2021.status.code(), Some(1));
    assert!(stderr(&plain_2021).contains("error[gomem::parse_error]"));
    assert!(stderr(&plain_2021).contains("gomem::unjoined_task"));
    assert_eq!(bad_edition.status.code(), Some(2));
    assert!(stderr(&bad_edition).contains("unknown edition `2016`"));
}

#[test]
fn static_size_limit_is_configurable() {
    let file = fixtures().join("lints/oversized_static.rs");
    let count = |limit: &str| {
        let out = gomem_lint(&[
            "--static-size-limit",
            limit,
            "--message-format=json",
            file.to_str().unwrap(),
        ]);
        String::from_utf8_lossy(&out.stdout)
            .matches("gomem::oversized_static")
            .count()
    };
    let default = count("1MiB");
    assert!(
        count("512KiB") > default,
        "EXACTLY_ONE_MIB fires below 1 MiB"
    );
    assert!(count("1GiB") < default);
}

#[test]
fn each_package_gets_its_own_id_and_p_selects() {
    let manifest = fixtures().join("crates/multi/Cargo.toml");
    let manifest = manifest.to_str().unwrap();
    let ids = |extra: &[&str]| -> Vec<String> {
        let mut args = vec!["--manifest-path", manifest, "--message-format=json"];
        args.extend_from_slice(extra);
        let out = gomem_lint(&args);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let mut ids: Vec<String> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .filter_map(|l| match serde_json::from_str::<Message>(l).unwrap() {
                Message::CompilerMessage(m) => {
                    let file = &m.message.spans[0].file_name;
                    let package = if file.contains("/alpha/") {
                        "alpha"
                    } else {
                        "beta"
                    };
                    assert!(
                        m.package_id.repr.contains(package),
                        "{} for {file}",
                        m.package_id.repr
                    );
                    Some(package.to_string())
                }
                _ => None,
            })
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(ids(&[]), ["alpha", "beta"]);
    assert_eq!(ids(&["-p", "beta"]), ["beta"]);
}

#[test]
fn require_reason_turns_unexplained_suppressions_into_errors() {
    let dir = fixtures().join("suppress");
    let plain = gomem_lint(&["--color", "never", dir.to_str().unwrap()]);
    assert_eq!(plain.status.code(), Some(0), "{}", stderr(&plain));
    assert!(!stderr(&plain).contains("gives no reason"));
    let strict = gomem_lint(&[
        "--require-reason",
        "--color",
        "never",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(strict.status.code(), Some(1), "{}", stderr(&strict));
    let err = stderr(&strict);
    assert!(
        err.contains("error[gomem::suppression_without_reason]: this suppression gives no reason"),
        "{err}"
    );
    // Later flags still win, as for every lint.
    let relaxed = gomem_lint(&[
        "--require-reason",
        "-A",
        "suppression_without_reason",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(relaxed.status.code(), Some(0), "{}", stderr(&relaxed));
}

fn configured() -> PathBuf {
    fixtures().join("crates/configured/Cargo.toml")
}

/// `(lint, level, file name)` of each finding, from JSON output.
fn findings_of(out: &Output) -> Vec<(String, String, String)> {
    let mut found = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if v["reason"] != "compiler-message" {
            continue;
        }
        let m = &v["message"];
        let file = m["spans"][0]["file_name"].as_str().unwrap_or_default();
        let short = file.split("configured/").last().unwrap_or(file).to_string();
        found.push((
            m["code"]["code"].as_str().unwrap().to_string(),
            m["level"].as_str().unwrap().to_string(),
            short,
        ));
    }
    found.sort();
    found
}

#[test]
fn settings_layer_workspace_then_gomem_toml_then_package_then_command_line() {
    let out = gomem_lint(&[
        "--manifest-path",
        configured().to_str().unwrap(),
        "--message-format=json",
    ]);
    let found = findings_of(&out);
    let s = |a: &str, b: &str, c: &str| (a.to_string(), b.to_string(), c.to_string());
    assert_eq!(
        found,
        vec![
            // 8 KiB is over strict's 4 KiB limit, not the default 1 MiB.
            s("gomem::oversized_static", "warning", "strict/src/lib.rs"),
            // strict denies it, and warns of it in its tests (`in_tests`); relaxed keeps the
            // defaults (allowed in tests); generated/ is excluded.
            s("gomem::unjoined_task", "error", "strict/src/lib.rs"),
            s("gomem::unjoined_task", "warning", "relaxed/src/lib.rs"),
            s("gomem::unjoined_task", "warning", "strict/src/lib.rs"),
            // denied by the workspace table, back to warn by gomem.toml.
            s("gomem::unwaited_child", "warning", "relaxed/src/lib.rs"),
            // rc_cycle is allowed by the workspace table.
        ],
        "{}",
        stderr(&out)
    );
    assert_eq!(out.status.code(), Some(1));
    // The command line beats every file.
    let out = gomem_lint(&[
        "--manifest-path",
        configured().to_str().unwrap(),
        "--message-format=json",
        "-A",
        "unjoined_task",
        "-W",
        "rc_cycle",
    ]);
    let found = findings_of(&out);
    assert!(
        found.iter().all(|f| f.0 != "gomem::unjoined_task"),
        "{found:?}"
    );
    assert!(found.iter().any(|f| f.0 == "gomem::rc_cycle"), "{found:?}");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn a_bad_setting_is_an_error_naming_file_key_and_choices() {
    let dir = std::env::temp_dir().join(format!("gomem-bad-config-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        "[package]\nname = \"bad\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\
         [package.metadata.gomem]\nlints = { unjoined_tsk = \"deny\" }\n",
    )
    .unwrap();
    std::fs::write(dir.join("src/lib.rs"), "").unwrap();
    let manifest = dir.join("Cargo.toml");
    let out = gomem_lint(&["--manifest-path", manifest.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("[package.metadata.gomem]")
            && err.contains("unknown lint `unjoined_tsk`")
            && err.contains("unjoined_task"),
        "{err}"
    );
    std::fs::write(dir.join("gomem.toml"), "[thresholds]\nstack = 1\n").unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        "[package]\nname = \"bad\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .unwrap();
    let out = gomem_lint(&["--manifest-path", manifest.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("gomem.toml")
            && err.contains("`thresholds.stack`")
            && err.contains("static-size"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// The SARIF 2.1.0 JSON schema, as shipped in the `serde-sarif` crate's package.
fn sarif_schema() -> serde_json::Value {
    let meta = cargo_metadata::MetadataCommand::new()
        .manifest_path(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
        .exec()
        .unwrap();
    let package = meta
        .packages
        .iter()
        .find(|p| p.name.as_str() == "serde-sarif")
        .expect("serde-sarif is a dev-dependency");
    let path = package
        .manifest_path
        .parent()
        .unwrap()
        .join("src/schema.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn sarif_of(args: &[&str]) -> serde_json::Value {
    let mut all = vec!["--message-format=sarif"];
    all.extend_from_slice(args);
    let out = gomem_lint(&all);
    assert!(out.status.code().is_some_and(|c| c < 2), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn sarif_output_is_valid_sarif_2_1_0() {
    let log = sarif_of(&[fixtures().join("lints").to_str().unwrap()]);
    let validator = jsonschema::validator_for(&sarif_schema()).unwrap();
    let errors: Vec<String> = validator.iter_errors(&log).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    // The check can fail: a level SARIF does not know is caught.
    let mut broken = log.clone();
    broken["runs"][0]["results"][0]["level"] = serde_json::json!("warn");
    assert!(!validator.is_valid(&broken));
    let run = &log["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert!(rules.iter().any(|r| r["id"] == "gomem::rc_cycle"));
    let results = run["results"].as_array().unwrap();
    assert!(results.len() > 20);
    for r in results {
        let index = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], r["ruleId"]);
        let loc = &r["locations"][0]["physicalLocation"];
        assert_eq!(loc["artifactLocation"]["uriBaseId"], "%SRCROOT%");
        let uri = loc["artifactLocation"]["uri"].as_str().unwrap();
        assert!(!uri.starts_with('/') && uri.ends_with(".rs"), "{uri}");
        assert!(loc["region"]["startLine"].as_u64().unwrap() >= 1);
        assert!(loc["region"]["startColumn"].as_u64().unwrap() >= 1);
    }
}

#[test]
fn sarif_fingerprints_survive_moved_lines_and_reformatting() {
    let dir = std::env::temp_dir().join(format!("gomem-sarif-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("lib.rs");
    let fingerprints = |src: &str| -> Vec<String> {
        std::fs::write(&file, src).unwrap();
        let log = sarif_of(&[dir.to_str().unwrap()]);
        log["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                r["partialFingerprints"]["gomem/v1"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    };
    let before = fingerprints(
        "fn f() { std::thread::spawn(|| ()); }\nfn g() { std::thread::spawn(|| ()); }\n",
    );
    assert_eq!(before.len(), 2);
    assert_ne!(
        before[0], before[1],
        "equal findings are counted, not merged"
    );
    let moved = fingerprints(
        "// a comment\n\nfn f() {\n    std::thread::spawn(|| ());\n}\nfn g() {   std::thread::spawn( || () ); }\n",
    );
    std::fs::remove_dir_all(&dir).ok();
    let mut b = before.clone();
    b.sort();
    let mut m = moved;
    m.sort();
    assert_eq!(b, m);
}

#[test]
fn a_baseline_hides_old_findings_and_reports_new_and_stale_ones() {
    let dir = std::env::temp_dir().join(format!("gomem-baseline-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("src")).unwrap();
    let lib = dir.join("src/lib.rs");
    let baseline = dir.join("gomem-baseline.json");
    let (d, b) = (dir.join("src"), baseline.to_str().unwrap().to_string());
    let run = |args: &[&str]| {
        let mut all: Vec<&str> = args.to_vec();
        all.push(d.to_str().unwrap());
        gomem_lint(&all)
    };
    std::fs::write(
        &lib,
        "pub fn a() { std::thread::spawn(|| ()); }\npub fn b() { std::thread::spawn(|| ()); }\n",
    )
    .unwrap();
    let out = run(&["--write-baseline", &b]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("recorded 2 warnings"),
        "{}",
        stderr(&out)
    );
    // Lines added above and the code reformatted: still the same two findings, nothing new.
    std::fs::write(
        &lib,
        "// new header\n\npub fn a() {\n    std::thread::spawn(|| ());\n}\npub fn b() { std::thread::spawn(|| ()); }\n",
    )
    .unwrap();
    let out = run(&["--baseline", &b, "-D", "warnings"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("no findings"), "{}", stderr(&out));
    // A third copy is new (counted, not merged), and is reported.
    std::fs::write(
        &lib,
        "pub fn a() { std::thread::spawn(|| ()); }\npub fn b() { std::thread::spawn(|| ()); }\npub fn c() { std::thread::spawn(|| ()); }\n",
    )
    .unwrap();
    let out = run(&["--baseline", &b, "-D", "warnings"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("1 error"), "{}", stderr(&out));
    // Both fixed: the entry is stale and listed.
    std::fs::write(&lib, "pub fn a() {}\n").unwrap();
    let out = run(&["--baseline", &b]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("1 baseline entry no longer matches")
            && stderr(&out).contains("unjoined_task (x2)"),
        "{}",
        stderr(&out)
    );
    // Not a baseline: a clear error.
    std::fs::write(&baseline, "{}").unwrap();
    let out = run(&["--baseline", &b]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("is not a gomem baseline"),
        "{}",
        stderr(&out)
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn with_check_passes_the_compilers_messages_through() {
    let manifest = fixtures().join("crates/broken/Cargo.toml");
    let target = std::env::temp_dir().join(format!("gomem-with-check-{}", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_cargo-gomem-lint"))
        .args(["--with-check", "--message-format=json", "--manifest-path"])
        .arg(&manifest)
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .unwrap();
    std::fs::remove_dir_all(&target).ok();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let mut codes = Vec::new();
    let mut finished = Vec::new();
    for message in cargo_metadata::Message::parse_stream(&out.stdout[..]) {
        match message.unwrap() {
            cargo_metadata::Message::CompilerMessage(m) => {
                codes.push(m.message.code.map(|c| c.code).unwrap_or_default())
            }
            cargo_metadata::Message::BuildFinished(f) => finished.push(f.success),
            _ => {}
        }
    }
    assert!(
        codes.iter().any(|c| c == "E0308"),
        "rustc's type error: {codes:?}"
    );
    assert!(
        codes.iter().any(|c| c == "gomem::unjoined_task"),
        "gomem's finding: {codes:?}"
    );
    assert_eq!(finished, vec![false], "one build-finished, failed");
}

#[test]
fn mechanical_fixes_carry_a_suggested_replacement() {
    let out = gomem_lint(&[
        "--message-format=json",
        fixtures().join("suppress").to_str().unwrap(),
    ]);
    let mut fixes = Vec::new();
    for message in cargo_metadata::Message::parse_stream(&out.stdout[..]) {
        if let cargo_metadata::Message::CompilerMessage(m) = message.unwrap() {
            for child in &m.message.children {
                for s in &child.spans {
                    if let Some(r) = &s.suggested_replacement {
                        fixes.push((
                            m.message.code.clone().unwrap().code,
                            r.clone(),
                            format!("{:?}", s.suggestion_applicability),
                        ));
                    }
                }
            }
        }
    }
    // A stale suppression can be deleted as is; `spawn` -> `status` changes what runs.
    assert!(
        fixes
            .iter()
            .any(|(c, r, a)| c == "gomem::unused_suppression"
                && r.is_empty()
                && a.contains("MachineApplicable")),
        "{fixes:?}"
    );
    assert!(
        fixes.iter().any(|(c, r, a)| c == "gomem::unwaited_child"
            && r == "status"
            && a.contains("MaybeIncorrect")),
        "{fixes:?}"
    );
}

#[test]
fn saved_file_lints_the_package_that_holds_it() {
    let root = fixtures().join("crates/multi");
    let manifest = root.join("Cargo.toml");
    let saved = root.join("beta/src/lib.rs");
    let out = gomem_lint(&[
        "--message-format=json",
        "--manifest-path",
        manifest.to_str().unwrap(),
        "--saved-file",
        saved.to_str().unwrap(),
    ]);
    assert!(out.status.code().is_some_and(|c| c < 2), "{}", stderr(&out));
    let mut packages = Vec::new();
    for message in cargo_metadata::Message::parse_stream(&out.stdout[..]) {
        if let cargo_metadata::Message::CompilerMessage(m) = message.unwrap() {
            packages.push(m.package_id.repr);
        }
    }
    assert!(!packages.is_empty());
    assert!(packages.iter().all(|p| p.contains("beta")), "{packages:?}");
    // A file in no member (a path dependency's): the whole workspace, not a failed run,
    // which would make rust-analyzer drop every diagnostic it shows, rustc's too.
    let outside = gomem_lint(&[
        "--message-format=json",
        "--manifest-path",
        manifest.to_str().unwrap(),
        "--saved-file",
        fixtures().join("clean.rs").to_str().unwrap(),
    ]);
    assert_eq!(outside.status.code(), Some(0), "{}", stderr(&outside));
    assert!(
        stderr(&outside).contains("linting the whole workspace"),
        "{}",
        stderr(&outside)
    );
    let mut linted: Vec<_> = findings_of_packages(&outside)
        .into_iter()
        .map(|(package, _, _)| package)
        .collect();
    linted.sort();
    assert_eq!(linted, ["alpha", "beta"]);
}

/// The editor fixture: members a, b (depends on a), c (depends on ../dep, a path dependency
/// outside the workspace; a type error in its test code).
fn editor_ws() -> PathBuf {
    fixtures().join("crates/editor/ws")
}

/// Runs `cargo-gomem-lint` with its own cargo target folder, as rust-analyzer does.
fn gomem_lint_checked(args: &[&str]) -> Output {
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let target = std::env::temp_dir().join(format!("gomem-editor-{}-{n}", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_cargo-gomem-lint"))
        .args(args)
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .unwrap();
    std::fs::remove_dir_all(&target).ok();
    out
}

/// `(package name, code, file:line)` of every `compiler-message` (rustc's and gomem's), and
/// the package names of the check's artifacts as `(name, "artifact", "")`.
fn findings_of_packages(out: &Output) -> Vec<(String, String, String)> {
    let name = |id: &str| {
        let path = id.split('#').next().unwrap_or(id);
        path.rsplit('/').next().unwrap_or(path).to_string()
    };
    let mut found = Vec::new();
    for message in Message::parse_stream(&out.stdout[..]) {
        match message.unwrap() {
            Message::CompilerMessage(m) => {
                let Some(primary) = m.message.spans.iter().find(|s| s.is_primary) else {
                    continue; // rustc's "aborting due to .." summary
                };
                let file = Path::new(&primary.file_name);
                // rustc's names are relative to the workspace, gomem's absolute.
                let short: PathBuf = file
                    .iter()
                    .skip(file.iter().count().saturating_sub(2))
                    .collect();
                found.push((
                    name(&m.package_id.repr),
                    m.message.code.map(|c| c.code).unwrap_or_default(),
                    format!("{}:{}", short.display(), primary.line_start),
                ))
            }
            Message::CompilerArtifact(a) => {
                found.push((name(&a.package_id.repr), "artifact".into(), String::new()))
            }
            _ => {}
        }
    }
    found
}

fn has(found: &[(String, String, String)], package: &str, code: &str) -> bool {
    found.iter().any(|(p, c, _)| p == package && c == code)
}

#[test]
fn with_check_checks_every_target_as_rust_analyzer_does() {
    let manifest = editor_ws().join("Cargo.toml");
    let manifest = manifest.to_str().unwrap();
    let args = [
        "--with-check",
        "--message-format=json",
        "--manifest-path",
        manifest,
    ];
    let out = gomem_lint_checked(&args);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let found = findings_of_packages(&out);
    assert!(
        found
            .iter()
            .any(|(p, c, at)| p == "c" && c == "E0308" && at == "src/lib.rs:10"),
        "the type error in #[cfg(test)] code: {found:?}"
    );
    // Told which targets: only those.
    let out = gomem_lint_checked(&[&args[..], &["--", "--lib"]].concat());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let found = findings_of_packages(&out);
    assert!(!has(&found, "c", "E0308"), "{found:?}");
    assert!(has(&found, "c", "gomem::unjoined_task"), "{found:?}");
}

#[test]
fn saved_file_checks_and_lints_its_package_and_the_members_it_uses() {
    let ws = editor_ws();
    let manifest = ws.join("Cargo.toml");
    let saved = |file: &str| {
        let saved = ws.join(file);
        let out = gomem_lint_checked(&[
            "--with-check",
            "--message-format=json",
            "--manifest-path",
            manifest.to_str().unwrap(),
            "--saved-file",
            saved.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let found = findings_of_packages(&out);
        let mut packages: Vec<&str> = found.iter().map(|(p, _, _)| p.as_str()).collect();
        packages.sort();
        packages.dedup();
        (
            packages.join(" "),
            found
                .iter()
                .filter(|(_, c, _)| c.starts_with("gomem::"))
                .map(|(p, _, _)| p.clone())
                .collect::<Vec<_>>()
                .join(" "),
        )
    };
    // b depends on a: `cargo check -p b` compiles a too, and rust-analyzer refreshes both, so
    // both are linted; c (and its E0308) is not checked, and not linted.
    assert_eq!(saved("b/src/lib.rs"), ("a b".into(), "a b".into()));
    assert_eq!(saved("a/src/lib.rs"), ("a".into(), "a".into()));
}

#[test]
fn saving_a_path_dependency_still_passes_rustcs_messages_through() {
    let dep = fixtures().join("crates/editor/dep/src/lib.rs");
    let out = gomem_lint_checked(&[
        "--with-check",
        "--message-format=json",
        "--manifest-path",
        editor_ws().join("Cargo.toml").to_str().unwrap(),
        "--saved-file",
        dep.to_str().unwrap(),
    ]);
    // The check's failure (c's E0308), not a failed run.
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let found = findings_of_packages(&out);
    assert!(has(&found, "c", "E0308"), "{found:?}");
    assert!(has(&found, "dep", "unused_variables"), "{found:?}");
    for member in ["a", "b", "c"] {
        assert!(has(&found, member, "gomem::unjoined_task"), "{found:?}");
    }
    assert!(!has(&found, "dep", "gomem::unjoined_task"), "{found:?}");
    let finished: Vec<bool> = Message::parse_stream(&out.stdout[..])
        .filter_map(|m| match m.unwrap() {
            Message::BuildFinished(f) => Some(f.success),
            _ => None,
        })
        .collect();
    assert_eq!(finished, [false]);
}

#[test]
fn p_takes_the_package_ids_rust_analyzer_gives_for_label() {
    let ws = editor_ws();
    let manifest = ws.join("Cargo.toml");
    let manifest = manifest.to_str().unwrap();
    let metadata = cargo_metadata::MetadataCommand::new()
        .manifest_path(manifest)
        .exec()
        .unwrap();
    let id = |name: &str| {
        metadata
            .packages
            .iter()
            .find(|p| p.name.as_str() == name)
            .unwrap()
            .id
            .repr
            .clone()
    };
    let out = gomem_lint(&[
        "--message-format=json",
        "--manifest-path",
        manifest,
        "-p",
        &id("c"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let found = findings_of_packages(&out);
    assert!(
        !found.is_empty() && found.iter().all(|(p, _, _)| p == "c"),
        "{found:?}"
    );
    // A path dependency's id (rust-analyzer, check.workspace = false, after a save in
    // ../dep): nothing to lint, and its check runs.
    let out = gomem_lint_checked(&[
        "--with-check",
        "--message-format=json",
        "--manifest-path",
        manifest,
        "-p",
        &id("dep"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let found = findings_of_packages(&out);
    assert!(has(&found, "dep", "unused_variables"), "{found:?}");
    assert!(found.iter().all(|(p, _, _)| p == "dep"), "{found:?}");
    // A name that is no member stays an error.
    let out = gomem_lint(&["--manifest-path", manifest, "-p", "dep"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn with_check_leaves_syntax_errors_to_rustc() {
    let manifest = fixtures().join("crates/editor/syntax/Cargo.toml");
    let manifest = manifest.to_str().unwrap();
    let out = gomem_lint_checked(&[
        "--with-check",
        "--message-format=json",
        "--manifest-path",
        manifest,
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let found = findings_of_packages(&out);
    let at_error: Vec<_> = found
        .iter()
        .filter(|(_, _, at)| at == "src/nested.rs:2")
        .collect();
    assert!(!at_error.is_empty(), "rustc's syntax error: {found:?}");
    assert!(
        at_error.iter().all(|(_, c, _)| !c.starts_with("gomem::")),
        "{found:?}"
    );
    // The rest of the crate is still linted.
    assert!(has(&found, "syntax", "gomem::unjoined_task"), "{found:?}");
    // Without the compiler's messages, gomem reports it.
    let out = gomem_lint(&["--message-format=json", "--manifest-path", manifest]);
    let found = findings_of_packages(&out);
    assert!(has(&found, "syntax", "gomem::parse_error"), "{found:?}");
}

#[test]
fn explain_escapes_prints_go_style_notes_only_when_asked() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let file = examples.join("pointers.rs");
    let quiet = gomem_lint(&["--color", "never", file.to_str().unwrap()]);
    assert!(
        !stderr(&quiet).contains("gomem::escape"),
        "{}",
        stderr(&quiet)
    );
    let out = gomem_lint(&[
        "--color",
        "never",
        "--explain-escapes",
        file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "notes do not fail a run");
    let err = stderr(&out);
    assert!(
        err.contains("note[gomem::escape]: Box::new(..) escapes to heap"),
        "{err}"
    );
    assert!(err.contains("returned here"), "{err}");
    let local = examples.join("local_freed_on_return.rs");
    let out = gomem_lint(&[
        "--message-format=json",
        "--explain-escapes=2",
        local.to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("vec![..] does not escape") && text.contains("\"level\":\"note\""),
        "{text}"
    );
}

#[test]
fn heap_profile_writes_the_runs_own_profile() {
    let dir = std::env::temp_dir().join(format!("gomem-heap-profile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("lint.pb");
    let out = Command::new(env!("CARGO_BIN_EXE_cargo-gomem-lint"))
        .arg("--heap-profile")
        .arg(&file)
        .arg(fixtures().join("lints"))
        // A sample per KiB, so that a run this small has many.
        .env("GOMEM_MEMPROFILERATE", "1024")
        .output()
        .unwrap();
    // Deny-level findings (1), but a run that did not fail (2).
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let profile = std::fs::read(&file).expect("the profile is written");
    std::fs::remove_dir_all(&dir).unwrap();
    // pprof's string table holds the sample types and the sampled functions as plain
    // bytes (the format itself is checked by the runtime's tests).
    let has = |s: &str| profile.windows(s.len()).any(|w| w == s.as_bytes());
    assert!(
        has("inuse_space") && has("alloc_space"),
        "not a heap profile"
    );
    assert!(
        has("gomem_analyzer::"),
        "no sample in the linter's own code"
    );
}
