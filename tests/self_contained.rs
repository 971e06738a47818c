//! The repository is self-contained: a clone needs nothing beside it to check a dialect
//! definition or a test against its vendor. No file points at notes kept outside the repository;
//! every shipped dialect (`config/dialects/<id>.toml`) has its vendor facts, each with its public
//! source, in `docs/vendors/<id>.md`; every source label a fact cites is defined in its file; and
//! every reference to a `docs/vendors` file and section leads somewhere.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Notes that live outside the repository, written in two pieces so that this file does not
/// name them itself.
const OUTSIDE: [[&str; 2]; 4] = [
    ["../", "shared"],
    ["DIALECTS", ".md"],
    ["ARCHITECTURE", ".md"],
    ["PERF_RELIABILITY", ".md"],
];

/// The sections every shipped dialect's file has (docs/vendors/README.md says so).
const DIALECT_SECTIONS: [&str; 11] = [
    "sources",
    "update",
    "authentication",
    "request",
    "semantics",
    "answer",
    "retrieve",
    "errors",
    "clients",
    "ids",
    "fixtures",
];

/// The repository's files, relative to the root, sorted: what git tracks plus new files it does
/// not ignore (so a file is checked before it is committed). Without git (an exported tree), every
/// file but build output and installed packages.
fn files() -> Vec<String> {
    let listed = Command::new("git")
        .args(["ls-files", "-z", "--cached", "--others", "--exclude-standard"])
        .current_dir(ROOT)
        .output();
    let mut files: Vec<String> = match listed {
        Ok(out) if out.status.success() => out
            .stdout
            .split(|&b| b == 0)
            .filter(|p| !p.is_empty())
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .collect(),
        _ => walk(Path::new(ROOT), ""),
    };
    // A file deleted from the work tree but still in the index is not there to read.
    files.retain(|f| Path::new(ROOT).join(f).is_file());
    files.sort();
    files.dedup();
    assert!(
        files.iter().any(|f| f == "Cargo.toml"),
        "no files found under {ROOT}"
    );
    files
}

fn walk(dir: &Path, rel: &str) -> Vec<String> {
    let mut out = Vec::new();
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let entry = entry.unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        if matches!(name.as_str(), ".git" | "target" | "node_modules") || path == "bench/out" {
            continue;
        }
        let file_type = entry.file_type().unwrap_or_else(|e| panic!("{path}: {e}"));
        if file_type.is_dir() {
            out.extend(walk(&entry.path(), &path));
        } else if file_type.is_file() {
            out.push(path);
        }
    }
    out
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(Path::new(ROOT).join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The ids of the `*.<ext>` files of a folder, sorted.
fn ids_in(folder: &str, ext: &str) -> BTreeSet<String> {
    std::fs::read_dir(Path::new(ROOT).join(folder))
        .unwrap_or_else(|e| panic!("{folder}: {e}"))
        .map(|e| e.unwrap_or_else(|e| panic!("{folder}: {e}")).path())
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect()
}

/// The vendor files of docs/vendors/ (the index excluded).
fn vendor_docs() -> BTreeSet<String> {
    let mut docs = ids_in("docs/vendors", "md");
    docs.remove("README");
    docs
}

/// The anchors of a Markdown text's headings, as GitHub makes them: lower case, spaces to `-`,
/// other punctuation dropped, `-1`, `-2`, … after a repeated one. Code blocks hold no headings.
fn anchors(text: &str) -> BTreeSet<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = BTreeSet::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        let level = line.bytes().take_while(|&b| b == b'#').count();
        if fenced || level == 0 || level > 6 || line.as_bytes().get(level) != Some(&b' ') {
            continue;
        }
        let slug: String = line[level..]
            .trim()
            .to_lowercase()
            .chars()
            .filter_map(|c| match c {
                ' ' => Some('-'),
                c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
                _ => None,
            })
            .collect();
        let n = seen.entry(slug.clone()).or_insert(0);
        out.insert(if *n == 0 { slug } else { format!("{slug}-{n}") });
        *n += 1;
    }
    out
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

/// The longest prefix of `s` made of `[A-Za-z0-9_-]`.
fn name_prefix(s: &str) -> &str {
    let end = s.find(|c: char| !is_name_char(c)).unwrap_or(s.len());
    &s[..end]
}

/// `target`, a link in the file `from`, as a path from the repository's root.
fn relative_to(from: &str, target: &str) -> String {
    let mut parts: Vec<&str> = from.split('/').collect();
    parts.pop();
    for part in target.split('/') {
        match part {
            ".." => {
                parts.pop();
            }
            "." | "" => {}
            p => parts.push(p),
        }
    }
    parts.join("/")
}

#[test]
fn no_file_points_at_notes_outside_the_repository() {
    let needles: Vec<String> = OUTSIDE.iter().map(|pieces| pieces.concat()).collect();
    let mut hits = Vec::new();
    for file in files() {
        let bytes = std::fs::read(Path::new(ROOT).join(&file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        for (n, line) in bytes.split(|&b| b == b'\n').enumerate() {
            for needle in &needles {
                if contains(line, needle.as_bytes()) {
                    hits.push(format!("{file}:{}: {needle}", n + 1));
                }
            }
        }
    }
    assert!(
        hits.is_empty(),
        "these files point at notes a clone does not have; write the fact (with its vendor's \
         source) in docs/vendors/<id>.md and point there instead:\n{}",
        hits.join("\n")
    );
}

#[test]
fn every_shipped_dialect_has_its_vendor_facts() {
    let dialects = ids_in("config/dialects", "toml");
    assert!(!dialects.is_empty(), "no dialect definitions in config/dialects");
    let docs = vendor_docs();
    let missing: Vec<&String> = dialects.iter().filter(|id| !docs.contains(*id)).collect();
    assert!(
        missing.is_empty(),
        "config/dialects/<id>.toml without docs/vendors/<id>.md (the vendor facts the definition \
         relies on, each with its source): {missing:?}"
    );
    for id in &dialects {
        let have = anchors(&read(&format!("docs/vendors/{id}.md")));
        let lacking: Vec<&str> = DIALECT_SECTIONS
            .into_iter()
            .filter(|s| !have.contains(*s))
            .collect();
        assert!(
            lacking.is_empty(),
            "docs/vendors/{id}.md lacks the sections {lacking:?}"
        );
    }
    // The index lists every vendor file, and every file gives its sources.
    let index = read("docs/vendors/README.md");
    for doc in &docs {
        assert!(
            index.contains(&format!("]({doc}.md)")),
            "docs/vendors/README.md does not list {doc}.md"
        );
        assert!(
            anchors(&read(&format!("docs/vendors/{doc}.md"))).contains("sources"),
            "docs/vendors/{doc}.md has no Sources section"
        );
    }
}

/// The source labels a vendor file defines (the first column of its Sources table, `| [label] |`)
/// and the ones its text cites (`[label]` outside code, not a link). Inline code may run over a
/// line break, so the text is taken whole.
fn labels(text: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut defined = BTreeSet::new();
    let mut prose = String::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        if let Some((label, _)) = line.strip_prefix("| [").and_then(|r| r.split_once(']')) {
            defined.insert(label.to_owned());
            continue;
        }
        prose.push_str(line);
        prose.push('\n');
    }
    let mut cited = BTreeSet::new();
    // Outside inline code: the even pieces between backticks.
    for piece in prose.split('`').step_by(2) {
        let mut rest = piece;
        while let Some(open) = rest.find('[') {
            rest = &rest[open + 1..];
            let name = name_prefix(rest);
            let after = &rest[name.len()..];
            let label = name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit());
            if label && after.starts_with(']') && !after[1..].starts_with('(') {
                cited.insert(name.to_owned());
            }
        }
    }
    (defined, cited)
}

#[test]
fn every_cited_source_is_defined_and_every_defined_one_cited() {
    for doc in vendor_docs() {
        let (defined, cited) = labels(&read(&format!("docs/vendors/{doc}.md")));
        assert!(!defined.is_empty(), "docs/vendors/{doc}.md defines no source");
        let undefined: Vec<&String> = cited.difference(&defined).collect();
        assert!(
            undefined.is_empty(),
            "docs/vendors/{doc}.md cites sources its Sources table does not define: {undefined:?}"
        );
        let unused: Vec<&String> = defined.difference(&cited).collect();
        assert!(
            unused.is_empty(),
            "docs/vendors/{doc}.md defines sources no fact cites: {unused:?}"
        );
    }
}

#[test]
fn references_to_vendor_facts_lead_somewhere() {
    let dialects = ids_in("config/dialects", "toml");
    let mut cache: BTreeMap<String, Option<BTreeSet<String>>> = BTreeMap::new();
    let mut anchors_of = |rel: &str| -> Option<BTreeSet<String>> {
        cache
            .entry(rel.to_owned())
            .or_insert_with(|| {
                std::fs::read_to_string(Path::new(ROOT).join(rel))
                    .ok()
                    .map(|t| anchors(&t))
            })
            .clone()
    };
    let mut broken = Vec::new();
    let mut check = |from: &str, file: &str, anchor: Option<&str>| match anchors_of(file) {
        None => broken.push(format!("{from}: {file} does not exist")),
        Some(have) => {
            if let Some(anchor) = anchor.filter(|a| !have.contains(*a)) {
                broken.push(format!("{from}: {file} has no section #{anchor}"));
            }
        }
    };
    for file in files() {
        let Ok(text) = std::fs::read_to_string(Path::new(ROOT).join(&file)) else {
            continue;
        };
        for (n, line) in text.lines().enumerate() {
            let from = format!("{file}:{}", n + 1);
            // `docs/vendors/<name>.md#anchor` anywhere; `<id>` stands for every shipped dialect.
            for (at, _) in line.match_indices("docs/vendors/") {
                let rest = &line[at + "docs/vendors/".len()..];
                let (names, rest): (Vec<String>, &str) = if let Some(r) = rest.strip_prefix("<id>") {
                    (dialects.iter().cloned().collect(), r)
                } else {
                    let name = name_prefix(rest);
                    (vec![name.to_owned()], &rest[name.len()..])
                };
                let Some(rest) = rest.strip_prefix(".md") else {
                    continue;
                };
                let anchor = rest.strip_prefix('#').map(name_prefix).filter(|a| !a.is_empty());
                for name in names.iter().filter(|n| !n.is_empty()) {
                    check(&from, &format!("docs/vendors/{name}.md"), anchor);
                }
            }
            // Relative Markdown links inside docs/vendors/.
            if file.starts_with("docs/vendors/") && file.ends_with(".md") {
                for (at, _) in line.match_indices("](") {
                    let target = &line[at + 2..];
                    let target = &target[..target.find(')').unwrap_or(target.len())];
                    if target.contains("://") {
                        continue;
                    }
                    let (path, anchor) = match target.split_once('#') {
                        Some((p, a)) => (p, Some(a)),
                        None => (target, None),
                    };
                    let resolved = if path.is_empty() {
                        file.clone()
                    } else {
                        relative_to(&file, path)
                    };
                    check(&from, &resolved, anchor);
                }
            }
        }
    }
    assert!(broken.is_empty(), "broken references:\n{}", broken.join("\n"));
}
