//! Replays the fuzz corpus on stable: every file in `fuzz/corpus/<target>/` (and in
//! `fuzz/artifacts/<target>/`, when a local fuzzing run left crash inputs there) is run through
//! the same invariant checks as the cargo-fuzz target `<target>` (`fuzz/checks.rs`, shared by
//! path). CI has no fuzzer; this keeps what the fuzzer found exercised.

#[path = "../../../fuzz/checks.rs"]
mod checks;

use std::path::{Path, PathBuf};

/// Every (target, file) under `dir/<target>/`, sorted; hidden files are skipped.
fn inputs(dir: &Path) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    let Ok(targets) = std::fs::read_dir(dir) else {
        return out;
    };
    for target in targets.filter_map(Result::ok) {
        let name = target.file_name().to_string_lossy().into_owned();
        let Ok(files) = std::fs::read_dir(target.path()) else {
            continue;
        };
        for file in files.filter_map(Result::ok) {
            let hidden = file.file_name().to_string_lossy().starts_with('.');
            if !hidden && file.path().is_file() {
                out.push((name.clone(), file.path()));
            }
        }
    }
    out.sort();
    out
}

fn replay(dir: &Path) -> (usize, Vec<String>) {
    let mut failures = Vec::new();
    let mut ran = 0;
    for (target, path) in inputs(dir) {
        let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let Some(result) = checks::check_target(&target, &data) else {
            failures.push(format!("{}: `{target}` is not a fuzz target", path.display()));
            continue;
        };
        ran += 1;
        if let Err(e) = result {
            failures.push(format!("{}: {e}", path.display()));
        }
    }
    (ran, failures)
}

#[test]
fn the_fuzz_corpus_keeps_every_invariant() {
    let fuzz = checks::repo_root().join("fuzz");
    let (ran, failures) = replay(&fuzz.join("corpus"));
    // Every target has at least its seeds.
    assert!(
        ran >= 2 * checks::DIALECTS.len(),
        "only {ran} corpus files under {}",
        fuzz.display()
    );
    assert!(
        failures.is_empty(),
        "{} of {ran} inputs broke an invariant:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn crash_inputs_left_by_a_fuzzing_run_keep_every_invariant() {
    let (_, failures) = replay(&checks::repo_root().join("fuzz/artifacts"));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_target_has_a_corpus() {
    let corpus = checks::repo_root().join("fuzz/corpus");
    for &d in checks::DIALECTS.iter() {
        for kind in ["request", "answer"] {
            let dir = corpus.join(format!("{kind}_{d}"));
            let files = std::fs::read_dir(&dir).map_or(0, |f| f.count());
            assert!(files > 0, "no seed corpus in {}", dir.display());
        }
    }
}

#[test]
fn the_secret_check_sees_passwords_but_not_metadata() {
    let body = serde_json::json!({
        "password": "hunter2hunter2",
        "short": {"password": "8 chars!"},
        "data": [{"new_password": ["nested-secret"]}],
        "metadata": {"password": "customer-owned-data"},
    });
    let secrets = checks::secrets_of(&body);
    assert_eq!(secrets, ["hunter2hunter2", "nested-secret"]);
    let echoed: Vec<String> =
        checks::find_secrets(br#"{"message":"bad hunter2hunter2"}"#, &secrets).collect();
    assert_eq!(echoed.len(), 1);
    let (canaried, canaries) = checks::with_canaries(&body);
    assert_eq!(checks::secrets_of(&canaried), {
        let mut c = canaries.clone();
        c.sort();
        c
    });
    assert!(canaries.iter().all(|c| c.starts_with("CANARY")));
    assert_eq!(canaried["metadata"]["password"], "customer-owned-data");
}
