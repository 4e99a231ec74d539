//! A finding's identity apart from its position, for baselines and SARIF: it must not change
//! when unrelated lines are added above the finding or the file is reformatted.
//!
//! The fingerprint hashes the lint, the file (relative to the workspace root) and the text of
//! the primary span with whitespace collapsed. Two equal findings in one file have equal
//! fingerprints; users of it count them rather than merge them.

use std::hash::{Hash, Hasher};
use std::path::Path;

use crate::diagnostic::Diagnostic;
use crate::source::SourceDb;

/// A hash of what identifies a finding apart from where it is: the lint, the file, and the
/// primary span's text with whitespace collapsed (so reformatting or lines added above do
/// not change it).
pub fn fingerprint(db: &SourceDb, root: &Path, d: &Diagnostic) -> u64 {
    let file = db.get(d.primary.span.file);
    let text = file
        .text
        .get(d.primary.span.range())
        .unwrap_or_default()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    // FNV-1a: stable across Rust versions and platforms, unlike `DefaultHasher`.
    struct Fnv(u64);
    impl Hasher for Fnv {
        fn finish(&self) -> u64 {
            self.0
        }
        fn write(&mut self, bytes: &[u8]) {
            for b in bytes {
                self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3);
            }
        }
    }
    let mut h = Fnv(0xcbf2_9ce4_8422_2325);
    d.lint.name().hash(&mut h);
    relative_uri(root, &file.path).hash(&mut h);
    text.hash(&mut h);
    h.finish()
}

/// `src/lib.rs` for a file under the root (forward slashes); an absolute `file://` URI
/// otherwise.
pub fn relative_uri(root: &Path, path: &Path) -> String {
    match path.strip_prefix(root) {
        Ok(rel) => rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/"),
        Err(_) => format!("file://{}", path.display()),
    }
}
