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

use crate::config::Config;
use crate::diagnostic::Level;
use crate::driver::{analyze, Analysis};
use crate::lints::LintId;
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

    /// Lint only this package (repeatable). Default: every workspace member.
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

    /// First run `cargo check` (or `cargo clippy`) with `--message-format=json` and the
    /// arguments after `--`, and pass its messages through: for rust-analyzer's
    /// `check.overrideCommand`, which then shows both the compiler's and gomem's findings.
    #[arg(long, value_enum, value_name = "TOOL", num_args = 0..=1, require_equals = true, default_missing_value = "check")]
    with_check: Option<CheckTool>,

    /// Arguments for `cargo check`/`cargo clippy` (with `--with-check`), after `--`.
    #[arg(last = true, value_name = "CHECK_ARGS")]
    check_args: Vec<String>,

    /// Lint only the package that holds FILE: what an editor asks on each save
    /// (rust-analyzer's `$saved_file`). Findings are reported for the whole package, since
    /// editors replace a package's diagnostics at once.
    #[arg(long, value_name = "FILE")]
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

/// Parses `1048576`, `1MiB`, `512 KiB`, `2GB`. Units are always binary: `KB`, `MB` and `GB`
/// mean KiB, MiB and GiB, as the sizes the lints print do.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !c.is_ascii_digit() && c != '_')
        .unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    let n: u64 = digits
        .replace('_', "")
        .parse()
        .map_err(|_| format!("`{s}` is not a size (try `1MiB` or `4096`)"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        other => return Err(format!("unknown size unit `{other}` (use KiB, MiB or GiB)")),
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("`{s}` is too large"))
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
        Err(message) if message.contains("Broken pipe") => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

fn run(argv: Vec<std::ffi::OsString>) -> Result<ExitCode, String> {
    let matches = Args::command()
        .try_get_matches_from(argv)
        .unwrap_or_else(|e| e.exit());
    let args = Args::from_arg_matches(&matches).map_err(|e| e.to_string())?;
    let _profile = args.heap_profile.clone().map(HeapProfile::start);

    if args.list {
        let listed = || LintId::ALL.into_iter().filter(|id| id.lint().configurable);
        let width = listed().map(|id| id.name().len()).max().unwrap_or(0);
        for id in listed() {
            let lint = id.lint();
            println!(
                "{:<width$} {:<5} {}",
                lint.name,
                lint.default_level.as_str(),
                lint.summary
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(name) = &args.explain {
        let id = LintId::from_name(name).ok_or_else(|| {
            let names: Vec<_> = LintId::ALL.iter().map(|i| i.name()).collect();
            format!("unknown lint `{name}`; the lints are: {}", names.join(", "))
        })?;
        println!(
            "# gomem::{} (default: {})\n\n{}",
            id.name(),
            id.lint().default_level.as_str(),
            id.lint().explanation
        );
        return Ok(ExitCode::SUCCESS);
    }

    let workspace = if args.paths.is_empty() {
        let selection = cargo::Selection {
            manifest_path: args.manifest_path.clone(),
            packages: args.package.clone(),
        };
        cargo::load(&selection)?
    } else {
        if args.manifest_path.is_some() || !args.package.is_empty() {
            return Err("paths cannot be combined with --manifest-path or --package".into());
        }
        let mut ws = Workspace::from_paths(&args.paths);
        // Without cargo, the settings file of the folder the command runs in.
        let cwd = std::env::current_dir().map_err(|e| e.to_string())?;
        ws.settings
            .extend(crate::config_file::load_gomem_toml(&cwd)?);
        ws
    };
    if !workspace.errors.is_empty() {
        return Err(workspace.errors.join("\n"));
    }
    let mut workspace = workspace;
    if let Some(file) = &args.saved_file {
        if !args.paths.is_empty() {
            return Err("--saved-file cannot be combined with paths".into());
        }
        let abs = std::fs::canonicalize(file)
            .map_err(|e| format!("cannot find the saved file `{}`: {e}", file.display()))?;
        let package = workspace.package_of_file(&abs).ok_or_else(|| {
            format!(
                "`{}` is not in a package of the workspace at `{}`",
                file.display(),
                workspace.root.display()
            )
        })?;
        workspace.retain_package(package);
    }

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
            Some(run_check(tool, &args)?)
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
        eprintln!(
            "gomem-lint: recorded {} in the baseline `{}`",
            report::counts(&analysis),
            path.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(path) = &args.baseline {
        let stale = crate::baseline::apply(path, &mut analysis)?;
        if !stale.is_empty() {
            // To stderr in every format: stdout carries the machine-readable output.
            eprintln!(
                "gomem-lint: {} no longer {} a finding (fixed? rewrite the baseline with --write-baseline):",
                if stale.len() == 1 {
                    "1 baseline entry".to_string()
                } else {
                    format!("{} baseline entries", stale.len())
                },
                if stale.len() == 1 { "matches" } else { "match" }
            );
            for e in &stale {
                eprintln!("  {} {} (x{}): {}", e.file, e.lint, e.count, e.message);
            }
        }
    }
    if std::env::var_os("GOMEM_TIME_PASSES").is_some() {
        // Like rustc's `-Z time-passes`: where a run's time goes, for profiling gomem itself.
        for (phase, took) in &analysis.phases {
            eprintln!("time: {:>8.1}ms  {phase}", took.as_secs_f64() * 1000.0);
        }
    }
    let failed = analysis.count(Level::Deny) > 0;
    let broken = analysis.has_internal_errors();
    match args.message_format {
        MessageFormat::Json => {
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            // One `build-finished` for both runs.
            let success = !failed && !broken && check_ok != Some(false);
            report::json::write(&mut out, &analysis, success).map_err(|e| e.to_string())?;
            out.flush().map_err(|e| e.to_string())?;
        }
        MessageFormat::Sarif => {
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            serde_json::to_writer_pretty(&mut out, &report::sarif::log(&analysis))
                .map_err(|e| e.to_string())?;
            writeln!(out).map_err(|e| e.to_string())?;
        }
        MessageFormat::Human => print_human(&analysis, args.color).map_err(|e| e.to_string())?,
    }
    Ok(if broken {
        ExitCode::from(2)
    } else if failed || check_ok == Some(false) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Runs `cargo check`/`cargo clippy --message-format=json` for the same packages, copying its
/// JSON lines to stdout except its `build-finished` (gomem writes the run's one at the end).
/// Returns whether the check succeeded.
fn run_check(tool: CheckTool, args: &Args) -> Result<bool, String> {
    use std::io::BufRead;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = std::process::Command::new(cargo);
    cmd.arg(match tool {
        CheckTool::Check => "check",
        CheckTool::Clippy => "clippy",
    });
    cmd.arg("--message-format=json");
    if let Some(m) = &args.manifest_path {
        cmd.arg("--manifest-path").arg(m);
    }
    for p in &args.package {
        cmd.arg("-p").arg(p);
    }
    if args.package.is_empty() {
        cmd.arg("--workspace");
    }
    cmd.args(&args.check_args);
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
            writeln!(out, "{line}").map_err(|e| e.to_string())?;
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
    writeln!(
        out,
        "gomem-lint: {} in {} files ({:.2}s)",
        report::counts(analysis),
        analysis.db.len(),
        analysis.elapsed.as_secs_f64()
    )
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

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("1MiB"), Ok(1 << 20));
        assert_eq!(parse_size("512 KiB"), Ok(512 << 10));
        assert_eq!(parse_size("1_000"), Ok(1000));
        assert!(parse_size("1 parsec").is_err());
        assert!(parse_size("MiB").is_err());
    }
}
