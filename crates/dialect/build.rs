//! Lists the shipped dialect definitions (`config/dialects/*.toml`) and schemas
//! (`schemas/<folder>/*.json`) for `src/source.rs`, which embeds them with `include_str!`: the
//! binary works without the source tree beside it. New files are picked up (the folders are
//! watched), and an edited file is rebuilt by `include_str!` itself.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    // Read when the script runs, not when it was compiled: a build directory reused by a moved
    // checkout (a worktree, a CI cache) must list the files of the checkout being built.
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let root = Path::new(&manifest).join("../..");
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    let dialects = root.join("config/dialects");
    let schemas = root.join("schemas");
    println!("cargo::rerun-if-changed={}", dialects.display());
    println!("cargo::rerun-if-changed={}", schemas.display());
    for path in entries(&dialects)
        .into_iter()
        .filter(|p| has_extension(p, "toml"))
    {
        files.push((format!("config/dialects/{}", file_name(&path)), path));
    }
    for folder in entries(&schemas).into_iter().filter(|p| p.is_dir()) {
        for path in entries(&folder).into_iter().filter(|p| has_extension(p, "json")) {
            files.push((
                format!("schemas/{}/{}", file_name(&folder), file_name(&path)),
                path,
            ));
        }
    }
    let mut out = String::from("&[\n");
    for (name, path) in &files {
        let path = path
            .canonicalize()
            .expect("an embedded file has a canonical path");
        writeln!(
            out,
            "    ({name:?}, include_str!({:?})),",
            path.display().to_string()
        )
        .expect("writing to a String");
    }
    out.push(']');
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out_dir.join("embedded.rs"), out).expect("OUT_DIR is writable");
}

/// The entries of `dir`, sorted.
fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .collect();
    paths.sort();
    paths
}

fn has_extension(path: &Path, ext: &str) -> bool {
    path.is_file() && path.extension().is_some_and(|x| x == ext)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .and_then(|n| n.to_str())
        .expect("shipped file names are UTF-8")
        .to_owned()
}
