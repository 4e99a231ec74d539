//! The pipeline of a lint run: find files, parse them in parallel, index, lint, collect.
//!
//! Threads: [`analyze`] runs on a thread with a deep stack and starts one worker per core,
//! each with a deep stack too (see [`crate::parse`]). syn's trees cannot cross threads, so each
//! worker keeps the files it parsed and later lints them itself:
//!
//! 1. workers take files from a shared queue, read and parse them, and queue the module files
//!    they declare; each produces a [`FileSummary`] for the index;
//! 2. once the queue is drained, the coordinating thread links the module tree and builds the
//!    [`ItemIndex`]; meanwhile the workers parse the bodies of their first files (see
//!    [`prefill`]);
//! 3. each worker runs every enabled file check on its own files, and collects the facts of
//!    every enabled crate check from them. A check that panics costs only its own findings on
//!    that file: the panic becomes an `internal_error` diagnostic;
//! 4. once the workers are done (and their syntax trees freed), the coordinating thread runs
//!    each crate check's judge over the facts of all files. The workers are not joined:
//!    their threads' exit (the allocator gathering their heaps) runs alongside.
//!
//! Memory: the packages are taken in batches of a few MB of source ([`BATCH_BYTES`]); each
//! batch goes through steps 1-4 with its own index, and its syntax trees, index and facts are
//! freed before the next one starts, so the peak follows the largest batch, not the
//! workspace. Nothing the lints resolve crosses a package (a path into another crate is
//! external), so a package's findings do not depend on the batch it is in.
//!
//! Invariants: every file gets a [`FileId`] exactly once (deduplicated by path, across
//! batches), and the result is the same whatever the number of workers (diagnostics are
//! sorted at the end).

use std::collections::{HashMap, HashSet, VecDeque};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::diagnostic::Diagnostic;
use crate::ids::{PackageId, TargetId};
use crate::index::{expand_cfg_macros, summarize, FileSummary, IndexBuilder, ItemIndex, ModuleId};
use crate::lint::{Check, CrateContext, Facts, FileContext};
use crate::lint_defs::{Level, LintId};
use crate::lints;
use crate::modtree;
use crate::parse::{
    fill_bodies, for_each_fn_block, parse_file, parse_skeleton, Bodies, Edition, STACK_SIZE,
};
use crate::semantics::Semantics;
use crate::source::{SourceDb, SourceFile};
use crate::span::{FileId, Span};
use crate::suppress::Suppression;
use crate::workspace::{PlainPackages, Target, Workspace};

/// The outcome of a run.
pub struct Analysis {
    pub workspace: Workspace,
    pub db: SourceDb,
    /// Sorted by file and position; `Allow`ed findings are already removed.
    pub diagnostics: Vec<Diagnostic>,
    pub elapsed: Duration,
    /// How long each phase took, in order (rustc's `-Z time-passes`): for profiling.
    pub phases: Vec<(&'static str, Duration)>,
}

impl Analysis {
    /// Whether a check crashed, which makes the run fail (exit code 2).
    pub fn has_internal_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.lint == LintId::InternalError)
    }

    pub fn count(&self, level: Level) -> usize {
        self.diagnostics.iter().filter(|d| d.level == level).count()
    }
}

/// Runs every enabled lint over `workspace`.
pub fn analyze(workspace: Workspace, config: Config) -> Analysis {
    let jobs = std::thread::available_parallelism().map_or(2, |n| n.get());
    analyze_with(workspace, config, jobs)
}

/// [`analyze`] with a given number of worker threads.
pub fn analyze_with(workspace: Workspace, config: Config, jobs: usize) -> Analysis {
    let checks = LintId::ALL
        .into_iter()
        .map(|id| (id, lints::lint(id).check))
        .collect();
    analyze_with_checks(workspace, config, jobs, checks)
}

/// [`analyze_with`] running the given checks instead of the registry's (tests use it to
/// check how a crashing check is handled).
pub fn analyze_with_checks(
    workspace: Workspace,
    config: Config,
    jobs: usize,
    checks: Vec<(LintId, Check)>,
) -> Analysis {
    let start = Instant::now();
    let run = std::thread::Builder::new()
        .name("gomem-analyze".into())
        .stack_size(STACK_SIZE)
        .spawn(move || {
            Run {
                workspace,
                config,
                checks,
                packages: PlainPackages::default(),
                leak_trees: false,
                test_code: HashMap::new(),
            }
            .execute(jobs.max(1))
        })
        .expect("cannot start the analysis thread");
    let mut analysis = run.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
    analysis.elapsed = start.elapsed();
    analysis
}

/// [`analyze_with_checks`] on the calling thread, with no thread of its own: for callers
/// that run many small analyses (the `#[gomem::escape]` attribute lints each item it
/// annotates). The calling thread's stack must be [`STACK_SIZE`] deep, as the workers' are.
pub fn analyze_on_this_thread(
    workspace: Workspace,
    config: Config,
    checks: Vec<(LintId, Check)>,
) -> Analysis {
    let start = Instant::now();
    let mut analysis = Run {
        workspace,
        config,
        checks,
        packages: PlainPackages::default(),
        leak_trees: false,
        test_code: HashMap::new(),
    }
    .execute(0);
    analysis.elapsed = start.elapsed();
    analysis
}

/// Phase timings, measured on the coordinating thread.
struct Phases {
    last: Instant,
    done: Vec<(&'static str, Duration)>,
}

impl Default for Phases {
    fn default() -> Self {
        Phases {
            last: Instant::now(),
            done: Vec::new(),
        }
    }
}

impl Phases {
    /// Ends the phase `name`; a phase that comes again (in the next batch) adds up.
    fn lap(&mut self, name: &'static str) {
        let now = Instant::now();
        let took = now - self.last;
        match self.done.iter_mut().find(|(n, _)| *n == name) {
            Some((_, d)) => *d += took,
            None => self.done.push((name, took)),
        }
        self.last = now;
    }
}

/// A file to read and parse.
struct Job {
    path: PathBuf,
    /// Whether its `mod x;` declarations look for `x.rs` beside it (a crate root or a
    /// `mod.rs`) rather than in a folder of its name. A plain path is a root when it is named
    /// `lib.rs`/`main.rs`/`mod.rs`, or when cargo would take it for a target of its package
    /// (`tests/x.rs`, `benches/x.rs`, `examples/x.rs`, `src/bin/x.rs`, `build.rs`).
    owns_dir: bool,
    target: Option<TargetId>,
    /// The edition of the crate the file belongs to (its module tree's root's).
    edition: Edition,
}

#[derive(Default)]
struct Queue {
    jobs: VecDeque<Job>,
    seen: HashSet<PathBuf>,
    /// Workers currently processing a job; the queue is drained when this is 0 and `jobs` empty.
    active: usize,
}

/// What a worker learned about one file.
struct Parsed {
    file: FileId,
    summary: FileSummary,
    /// For each of `summary.mod_decls`: the file that holds the module, if found.
    children: Vec<Option<PathBuf>>,
    /// Its test code ([`crate::test_code::test_regions`]).
    test_regions: Vec<std::ops::Range<u32>>,
}

impl Shared {
    fn report(&self, d: Diagnostic) {
        self.diagnostics
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(d);
    }
}

struct Shared {
    queue: Mutex<Queue>,
    wake: Condvar,
    db: Mutex<SourceDb>,
    parsed: Mutex<Vec<Parsed>>,
    diagnostics: Mutex<Vec<Diagnostic>>,
    /// What crate checks collected from each file.
    /// What each fact source collected from each file.
    facts: Mutex<Vec<(&'static str, FileId, Facts)>>,
    /// Every file's `gomem::allow` attributes and comments.
    suppressions: Mutex<Vec<Suppression>>,
    /// Built after phase 1; workers lint against it.
    context: OnceLock<Arc<LintContext>>,
    /// Set once the coordinator is done linking (whether or not it built a context): the
    /// workers stop filling skeletons ahead (see [`prefill`]).
    linked: AtomicBool,
    /// Each worker's files, for phase 2.
    claims: Mutex<Vec<Arc<[Claim]>>>,
    /// Texts given instead of files on disk.
    in_memory: HashMap<PathBuf, Arc<str>>,
    /// [`Config::compiler_reports_unreadable_files`].
    compiler_reports_unreadable_files: bool,
    /// Whether this batch's trees are dropped after summarizing and parsed again for the
    /// checks (see [`Batch::reparse`]).
    reparse: bool,
}

/// What the linting workers share once the index is built.
struct LintContext {
    index: ItemIndex,
    semantics: Semantics,
    db: Arc<SourceDb>,
    config: Config,
    /// The package of each target, to find a file's package settings.
    target_packages: Vec<PackageId>,
    checks: Vec<(LintId, Check)>,
}

struct Run {
    workspace: Workspace,
    config: Config,
    checks: Vec<(LintId, Check)>,
    /// Each folder's package, found once for the plain-path files' jobs and their crate
    /// roots' targets (see [`Workspace::plain_file_edition`]).
    packages: PlainPackages,
    /// Whether the current batch's syntax trees may be left to the process's exit.
    leak_trees: bool,
    /// The test code of each file that has some, by file: ranges of bytes, or the whole file
    /// (`0..u32::MAX`) for the files of test, bench and example targets and of modules
    /// declared in test code. Findings there get the lints' test levels.
    test_code: HashMap<FileId, Vec<std::ops::Range<u32>>>,
}

impl Run {
    /// Links what the parse phase left in `shared` into the index, and hands it and the
    /// frozen sources to the lint phase.
    fn link_and_publish(&mut self, shared: &Shared) -> Arc<SourceDb> {
        let mut db = std::mem::take(&mut *shared.db.lock().unwrap_or_else(|e| e.into_inner()));
        let parsed = std::mem::take(&mut *shared.parsed.lock().unwrap_or_else(|e| e.into_inner()));
        let index = self.link(&mut db, parsed);
        let db = Arc::new(db);
        let mut config = self.config.clone();
        config.leak_syntax_at_exit = self.leak_trees;
        let context = LintContext {
            semantics: Semantics::new(&index),
            index,
            db: db.clone(),
            config,
            target_packages: self.workspace.targets.iter().map(|t| t.package).collect(),
            checks: self.checks.clone(),
        };
        let _ = shared.context.set(Arc::new(context));
        db
    }

    fn execute(mut self, jobs: usize) -> Analysis {
        let mut carry = Carry::default();
        let mut phases = Phases::default();
        let batches = self.batches(jobs);
        let last = batches.len().saturating_sub(1);
        for (i, batch) in batches.into_iter().enumerate() {
            // Only the last batch's trees may be left to the process's exit.
            self.leak_trees = i == last && self.config.leak_syntax_at_exit;
            let first = carry.db.len();
            self.run_batch(batch, jobs, &mut carry, &mut phases);
            if last > 0 {
                release_unreported(&mut carry, first);
            }
        }
        let Carry {
            db,
            mut diagnostics,
            suppressions,
            ..
        } = carry;
        let reported = crate::suppress::apply(&mut diagnostics, &suppressions, &self.config);
        diagnostics.extend(reported);
        for d in &mut diagnostics {
            if d.lint.configurable() {
                // A lint may raise its own level (e.g. a finding inside a loop); flags cap it.
                let package = db
                    .get(d.primary.span.file)
                    .target
                    .and_then(|t| self.workspace.targets.get(t.0 as usize))
                    .map(|t| t.package);
                let span = d.primary.span;
                let in_tests = self
                    .test_code
                    .get(&span.file)
                    .is_some_and(|r| crate::test_code::contains(r, span.lo));
                let configured = self
                    .config
                    .for_package(package)
                    .levels
                    .get_for(d.lint, in_tests);
                d.level = if configured == Level::Allow {
                    Level::Allow
                } else {
                    d.level.max(configured)
                };
            }
        }
        diagnostics.retain(|d| d.level != Level::Allow);
        // By path, not file id: ids depend on which worker read which file first.
        diagnostics.sort_by(|a, b| {
            let path = |d: &Diagnostic| &db.get(d.primary.span.file).path;
            path(a)
                .cmp(path(b))
                .then_with(|| a.sort_key().cmp(&b.sort_key()))
                .then_with(|| a.message.cmp(&b.message))
        });
        diagnostics.dedup();
        Analysis {
            workspace: self.workspace,
            db,
            diagnostics,
            elapsed: Duration::ZERO,
            phases: phases.done,
        }
    }

    /// The initial jobs, in batches of whole packages (see [`BATCH_BYTES`]).
    fn batches(&mut self, jobs: usize) -> Vec<Batch> {
        let mut groups: Vec<(PathBuf, Vec<Job>, u64)> = Vec::new();
        let mut group_of: HashMap<PathBuf, usize> = HashMap::new();
        let mut package_dirs: HashMap<PathBuf, Option<PathBuf>> = HashMap::new();
        let mut add = |key: PathBuf, job: Job, bytes: u64| {
            let i = *group_of.entry(key.clone()).or_insert_with(|| {
                groups.push((key, Vec::new(), 0));
                groups.len() - 1
            });
            groups[i].1.push(job);
            groups[i].2 += bytes;
        };
        for (i, t) in self.workspace.targets.iter().enumerate() {
            let key = PathBuf::from(format!("package {}", t.package.0));
            let bytes = t
                .src_path
                .parent()
                .map_or(0, |dir| rust_bytes_under(dir, 0));
            add(
                key,
                Job {
                    path: t.src_path.clone(),
                    owns_dir: true,
                    target: Some(TargetId(i as u32)),
                    edition: t.edition,
                },
                bytes,
            );
        }
        for p in &self.workspace.plain_files {
            let key = package_dir(p, &mut package_dirs)
                .or_else(|| p.parent().map(PathBuf::from))
                .unwrap_or_default();
            let bytes = std::fs::metadata(p).map_or(0, |m| m.len());
            let job = Job {
                path: p.clone(),
                owns_dir: is_mod_rs(p)
                    || Workspace::plain_target_kind(p, &mut self.packages) != "lib",
                target: None,
                edition: self.workspace.plain_file_edition(p, &mut self.packages),
            };
            add(key, job, bytes);
        }
        // One batch on this thread (the attribute's many small runs) or for a small run.
        if jobs == 0 {
            return vec![Batch {
                jobs: groups.into_iter().flat_map(|(_, jobs, _)| jobs).collect(),
                reparse: false,
            }];
        }
        let mut batches: Vec<Batch> = Vec::new();
        let mut size = 0u64;
        for (_, group, bytes) in groups {
            let budget = match self.config.batch_bytes {
                0 => BATCH_BYTES,
                n => n,
            };
            if batches.is_empty() || size.saturating_add(bytes) > budget {
                batches.push(Batch::default());
                size = 0;
            }
            size = size.saturating_add(bytes);
            if let Some(b) = batches.last_mut() {
                b.jobs.extend(group);
                b.reparse = size > budget.saturating_mul(2);
            }
        }
        if batches.is_empty() {
            batches.push(Batch::default());
        }
        batches
    }

    /// Parses, indexes and lints one batch of packages, then judges their facts: their syntax
    /// trees, index and facts are freed before the next batch starts.
    fn run_batch(&mut self, batch: Batch, jobs: usize, carry: &mut Carry, phases: &mut Phases) {
        let shared = Shared {
            queue: Mutex::new(Queue {
                seen: std::mem::take(&mut carry.seen),
                ..Queue::default()
            }),
            wake: Condvar::new(),
            db: Mutex::new(std::mem::take(&mut carry.db)),
            parsed: Mutex::new(Vec::new()),
            diagnostics: Mutex::new(Vec::new()),
            facts: Mutex::new(Vec::new()),
            suppressions: Mutex::new(Vec::new()),
            context: OnceLock::new(),
            linked: AtomicBool::new(false),
            claims: Mutex::new(Vec::new()),
            in_memory: self.workspace.in_memory.iter().cloned().collect(),
            compiler_reports_unreadable_files: self.config.compiler_reports_unreadable_files,
            reparse: batch.reparse,
        };
        {
            let mut q = shared.queue.lock().unwrap_or_else(|e| e.into_inner());
            for job in batch.jobs {
                push_job(&mut q, job);
            }
        }
        let parsed_barrier = Barrier::new(jobs + 1);
        let index_barrier = Barrier::new(jobs + 1);
        let mut frozen = Arc::new(SourceDb::default());
        if jobs == 0 {
            // Everything on this thread, one phase after the other.
            let (mine, crashed) = parse_files(&shared);
            let claims = claims_of(&shared, &mine);
            frozen = self.link_and_publish(&shared);
            lint_files(&shared, mine, &claims, crashed);
        } else {
            // A worker's panic, kept for this thread: the workers are not joined. The scope
            // ends when their closures have returned, while each thread's exit (mimalloc
            // gathers the thread's heap pages, ~4 ms per worker on tokio) runs alongside
            // the crate checks instead of before them.
            let crashed: Mutex<Held> = Mutex::new(None);
            std::thread::scope(|scope| {
                for i in 0..jobs {
                    let (shared, parsed_barrier, index_barrier, crashed) =
                        (&shared, &parsed_barrier, &index_barrier, &crashed);
                    std::thread::Builder::new()
                        .name(format!("gomem-worker-{i}"))
                        .stack_size(STACK_SIZE)
                        .spawn_scoped(scope, move || {
                            let run = || worker(shared, parsed_barrier, index_barrier);
                            if let Err(panic) = catch_unwind(AssertUnwindSafe(run)) {
                                let mut held = crashed.lock().unwrap_or_else(|e| e.into_inner());
                                held.get_or_insert(panic);
                            }
                        })
                        .expect("cannot start a worker thread");
                }
                parsed_barrier.wait();
                phases.lap("read, parse and summarize files");
                let linked = catch_unwind(AssertUnwindSafe(|| self.link_and_publish(&shared)));
                // Always reached, so that no worker waits for ever.
                shared.linked.store(true, Ordering::Release);
                index_barrier.wait();
                phases.lap("link modules and build the index");
                match linked {
                    Ok(db) => frozen = db,
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            });
            if let Some(panic) = crashed.into_inner().unwrap_or_else(|e| e.into_inner()) {
                std::panic::resume_unwind(panic);
            }
            phases.lap("file checks and fact collection");
        }
        let Shared {
            queue,
            diagnostics,
            facts,
            suppressions,
            context,
            ..
        } = shared;
        carry.seen = queue.into_inner().unwrap_or_else(|e| e.into_inner()).seen;
        carry
            .diagnostics
            .extend(diagnostics.into_inner().unwrap_or_else(|e| e.into_inner()));
        if let Some(context) = context.get() {
            let facts = facts.into_inner().unwrap_or_else(|e| e.into_inner());
            carry
                .diagnostics
                .extend(judge_crate_checks(context, &facts));
            if self.leak_trees {
                // Left to the process's exit with the trees: freeing every call site is
                // serial work (~2 ms on tokio).
                std::mem::forget(facts);
            }
            phases.lap("crate checks");
        }
        carry
            .suppressions
            .extend(suppressions.into_inner().unwrap_or_else(|e| e.into_inner()));
        // The workers are gone: the context was the database's last other owner.
        match context.into_inner().map(Arc::try_unwrap) {
            // The last batch of a command that exits next: the index and the semantic tables
            // are left to the process's exit, as the trees are (freeing them is serial work:
            // 17M instructions on tokio's source).
            Some(Ok(mut context)) if self.leak_trees => {
                drop(std::mem::take(&mut context.db));
                std::mem::forget(context);
            }
            other => drop(other),
        }
        carry.db = Arc::try_unwrap(frozen).expect("no worker outlives the run");
    }

    /// Links the module tree, gives plain-path roots a target, and builds the index.
    fn link(&mut self, db: &mut SourceDb, mut parsed: Vec<Parsed>) -> ItemIndex {
        parsed.sort_by_key(|p| p.file);
        let by_file: HashMap<FileId, usize> = parsed
            .iter()
            .enumerate()
            .map(|(i, p)| (p.file, i))
            .collect();
        // The file of each module declaration, aligned with `parsed[i].summary.mod_decls`.
        let children: Vec<Vec<Option<FileId>>> = parsed
            .iter()
            .map(|p| {
                p.children
                    .iter()
                    .map(|c| c.as_ref().and_then(|c| db.find(c)))
                    .collect()
            })
            .collect();
        // The files some other file declares as a module.
        let mut declared: HashSet<FileId> = HashSet::new();
        for (p, kids) in parsed.iter().zip(&children) {
            declared.extend(kids.iter().flatten().filter(|&&child| child != p.file));
        }
        // The crate roots: the targets' in their order, then (plain paths) the files nobody
        // declares, by path. A module declared from several roots (a `tests/util/mod.rs`
        // that each test declares) belongs to the first root that reaches it, in this order.
        // File ids follow the order in which the workers happened to read the files, so
        // nothing here may depend on them: a finding's target must not change between runs.
        let mut roots: Vec<FileId> = Vec::new();
        for t in &self.workspace.targets {
            if let Some(f) = db.find(&t.src_path) {
                if !roots.contains(&f) {
                    roots.push(f);
                }
            }
        }
        let mut undeclared: Vec<FileId> = parsed
            .iter()
            .map(|p| p.file)
            .filter(|f| db.get(*f).target.is_none() && !declared.contains(f) && !roots.contains(f))
            .collect();
        undeclared.sort_by(|a, b| db.get(*a).path.cmp(&db.get(*b).path));
        roots.extend(undeclared);
        let is_root: HashSet<FileId> = roots.iter().copied().collect();
        let mut builder = IndexBuilder::default();
        let mut done: HashSet<FileId> = HashSet::new();
        // Depth-first from each root; the stack holds (file, parent module and name).
        for root in roots {
            let target = match db.get(root).target {
                Some(t) => t,
                None => self.plain_target(db, root),
            };
            let test_target = self.workspace.targets[target.0 as usize]
                .kind
                .iter()
                .any(|k| matches!(k.as_str(), "test" | "bench" | "example"));
            // Each file with its parent module and name, and whether it is test code as a whole.
            let mut stack: Vec<(FileId, Parent, bool)> = vec![(root, None, test_target)];
            while let Some((file, parent, all_test)) = stack.pop() {
                if !done.insert(file) {
                    continue;
                }
                // A module takes the target of the root it is reached from, whichever target
                // queued it for parsing; a root keeps its own.
                let slot = &mut db.get_mut(file).target;
                if is_root.contains(&file) {
                    slot.get_or_insert(target);
                } else {
                    *slot = Some(target);
                }
                let Some(&pi) = by_file.get(&file) else {
                    continue;
                };
                let p = &mut parsed[pi];
                let regions = std::mem::take(&mut p.test_regions);
                let all_test = all_test || regions.first().is_some_and(|r| r.end == u32::MAX);
                let ids = builder.add_file(file, Some(target), parent, &mut p.summary);
                for (decl, child) in p.summary.mod_decls.iter().zip(&children[pi]) {
                    let Some(child) = *child else {
                        continue;
                    };
                    if !done.contains(&child) {
                        let test = all_test || crate::test_code::contains(&regions, decl.span.lo);
                        let parent = Some((ids[decl.local_parent], decl.name.clone()));
                        stack.push((child, parent, test));
                    }
                }
                if all_test {
                    self.test_code
                        .insert(file, std::iter::once(0..u32::MAX).collect());
                } else if !regions.is_empty() {
                    self.test_code.insert(file, regions);
                }
            }
        }
        builder.finish()
    }

    /// Plain-path mode: a crate root gets a synthetic `lib` target named after the file.
    fn plain_target(&mut self, db: &SourceDb, root: FileId) -> TargetId {
        let path = db.get(root).path.clone();
        let name = path
            .file_stem()
            .map_or("root".into(), |s| s.to_string_lossy().into_owned());
        self.workspace.targets.push(Target {
            package: PackageId(0),
            name,
            kind: vec![Workspace::plain_target_kind(&path, &mut self.packages).into()],
            crate_types: vec!["lib".into()],
            edition: self.workspace.plain_file_edition(&path, &mut self.packages),
            src_path: path,
        });
        TargetId(self.workspace.targets.len() as u32 - 1)
    }
}

/// A batch's share of the source, in bytes, above which the next package starts a new batch.
/// Syntax trees take about 30 times their source; 8 MiB keeps a batch's trees in a few
/// hundred MB however large the workspace (a package larger than this is a batch of its own).
const BATCH_BYTES: u64 = 8 << 20;

/// How much source a worker fills ahead while the index is built (see [`prefill`]): a large
/// batch's index takes long enough to fill most of it, and filled trees take ~30 times their
/// source until their checks run. 1 MiB is more than tokio's index leaves time for.
const PREFILL_BYTES: usize = 1 << 20;

/// Initial jobs of whole packages.
#[derive(Default)]
struct Batch {
    jobs: Vec<Job>,
    /// A batch over twice [`BATCH_BYTES`] (one package of generated bindings, say) does not
    /// keep its trees between the two phases: each file is parsed once to be summarized and
    /// once more to be checked, so that a package of any size takes a few trees' memory at a
    /// time, for the price of a second parse.
    reparse: bool,
}

/// A parsed file as the checks will get it.
enum Tree {
    Kept(syn::File),
    /// Without the fn bodies the index does not read: they are parsed into it, in this
    /// edition, when its turn comes (see `crate::parse::bodies`), and the whole tree is
    /// freed once its checks are done.
    Skeleton(syn::File, Bodies, Edition),
    /// A skeleton with its bodies in, filled while the index was being built (see
    /// [`prefill`]); its file is claimed, and the tree freed once its checks are done.
    Filled(syn::File),
    /// Dropped after summarizing: parsed again, in this edition, when its turn comes.
    Again(Edition),
    /// Linted, here or by another worker: nothing is left of it.
    Done,
}

/// What outlives a batch.
#[derive(Default)]
struct Carry {
    db: SourceDb,
    /// Files already queued, so that each gets one id and one parse across batches.
    seen: HashSet<PathBuf>,
    diagnostics: Vec<Diagnostic>,
    suppressions: Vec<Suppression>,
}

/// Frees the text of the files from `first` on that no finding or suppression points into:
/// in a run of many batches, the sources would otherwise be the largest thing kept.
fn release_unreported(carry: &mut Carry, first: usize) {
    let mut kept: HashSet<FileId> = HashSet::new();
    for d in &carry.diagnostics {
        kept.insert(d.primary.span.file);
        kept.extend(d.secondary.iter().map(|l| l.span.file));
        kept.extend(d.suggestions.iter().map(|s| s.span.file));
    }
    kept.extend(carry.suppressions.iter().map(|s| s.span.file));
    for i in first..carry.db.len() {
        let id = FileId(i as u32);
        if !kept.contains(&id) {
            carry.db.release_text(id);
        }
    }
}

/// The folder of the package a plain file belongs to: its nearest ancestor with a
/// `Cargo.toml` (cached per folder).
fn package_dir(
    file: &std::path::Path,
    cache: &mut HashMap<PathBuf, Option<PathBuf>>,
) -> Option<PathBuf> {
    let dir = file.parent()?;
    if let Some(found) = cache.get(dir) {
        return found.clone();
    }
    let found = if dir.join("Cargo.toml").is_file() {
        Some(dir.to_path_buf())
    } else {
        package_dir(dir, cache)
    };
    cache.insert(dir.to_path_buf(), found.clone());
    found
}

/// The bytes of the `.rs` files under `dir`, to size a package's batch (a few levels deep:
/// an estimate).
fn rust_bytes_under(dir: &std::path::Path, depth: usize) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut total = 0;
    for e in entries.flatten() {
        let path = e.path();
        match e.file_type() {
            Ok(t) if t.is_dir() && depth < 4 => total += rust_bytes_under(&path, depth + 1),
            Ok(t) if t.is_file() && path.extension().is_some_and(|x| x == "rs") => {
                total += e.metadata().map_or(0, |m| m.len())
            }
            _ => {}
        }
    }
    total
}

fn is_mod_rs(path: &std::path::Path) -> bool {
    matches!(
        path.file_name().and_then(|n| n.to_str()),
        Some("mod.rs" | "lib.rs" | "main.rs")
    )
}

fn push_job(q: &mut Queue, job: Job) {
    if q.seen.insert(job.path.clone()) {
        q.jobs.push_back(job);
    }
}

fn worker(shared: &Shared, parsed_barrier: &Barrier, index_barrier: &Barrier) {
    let (mut mine, crashed) = parse_files(shared);
    let claims = claims_of(shared, &mine);
    let texts = texts_of(shared, &mine);
    parsed_barrier.wait();
    if crashed.is_none() {
        prefill(shared, &mut mine, &claims, &texts);
    }
    drop(texts);
    index_barrier.wait();
    lint_files(shared, mine, &claims, crashed);
}

/// A file's text and line starts.
type Text = (Arc<str>, Arc<[u32]>);

/// The text and line starts of each of a worker's skeletons, for [`prefill`]: the sources
/// move into the index's database while it fills.
fn texts_of(shared: &Shared, mine: &[(FileId, Tree)]) -> Vec<Option<Text>> {
    let db = shared.db.lock().unwrap_or_else(|e| e.into_inner());
    mine.iter()
        .map(|(file, tree)| {
            matches!(tree, Tree::Skeleton(..)).then(|| {
                let source = db.get(*file);
                (source.text.clone(), source.line_starts.clone())
            })
        })
        .collect()
}

/// Fills a worker's skeletons, in the order its phase 2 lints them, until the index is
/// built (or [`PREFILL_BYTES`] of them are). Building it is serial work on the
/// coordinator's thread (~8 ms on tokio), and filling needs no index: without this, the
/// other cores would wait.
fn prefill(shared: &Shared, mine: &mut [(FileId, Tree)], claims: &[Claim], texts: &[Option<Text>]) {
    let mut found = Vec::new();
    let mut filled = 0;
    for (((file, tree), claim), text) in mine.iter_mut().zip(claims).zip(texts) {
        if shared.linked.load(Ordering::Acquire) || filled > PREFILL_BYTES {
            break;
        }
        let Some((text, line_starts)) = text else {
            continue;
        };
        filled += text.len();
        // Nobody takes another's files before the index is built; a filled file is its
        // filler's.
        if !claim.take() {
            continue;
        }
        let Tree::Skeleton(syntax, bodies, edition) = std::mem::replace(tree, Tree::Done) else {
            continue;
        };
        let _lines = crate::span::use_line_index(*file, text, line_starts);
        if let Some(syntax) = fill(shared, *file, text, edition, syntax, &bodies, &mut found) {
            *tree = Tree::Filled(syntax);
        }
    }
    for d in found {
        shared.report(d);
    }
}

/// A skeleton with its bodies put in; the whole file parsed again when they do not line up.
/// A crash is reported in `found`. [`Span::of`] must read `file` (its line index in use).
fn fill(
    shared: &Shared,
    file: FileId,
    text: &str,
    edition: Edition,
    mut syntax: syn::File,
    bodies: &Bodies,
    found: &mut Vec<Diagnostic>,
) -> Option<syn::File> {
    catch_unwind(AssertUnwindSafe(|| {
        if fill_bodies(file, text, edition, &mut syntax, bodies) {
            return syntax;
        }
        // The halves do not line up: the whole file, as a plain parse gives it.
        drop(syntax);
        parse_whole(shared, file, text, edition, true)
    }))
    .map_err(|panic| found.push(internal_error(file, "parsing", &panic)))
    .ok()
}

/// The [`Claim`]s of a worker's files, shared with the other workers.
fn claims_of(shared: &Shared, mine: &[(FileId, Tree)]) -> Arc<[Claim]> {
    let claims: Arc<[Claim]> = mine
        .iter()
        .map(|(file, tree)| Claim {
            file: *file,
            edition: match tree {
                Tree::Skeleton(_, _, edition) | Tree::Again(edition) => Some(*edition),
                Tree::Kept(_) | Tree::Filled(_) | Tree::Done => None,
            },
            news: matches!(tree, Tree::Skeleton(..)),
            taken: AtomicBool::new(false),
        })
        .collect();
    shared
        .claims
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(claims.clone());
    claims
}

/// The module a file is declared in, and the name it is declared under.
type Parent = Option<(ModuleId, String)>;

/// A panic held until the run is over (see [`parse_files`]).
type Held = Option<Box<dyn std::any::Any + Send>>;

/// Phase 1 of a worker: reads and parses files from the queue until it is drained.
fn parse_files(shared: &Shared) -> (Vec<(FileId, Tree)>, Held) {
    let mut mine: Vec<(FileId, Tree)> = Vec::new();
    let mut crashed = None;
    loop {
        let job = {
            let mut q = shared.queue.lock().unwrap_or_else(|e| e.into_inner());
            loop {
                if let Some(job) = q.jobs.pop_front() {
                    q.active += 1;
                    break Some(job);
                }
                if q.active == 0 {
                    break None;
                }
                q = shared.wake.wait(q).unwrap_or_else(|e| e.into_inner());
            }
        };
        let Some(job) = job else {
            shared.wake.notify_all();
            break;
        };
        // A panic here would be a bug outside any check; it must not leave the other threads
        // waiting at a barrier for ever, so it is held until the run is over.
        match catch_unwind(AssertUnwindSafe(|| process(shared, job))) {
            Ok(Some(parsed)) => mine.push(parsed),
            Ok(None) => {}
            Err(panic) => crashed = crashed.or(Some(panic)),
        }
        let mut q = shared.queue.lock().unwrap_or_else(|e| e.into_inner());
        q.active -= 1;
        drop(q);
        shared.wake.notify_all();
    }
    (mine, crashed)
}

/// A file a worker parsed, as the other workers see it in phase 2: taken by whoever lints
/// it first. A worker lints its own files in order, then takes the others' from their ends,
/// parsing each whole: its trees cannot cross threads, and the halves of a skeleton make
/// the files' costs uneven, so without it one worker would often idle while the other
/// finishes (tokio: up to 40 ms of a 190 ms phase).
struct Claim {
    file: FileId,
    /// How another worker parses it: `None` when it must not (its tree was kept whole).
    edition: Option<Edition>,
    /// Whether that parse reports what fails: only a skeleton's file has failures that were
    /// not reported when it was summarized.
    news: bool,
    taken: AtomicBool,
}

impl Claim {
    fn take(&self) -> bool {
        !self.taken.swap(true, Ordering::AcqRel)
    }
}

/// Phase 2 of a worker, once the index is built: lints the files it parsed, then helps
/// with the others' (see [`Claim`]).
fn lint_files(shared: &Shared, mut mine: Vec<(FileId, Tree)>, claims: &[Claim], crashed: Held) {
    if let Some(panic) = crashed {
        std::panic::resume_unwind(panic);
    }
    // No context: linking crashed, and the coordinator reports it.
    let Some(context) = shared.context.get().cloned() else {
        return;
    };
    let mut out = Output::default();
    for ((file, tree), claim) in mine.iter_mut().zip(claims) {
        // A filled tree's file was claimed when it was filled.
        if !matches!(tree, Tree::Filled(_)) && !claim.take() {
            // Another worker linted it.
            *tree = Tree::Done;
            continue;
        }
        let file = *file;
        let source = context.db.get(file);
        let _lines = crate::span::use_line_index(file, &source.text, &source.line_starts);
        // A tree built here is this file's alone: dropped once its checks are done.
        let own = match std::mem::replace(tree, Tree::Done) {
            Tree::Kept(syntax) => {
                *tree = Tree::Kept(syntax);
                None
            }
            Tree::Skeleton(syntax, bodies, edition) => {
                match fill(
                    shared,
                    file,
                    &source.text,
                    edition,
                    syntax,
                    &bodies,
                    &mut out.found,
                ) {
                    Some(syntax) => Some(syntax),
                    None => continue,
                }
            }
            Tree::Filled(syntax) => Some(syntax),
            // Its failures were reported the first time.
            Tree::Again(edition) => match catch_unwind(AssertUnwindSafe(|| {
                parse_whole(shared, file, &source.text, edition, false)
            })) {
                Ok(syntax) => Some(syntax),
                Err(_) => continue,
            },
            Tree::Done => continue,
        };
        let syntax = match (&*tree, &own) {
            (_, Some(syntax)) => syntax,
            (Tree::Kept(syntax), None) => syntax,
            _ => continue,
        };
        out.lint(file, syntax, &context);
        match own {
            // The bodies were parsed for this file alone, and are still in cache: freed, for
            // the next file's. The rest was built in phase 1, out of cache by now, and is
            // left to the process's exit as the kept trees are.
            Some(syntax) if context.config.leak_syntax_at_exit => free_bodies(syntax),
            // Dropped right here, on this thread's deep stack, so that the next file's tree
            // reuses its memory.
            own => drop(own),
        }
    }
    let others: Vec<Arc<[Claim]>> = shared
        .claims
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    for list in &others {
        if std::ptr::eq(list.as_ptr(), claims.as_ptr()) {
            continue;
        }
        for claim in list.iter().rev() {
            let Some(edition) = claim.edition else {
                continue;
            };
            if !claim.take() {
                continue;
            }
            let file = claim.file;
            let source = context.db.get(file);
            let _lines = crate::span::use_line_index(file, &source.text, &source.line_starts);
            match catch_unwind(AssertUnwindSafe(|| {
                parse_whole(shared, file, &source.text, edition, claim.news)
            })) {
                Ok(syntax) => out.lint(file, &syntax, &context),
                Err(panic) => out.found.push(internal_error(file, "parsing", &panic)),
            }
        }
    }
    out.publish(shared);
    if context.config.leak_syntax_at_exit {
        std::mem::forget(mine);
    }
    // Otherwise `mine` (deep syntax trees) is dropped here, on this thread's deep stack.
}

/// Frees the statements of every fn body in `syntax` and leaves the rest of it allocated.
fn free_bodies(mut syntax: syn::File) {
    for_each_fn_block(&mut syntax.items, &mut |block| {
        drop(std::mem::take(&mut block.stmts))
    });
    std::mem::forget(syntax);
}

/// A file parsed whole in phase 2, its cfg macros expanded as the index read them. Its
/// failures are reported when they are `news`: a skeleton parsed cleanly, so what fails now
/// was not reported when the file was summarized; a tree dropped after summarizing was.
fn parse_whole(
    shared: &Shared,
    file: FileId,
    text: &str,
    edition: Edition,
    news: bool,
) -> syn::File {
    let parsed = parse_file(file, text, edition);
    if news {
        report_failures(shared, &parsed.failures);
    }
    let mut syntax = parsed.syntax;
    expand_cfg_macros(&mut syntax.items);
    syntax
}

/// What a worker's checks found, published when it is done.
#[derive(Default)]
struct Output {
    found: Vec<Diagnostic>,
    facts: Vec<(&'static str, FileId, Facts)>,
    suppressions: Vec<Suppression>,
}

impl Output {
    /// Runs the checks on one file, and collects its suppressions.
    fn lint(&mut self, file: FileId, syntax: &syn::File, context: &LintContext) {
        lint_file(file, syntax, context, &mut self.found, &mut self.facts);
        let source = context.db.get(file);
        self.suppressions
            .extend(crate::suppress::collect(file, source, syntax));
    }

    fn publish(self, shared: &Shared) {
        shared
            .suppressions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(self.suppressions);
        shared
            .diagnostics
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(self.found);
        shared
            .facts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(self.facts);
    }
}

/// Reads and parses one file; returns its tree for the linting phase.
fn process(shared: &Shared, job: Job) -> Option<(FileId, Tree)> {
    let read = match shared.in_memory.get(&job.path) {
        Some(text) => Ok(text.as_bytes().to_vec()),
        None => std::fs::read(&job.path),
    };
    let (text, read_error) = match read {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => (text, None),
            Err(e) => {
                let at = e.utf8_error().valid_up_to();
                let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
                (
                    text,
                    Some((
                        at..at + 3,
                        "this file is not valid UTF-8, so it cannot be analyzed".to_string(),
                    )),
                )
            }
        },
        Err(e) => (
            String::new(),
            Some((0..0, format!("cannot read `{}`: {e}", job.path.display()))),
        ),
    };
    let text: Arc<str> = text.into();
    // Built before taking the lock: computing the line index is the costly part.
    let source = SourceFile::new(job.path.clone(), text.clone(), job.target);
    let line_starts = source.line_starts.clone();
    let file = shared
        .db
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .add(source);
    if let Some((range, message)) = read_error {
        if !shared.compiler_reports_unreadable_files {
            let d = Diagnostic::new(LintId::ParseError, Span::new(file, range), message)
                .primary_label("the file stops being readable here");
            shared.report(d);
        }
        return None;
    }
    let _lines = crate::span::use_line_index(file, &text, &line_starts);
    let parsed = catch_unwind(AssertUnwindSafe(|| {
        // A batch that parses again keeps no tree, so it has no use for a skeleton.
        let (
            crate::parse::Parsed {
                mut syntax,
                failures,
            },
            bodies,
        ) = match shared.reparse {
            true => (parse_file(file, &text, job.edition), None),
            false => parse_skeleton(file, &text, job.edition),
        };
        expand_cfg_macros(&mut syntax.items);
        let summary = summarize(file, &syntax);
        let test_regions = crate::test_code::test_regions(file, &syntax);
        (syntax, bodies, summary, failures, test_regions)
    }));
    // A file that does not parse still gives the items that do (see `crate::parse`).
    let (syntax, bodies, summary, test_regions) = match parsed {
        Ok((syntax, bodies, summary, failures, test_regions)) => {
            report_failures(shared, &failures);
            (syntax, bodies, summary, test_regions)
        }
        Err(panic) => {
            let d = internal_error(file, "parsing", &panic);
            shared.report(d);
            return None;
        }
    };
    let mut children = Vec::with_capacity(summary.mod_decls.len());
    let mut new_jobs = Vec::new();
    for decl in &summary.mod_decls {
        let candidates = modtree::candidates(&job.path, job.owns_dir, decl);
        match candidates.iter().find(|c| c.is_file()) {
            Some(found) => {
                children.push(Some(found.clone()));
                new_jobs.push(Job {
                    path: found.clone(),
                    owns_dir: modtree::child_owns_dir(found, decl),
                    target: job.target,
                    edition: job.edition,
                });
            }
            None => {
                children.push(None);
                if !decl.cfg_gated && !shared.compiler_reports_unreadable_files {
                    let d = crate::lints::parse_error::missing_module(decl, &candidates);
                    shared.report(d);
                }
            }
        }
    }
    if !new_jobs.is_empty() {
        let mut q = shared.queue.lock().unwrap_or_else(|e| e.into_inner());
        for j in new_jobs {
            push_job(&mut q, j);
        }
    }
    shared
        .parsed
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(Parsed {
            file,
            summary,
            children,
            test_regions,
        });
    if shared.reparse {
        // Dropped here, on this thread's deep stack.
        drop(syntax);
        return Some((file, Tree::Again(job.edition)));
    }
    match bodies {
        Some(bodies) => Some((file, Tree::Skeleton(syntax, bodies, job.edition))),
        None => Some((file, Tree::Kept(syntax))),
    }
}

/// Reports what did not parse in a file.
fn report_failures(shared: &Shared, failures: &[crate::parse::ParseFailure]) {
    for failure in failures {
        // rustc reports syntax errors and unbalanced delimiters too; a file too deep for us
        // may compile fine, so that one is always ours to report.
        let compiler_reports = failure.kind != crate::parse::FailureKind::TooDeep;
        if !(compiler_reports && shared.compiler_reports_unreadable_files) {
            shared.report(crate::lints::parse_error::diagnostic(failure));
        }
    }
}

fn lint_file(
    file: FileId,
    syntax: &syn::File,
    context: &LintContext,
    out: &mut Vec<Diagnostic>,
    facts: &mut Vec<(&'static str, FileId, Facts)>,
) {
    let LintContext {
        index,
        semantics,
        db,
        config,
        checks,
        target_packages,
    } = context;
    let Some(module) = index.file_module(file) else {
        return;
    };
    // A package with settings of its own (`[package.metadata.gomem]`) gets its levels and
    // thresholds for its files.
    let package = db
        .get(file)
        .target
        .and_then(|t| target_packages.get(t.0 as usize).copied());
    let config = config.for_package(package);
    let cx = FileContext {
        file,
        source: db.get(file),
        syntax,
        module,
        index,
        semantics,
        config,
    };
    let _lines = crate::span::use_line_index(file, &cx.source.text, &cx.source.line_starts);
    let mut collected: Vec<&'static str> = Vec::new();
    for &(id, check) in checks {
        if config.levels.off(id) {
            continue;
        }
        let crashed = match check {
            Check::Builtin => continue,
            Check::File(check) => match catch_unwind(AssertUnwindSafe(|| check(&cx))) {
                Ok(found) => {
                    out.extend(found);
                    continue;
                }
                Err(panic) => panic,
            },
            Check::Crate(check) => {
                let source = check.facts;
                // Lints that judge the same facts share one collection.
                if collected.contains(&source.name) {
                    continue;
                }
                collected.push(source.name);
                match catch_unwind(AssertUnwindSafe(|| (source.collect)(&cx))) {
                    Ok(found) => {
                        facts.push((source.name, file, found));
                        continue;
                    }
                    Err(panic) => panic,
                }
            }
        };
        out.push(internal_error(
            file,
            &format!("lint `{}`", id.name()),
            &crashed,
        ));
    }
}

/// Runs each enabled crate check's judge over the facts its source gathered.
fn judge_crate_checks(
    context: &LintContext,
    facts: &[(&'static str, FileId, Facts)],
) -> Vec<Diagnostic> {
    let cx = CrateContext {
        index: &context.index,
        semantics: &context.semantics,
        db: &context.db,
        config: &context.config,
    };
    let mut by_source: HashMap<&'static str, Vec<(FileId, &Facts)>> = HashMap::new();
    for (source, file, f) in facts {
        by_source.entry(source).or_default().push((*file, f));
    }
    // Judges see the files in the order of their paths: file ids depend on which worker read
    // which file first, and a judge's choices (where a cycle starts) must not.
    for files in by_source.values_mut() {
        files.sort_by(|a, b| context.db.get(a.0).path.cmp(&context.db.get(b.0).path));
    }
    let mut out = Vec::new();
    for &(id, check) in &context.checks {
        let Check::Crate(check) = check else { continue };
        // Runs if any package has the lint on (levels are applied per file afterwards).
        let on = std::iter::once(&context.config)
            .chain(context.config.per_package.iter().flatten())
            .any(|c| !c.levels.off(id));
        if !on {
            continue;
        }
        let mine = by_source
            .get(check.facts.name)
            .map_or(&[][..], Vec::as_slice);
        // A crashed judge loses its lint's findings; it has no file of its own to blame, so the
        // error points at the first file it was given.
        let blame = mine.first().map_or(FileId(0), |(file, _)| *file);
        match catch_unwind(AssertUnwindSafe(|| (check.judge)(&cx, mine))) {
            Ok(found) => out.extend(found),
            Err(panic) => out.push(internal_error(
                blame,
                &format!("lint `{}` (crate-wide part)", id.name()),
                &panic,
            )),
        }
    }
    out
}

fn internal_error(file: FileId, what: &str, panic: &Box<dyn std::any::Any + Send>) -> Diagnostic {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    Diagnostic::new(
        LintId::InternalError,
        Span::new(file, 0..0),
        format!("{what} crashed on this file: {message}"),
    )
    .note(
        "the other checks and files were analyzed; this file's findings for that check are missing",
    )
    .help("this is a bug in gomem: please report it with this file")
}
