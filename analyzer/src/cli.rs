//! `cargo gomem-lint`: the command line.
//!
//! Exit codes, as documented in `--help`: 0 when the run found nothing at deny level, 1 when
//! it did, 2 when the run itself failed (bad arguments, an unreadable workspace, a crashed
//! check).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{ArgAction, CommandFactory, FromArgMatches, Parser, ValueEnum};
use codespan_reporting::term::termcolor::{ColorChoice, StandardStream};

use crate::config::{parse_size, Config};
use crate::driver::{analyze, Analysis};
use crate::lint_defs::{Level, LintId};
use crate::parse::Edition;
use crate::report;
use crate::workspace::{cargo, Workspace};

const AFTER_HELP: &str = "\
Examples:
  cargo gomem-lint                          lint every package of the workspace in this folder
  cargo gomem-lint -p server -D warnings    lint one package; any warning fails the run
  cargo gomem-lint src/ vendor/foo.rs       lint files and folders without cargo
  cargo gomem-lint --message-format=json    cargo-style JSON, for rust-analyzer and scripts
  cargo gomem-lint --explain unjoined_task  what a lint finds and how to fix it

Lint levels (-A/-W/-D) apply in the order given; `warnings` names every warning.

Exit status: 0 no findings at deny level; 1 a deny-level finding; 2 the run failed.";

/// Finds memory leaks the Go way: unjoined threads and tasks, oversized globals, and more.
#[derive(Parser, Debug)]
#[command(name = "cargo gomem-lint", bin_name = "cargo gomem-lint", version, after_help = AFTER_HELP)]
struct Args {
    /// Files and folders to lint without cargo (every .rs file below a folder). Without
    /// paths, the cargo workspace of the current folder (or --manifest-path) is linted.
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,

    /// Path to the Cargo.toml of the workspace or package to lint.
    #[arg(long, value_name = "PATH")]
    manifest_path: Option<PathBuf>,

    /// The edition plain-path files are written in (2015, 2018, 2021, 2024), as rustc's
    /// `--edition`. Default: the edition of the package whose folder holds each file, else
    /// 2021. In cargo mode each target's own edition is read from its manifest.
    #[arg(long, value_name = "YEAR", value_parser = parse_edition)]
    edition: Option<Edition>,

    /// Lint only this package (repeatable): its name or its package id, as rust-analyzer
    /// substitutes for `{label}`. Default: every workspace member.
    #[arg(short, long = "package", value_name = "SPEC")]
    package: Vec<String>,

    /// Output format: `human` for people, `json` for cargo-compatible messages, `sarif` for
    /// code scanning dashboards.
    #[arg(long, value_enum, default_value_t = MessageFormat::Human, value_name = "FMT")]
    message_format: MessageFormat,

    /// Coloring of human output.
    #[arg(long, value_enum, default_value_t = Color::Auto, value_name = "WHEN")]
    color: Color,

    /// Set lint allowed (repeatable).
    #[arg(short = 'A', long = "allow", value_name = "LINT", action = ArgAction::Append)]
    allow: Vec<String>,

    /// Set lint warnings (repeatable).
    #[arg(short = 'W', long = "warn", value_name = "LINT", action = ArgAction::Append)]
    warn: Vec<String>,

    /// Set lint denied: findings fail the run (repeatable). `-D warnings` denies all warnings.
    #[arg(short = 'D', long = "deny", value_name = "LINT", action = ArgAction::Append)]
    deny: Vec<String>,

    /// First run `cargo check` (or `cargo clippy`) with `--message-format=json`,
    /// `--all-targets` (unless the arguments after `--` choose targets) and the arguments after
    /// `--`, and pass its messages through: for rust-analyzer's `check.overrideCommand`, which
    /// then shows both the compiler's and gomem's findings. Syntax errors are left to the
    /// compiler. With `-p`, gomem also lints the members those packages depend on, whose
    /// compiler messages the check prints too.
    #[arg(long, value_enum, value_name = "TOOL", num_args = 0..=1, require_equals = true, default_missing_value = "check")]
    with_check: Option<CheckTool>,

    /// Arguments for `cargo check`/`cargo clippy` (with `--with-check`), after `--`.
    #[arg(last = true, value_name = "CHECK_ARGS")]
    check_args: Vec<String>,

    /// Lint (and with `--with-check`, check) only the package that holds FILE and the members
    /// it depends on: rust-analyzer's `$saved_file`. Needs rust-analyzer's
    /// `check.workspace = false`: with the default (`true`), rust-analyzer drops the
    /// diagnostics of every package that the run does not report on again. A file in no
    /// member (a path dependency's) lints and checks the whole workspace.
    #[arg(long, value_name = "FILE", conflicts_with = "package")]
    saved_file: Option<PathBuf>,

    /// Explain where each heap allocation goes, like Go's `-gcflags=-m` (`=2` adds the flow).
    #[arg(long, value_name = "LEVEL", num_args = 0..=1, require_equals = true, default_missing_value = "1")]
    explain_escapes: Option<u8>,

    /// Record the findings in FILE (a baseline for `--baseline`).
    #[arg(long, value_name = "FILE")]
    write_baseline: Option<PathBuf>,

    /// Report only findings that are not in the baseline FILE (written by
    /// `--write-baseline`); baseline entries that match nothing are listed.
    #[arg(long, value_name = "FILE", conflicts_with = "write_baseline")]
    baseline: Option<PathBuf>,

    /// Report suppressions (`gomem::allow`) that give no reason, as errors.
    #[arg(long)]
    require_reason: bool,

    /// Size above which `oversized_static` reports a global, e.g. `1MiB`, `512KiB`, `4096`.
    #[arg(long, value_name = "SIZE", value_parser = parse_size, default_value = "1MiB")]
    static_size_limit: u64,

    /// Number of threads (default: one per core).
    #[arg(short, long, value_name = "N")]
    jobs: Option<usize>,

    /// List the lints with their default levels.
    #[arg(long)]
    list: bool,

    /// Print the documentation of a lint.
    #[arg(long, value_name = "LINT")]
    explain: Option<String>,

    /// Write this run's own heap profile to FILE, in pprof's format (`go tool pprof -top
    /// FILE`), sampled at Go's rate of one per 512 KiB or at `GOMEM_MEMPROFILERATE`.
    #[arg(long, value_name = "FILE")]
    heap_profile: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum MessageFormat {
    Human,
    Json,
    /// SARIF 2.1.0, for GitHub code scanning.
    Sarif,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum CheckTool {
    Check,
    Clippy,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

fn parse_edition(s: &str) -> Result<Edition, String> {
    Edition::from_name(s)
        .ok_or_else(|| format!("unknown edition `{s}` (use 2015, 2018, 2021 or 2024)"))
}

/// Runs the command with the process's arguments.
pub fn main() -> ExitCode {
    let mut argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // `cargo gomem-lint ...` runs `cargo-gomem-lint gomem-lint ...`.
    if argv.get(1).is_some_and(|a| a == "gomem-lint") {
        argv.remove(1);
    }
    quiet_worker_panics();
    match run(argv) {
        Ok(code) => code,
        // `cargo gomem-lint | head`: the reader is gone, which is not our failure.
        Err(Stop::OutputClosed) => ExitCode::SUCCESS,
        Err(Stop::Failed(message)) => {
            error(&message);
            ExitCode::from(2)
        }
    }
}

/// Why a run ends early.
enum Stop {
    /// The run failed: bad arguments, an unreadable workspace (exit code 2).
    Failed(String),
    /// Whoever read our output went away (`cargo gomem-lint --explain x | head`): the end of
    /// the output, as `ls | head` takes it, not a failure.
    OutputClosed,
}

impl From<String> for Stop {
    fn from(message: String) -> Stop {
        Stop::Failed(message)
    }
}

impl From<&str> for Stop {
    fn from(message: &str) -> Stop {
        Stop::Failed(message.into())
    }
}

/// An error writing our output: a closed pipe ends the output, anything else fails the run.
fn output_error(e: std::io::Error) -> Stop {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        Stop::OutputClosed
    } else {
        Stop::Failed(format!("cannot write the output: {e}"))
    }
}

/// `error: ..` on stderr (see [`tell`]).
fn error(message: &str) {
    tell(format_args!("error: {message}"));
}

/// A line on stderr that is not the run's output (errors, notes about baselines, timings).
/// Unlike `eprintln!`, it does not panic when stderr is closed: then there is no one to tell.
fn tell(line: std::fmt::Arguments<'_>) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

fn run(argv: Vec<std::ffi::OsString>) -> Result<ExitCode, Stop> {
    let matches = Args::command()
        .try_get_matches_from(argv)
        .unwrap_or_else(|e| e.exit());
    let args = Args::from_arg_matches(&matches).map_err(|e| e.to_string())?;
    let _profile = args.heap_profile.clone().map(HeapProfile::start);

    if args.list {
        let listed = || LintId::ALL.into_iter().filter(|id| id.configurable());
        let width = listed().map(|id| id.name().len()).max().unwrap_or(0);
        let mut out = std::io::stdout().lock();
        for id in listed() {
            let lint = crate::lints::lint(id);
            writeln!(
                out,
                "{:<width$} {:<5} {}{}",
                id.name(),
                id.default_level().as_str(),
                lint.summary,
                in_tests_note(id)
            )
            .map_err(output_error)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(name) = &args.explain {
        let id = LintId::from_name(name).ok_or_else(|| {
            let names: Vec<_> = LintId::ALL.iter().map(|i| i.name()).collect();
            crate::lint_defs::unknown_lint(name, &names)
        })?;
        writeln!(
            std::io::stdout().lock(),
            "# gomem::{} (default: {}{})\n\n{}",
            id.name(),
            id.default_level().as_str(),
            in_tests_note(id),
            crate::lints::lint(id).explanation
        )
        .map_err(output_error)?;
        return Ok(ExitCode::SUCCESS);
    }

    let mut workspace = if args.paths.is_empty() {
        if args.edition.is_some() {
            return Err(
                "--edition applies to plain paths; in a cargo workspace each target's edition comes from its manifest".into(),
            );
        }
        // Every member: `-p` and `--saved-file` narrow it below.
        let selection = cargo::Selection {
            manifest_path: args.manifest_path.clone(),
            packages: Vec::new(),
        };
        cargo::load(&selection)?
    } else {
        if args.manifest_path.is_some() || !args.package.is_empty() {
            return Err("paths cannot be combined with --manifest-path or --package".into());
        }
        let mut ws = Workspace::from_paths(&args.paths);
        ws.plain_edition = args.edition;
        // Without cargo, the settings file of the folder the command runs in.
        let cwd = std::env::current_dir().map_err(|e| e.to_string())?;
        ws.settings
            .extend(crate::config_file::load_gomem_toml(&cwd)?);
        ws
    };
    // A path that cannot be read is reported, and the rest is linted; the run is incomplete
    // (exit code 2), as rustc's is with one unreadable input.
    let input_errors = std::mem::take(&mut workspace.errors);
    for e in &input_errors {
        error(e);
    }
    if args.saved_file.is_some() && !args.paths.is_empty() {
        return Err("--saved-file cannot be combined with paths".into());
    }
    let scope = match args.paths.is_empty() {
        true => crate::editor::narrow(
            &mut workspace,
            &args.package,
            args.saved_file.as_deref(),
            args.with_check.is_some(),
        )?,
        false => crate::editor::Scope::default(),
    };

    // Settings: defaults, then the workspace's files, then each package's own table; the
    // command line last, over all of them.
    let mut config = Config::default();
    for layer in &workspace.settings {
        config.apply(layer)?;
    }
    let mut per_package = Vec::with_capacity(workspace.packages.len());
    for package in &workspace.packages {
        per_package.push(match &package.settings {
            Some(layer) => {
                let mut c = config.clone();
                c.apply(layer)?;
                Some(c)
            }
            None => None,
        });
    }
    config.per_package = per_package;
    let static_size_given =
        matches.value_source("static_size_limit") == Some(clap::parser::ValueSource::CommandLine);
    // Apply -A/-W/-D in the order they appear on the command line.
    let mut flags: Vec<(usize, Level, &String)> = Vec::new();
    for (id, level, values) in [
        ("allow", Level::Allow, &args.allow),
        ("warn", Level::Warn, &args.warn),
        ("deny", Level::Deny, &args.deny),
    ] {
        let indices = matches.indices_of(id).into_iter().flatten();
        flags.extend(indices.zip(values).map(|(i, v)| (i, level, v)));
    }
    flags.sort_by_key(|f| f.0);
    let command_line = |c: &mut Config| -> Result<(), String> {
        if let Some(detail) = args.explain_escapes {
            c.escape_detail = detail;
            c.levels.set(LintId::Escape.name(), Level::Note)?;
        }
        if static_size_given {
            c.thresholds.static_size = args.static_size_limit;
        }
        if args.require_reason {
            c.levels
                .set(LintId::SuppressionWithoutReason.name(), Level::Deny)?;
        }
        for (_, level, name) in &flags {
            c.levels.set(name, *level)?;
        }
        Ok(())
    };
    command_line(&mut config)?;
    for c in config.per_package.iter_mut().flatten() {
        command_line(c)?;
    }
    // The process ends right after the report.
    config.leak_syntax_at_exit = true;
    config.compiler_reports_unreadable_files = args.with_check.is_some();
    let exclusions = crate::config_file::Exclusions::new(
        workspace.settings.iter().chain(
            workspace
                .packages
                .iter()
                .filter_map(|p| p.settings.as_ref()),
        ),
    );

    // `--with-check`: the compiler's messages first, passed through as they are.
    let check_ok = match args.with_check {
        Some(tool) => {
            if args.message_format != MessageFormat::Json {
                return Err("--with-check needs --message-format=json".into());
            }
            Some(run_check(tool, &args, &scope)?)
        }
        None => None,
    };
    let mut analysis = match args.jobs {
        Some(n) => crate::driver::analyze_with(workspace, config, n),
        None => analyze(workspace, config),
    };
    // Findings in excluded files (generated code) are not reported.
    let db = &analysis.db;
    analysis
        .diagnostics
        .retain(|d| !exclusions.excludes(&db.get(d.primary.span.file).path));
    if let Some(path) = &args.write_baseline {
        crate::baseline::write(path, &analysis)?;
        tell(format_args!(
            "gomem-lint: recorded {} in the baseline `{}`",
            report::counts(&analysis),
            path.display()
        ));
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(path) = &args.baseline {
        let stale = crate::baseline::apply(path, &mut analysis)?;
        if !stale.is_empty() {
            // To stderr in every format: stdout carries the machine-readable output.
            tell(format_args!(
                "gomem-lint: {} no longer {} a finding (fixed? rewrite the baseline with --write-baseline):",
                if stale.len() == 1 {
                    "1 baseline entry".to_string()
                } else {
                    format!("{} baseline entries", stale.len())
                },
                if stale.len() == 1 { "matches" } else { "match" }
            ));
            for e in &stale {
                tell(format_args!(
                    "  {} {} (x{}): {}",
                    e.file, e.lint, e.count, e.message
                ));
            }
        }
    }
    if std::env::var_os("GOMEM_TIME_PASSES").is_some() {
        // Like rustc's `-Z time-passes`: where a run's time goes, for profiling gomem itself.
        for (phase, took) in &analysis.phases {
            tell(format_args!(
                "time: {:>8.1}ms  {phase}",
                took.as_secs_f64() * 1000.0
            ));
        }
    }
    let failed = analysis.count(Level::Deny) > 0;
    let broken = analysis.has_internal_errors() || !input_errors.is_empty();
    if analysis.db.is_empty() && args.message_format != MessageFormat::Human {
        // The human summary says it; machine formats keep stdout for their own messages.
        tell(format_args!(
            "warning: no Rust file found, nothing was linted"
        ));
    }
    match args.message_format {
        MessageFormat::Json => {
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            // One `build-finished` for both runs.
            let success = !failed && !broken && check_ok != Some(false);
            report::json::write(&mut out, &analysis, success).map_err(output_error)?;
            out.flush().map_err(output_error)?;
        }
        MessageFormat::Sarif => {
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            serde_json::to_writer_pretty(&mut out, &report::sarif::log(&analysis))
                .map_err(|e| output_error(e.into()))?;
            writeln!(out).map_err(output_error)?;
        }
        MessageFormat::Human => print_human(&analysis, args.color).map_err(output_error)?,
    }
    Ok(if broken {
        ExitCode::from(2)
    } else if failed || check_ok == Some(false) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Runs `cargo check`/`cargo clippy --message-format=json` on `scope`, copying its JSON
/// lines to stdout except its `build-finished` (gomem writes the run's one at the end).
/// Returns whether the check succeeded.
fn run_check(tool: CheckTool, args: &Args, scope: &crate::editor::Scope) -> Result<bool, Stop> {
    use std::io::BufRead;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let subcommand = match tool {
        CheckTool::Check => "check",
        CheckTool::Clippy => "clippy",
    };
    let mut cmd = crate::editor::check_command(
        &cargo,
        subcommand,
        args.manifest_path.as_deref(),
        scope,
        &args.check_args,
    );
    cmd.stdout(std::process::Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot run cargo for --with-check: {e}"))?;
    let stdout = child.stdout.take().expect("piped");
    let out = std::io::stdout();
    let mut out = out.lock();
    for line in std::io::BufReader::new(stdout).lines() {
        let line = line.map_err(|e| e.to_string())?;
        let finished = serde_json::from_str::<serde_json::Value>(&line)
            .is_ok_and(|v| v["reason"] == "build-finished");
        if !finished {
            writeln!(out, "{line}").map_err(output_error)?;
        }
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    Ok(status.success())
}

fn print_human(analysis: &Analysis, color: Color) -> std::io::Result<()> {
    let choice = match color {
        Color::Always => ColorChoice::Always,
        Color::Never => ColorChoice::Never,
        Color::Auto if std::io::IsTerminal::is_terminal(&std::io::stderr()) => ColorChoice::Auto,
        Color::Auto => ColorChoice::Never,
    };
    let mut out = StandardStream::stderr(choice);
    for d in &analysis.diagnostics {
        report::human::emit(&mut out, &analysis.db, d)?;
    }
    writeln!(out, "{}", report::summary(analysis))
}

/// A check that panics is reported as an `internal_error` diagnostic; the default panic
/// message on top of it would only be noise. `RUST_BACKTRACE` brings it back for debugging.
/// `--heap-profile`: samples from the start of the run, and writes the profile when the run
/// ends (on every path out of `run`, by its drop).
struct HeapProfile(PathBuf);

impl HeapProfile {
    fn start(path: PathBuf) -> HeapProfile {
        if std::env::var_os("GOMEM_MEMPROFILERATE").is_none() {
            gomem_runtime::set_mem_profile_rate(512 * 1024);
        }
        HeapProfile(path)
    }
}

impl Drop for HeapProfile {
    fn drop(&mut self) {
        let written = std::fs::File::create(&self.0)
            .and_then(|mut f| gomem_runtime::write_heap_profile(&mut f));
        if let Err(e) = written {
            eprintln!("error: writing the heap profile {}: {e}", self.0.display());
        }
    }
}

fn quiet_worker_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let worker = std::thread::current()
            .name()
            .is_some_and(|n| n.starts_with("gomem-worker"));
        if !worker || std::env::var_os("RUST_BACKTRACE").is_some() {
            default(info);
        }
    }));
}

/// `; in test code: allow` for a lint whose default level in test code is its own.
fn in_tests_note(id: LintId) -> String {
    match id.default_level_in_tests() {
        Some(level) if level != id.default_level() => {
            format!("; in test code: {}", level.as_str())
        }
        _ => String::new(),
    }
}
