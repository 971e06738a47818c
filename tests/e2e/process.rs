//! The real binary: `dialectgate serve` with the shipped configuration on a fresh machine, and
//! `check-config`.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_dialectgate");

#[tokio::test]
async fn serve_with_the_shipped_config_answers_and_stops_on_sigterm() {
    let (mut child, addr, rx) = spawn(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--admin-listen",
        "127.0.0.1:0",
    ]);
    let mut logs = Vec::new();
    let rsp = medusa_phone_update(&addr, "+44 1").await;
    assert_eq!(rsp.status(), 200);
    let body: serde_json::Value = rsp.json().await.unwrap();
    assert_eq!(body["customer"]["phone"], "+44 1");

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let code = loop {
        if let Some(code) = child.try_wait().unwrap() {
            break code;
        }
        assert!(Instant::now() < deadline, "the gateway did not stop on SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(code.success(), "exit status {code:?}");
    // Every log line is one JSON object, and none carries the key.
    while let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
        logs.push(line);
    }
    for line in &logs {
        assert!(
            serde_json::from_str::<serde_json::Value>(line).is_ok(),
            "not JSON: {line}"
        );
        assert!(!line.contains("dg_demo_key"), "secret in a log line: {line}");
    }
}

#[test]
fn check_config_accepts_the_shipped_config_and_names_problems() {
    let ok = Command::new(BIN).args(["check-config"]).output().unwrap();
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    assert!(String::from_utf8_lossy(&ok.stdout).contains("configuration OK"));

    let bad = Command::new(BIN)
        .args([
            "check-config",
            "--upstream-dialect",
            "nope",
            "--upstream",
            "http://127.0.0.1:1",
        ])
        .env("DIALECTGATE_UPSTREAM_TOKEN", "t")
        .env("DIALECTGATE_KEYS", "k")
        .output()
        .unwrap();
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("upstream.dialect `nope`"), "{err}");

    let dir = std::env::temp_dir().join(format!("dg-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("gw.toml");
    std::fs::write(
        &file,
        "[server]\nlisten = \"nope\"\nmax_in_flight = 0\n[credentials]\nkeys_env = \"UNSET_FOR_TEST\"\n",
    )
    .unwrap();
    let bad = Command::new(BIN)
        .args(["check-config", "--config", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("server.listen") && err.contains("server.max_in_flight") && err.contains("credentials"),
        "{err}"
    );
}

#[test]
fn translate_and_validate_for_ci() {
    let out = Command::new(BIN)
        .args([
            "translate",
            "--from",
            "medusa",
            "--to",
            "microbase",
            "--id",
            "cus_1",
            "--request",
            "tests/fixtures/medusa/request.vendor-example.json",
            "--mode",
            "lenient",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let req: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(req["method"], "POST");
    assert_eq!(req["path"], "/services/customer/v1/customer.update");
    assert_eq!(req["body"]["id"], "cus_1");
    assert_eq!(req["body"]["firstName"], "string");

    let strict = Command::new(BIN)
        .args([
            "translate",
            "--from",
            "medusa",
            "--to",
            "microbase",
            "--id",
            "cus_1",
            "tests/fixtures/medusa/request.vendor-example.json",
        ])
        .output()
        .unwrap();
    assert_eq!(strict.status.code(), Some(1));
    let err = String::from_utf8_lossy(&strict.stderr);
    assert!(err.contains("/metadata") && err.contains("/groups"), "{err}");

    let bad = Command::new(BIN)
        .args(["validate", "--dialect", "elasticpath", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    bad.stdin
        .as_ref()
        .unwrap()
        .write_all(br#"{"data": {"type": "product", "extra": 1}}"#)
        .unwrap();
    let out = bad.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/data/type") && err.contains("/data/extra"), "{err}");

    let unknown = Command::new(BIN)
        .args([
            "validate",
            "--dialect",
            "nope",
            "tests/fixtures/medusa/request.vendor-example.json",
        ])
        .output()
        .unwrap();
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("unknown dialect `nope`"));
}

/// Starts the binary with `args`, returns it and its traffic address (from its log).
/// On one CPU (the shipped deployment's limit; here the affinity mask `taskset` sets, which
/// `available_parallelism` follows) the binary runs a current-thread runtime and serves as
/// ever; `TOKIO_WORKER_THREADS` still asks for the multi-thread runtime's workers.
#[tokio::test]
async fn on_one_cpu_the_binary_runs_a_current_thread_runtime_and_serves() {
    let args = ["serve", "--listen", "127.0.0.1:0", "--admin-listen", ""];
    for (workers, expected) in [(None, "current_thread"), (Some("1"), "multi_thread")] {
        let mut cmd = Command::new("taskset");
        cmd.args(["-c", "0", BIN])
            .args(args)
            .env_remove("TOKIO_WORKER_THREADS");
        if let Some(n) = workers {
            cmd.env("TOKIO_WORKER_THREADS", n);
        }
        let (mut child, addr, _rx, listening) = spawn_listening(cmd);
        assert_eq!(listening["runtime"], expected, "{workers:?}: {listening}");
        // A read-modify-write through the embedded backend, and a read of what it wrote.
        let rsp = medusa_phone_update(&addr, "+44 2").await;
        assert_eq!(rsp.status(), 200, "{workers:?}");
        let rsp = crate::harness::client()
            .get(format!("http://{addr}/admin/customers/cus_ada"))
            .header("x-medusa-access-token", "dg_demo_key")
            .send()
            .await
            .unwrap();
        assert_eq!(rsp.status(), 200, "{workers:?}");
        let body: serde_json::Value = rsp.json().await.unwrap();
        assert_eq!(body["customer"]["phone"], "+44 2", "{workers:?}");
        child.kill().unwrap();
        child.wait().unwrap();
    }
}

/// A Medusa Admin update of `cus_ada`'s phone, with the shipped demo key, to the gateway at `addr`.
async fn medusa_phone_update(addr: &str, phone: &str) -> reqwest::Response {
    crate::harness::client()
        .post(format!("http://{addr}/admin/customers/cus_ada"))
        .header("x-medusa-access-token", "dg_demo_key")
        .header("content-type", "application/json")
        .body(serde_json::json!({ "phone": phone }).to_string())
        .send()
        .await
        .unwrap()
}

fn spawn(args: &[&str]) -> (std::process::Child, String, std::sync::mpsc::Receiver<String>) {
    let (child, addr, rx, _) = spawn_with(args, &[]);
    (child, addr, rx)
}

/// Starts the binary with `args` and extra environment `env`; returns the child, the address it
/// listens on, its later log lines, and its "Gateway listening." line.
pub(crate) fn spawn_with(
    args: &[&str],
    env: &[(&str, &str)],
) -> (
    std::process::Child,
    String,
    std::sync::mpsc::Receiver<String>,
    serde_json::Value,
) {
    let mut cmd = Command::new(BIN);
    cmd.args(args).envs(env.iter().copied());
    spawn_listening(cmd)
}

/// Starts `cmd` (a `dialectgate serve`) with `RUST_LOG=info`; returns the child, the address it
/// listens on, its later log lines and its "Gateway listening." line. Panics with what it logged
/// if it does not start.
pub(crate) fn spawn_listening(
    mut cmd: Command,
) -> (
    std::process::Child,
    String,
    std::sync::mpsc::Receiver<String>,
    serde_json::Value,
) {
    let mut child = cmd
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(line) => {
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line)
                    && v["message"] == "Gateway listening."
                {
                    return (child, v["listen"].as_str().unwrap().to_owned(), rx, v);
                }
                seen.push(line);
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("the gateway did not start: {}", seen.join("\n"));
}

fn wait_for_log(rx: &std::sync::mpsc::Receiver<String>, message: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(200))
            && line.contains(message)
        {
            return;
        }
    }
    panic!("no log line {message:?}");
}

#[tokio::test]
async fn sighup_reloads_and_a_bad_file_keeps_the_old_configuration() {
    let file = crate::harness::config_file("sighup", |t| t);
    let (mut child, addr, rx) = spawn(&[
        "serve",
        "--config",
        file.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--admin-listen",
        "",
    ]);
    let ep = || async {
        crate::harness::client()
            .put(format!("http://{addr}/v2/customers/cus_ada"))
            .header("authorization", "Bearer dg_demo_key")
            .header("content-type", "application/json")
            .body(r#"{"data":{"type":"customer","email":"hup@example.com"}}"#)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(ep().await, 200);
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replace("only = []", "only = [\"medusa\"]")).unwrap();
    let hup = |pid: u32| {
        Command::new("kill")
            .args(["-HUP", &pid.to_string()])
            .status()
            .unwrap()
    };
    assert!(hup(child.id()).success());
    wait_for_log(&rx, "Configuration reloaded.");
    assert_eq!(ep().await, 404, "only medusa is served after the reload");

    std::fs::write(&file, "this is not toml [").unwrap();
    assert!(hup(child.id()).success());
    wait_for_log(&rx, "Configuration reload refused");
    assert_eq!(ep().await, 404, "the previous configuration keeps serving");

    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
}
