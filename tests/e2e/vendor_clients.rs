//! The bar for "works": the vendors' own JavaScript clients, unmodified — the Elastic Path
//! SDK (`@elasticpath/js-sdk` and the deprecated `@moltin/sdk`, including their OAuth token
//! call) and `@medusajs/medusa-js` — against the real gateway. `tests/clients/run.mjs` drives
//! them; `.ci/run` installs them with `npm ci` in `tests/clients`.

use std::process::Command;

use crate::harness;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_vendors_own_clients_work_unchanged() {
    assert!(
        std::path::Path::new("tests/clients/node_modules/@medusajs/medusa-js").exists(),
        "the vendor clients are not installed: run `npm ci --legacy-peer-deps` in tests/clients (.ci/run does)"
    );
    let gw = harness::start(harness::config(Default::default(), &[])).await;
    let base = format!("http://{}", gw.addr);
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .args(["tests/clients/run.mjs", &base, harness::CALLER_KEY])
            .output()
    })
    .await
    .unwrap()
    .expect("node runs (Node.js >= 18 is needed)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && !stdout.contains("FAILED"),
        "{stdout}\n{stderr}"
    );
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("ok ")).count(),
        13,
        "{stdout}"
    );
    // What the clients did is visible in the store.
    assert_eq!(gw.backend.get("cus_grace").unwrap()["name"]["family"], "Murray");
}
