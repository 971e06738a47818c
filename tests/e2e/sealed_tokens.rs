//! Sealed tokens across gateways (issue #20, items 6 and 7): a token carries what it is bound to,
//! sealed under `credentials.token_key_env`, so any gateway with the same key honours it — another
//! replica, a restart, a rotation that keeps the old key as the previous one — and none keeps
//! anything per token. Tampered, expired, foreign-key and other-mode tokens get 401 in the
//! caller's dialect; an oversize secret in the token form gets Elastic Path's 400.

use dialectgate_gateway::{CredentialMode, Overrides};
use serde_json::json;

use crate::harness::{self, CALLER_KEY, Running, Upstream};
use crate::tokens::{ask_token, assert_ep_401, client_credentials, ep_update, update_as, wait_until_expired};
use crate::vendor_errors::{Kind, callers, check};

/// Two token keys of 48 bytes, as `openssl rand -base64 36` prints them.
const KEY_1: &str = "n5Tq1mXc8ZrB2vL0kW7yH3sJ9dF4gA6pE1uQ8iO2tR5wY0zC";
const KEY_2: &str = "Hk2Vb7Nx4Mq9Lw1Pe6Rt3Ys8Uo5Ia0Sd2Fg7Jh4Kl9Zc1Xv3";

/// A gateway in front of `upstream` (static mode, the harness's caller key), tokens sealed with
/// `token_key` (`None`: a random key per gateway), plus `env`.
async fn gateway(upstream: &Upstream, token_key: Option<&str>, env: &[(&str, &str)]) -> Running {
    let mut all: Vec<(&str, &str)> = env.to_vec();
    if let Some(key) = token_key {
        all.push(("DIALECTGATE_TOKEN_KEY", key));
    }
    harness::start(harness::config(
        Overrides {
            upstream: Some(upstream.url()),
            ..Overrides::default()
        },
        &all,
    ))
    .await
}

/// A passthrough gateway in front of `upstream`, tokens sealed with `token_key`.
async fn passthrough(upstream: &Upstream, token_key: &str, env: &[(&str, &str)]) -> Running {
    let mut all = vec![("DIALECTGATE_TOKEN_KEY", token_key)];
    all.extend_from_slice(env);
    harness::start(harness::config(
        Overrides {
            upstream: Some(upstream.url()),
            credentials: Some(CredentialMode::Passthrough),
            ..Overrides::default()
        },
        &all,
    ))
    .await
}

async fn token_from(gw: &Running, secret: &str) -> String {
    ask_token(&gw.url(""), &client_credentials(secret))
        .await
        .access_token()
}

fn ok(answer: &harness::Answer) {
    assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
}

/// `token` gets 401 in every caller dialect's own shape at `gw` (the vendors' documented 401s,
/// `vendor_errors.rs`).
async fn refused_in_every_dialect(gw: &Running, token: &str, how: &str) {
    for caller in callers() {
        let answer = update_as(gw, caller, token).await;
        check(caller, Kind::Unauthorized, "cus_ada", &answer, how);
    }
}

#[tokio::test]
async fn a_token_from_one_replica_works_at_another_with_the_same_key() {
    let upstream = Upstream::start(|_| harness::customer_answer()).await;
    let a = gateway(&upstream, Some(KEY_1), &[]).await;
    let b = gateway(&upstream, Some(KEY_1), &[]).await;
    let token = token_from(&a, CALLER_KEY).await;
    ok(&ep_update(&b, &token).await);
    ok(&update_as(&b, "medusa", &token).await);
    ok(&ep_update(&a, &token).await);
    upstream.wait_for(3).await;
    for seen in upstream.seen() {
        // The gateway's own credential went upstream, never the token.
        assert_eq!(
            seen.header("authorization"),
            Some(format!("Bearer {}", harness::UPSTREAM_TOKEN).as_str())
        );
    }
    // And back: B's token works at A.
    ok(&ep_update(&a, &token_from(&b, CALLER_KEY).await).await);
    // Without a configured key each gateway has its own: the token of one is dead at the other.
    let c = gateway(&upstream, None, &[]).await;
    let d = gateway(&upstream, None, &[]).await;
    let own = token_from(&c, CALLER_KEY).await;
    ok(&ep_update(&c, &own).await);
    assert_ep_401(&ep_update(&d, &own).await);
}

#[tokio::test]
async fn a_restart_with_the_same_key_keeps_tokens_working() {
    let upstream = Upstream::start(|_| harness::customer_answer()).await;
    let first = gateway(&upstream, Some(KEY_1), &[]).await;
    let token = token_from(&first, CALLER_KEY).await;
    ok(&ep_update(&first, &token).await);
    assert!(first.stop().await, "the first gateway drained");
    let restarted = gateway(&upstream, Some(KEY_1), &[]).await;
    ok(&ep_update(&restarted, &token).await);
    // In passthrough mode too: the restarted gateway passes on the secret sealed in the token.
    let pt = passthrough(&upstream, KEY_1, &[]).await;
    let pt_token = token_from(&pt, "client-secret-r1").await;
    assert!(pt.stop().await);
    upstream.clear();
    let pt_again = passthrough(&upstream, KEY_1, &[]).await;
    ok(&ep_update(&pt_again, &pt_token).await);
    upstream.wait_for(1).await;
    assert_eq!(
        upstream.seen()[0].header("authorization"),
        Some("Bearer client-secret-r1")
    );
}

#[tokio::test]
async fn rotation_keeps_the_previous_keys_tokens_until_the_key_is_dropped() {
    let upstream = Upstream::start(|_| harness::customer_answer()).await;
    let old = gateway(&upstream, Some(KEY_1), &[]).await;
    let old_token = token_from(&old, CALLER_KEY).await;
    // KEY_2 is the new key; KEY_1 stays as the previous one.
    let rotated = gateway(&upstream, Some(&format!("{KEY_2},{KEY_1}")), &[]).await;
    ok(&ep_update(&rotated, &old_token).await);
    let new_token = token_from(&rotated, CALLER_KEY).await;
    ok(&ep_update(&rotated, &new_token).await);
    // New tokens are sealed with the new key: a gateway with only the old key refuses them.
    assert_ep_401(&ep_update(&old, &new_token).await);
    // The previous key dropped: its tokens are dead, the new key's live.
    let done = gateway(&upstream, Some(KEY_2), &[]).await;
    assert_ep_401(&ep_update(&done, &old_token).await);
    ok(&ep_update(&done, &new_token).await);
}

#[tokio::test]
async fn tampered_foreign_key_and_other_mode_tokens_get_401_in_the_callers_dialect() {
    let upstream = Upstream::start(|_| harness::customer_answer()).await;
    let gw = gateway(&upstream, Some(KEY_1), &[]).await;
    let token = token_from(&gw, CALLER_KEY).await;
    ok(&ep_update(&gw, &token).await);

    // Tampered: one character of the sealed part changed, or the token cut short.
    let at = token.len() / 2;
    let changed = if &token[at..=at] == "A" { "B" } else { "A" };
    let tampered = format!("{}{changed}{}", &token[..at], &token[at + 1..]);
    refused_in_every_dialect(&gw, &tampered, "tampered").await;
    refused_in_every_dialect(&gw, &token[..token.len() - 2], "truncated").await;

    // Sealed under another key.
    let foreign_gw = gateway(&upstream, Some(KEY_2), &[]).await;
    let foreign = token_from(&foreign_gw, CALLER_KEY).await;
    ok(&ep_update(&foreign_gw, &foreign).await);
    refused_in_every_dialect(&gw, &foreign, "foreign key").await;

    // Issued in passthrough mode (same key): no credential in static mode.
    let pt = passthrough(&upstream, KEY_1, &[]).await;
    let pt_token = token_from(&pt, CALLER_KEY).await;
    refused_in_every_dialect(&gw, &pt_token, "passthrough token in static mode").await;
    // A static-mode token at the passthrough gateway: refused there, never sent upstream.
    upstream.clear();
    let answer = ep_update(&pt, &token).await;
    assert_ep_401(&answer);
    ok(&ep_update(&pt, &pt_token).await);
    upstream.wait_for(1).await;
    let seen = upstream.seen();
    assert_eq!(
        seen.len(),
        1,
        "only the passthrough token's request went upstream"
    );
    assert_eq!(
        seen[0].header("authorization"),
        Some(format!("Bearer {CALLER_KEY}").as_str())
    );
    // The token itself still works where it was issued: the refusals were about the token.
    ok(&ep_update(&gw, &token).await);
}

#[tokio::test]
async fn an_expired_token_gets_401_in_the_callers_dialect_at_every_replica() {
    let upstream = Upstream::start(|_| harness::customer_answer()).await;
    let ttl = [("DIALECTGATE__CREDENTIALS__TOKEN_TTL_S", "1")];
    let a = gateway(&upstream, Some(KEY_1), &ttl).await;
    let b = gateway(&upstream, Some(KEY_1), &ttl).await;
    let issued = ask_token(&a.url(""), &client_credentials(CALLER_KEY)).await;
    let token = issued.access_token();
    assert_eq!(issued.json()["expires_in"], 1);
    wait_until_expired(&b, &token).await;
    refused_in_every_dialect(&a, &token, "expired").await;
    refused_in_every_dialect(&b, &token, "expired").await;
}

#[tokio::test]
async fn a_removed_caller_key_kills_its_tokens_at_every_replica() {
    let upstream = Upstream::start(|_| harness::customer_answer()).await;
    let both = gateway(
        &upstream,
        Some(KEY_1),
        &[("DIALECTGATE_KEYS", "key_kept_1,key_removed_2")],
    )
    .await;
    let kept = token_from(&both, "key_kept_1").await;
    let removed = token_from(&both, "key_removed_2").await;
    ok(&ep_update(&both, &removed).await);
    // Another replica (or the same after a restart) configured without the second key.
    let one = gateway(&upstream, Some(KEY_1), &[("DIALECTGATE_KEYS", "key_kept_1")]).await;
    ok(&ep_update(&one, &kept).await);
    refused_in_every_dialect(&one, &removed, "removed key").await;
}

#[tokio::test]
async fn an_oversize_secret_in_the_token_form_is_refused_with_eps_400() {
    // README: secrets in the token form are at most 512 bytes.
    let upstream = Upstream::start(|_| harness::customer_answer()).await;
    let pt = passthrough(
        &upstream,
        KEY_1,
        &[("DIALECTGATE__CREDENTIALS__IMPLICIT_GRANT", "true")],
    )
    .await;
    let base = pt.url("");
    let longest = "s".repeat(512);
    let token = token_from(&pt, &longest).await;
    ok(&ep_update(&pt, &token).await);
    upstream.wait_for(1).await;
    assert_eq!(
        upstream.seen()[0].header("authorization"),
        Some(format!("Bearer {longest}").as_str()),
        "the whole secret was sealed and passed on"
    );
    for (form, field) in [
        (client_credentials(&"s".repeat(513)), "client_secret"),
        (client_credentials(&"s".repeat(4096)), "client_secret"),
        (
            format!("grant_type=implicit&client_id={}", "c".repeat(513)),
            "client_id",
        ),
    ] {
        let answer = ask_token(&base, &form).await;
        assert_eq!(answer.status, 400, "{}", answer.text);
        assert_eq!(
            answer.json(),
            json!({"errors": [{
                "status": 400,
                "title": "Bad Request",
                "detail": format!("{field} is longer than 512 bytes"),
            }]})
        );
    }
    // Static mode too, before any key is compared.
    let gw = gateway(&upstream, Some(KEY_1), &[]).await;
    let answer = ask_token(&gw.url(""), &client_credentials(&"k".repeat(513))).await;
    assert_eq!(answer.status, 400, "{}", answer.text);
    assert_eq!(upstream.seen().len(), 1, "nothing more went upstream");
}

/// The RSS of process `pid` in bytes.
#[cfg(target_os = "linux")]
fn rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kib * 1024
}

/// Asks `count` tokens at `base`, each for a distinct 512-byte client secret, 4 at a time over
/// kept-alive connections.
#[cfg(target_os = "linux")]
async fn flood(base: &str, from: usize, count: usize) {
    const TASKS: usize = 4;
    let client = harness::client();
    let tasks: Vec<_> = (0..TASKS)
        .map(|t| {
            let (client, url) = (client.clone(), format!("{base}/oauth/access_token"));
            tokio::spawn(async move {
                for i in (from + t..from + count).step_by(TASKS) {
                    let secret = format!("{i:08}{}", "s".repeat(504));
                    let rsp = client
                        .post(&url)
                        .header("content-type", "application/x-www-form-urlencoded")
                        .body(client_credentials(&secret))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(rsp.status(), 200);
                    rsp.bytes().await.unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
}

// The issue's reproduction, scaled down: the real binary mints tokens for thousands of distinct
// large secrets, and its memory does not grow with them (the old store held each one), nor does
// an earlier token stop working (the old store evicted at its cap).
#[cfg(target_os = "linux")]
#[tokio::test]
async fn minting_tokens_holds_no_memory_per_token_and_evicts_nothing() {
    const WARM: usize = 1_000;
    const FLOOD: usize = 10_000;
    let upstream = Upstream::start(|_| harness::customer_answer()).await;
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_dialectgate"))
        .args([
            "serve",
            "--listen",
            &addr,
            "--admin-listen",
            "",
            "--credentials",
            "passthrough",
        ])
        .args(["--upstream", &upstream.url()])
        .env("DIALECTGATE_TOKEN_KEY", KEY_1)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let child = Killed(child);
    harness::wait_until_listening(&addr).await;
    let base = format!("http://{addr}");
    let legit = ask_token(&base, &client_credentials("legit-secret"))
        .await
        .access_token();
    // Warm up connections, buffers and the allocator's caches first.
    flood(&base, 0, WARM).await;
    let before = rss_bytes(child.0.id());
    flood(&base, WARM, FLOOD).await;
    let after = rss_bytes(child.0.id());
    let grown = after.saturating_sub(before);
    eprintln!("RSS over {FLOOD} tokens: {before} → {after} bytes");
    // A store would hold every secret: FLOOD × 512 bytes is 5 MiB before any overhead (the old
    // store grew by 6.5 MiB here).
    assert!(
        grown < 3 * 1024 * 1024,
        "RSS grew by {grown} bytes over {FLOOD} tokens ({before} → {after})"
    );
    let answer = harness::client()
        .put(format!("{base}/v2/customers/cus_ada"))
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {legit}"))
        .body(r#"{"data":{"type":"customer","email":"ada@example.com"}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200, "the first token still works");
    upstream.wait_for(1).await;
    assert_eq!(
        upstream.seen()[0].header("authorization"),
        Some("Bearer legit-secret")
    );
    drop(child);
}

/// A child process, killed when dropped (the test passed or panicked).
#[cfg(target_os = "linux")]
struct Killed(std::process::Child);

#[cfg(target_os = "linux")]
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The shipped configuration `text` with `credentials.token_key_env` naming `var`.
fn naming(text: &str, var: &str) -> String {
    let named = text.replace(
        r#"token_key_env = "DIALECTGATE_TOKEN_KEY""#,
        &format!(r#"token_key_env = "{var}""#),
    );
    assert_ne!(named, text, "the shipped file sets token_key_env");
    named
}

#[tokio::test]
async fn a_reload_reads_the_token_key_again() {
    // The variables stay; the file names another one at each reload.
    let file = harness::config_file("token-key-reload", |t| naming(&t, "DG_E2E_OLD_KEY"));
    let rotated = format!("{KEY_2},{KEY_1}");
    let gw = harness::start_reloadable(
        file.clone(),
        vec![
            ("DG_E2E_OLD_KEY".into(), KEY_1.into()),
            ("DG_E2E_ROTATED".into(), rotated),
            ("DG_E2E_NEW_KEY".into(), KEY_2.into()),
        ],
    )
    .await;
    let old_token = token_from(&gw, CALLER_KEY).await;
    ok(&ep_update(&gw, &old_token).await);

    let edit = |var: &str| {
        let text = std::fs::read_to_string("config/dialectgate.toml").unwrap();
        std::fs::write(&file, naming(&text, var)).unwrap();
    };
    edit("DG_E2E_ROTATED");
    let (status, body) = harness::reload(&gw).await;
    assert_eq!(status, 200, "{body}");
    ok(&ep_update(&gw, &old_token).await);
    let new_token = token_from(&gw, CALLER_KEY).await;
    ok(&ep_update(&gw, &new_token).await);

    edit("DG_E2E_NEW_KEY");
    let (status, body) = harness::reload(&gw).await;
    assert_eq!(status, 200, "{body}");
    assert_ep_401(&ep_update(&gw, &old_token).await);
    ok(&ep_update(&gw, &new_token).await);
}
