//! Small readings of syn trees that every analysis shares.
//!
//! It sits just above parsing and below everything that reads paths (constant evaluation,
//! layout, the item index, the lints), so that none of those needs another to read a path.

/// The names of a path's segments (`std::thread::spawn` -> `["std", "thread", "spawn"]`),
/// generic arguments left out: the form every analysis matches paths in.
pub fn segment_names(path: &syn::Path) -> Vec<String> {
    path.segments.iter().map(|s| s.ident.to_string()).collect()
}
