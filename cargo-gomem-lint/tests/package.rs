//! `cargo install cargo-gomem-lint` gives `cargo gomem-lint`: the package is named after its
//! command, as cargo's other subcommands are (`cargo-deny`, `cargo-udeps`), and carries what
//! a crates.io page shows.

use std::path::Path;

#[test]
fn the_command_installs_by_its_own_name_with_a_complete_crates_io_page() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    let meta = cargo_metadata::MetadataCommand::new()
        .manifest_path(&manifest)
        .no_deps()
        .exec()
        .unwrap();
    let package = meta
        .packages
        .iter()
        .find(|p| p.name.as_str() == "cargo-gomem-lint")
        .expect("a package named after the command");
    let bins: Vec<&str> = package
        .targets
        .iter()
        .filter(|t| t.is_bin())
        .map(|t| t.name.as_str())
        .collect();
    assert_eq!(bins, ["cargo-gomem-lint"]);
    assert!(package.description.as_ref().is_some_and(|d| !d.is_empty()));
    assert!(!package.keywords.is_empty() && package.keywords.len() <= 5);
    assert!(package
        .categories
        .iter()
        .any(|c| c == "development-tools::cargo-plugins"));
    let readme = package
        .readme
        .as_ref()
        .expect("a readme for the crates.io page");
    let readme = package.manifest_path.parent().unwrap().join(readme);
    assert!(readme.exists(), "{readme}");
    // No other package of the workspace builds a binary of that name.
    for other in meta.workspace_packages() {
        if other.name.as_str() != "cargo-gomem-lint" {
            assert!(
                !other
                    .targets
                    .iter()
                    .any(|t| t.is_bin() && t.name == "cargo-gomem-lint"),
                "{} also builds the command",
                other.name
            );
        }
    }
}
