//! What to analyze: the packages and targets of a cargo workspace, or plain paths.
//!
//! A [`Workspace`] lists crate roots. Each cargo target (lib, bin, example, test, bench, build
//! script) is one crate root; in plain-path mode every file that no other file declares as a
//! module becomes a crate root of its own, owned by one synthetic package. The engine follows
//! each root's module tree itself (see [`crate::modtree`]), so a workspace needs only roots.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::ids::{PackageId, TargetId};
use crate::parse::Edition;

#[derive(Clone, Debug)]
pub struct Package {
    pub name: String,
    pub version: String,
    /// Cargo's package id, exactly as `cargo metadata` spells it; rust-analyzer groups
    /// diagnostics by it.
    pub cargo_id: String,
    pub manifest_path: PathBuf,
    /// Its `[package.metadata.gomem]` settings.
    pub settings: Option<crate::config::Settings>,
    /// The folders of its path dependencies (of every kind): the workspace members among them
    /// are checked with it by `cargo check -p`, so an editor refreshes their diagnostics too.
    pub path_deps: Vec<PathBuf>,
}

#[derive(Clone, Debug)]
pub struct Target {
    pub package: PackageId,
    pub name: String,
    /// Cargo's kinds: `lib`, `bin`, `example`, `test`, `bench`, `custom-build`, ...
    pub kind: Vec<String>,
    pub crate_types: Vec<String>,
    pub src_path: PathBuf,
    pub edition: Edition,
}

#[derive(Clone, Debug, Default)]
pub struct Workspace {
    pub root: PathBuf,
    pub packages: Vec<Package>,
    pub targets: Vec<Target>,
    /// Plain-path mode: the files to lint. Every one of them is linted, and the module trees
    /// they declare are followed; files nobody declares become crate roots.
    pub plain_files: Vec<PathBuf>,
    /// The edition of every plain-path file, when given (`--edition`). Otherwise each file's
    /// is its package's (see [`Workspace::plain_file_edition`]).
    pub plain_edition: Option<Edition>,
    /// Problems met while finding files (an unreadable folder, a path that does not exist).
    pub errors: Vec<String>,
    /// Workspace-wide settings, in the order they apply: `[workspace.metadata.gomem]`,
    /// then `gomem.toml`.
    pub settings: Vec<crate::config::Settings>,
    /// Files whose text is given rather than read from disk (the `#[gomem::escape]`
    /// attribute lints the item it annotates this way).
    pub in_memory: Vec<(PathBuf, std::sync::Arc<str>)>,
}

impl Workspace {
    /// A workspace of one file whose text is `text`, named `path` (which need not exist).
    pub fn from_text(path: PathBuf, text: &str) -> Workspace {
        let mut ws = Workspace::default();
        ws.in_memory.push((path.clone(), text.into()));
        ws.plain_files.push(path.clone());
        ws.root = path.parent().map(Path::to_path_buf).unwrap_or_default();
        ws.packages.push(Package {
            cargo_id: "path+file:///gomem-in-memory#in-memory@0.0.0".into(),
            name: "in-memory".into(),
            version: "0.0.0".into(),
            manifest_path: ws.root.join("Cargo.toml"),
            settings: None,
            path_deps: Vec::new(),
        });
        ws
    }

    pub fn target(&self, id: TargetId) -> &Target {
        &self.targets[id.0 as usize]
    }

    pub fn package(&self, id: PackageId) -> &Package {
        &self.packages[id.0 as usize]
    }

    /// The package whose folder holds `file` (the innermost one, for nested packages).
    pub fn package_of_file(&self, file: &Path) -> Option<PackageId> {
        self.packages
            .iter()
            .enumerate()
            .filter_map(|(i, p)| {
                let dir = p.manifest_path.parent()?;
                file.starts_with(dir)
                    .then_some((dir.components().count(), PackageId(i as u32)))
            })
            .max_by_key(|(depth, _)| *depth)
            .map(|(_, id)| id)
    }

    /// The edition of a plain-path file: `--edition` when given, else the edition of the
    /// package whose folder holds it (the nearest `Cargo.toml` with a `[package]`; 2015 when
    /// that manifest names none, as cargo reads it), else 2021. Vendored and registry crates
    /// are linted as plain paths and written in every edition.
    pub fn plain_file_edition(&self, file: &Path, packages: &mut PlainPackages) -> Edition {
        if let Some(edition) = self.plain_edition {
            return edition;
        }
        packages.of(file).map_or_else(Edition::default, |(_, e)| e)
    }

    /// The kind of target a plain-path crate root is in cargo's layout of the package whose
    /// folder holds it (cargo's target auto-discovery): `tests/x.rs` and `tests/x/main.rs` a
    /// test, the same under `benches/` a bench and under `examples/` an example, `build.rs` a
    /// build script, `src/main.rs`, `src/bin/x.rs` and `src/bin/x/main.rs` a bin; anything else
    /// a lib. Registry and vendored crates are linted as plain paths, and their tests, benches
    /// and examples are test code (see [`crate::test_code`]) as in a cargo workspace.
    pub fn plain_target_kind(file: &Path, packages: &mut PlainPackages) -> &'static str {
        let Some((dir, _)) = packages.of(file) else {
            return "lib";
        };
        let Ok(rel) = file.strip_prefix(dir) else {
            return "lib";
        };
        let parts: Vec<&str> = rel
            .components()
            .map(|c| c.as_os_str().to_str().unwrap_or(""))
            .collect();
        let target = |p: &[&str]| match p {
            [file] => file.ends_with(".rs"),
            [_, main] => *main == "main.rs",
            _ => false,
        };
        match parts.as_slice() {
            ["tests", rest @ ..] if target(rest) => "test",
            ["benches", rest @ ..] if target(rest) => "bench",
            ["examples", rest @ ..] if target(rest) => "example",
            ["build.rs"] => "custom-build",
            ["src", "main.rs"] => "bin",
            ["src", "bin", rest @ ..] if target(rest) => "bin",
            _ => "lib",
        }
    }

    /// Keeps only the packages `keep` (in workspace order) and their targets.
    pub fn retain_packages(&mut self, keep: &[PackageId]) {
        let mut new_id = vec![None; self.packages.len()];
        let mut packages = Vec::with_capacity(keep.len());
        for (i, package) in self.packages.iter().enumerate() {
            if keep.contains(&PackageId(i as u32)) {
                new_id[i] = Some(PackageId(packages.len() as u32));
                packages.push(package.clone());
            }
        }
        self.packages = packages;
        self.targets
            .retain(|t| new_id[t.package.0 as usize].is_some());
        for t in &mut self.targets {
            t.package = new_id[t.package.0 as usize].expect("kept");
        }
    }

    /// The package that `spec` names: its name, `name@version`, or a cargo package id
    /// specification such as the ids rust-analyzer substitutes for `{label}`
    /// (`path+file:///work/a#0.1.0`, `path+file:///work/x#a@0.1.0`).
    pub fn find_package(&self, spec: &str) -> Option<PackageId> {
        self.packages
            .iter()
            .position(|p| package_spec_matches(spec, p))
            .map(|i| PackageId(i as u32))
    }

    /// `roots` and the workspace members they depend on through path dependencies,
    /// transitively: what `cargo check -p` compiles of the workspace (rust-analyzer refreshes
    /// the diagnostics of all of them after a check of one package).
    pub fn with_member_deps(&self, roots: &[PackageId]) -> Vec<PackageId> {
        let mut out: Vec<PackageId> = roots.to_vec();
        let mut next = 0;
        while next < out.len() {
            let package = self.package(out[next]);
            next += 1;
            for dir in &package.path_deps {
                let member = self
                    .packages
                    .iter()
                    .position(|p| p.manifest_path.parent() == Some(dir.as_path()))
                    .map(|i| PackageId(i as u32));
                if let Some(id) = member.filter(|id| !out.contains(id)) {
                    out.push(id);
                }
            }
        }
        out.sort();
        out
    }

    /// The members that `-p` specifications name. A name that is no member is an error; a
    /// package id of a package outside the workspace (rust-analyzer's `{label}` after a save
    /// in a path dependency) names nothing to lint, when its folder holds a `Cargo.toml`.
    pub fn select(&self, specs: &[String]) -> Result<Vec<PackageId>, String> {
        let mut keep = Vec::new();
        for spec in specs {
            match self.find_package(spec) {
                Some(id) => keep.push(id),
                None if is_outside_package(spec) => {}
                None => {
                    let names: Vec<_> = self.packages.iter().map(|p| p.name.as_str()).collect();
                    return Err(format!(
                        "package `{spec}` is not a member of the workspace (members: {})",
                        names.join(", ")
                    ));
                }
            }
        }
        keep.sort();
        keep.dedup();
        Ok(keep)
    }

    /// The workspace of plain paths: the given files, and every `.rs` file under the given
    /// folders (skipping `target/` and hidden folders), in a stable order.
    pub fn from_paths(paths: &[PathBuf]) -> Workspace {
        let cwd = std::env::current_dir().unwrap_or_default();
        let mut ws = Workspace::default();
        for path in paths {
            let abs = absolute(&cwd, path);
            match std::fs::metadata(&abs) {
                Ok(meta) if meta.is_dir() => {
                    collect_rs_files(&abs, &mut ws.plain_files, &mut ws.errors)
                }
                Ok(_) => ws.plain_files.push(abs),
                Err(e) => ws
                    .errors
                    .push(format!("cannot read `{}`: {e}", path.display())),
            }
        }
        ws.plain_files.sort();
        ws.plain_files.dedup();
        ws.root = common_dir(&ws.plain_files).unwrap_or(cwd);
        let name = ws.root.file_name().map_or("gomem-lint-paths".into(), |n| {
            n.to_string_lossy().into_owned()
        });
        ws.packages.push(Package {
            cargo_id: format!(
                "path+file://{}#{}@0.0.0",
                ws.root.display(),
                sanitize(&name)
            ),
            name: sanitize(&name),
            version: "0.0.0".into(),
            manifest_path: ws.root.join("Cargo.toml"),
            settings: None,
            path_deps: Vec::new(),
        });
        ws
    }
}

/// Whether the cargo package id specification `spec` names `package`: `name`,
/// `name@version` (or the old `name:version`), or a URL form
/// `[kind+]file:///dir[#name][@version]`, where a missing name is the folder's last
/// component. A partial version (`0.1`) matches every version it is a prefix of, as in cargo.
pub fn package_spec_matches(spec: &str, package: &Package) -> bool {
    let (name, version) = match spec.split_once("://") {
        None => split_name_version(spec),
        Some((scheme, rest)) => {
            let (url, fragment) = rest.split_once('#').unwrap_or((rest, ""));
            let url = url.split_once('?').map_or(url, |(u, _)| u);
            let is_file = scheme == "file" || scheme.ends_with("+file");
            let dir = package.manifest_path.parent().unwrap_or(Path::new(""));
            if !is_file || Path::new(&percent_decode(url)) != dir {
                return false;
            }
            let last = url.rsplit('/').next().unwrap_or("");
            match fragment {
                "" => (last, None),
                f if f.starts_with(|c: char| c.is_ascii_digit()) => (last, Some(f)),
                f => split_name_version(f),
            }
        }
    };
    name == package.name
        && version.is_none_or(|v| {
            let given: Vec<&str> = v.split('.').collect();
            let actual: Vec<&str> = package.version.split('.').collect();
            given.len() <= actual.len() && given.iter().zip(&actual).all(|(g, a)| g == a)
        })
}

/// Whether `spec` is a file URL of a package folder (a `Cargo.toml` in it).
fn is_outside_package(spec: &str) -> bool {
    let Some((scheme, rest)) = spec.split_once("://") else {
        return false;
    };
    let url = rest.split(['#', '?']).next().unwrap_or("");
    (scheme == "file" || scheme.ends_with("+file"))
        && Path::new(&percent_decode(url)).join("Cargo.toml").is_file()
}

fn split_name_version(spec: &str) -> (&str, Option<&str>) {
    match spec.split_once(['@', ':']) {
        Some((name, version)) => (name, Some(version)),
        None => (spec, None),
    }
}

/// `%20` and the like in a file URL's path.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Joins `path` onto `cwd` and removes `.` components, without touching the file system.
pub fn absolute(cwd: &Path, path: &Path) -> PathBuf {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        cwd.join(path)
    };
    normalize(&joined)
}

/// Removes `.` and resolves `..` lexically (module paths like `#[path = "../x.rs"]` need it).
pub fn normalize(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

fn collect_rs_files(dir: &Path, out: &mut Vec<PathBuf>, errors: &mut Vec<String>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            errors.push(format!("cannot read folder `{}`: {e}", dir.display()));
            return;
        }
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            if !name.starts_with('.') && name != "target" {
                collect_rs_files(&path, out, errors);
            }
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
}

fn common_dir(files: &[PathBuf]) -> Option<PathBuf> {
    let mut common = files.first()?.parent()?.to_path_buf();
    for f in files {
        while !f.starts_with(&common) {
            if !common.pop() {
                return None;
            }
        }
    }
    Some(common)
}

fn sanitize(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() {
        "gomem-lint-paths".into()
    } else {
        s
    }
}

#[cfg(feature = "cli")]
pub mod cargo {
    //! Loading a workspace through `cargo metadata --no-deps`, which needs no network and no
    //! dependency resolution.
    use super::*;

    /// Which packages of the workspace to analyze.
    #[derive(Clone, Debug, Default)]
    pub struct Selection {
        pub manifest_path: Option<PathBuf>,
        /// Package specifications (`-p`: names or package ids, see [`Workspace::select`]);
        /// empty means every workspace member (or the package whose manifest was given, when
        /// the manifest is not a workspace root).
        pub packages: Vec<String>,
    }

    pub fn load(selection: &Selection) -> Result<Workspace, String> {
        let mut cmd = cargo_metadata::MetadataCommand::new();
        cmd.no_deps();
        if let Some(path) = &selection.manifest_path {
            cmd.manifest_path(path);
        }
        let meta = cmd
            .exec()
            .map_err(|e| format!("`cargo metadata` failed: {}", e.to_string().trim()))?;
        let mut ws = Workspace {
            root: meta.workspace_root.clone().into(),
            ..Workspace::default()
        };
        let root_manifest = ws.root.join("Cargo.toml");
        if let Some(table) = meta.workspace_metadata.get("gomem") {
            let origin = format!("{} [workspace.metadata.gomem]", root_manifest.display());
            ws.settings
                .push(crate::config_file::parse(&origin, &ws.root, table)?);
        }
        ws.settings
            .extend(crate::config_file::load_gomem_toml(&ws.root)?);
        for pkg in meta.workspace_packages() {
            let id = PackageId(ws.packages.len() as u32);
            let manifest_path: PathBuf = pkg.manifest_path.clone().into();
            let settings = match pkg.metadata.get("gomem") {
                Some(table) => {
                    let origin = format!("{} [package.metadata.gomem]", manifest_path.display());
                    let dir = manifest_path.parent().unwrap_or(&ws.root).to_path_buf();
                    Some(crate::config_file::parse(&origin, &dir, table)?)
                }
                None => None,
            };
            ws.packages.push(Package {
                name: pkg.name.to_string(),
                version: pkg.version.to_string(),
                cargo_id: pkg.id.repr.clone(),
                manifest_path,
                settings,
                path_deps: pkg
                    .dependencies
                    .iter()
                    .filter_map(|d| d.path.clone().map(PathBuf::from))
                    .collect(),
            });
            for t in &pkg.targets {
                ws.targets.push(Target {
                    package: id,
                    name: t.name.clone(),
                    kind: t.kind.iter().map(|k| k.to_string()).collect(),
                    crate_types: t.crate_types.iter().map(|k| k.to_string()).collect(),
                    src_path: t.src_path.clone().into(),
                    edition: Edition::from_name(&t.edition.to_string()).unwrap_or(Edition::LATEST),
                });
            }
        }
        if !selection.packages.is_empty() {
            let keep = ws.select(&selection.packages)?;
            ws.retain_packages(&keep);
        }
        Ok(ws)
    }
}

/// The package that holds a plain-path file: the folder of the nearest `Cargo.toml` above it
/// that has a `[package]`, and its edition. Each folder's answer is found once: a run asks
/// for every file of a registry crate, twice (its edition and its target kind), and walking
/// up from each file took ~2 ms of tokio's run, before any worker starts.
#[derive(Default)]
pub struct PlainPackages {
    /// By a file's folder: its package's folder and edition, `None` outside any package.
    /// Keyed by the folder's bytes: a `Path` hashes component by component, which made the
    /// lookups half of this cache's cost.
    by_dir: HashMap<OsString, Option<(PathBuf, Edition)>>,
}

impl PlainPackages {
    pub fn of(&mut self, file: &Path) -> Option<(&Path, Edition)> {
        let dir = file.parent()?;
        if !self.by_dir.contains_key(dir.as_os_str()) {
            let found = self.find(dir);
            self.by_dir.insert(dir.as_os_str().to_owned(), found);
        }
        let (package, edition) = self.by_dir.get(dir.as_os_str())?.as_ref()?;
        Some((package, *edition))
    }

    /// The answer for files in `dir`: its own manifest's, else its parent's (found once too).
    fn find(&mut self, dir: &Path) -> Option<(PathBuf, Edition)> {
        if let Some(edition) = manifest_edition(dir) {
            return Some((dir.to_path_buf(), edition));
        }
        let (package, edition) = self.of(dir)?;
        Some((package.to_path_buf(), edition))
    }
}

/// The edition of the package whose manifest is in `dir`, if there is one: its `edition`, the
/// workspace's for `edition.workspace = true`, or 2015 (cargo's default) when it names none.
fn manifest_edition(dir: &Path) -> Option<Edition> {
    let entries = manifest_entries(dir)?;
    let mut is_package = false;
    let mut edition = None;
    for (table, key, value) in &entries {
        if table != "package" {
            continue;
        }
        is_package = true;
        match key.as_str() {
            "edition" => edition = Edition::from_name(value),
            "edition.workspace" if value == "true" => {
                edition = dir.ancestors().find_map(workspace_edition)
            }
            _ => {}
        }
    }
    is_package.then(|| edition.unwrap_or(Edition::E2015))
}

/// `[workspace.package] edition` of the manifest in `dir`, if it has one.
fn workspace_edition(dir: &Path) -> Option<Edition> {
    manifest_entries(dir)?
        .into_iter()
        .find(|(table, key, _)| table == "workspace.package" && key == "edition")
        .and_then(|(_, _, value)| Edition::from_name(&value))
}

/// The `key = value` lines of the manifest in `dir`, each with the name of its table, and an
/// entry with an empty key for each table header (so that an empty `[package]` shows). A
/// plain line scan, enough for the keys read here: the engine has no TOML parser.
fn manifest_entries(dir: &Path) -> Option<Vec<(String, String, String)>> {
    let text = std::fs::read_to_string(dir.join("Cargo.toml")).ok()?;
    let mut table = String::new();
    let mut entries = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if let Some(header) = line.strip_prefix('[') {
            table = header.trim_end_matches(']').trim().to_string();
            entries.push((table.clone(), String::new(), String::new()));
        } else if let Some((key, value)) = line.split_once('=') {
            let value = value.trim().trim_matches('"').to_string();
            entries.push((table.clone(), key.trim().to_string(), value));
        }
    }
    Some(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn package(dir: &str, name: &str, version: &str) -> Package {
        Package {
            name: name.into(),
            version: version.into(),
            cargo_id: String::new(),
            manifest_path: Path::new(dir).join("Cargo.toml"),
            settings: None,
            path_deps: Vec::new(),
        }
    }

    #[test]
    fn plain_roots_get_the_kind_cargo_would_give_them() {
        let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/crates/demo");
        let mut packages = PlainPackages::default();
        let mut kind = |rel: &str| Workspace::plain_target_kind(&demo.join(rel), &mut packages);
        assert_eq!(kind("tests/it.rs"), "test");
        assert_eq!(kind("tests/suite/main.rs"), "test");
        assert_eq!(kind("examples/ex.rs"), "example");
        assert_eq!(kind("benches/b.rs"), "bench");
        assert_eq!(kind("src/main.rs"), "bin");
        assert_eq!(kind("src/bin/tool.rs"), "bin");
        assert_eq!(kind("build.rs"), "custom-build");
        assert_eq!(kind("src/lib.rs"), "lib");
        // Not targets: a test's module, a fixture below `tests/`.
        assert_eq!(kind("tests/common/mod.rs"), "lib");
        assert_eq!(kind("tests/fixtures/lints/x.rs"), "lib");
    }

    /// Each folder's answer is the nearest `[package]` manifest's above it, however deep the
    /// file and in whichever order its neighbours were asked about.
    #[test]
    fn plain_files_belong_to_the_nearest_package_above_them() {
        let root = std::env::temp_dir().join(format!("gomem-plain-{}", std::process::id()));
        let pkg = root.join("pkg");
        std::fs::create_dir_all(pkg.join("src/a/b")).unwrap();
        std::fs::create_dir_all(pkg.join("only-ws/src")).unwrap();
        std::fs::create_dir_all(pkg.join("inner/src")).unwrap();
        let manifest = |dir: &Path, text: &str| std::fs::write(dir.join("Cargo.toml"), text);
        manifest(&pkg, "[package]\nname = \"p\"\nedition = \"2018\"\n").unwrap();
        manifest(&pkg.join("only-ws"), "[workspace]\nmembers = []\n").unwrap();
        manifest(&pkg.join("inner"), "[package]\nname = \"i\"\n").unwrap();
        let mut packages = PlainPackages::default();
        let mut of = |rel: &str| {
            packages
                .of(&pkg.join(rel))
                .map(|(dir, edition)| (dir.to_path_buf(), edition))
        };
        let p = Some((pkg.clone(), Edition::E2018));
        assert_eq!(of("src/a/b/deep.rs"), p);
        assert_eq!(of("src/a/up.rs"), p);
        assert_eq!(of("src/lib.rs"), p);
        assert_eq!(
            of("only-ws/src/lib.rs"),
            p,
            "a manifest without [package] is skipped"
        );
        assert_eq!(
            of("inner/src/lib.rs"),
            Some((pkg.join("inner"), Edition::E2015)),
            "a nested package is its own, 2015 when it names no edition"
        );
        assert_eq!(of("src/a/b/again.rs"), p);
        std::fs::remove_dir_all(&root).ok();
    }

    #[test]
    fn package_specs_are_names_or_cargo_package_ids() {
        let a = package("/work/my ws/a", "a", "0.1.0");
        for spec in [
            "a",
            "a@0.1.0",
            "a@0.1",
            "a:0.1.0",
            "path+file:///work/my%20ws/a#0.1.0",
            "path+file:///work/my%20ws/a#a@0.1.0",
            "path+file:///work/my%20ws/a",
            "file:///work/my%20ws/a#a",
        ] {
            assert!(package_spec_matches(spec, &a), "{spec}");
        }
        for spec in [
            "b",
            "a@0.2.0",
            "a@0.1.0.1",
            "path+file:///work/other/a#0.1.0",
            "path+file:///work/my%20ws/a#b@0.1.0",
            "registry+https://github.com/rust-lang/crates.io-index#a@0.1.0",
        ] {
            assert!(!package_spec_matches(spec, &a), "{spec}");
        }
        // The folder's name is the package's name only when the id gives none.
        let renamed = package("/work/x", "core-lib", "1.2.3");
        assert!(package_spec_matches(
            "path+file:///work/x#core-lib@1.2.3",
            &renamed
        ));
        assert!(!package_spec_matches("path+file:///work/x#1.2.3", &renamed));
    }

    #[test]
    fn member_deps_are_followed_transitively() {
        let mut ws = Workspace::default();
        let mut c = package("/w/c", "c", "0.1.0");
        c.path_deps = vec!["/w/b".into(), "/elsewhere/dep".into()];
        let mut b = package("/w/b", "b", "0.1.0");
        b.path_deps = vec!["/w/a".into()];
        ws.packages = vec![package("/w/a", "a", "0.1.0"), b, c];
        let ids = |v: &[u32]| v.iter().map(|&i| PackageId(i)).collect::<Vec<_>>();
        assert_eq!(ws.with_member_deps(&ids(&[2])), ids(&[0, 1, 2]));
        assert_eq!(ws.with_member_deps(&ids(&[1])), ids(&[0, 1]));
        assert_eq!(ws.with_member_deps(&ids(&[0])), ids(&[0]));
    }
}
