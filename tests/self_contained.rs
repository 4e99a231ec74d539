//! A clone of the repository is complete in itself: no file points at documents outside it
//! (the design notes the project started from, the issue tracker) that a user's copy lacks.

use std::path::{Path, PathBuf};

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            if !name.starts_with('.') && name != "target" {
                files(&path, out);
            }
        } else if ["rs", "md", "toml", "sh"]
            .iter()
            .any(|e| path.extension().is_some_and(|x| x == *e))
        {
            out.push(path);
        }
    }
}

#[test]
fn no_file_refers_to_documents_outside_the_repository() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut all = Vec::new();
    files(root, &mut all);
    all.push(root.join(".ci/run"));
    // Spelled in two halves so that this file does not match itself.
    let outside = [
        ["../", "shared/"].concat(),
        ["DESIGN", ".md"].concat(),
        ["the project's ", "issue"].concat(),
    ];
    let mut found = Vec::new();
    for file in &all {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        for (i, line) in text.lines().enumerate() {
            for needle in &outside {
                if line.contains(needle.as_str()) {
                    found.push(format!("{}:{}: {line}", file.display(), i + 1));
                }
            }
        }
    }
    assert!(
        all.iter().any(|f| f.ends_with("README.md")),
        "the walk found the README"
    );
    assert!(
        found.is_empty(),
        "references outside the repository:\n{}",
        found.join("\n")
    );
}
