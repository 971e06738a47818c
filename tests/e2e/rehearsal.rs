//! The README's migration rehearsal, run as written: `deploy/rehearsal.sh` with the real binary
//! (two `serve --only` instances standing in for vendor X and Y, a third in front with a
//! candidate), and the report it prints names the members vendor Y loses.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_dialectgate");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The script drives the gateways with curl: a missing curl skips the test here and fails it
/// under CI (`CI` set; `.ci/run` installs curl).
fn curl_present(test: &str) -> bool {
    let present = Command::new("curl")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !present {
        assert!(
            std::env::var_os("CI").is_none(),
            "{test}: curl must be installed in CI (.ci/run does it)"
        );
        eprintln!("SKIPPED {test}: curl is not installed here (apt-get install curl; .ci/run does it)");
    }
    present
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readmes_rehearsal_names_what_elastic_path_loses() {
    if !curl_present("the_readmes_rehearsal_names_what_elastic_path_loses") {
        return;
    }
    let (port, x, y) = (free_port(), free_port(), free_port());
    let out = tokio::task::spawn_blocking(move || {
        Command::new("bash")
            .arg("deploy/rehearsal.sh")
            .env("DIALECTGATE", BIN)
            .env("PORT", port.to_string())
            .env("PORT_X", x.to_string())
            .env("PORT_Y", y.to_string())
            .output()
    })
    .await
    .unwrap()
    .expect("bash runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    // Every call through the gateway answered 200 (the primary's answer).
    assert!(stdout.contains("200 200 200 200 200 200"), "{stdout}\n{stderr}");
    // Elastic Path has no phone and no metadata: the report names them.
    let report = stdout.split("would lose:").nth(1).unwrap_or_default();
    for member in ["/phone", "/metadata"] {
        assert!(
            report
                .lines()
                .any(|l| l.split_whitespace().next() == Some(member)),
            "{member} not in the report:\n{stdout}"
        );
    }
    // No personal value is written to the report (the log keeps hashes only).
    assert!(!report.contains("ada.king@example.com"), "{report}");
}
