//! Where the file of a `mod foo;` declaration lives, following rustc's rules.
//!
//! A file "owns a directory" when it is a crate root, a `mod.rs`, or was loaded through
//! `#[path]`: its child `mod foo;` lives at `dir/foo.rs` or `dir/foo/mod.rs`. Any other file
//! `dir/bar.rs` puts its children in `dir/bar/`. Inline modules (`mod a { mod b; }`) add their
//! names as folders. `#[path = "p"]` is relative to the file's folder outside inline modules,
//! and to the inline modules' folder inside them.

use std::path::{Path, PathBuf};

use crate::workspace::normalize;

/// An out-of-line module declaration found in a file.
#[derive(Clone, Debug)]
pub struct ModDecl {
    pub name: String,
    /// Names of the inline modules that enclose the declaration, outermost first.
    pub inline_path: Vec<String>,
    pub path_attr: Option<String>,
    /// The declaration is behind `#[cfg(...)]`: a missing file is then not an error, since the
    /// module may only exist on other platforms or features.
    pub cfg_gated: bool,
    pub span: crate::span::Span,
    /// Index (in the file's summary) of the local module that holds the declaration.
    pub local_parent: usize,
}

/// The files, in order of preference, that may hold the module declared by `decl` in `file`.
pub fn candidates(file: &Path, owns_dir: bool, decl: &ModDecl) -> Vec<PathBuf> {
    let dir = file.parent().unwrap_or(Path::new("."));
    let mut base = if owns_dir {
        dir.to_path_buf()
    } else {
        dir.join(file.file_stem().unwrap_or_default())
    };
    // `mod r#ref;` lives in `ref.rs`: file names are the raw identifiers' plain names.
    let unraw = |name: &str| name.strip_prefix("r#").unwrap_or(name).to_string();
    let inline: Vec<String> = decl.inline_path.iter().map(|n| unraw(n)).collect();
    if let Some(p) = &decl.path_attr {
        if inline.is_empty() {
            return vec![normalize(&dir.join(p))];
        }
        base.extend(&inline);
        return vec![normalize(&base.join(p))];
    }
    base.extend(&inline);
    let name = unraw(&decl.name);
    vec![
        base.join(format!("{name}.rs")),
        base.join(&name).join("mod.rs"),
    ]
}

/// Whether a file loaded for `decl` owns its directory (see the module docs).
pub fn child_owns_dir(child: &Path, decl: &ModDecl) -> bool {
    decl.path_attr.is_some() || child.file_name().is_some_and(|n| n == "mod.rs")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::span::{FileId, Span};

    fn decl(name: &str, inline: &[&str], path: Option<&str>) -> ModDecl {
        ModDecl {
            name: name.into(),
            inline_path: inline.iter().map(|s| s.to_string()).collect(),
            path_attr: path.map(Into::into),
            cfg_gated: false,
            span: Span::new(FileId(0), 0..0),
            local_parent: 0,
        }
    }

    #[test]
    fn raw_identifiers_name_plain_files() {
        let root = Path::new("/c/src/lib.rs");
        assert_eq!(
            candidates(root, true, &decl("r#ref", &["r#in"], None)),
            [
                Path::new("/c/src/in/ref.rs"),
                Path::new("/c/src/in/ref/mod.rs")
            ]
        );
    }

    #[test]
    fn rustc_module_file_rules() {
        let root = Path::new("/c/src/lib.rs");
        assert_eq!(
            candidates(root, true, &decl("net", &[], None)),
            [Path::new("/c/src/net.rs"), Path::new("/c/src/net/mod.rs")]
        );
        let net = Path::new("/c/src/net.rs");
        assert_eq!(
            candidates(net, false, &decl("tcp", &[], None))[0],
            Path::new("/c/src/net/tcp.rs")
        );
        let modrs = Path::new("/c/src/net/mod.rs");
        assert_eq!(
            candidates(modrs, true, &decl("tcp", &["inner"], None))[0],
            Path::new("/c/src/net/inner/tcp.rs")
        );
        assert_eq!(
            candidates(net, false, &decl("x", &[], Some("../other/x.rs"))),
            [Path::new("/c/other/x.rs")]
        );
        assert_eq!(
            candidates(net, false, &decl("x", &["a"], Some("y.rs"))),
            [Path::new("/c/src/net/a/y.rs")]
        );
    }
}
