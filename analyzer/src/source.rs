//! The source database: every file the run reads, its text, its line index and who owns it.
//!
//! Files are added while the module tree is being discovered and never removed; a [`FileId`]
//! stays valid for the whole run. The database is the single place that maps byte offsets to
//! lines and columns, so every reporter agrees on positions.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::ids::TargetId;
use crate::span::FileId;

/// One file of the run.
#[derive(Debug)]
pub struct SourceFile {
    /// The path as the user or cargo gave it, made absolute.
    pub path: PathBuf,
    /// The text; empty when the file could not be read or is not UTF-8.
    pub text: Arc<str>,
    /// Byte offset of the start of each line; `line_starts[0] == 0`. Shared with
    /// [`crate::span::use_line_index`] while the file's syntax is worked on.
    pub line_starts: Arc<[u32]>,
    /// The cargo target (or plain-path crate) whose module tree holds this file.
    pub target: Option<TargetId>,
}

impl SourceFile {
    pub fn new(path: PathBuf, text: Arc<str>, target: Option<TargetId>) -> SourceFile {
        let line_starts = line_starts(&text);
        SourceFile {
            path,
            text,
            line_starts,
            target,
        }
    }

    /// Whether `word` occurs anywhere in the text (code, comments or strings): the lints'
    /// test for a file that cannot hold what they look for, which then skips their walk.
    /// memchr's vectorized search, several times faster than `str::contains` on whole files.
    pub fn mentions(&self, word: &str) -> bool {
        memchr::memmem::find(self.text.as_bytes(), word.as_bytes()).is_some()
    }

    /// 0-based line index of a byte offset.
    pub fn line_index(&self, byte: usize) -> usize {
        match self.line_starts.binary_search(&(byte as u32)) {
            Ok(line) => line,
            Err(next) => next - 1,
        }
    }

    /// Byte range of a 0-based line, without its line terminator.
    pub fn line_range(&self, line: usize) -> std::ops::Range<usize> {
        let start = self.line_starts[line] as usize;
        let end = self
            .line_starts
            .get(line + 1)
            .map_or(self.text.len(), |&e| e as usize);
        let text = &self.text[start..end];
        let trimmed = text.trim_end_matches(['\n', '\r']);
        start..start + trimmed.len()
    }

    /// 1-based line and 1-based column in characters, as rustc's JSON reports them.
    pub fn line_col(&self, byte: usize) -> (usize, usize) {
        let byte = byte.min(self.text.len());
        let line = self.line_index(byte);
        let start = self.line_starts[line] as usize;
        let column = self.text.get(start..byte).map_or(0, |s| s.chars().count());
        (line + 1, column + 1)
    }
}

fn line_starts(text: &str) -> Arc<[u32]> {
    std::iter::once(0)
        .chain(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i as u32 + 1))
        .collect()
}

/// All files of a run, indexed by [`FileId`].
#[derive(Debug, Default)]
pub struct SourceDb {
    files: Vec<SourceFile>,
    by_path: std::collections::HashMap<PathBuf, FileId>,
}

impl SourceDb {
    pub fn add(&mut self, file: SourceFile) -> FileId {
        let id = FileId(self.files.len() as u32);
        self.by_path.entry(file.path.clone()).or_insert(id);
        self.files.push(file);
        id
    }

    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id.index()]
    }

    /// Frees a file's text and line index once the run knows it has nothing to report in it
    /// (a large run keeps only what its reports show); its path and id stay.
    pub fn release_text(&mut self, id: FileId) {
        let file = self.get_mut(id);
        file.text = Arc::from("");
        file.line_starts = Arc::from([0u32]);
    }

    pub fn get_mut(&mut self, id: FileId) -> &mut SourceFile {
        &mut self.files[id.index()]
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (FileId, &SourceFile)> {
        self.files
            .iter()
            .enumerate()
            .map(|(i, f)| (FileId(i as u32), f))
    }

    /// The file read from `path`, if any.
    pub fn find(&self, path: &Path) -> Option<FileId> {
        self.by_path.get(path).copied()
    }
}

#[cfg(feature = "cli")]
mod codespan_files {
    //! codespan-reporting reads the database directly, so human output needs no copy of it.
    use super::*;
    use codespan_reporting::files::{Error, Files};

    impl<'a> Files<'a> for SourceDb {
        type FileId = FileId;
        type Name = std::path::Display<'a>;
        type Source = &'a str;

        fn name(&'a self, id: FileId) -> Result<Self::Name, Error> {
            self.files
                .get(id.index())
                .map(|f| f.path.display())
                .ok_or(Error::FileMissing)
        }

        fn source(&'a self, id: FileId) -> Result<&'a str, Error> {
            self.files
                .get(id.index())
                .map(|f| &*f.text)
                .ok_or(Error::FileMissing)
        }

        fn line_index(&'a self, id: FileId, byte_index: usize) -> Result<usize, Error> {
            let file = self.files.get(id.index()).ok_or(Error::FileMissing)?;
            Ok(file.line_index(byte_index))
        }

        fn line_range(
            &'a self,
            id: FileId,
            line_index: usize,
        ) -> Result<std::ops::Range<usize>, Error> {
            let file = self.files.get(id.index()).ok_or(Error::FileMissing)?;
            if line_index < file.line_starts.len() {
                let start = file.line_starts[line_index] as usize;
                let end = file
                    .line_starts
                    .get(line_index + 1)
                    .map_or(file.text.len(), |&e| e as usize);
                Ok(start..end)
            } else if line_index == file.line_starts.len() {
                Ok(file.text.len()..file.text.len())
            } else {
                Err(Error::LineTooLarge {
                    given: line_index,
                    max: file.line_starts.len(),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_count_characters_not_bytes() {
        let f = SourceFile::new("a.rs".into(), "fn é() {}\nlet x = 1;\n".into(), None);
        assert_eq!(f.line_col(0), (1, 1));
        // `(` after the two-byte `é` is the 5th character of line 1.
        assert_eq!(f.line_col("fn é".len()), (1, 5));
        assert_eq!(f.line_col("fn é() {}\nlet ".len()), (2, 5));
        assert_eq!(f.line_range(0), 0.."fn é() {}".len());
    }
}
