//! The binary alone: every command run from an empty directory uses the definitions, schemas
//! and configuration built into it, and a directory given on the command line or in the
//! environment replaces the built-in definitions.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_dialectgate");

/// A fresh, empty directory for one test.
fn empty_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dg-anywhere-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The binary run in `cwd`, with no `DIALECTGATE__` variable of the test's own environment.
fn command(cwd: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args).current_dir(cwd);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("DIALECTGATE") {
            cmd.env_remove(key);
        }
    }
    cmd
}

fn run_ok(cwd: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = command(cwd, args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut input = child.stdin.take().unwrap();
        input.write_all(stdin.unwrap_or_default().as_bytes()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "dialectgate {args:?} in {}: {}",
        cwd.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stdout_json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `serve` started in `cwd` with `env`; the child and the address it listens on.
fn serve(cwd: &Path, env: &[(&str, &str)]) -> (std::process::Child, String) {
    let mut cmd = command(cwd, &["serve", "--listen", "127.0.0.1:0", "--admin-listen", ""]);
    cmd.envs(env.iter().copied());
    let (child, addr, _logs, _) = crate::process::spawn_listening(cmd);
    (child, addr)
}

fn stop(mut child: std::process::Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

async fn medusa_update(addr: &str, path: &str, phone: &str) -> (u16, Value) {
    let rsp = reqwest::Client::new()
        .post(format!("http://{addr}{path}"))
        .header("x-medusa-access-token", "dg_demo_key")
        .header("content-type", "application/json")
        .body(json!({ "phone": phone }).to_string())
        .send()
        .await
        .unwrap();
    let status = rsp.status().as_u16();
    let body = rsp.json().await.unwrap_or(Value::Null);
    (status, body)
}

#[tokio::test]
async fn serve_from_an_empty_directory_answers_with_the_demo_key_on_the_embedded_backend() {
    let dir = empty_dir("serve");
    let (child, addr) = serve(&dir, &[]);
    let (status, body) = medusa_update(&addr, "/admin/customers/cus_ada", "+44 1").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["customer"]["id"], "cus_ada");
    assert_eq!(body["customer"]["phone"], "+44 1");
    // The embedded backend kept the change: a second update sees it in the answer.
    let (status, body) = medusa_update(&addr, "/admin/customers/cus_ada", "+44 2").await;
    assert_eq!(status, 200);
    assert_eq!(body["customer"]["phone"], "+44 2");
    stop(child);
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        0,
        "nothing was read from or written to the working directory"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn offline_commands_work_from_an_empty_directory() {
    let dir = empty_dir("offline");
    let body = r#"{"first_name": "Ada", "phone": "+44 1"}"#;

    let out = run_ok(
        &dir,
        &[
            "translate",
            "--from",
            "medusa",
            "--to",
            "canonical",
            "--id",
            "cus_1",
            "-",
        ],
        Some(body),
    );
    assert_eq!(
        stdout_json(&out),
        json!({"name": {"given": "Ada"}, "phone": "+44 1"})
    );

    let out = run_ok(
        &dir,
        &["validate", "--dialect", "medusa", "--json", "-"],
        Some(body),
    );
    assert_eq!(stdout_json(&out), json!({"valid": true}));

    // The matrix's output format is pinned by its own tests; here: it runs and prints.
    let out = run_ok(&dir, &["matrix"], None);
    assert!(String::from_utf8_lossy(&out.stdout).contains("medusa"));

    let out = run_ok(&dir, &["openapi"], None);
    let doc = stdout_json(&out);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    assert!(doc["paths"]["/admin/customers/{id}"].is_object());

    let out = run_ok(&dir, &["dialects", "--json"], None);
    let list = stdout_json(&out);
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    // Every shipped definition, embedded in the binary.
    assert_eq!(ids, *crate::harness::DIALECTS);
    for d in list.as_array().unwrap() {
        assert_eq!(d["source"], "embedded", "{d}");
    }
    let out = run_ok(&dir, &["dialects"], None);
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), crate::harness::DIALECTS.len(), "{text}");
    assert!(text.lines().all(|l| l.ends_with(" embedded")), "{text}");

    let out = run_ok(&dir, &["check-config"], None);
    assert!(String::from_utf8_lossy(&out.stdout).contains("configuration OK"));
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A copy of the shipped definitions in `dir/dialects`, Medusa's route moved to
/// `/admin/v9/customers/{id}`.
fn modified_definitions(dir: &Path) -> PathBuf {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dialects = dir.join("dialects");
    std::fs::create_dir_all(&dialects).unwrap();
    for entry in std::fs::read_dir(repo.join("config/dialects")).unwrap() {
        let path = entry.unwrap().path();
        let mut text = std::fs::read_to_string(&path).unwrap();
        if path.file_name().unwrap() == "medusa.toml" {
            let moved = text.replace(
                "path = \"/admin/customers/{id}\"",
                "path = \"/admin/v9/customers/{id}\"",
            );
            assert_ne!(moved, text, "medusa.toml has the expected route");
            text = moved;
        }
        std::fs::write(dialects.join(path.file_name().unwrap()), text).unwrap();
    }
    dialects
}

#[tokio::test]
async fn a_definitions_directory_replaces_the_built_in_ones_and_dialects_names_it() {
    let dir = empty_dir("override");
    let dialects = modified_definitions(&dir);
    let dialects_arg = dialects.to_str().unwrap();

    // The environment variable, as a container would set it.
    let (child, addr) = serve(&dir, &[("DIALECTGATE__DIALECTS__DIR", dialects_arg)]);
    let (status, body) = medusa_update(&addr, "/admin/v9/customers/cus_ada", "+44 9").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["customer"]["phone"], "+44 9");
    let (status, _) = medusa_update(&addr, "/admin/customers/cus_ada", "+44 9").await;
    assert_eq!(status, 404, "the built-in route is not served");
    stop(child);

    // The flag, for the offline commands.
    let out = run_ok(
        &dir,
        &["--dialects-dir", dialects_arg, "dialects", "--json"],
        None,
    );
    for d in stdout_json(&out).as_array().unwrap() {
        let file = dialects.join(format!("{}.toml", d["id"].as_str().unwrap()));
        assert_eq!(d["source"], file.to_str().unwrap(), "{d}");
    }
    let medusa = stdout_json(&out)
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == "medusa")
        .cloned()
        .unwrap();
    assert_eq!(medusa["path"], "/admin/v9/customers/{id}");
    let out = run_ok(&dir, &["--dialects-dir", dialects_arg, "openapi"], None);
    let doc = stdout_json(&out);
    assert!(doc["paths"]["/admin/v9/customers/{id}"].is_object());
    assert!(doc["paths"]["/admin/customers/{id}"].is_null());

    // A broken override is refused, naming the file, rather than falling back.
    std::fs::write(dialects.join("medusa.toml"), "id = [").unwrap();
    let out = command(&dir, &["--dialects-dir", dialects_arg, "dialects"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("{dialects_arg}/medusa.toml")), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
