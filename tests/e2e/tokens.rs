//! The token endpoint (`POST /oauth/access_token`, Elastic Path's OAuth2 client-credentials
//! call): tokens are sealed, opaque, bound to the credential that obtained it and expire; the
//! implicit grant needs an opt-in; in passthrough mode the upstream sees the bound secret, never
//! the token; a reload that removes a key ends its tokens; no token or secret is ever logged.
//! Tokens across gateways (replicas, restarts, key rotation) are in `sealed_tokens.rs`.

use std::time::{SystemTime, UNIX_EPOCH};

use dialectgate_gateway::{CredentialMode, Overrides};
use serde_json::{Value, json};

use crate::harness::{self, Running, Upstream};

/// What the token endpoint answered.
pub(crate) struct TokenAnswer {
    pub(crate) status: u16,
    cache_control: Option<String>,
    pub(crate) text: String,
}

impl TokenAnswer {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    pub(crate) fn access_token(&self) -> String {
        assert_eq!(self.status, 200, "{}", self.text);
        self.json()["access_token"].as_str().unwrap().to_owned()
    }
}

/// POSTs a form to the token endpoint as the EP SDK does.
pub(crate) async fn ask_token(base: &str, form: &str) -> TokenAnswer {
    let rsp = harness::client()
        .post(format!("{base}/oauth/access_token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.to_owned())
        .send()
        .await
        .unwrap();
    TokenAnswer {
        status: rsp.status().as_u16(),
        cache_control: rsp
            .headers()
            .get("cache-control")
            .map(|v| v.to_str().unwrap().to_owned()),
        text: rsp.text().await.unwrap(),
    }
}

pub(crate) fn client_credentials(secret: &str) -> String {
    format!("grant_type=client_credentials&client_id=ci-client&client_secret={secret}")
}

/// An Elastic Path update of `cus_ada` with `Authorization: Bearer <credential>`.
pub(crate) async fn ep_update(gw: &Running, credential: &str) -> harness::Answer {
    update_as(gw, "elasticpath", credential).await
}

/// An update of `cus_ada` as a caller of `dialect`, presenting `credential`.
pub(crate) async fn update_as(gw: &Running, dialect: &str, credential: &str) -> harness::Answer {
    let c = harness::call(dialect, "cus_ada", credential);
    let rsp = harness::client()
        .request(c.method.parse().unwrap(), gw.url(&c.path))
        .header("content-type", "application/json")
        .header(c.auth.0, c.auth.1)
        .body(harness::simple_update(dialect, "cus_ada").to_string())
        .send()
        .await
        .unwrap();
    harness::answer(rsp).await
}

fn epoch_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// Waits until `token` gets 401 from an Elastic Path update at `gw` (it expired); fails after
/// [`harness::EVENT_DEADLINE`].
pub(crate) async fn wait_until_expired(gw: &Running, token: &str) {
    let deadline = tokio::time::Instant::now() + harness::EVENT_DEADLINE;
    loop {
        let answer = ep_update(gw, token).await;
        if answer.status == 401 {
            return;
        }
        assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
        assert!(tokio::time::Instant::now() < deadline, "the token never expired");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

pub(crate) fn assert_ep_401(answer: &harness::Answer) {
    assert_eq!(answer.status, 401, "{}", String::from_utf8_lossy(&answer.body));
    assert_eq!(
        answer.json(),
        json!({"errors": [{"status": 401, "title": "Unable to validate access token"}]})
    );
}

#[tokio::test]
async fn a_token_is_not_the_key_and_works_until_it_expires() {
    const TTL_S: u64 = 2;
    let gw = harness::start(harness::config(
        Overrides::default(),
        &[("DIALECTGATE__CREDENTIALS__TOKEN_TTL_S", "2")],
    ))
    .await;
    let base = gw.url("");
    let before = epoch_now();
    let first = ask_token(&base, &client_credentials(harness::CALLER_KEY)).await;
    let after = epoch_now();
    let token = first.access_token();
    let body = first.json();
    assert_eq!(first.cache_control.as_deref(), Some("no-store"));
    assert_ne!(token, harness::CALLER_KEY);
    assert!(!token.contains(harness::CALLER_KEY), "{token}");
    // `dgt_` and URL-safe base64 without padding (README).
    assert!(
        token.starts_with("dgt_")
            && token[4..]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "{token}"
    );
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["identifier"], "client_credentials");
    assert_eq!(body["expires_in"], TTL_S);
    let expires = body["expires"].as_u64().unwrap();
    assert!(
        (before + TTL_S..=after + TTL_S).contains(&expires),
        "expires {expires} is not issue time + {TTL_S} s"
    );
    let second = ask_token(&base, &client_credentials(harness::CALLER_KEY))
        .await
        .access_token();
    assert_ne!(second, token, "every token is fresh");

    // Live: the token works for EP callers and, like a key, in any dialect's credential header.
    let ok = ep_update(&gw, &token).await;
    assert_eq!(ok.status, 200, "{}", String::from_utf8_lossy(&ok.body));
    assert_eq!(update_as(&gw, "medusa", &token).await.status, 200);

    // Expired: 401 in the caller's dialect; the key itself keeps working.
    wait_until_expired(&gw, &token).await;
    assert!(epoch_now() >= expires, "401 only once `expires` has come");
    assert_ep_401(&ep_update(&gw, &token).await);
    assert_eq!(update_as(&gw, "medusa", &token).await.status, 401);
    assert_eq!(ep_update(&gw, harness::CALLER_KEY).await.status, 200);
}

#[tokio::test]
async fn wrong_or_missing_client_credentials_get_eps_401_without_echo() {
    let gw = harness::start(harness::config(Overrides::default(), &[])).await;
    let base = gw.url("");
    for form in [
        client_credentials("CANARYWRONG77"),
        "grant_type=client_credentials&client_id=CANARYWRONG77".to_owned(),
        client_credentials(""),
    ] {
        let answer = ask_token(&base, &form).await;
        assert_eq!(answer.status, 401, "{form}: {}", answer.text);
        assert_eq!(answer.json()["errors"][0]["status"], 401);
        assert!(!answer.text.contains("CANARYWRONG77"), "{}", answer.text);
    }
    // A parameter sent twice is ambiguous (RFC 6749 §3.2): 400.
    let twice = ask_token(
        &base,
        &format!(
            "{}&client_secret={}",
            client_credentials(harness::CALLER_KEY),
            harness::CALLER_KEY
        ),
    )
    .await;
    assert_eq!(twice.status, 400, "{}", twice.text);
    assert!(!twice.text.contains(harness::CALLER_KEY), "{}", twice.text);
    // A string shaped like a token that was never issued is no credential.
    let forged = format!("dgt_{}", "0".repeat(64));
    assert_ep_401(&ep_update(&gw, &forged).await);
}

#[tokio::test]
async fn the_implicit_grant_is_refused_by_default_and_accepted_when_opted_in() {
    let implicit = format!("grant_type=implicit&client_id={}", harness::CALLER_KEY);

    let gw = harness::start(harness::config(Overrides::default(), &[])).await;
    let refused = ask_token(&gw.url(""), &implicit).await;
    assert_eq!(refused.status, 400, "{}", refused.text);
    assert_eq!(
        refused.json(),
        json!({"errors": [{
            "status": 400,
            "title": "Bad Request",
            "detail": "grant_type implicit is not enabled on this gateway: use client_credentials with a client_secret",
        }]})
    );
    // An unknown grant names only client_credentials while implicit is off.
    let unknown = ask_token(&gw.url(""), "grant_type=password&username=a&password=b").await;
    assert_eq!(unknown.status, 400, "{}", unknown.text);
    assert_eq!(
        unknown.json()["errors"][0]["detail"],
        "grant_type must be client_credentials"
    );

    let opted_in = harness::start(harness::config(
        Overrides::default(),
        &[("DIALECTGATE__CREDENTIALS__IMPLICIT_GRANT", "true")],
    ))
    .await;
    let token = ask_token(&opted_in.url(""), &implicit).await.access_token();
    assert_ne!(token, harness::CALLER_KEY);
    assert_eq!(ep_update(&opted_in, &token).await.status, 200);
    // Opting in does not make every client id a key.
    let stranger = ask_token(&opted_in.url(""), "grant_type=implicit&client_id=someone").await;
    assert_eq!(stranger.status, 401, "{}", stranger.text);
}

#[tokio::test]
async fn passthrough_sends_the_bound_secret_upstream_never_the_token() {
    const SECRET: &str = "client-secret-5f1e";
    let upstream = Upstream::start(|_| harness::customer_answer()).await;
    let gw = harness::start(harness::config(
        Overrides {
            upstream: Some(upstream.url()),
            credentials: Some(CredentialMode::Passthrough),
            ..Overrides::default()
        },
        &[],
    ))
    .await;
    let issued = ask_token(&gw.url(""), &client_credentials(SECRET)).await;
    let token = issued.access_token();
    assert_ne!(token, SECRET);
    assert!(!issued.text.contains(SECRET), "{}", issued.text);

    let ok = ep_update(&gw, &token).await;
    assert_eq!(ok.status, 200, "{}", String::from_utf8_lossy(&ok.body));
    // A credential that is not one of our tokens passes through as it is.
    assert_eq!(ep_update(&gw, "vendor-token-9").await.status, 200);
    // One of ours that is not live is refused here, never sent on.
    let forged = format!("dgt_{}", "ab".repeat(32));
    assert_ep_401(&ep_update(&gw, &forged).await);

    let seen = upstream.seen();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(
        seen[0].header("authorization"),
        Some(format!("Bearer {SECRET}").as_str())
    );
    assert_eq!(seen[1].header("authorization"), Some("Bearer vendor-token-9"));
    for rec in &seen {
        assert!(
            rec.headers
                .values()
                .all(|v| !v.contains(&token) && !v.contains(&forged)),
            "{:?}",
            rec.headers
        );
    }
}

#[tokio::test]
async fn a_token_stops_working_when_a_reload_removes_its_key() {
    let dir = std::env::temp_dir().join(format!("dg-e2e-tokens-keys-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let keys = dir.join("keys.txt");
    std::fs::write(&keys, "key_kept\nkey_removed\n").unwrap();
    let file = harness::config_file("tokens-reload", |t| t);
    let gw = harness::start_reloadable(
        file,
        vec![
            (
                "DIALECTGATE__CREDENTIALS__KEYS_FILE".into(),
                keys.to_str().unwrap().into(),
            ),
            // Only the file's keys: the variable named here is not set.
            (
                "DIALECTGATE__CREDENTIALS__KEYS_ENV".into(),
                "DG_E2E_TOKENS_NO_KEYS".into(),
            ),
        ],
    )
    .await;
    let base = gw.url("");
    let kept = ask_token(&base, &client_credentials("key_kept"))
        .await
        .access_token();
    let removed = ask_token(&base, &client_credentials("key_removed"))
        .await
        .access_token();
    assert_eq!(ep_update(&gw, &kept).await.status, 200);
    assert_eq!(ep_update(&gw, &removed).await.status, 200);

    std::fs::write(&keys, "key_kept\n").unwrap();
    let (status, body) = harness::reload(&gw).await;
    assert_eq!(status, 200, "{body}");

    // The kept key's token still works; the other's does not (nothing was stored to forget).
    assert_eq!(ep_update(&gw, &kept).await.status, 200);
    assert_ep_401(&ep_update(&gw, &removed).await);
    assert_ep_401(&ep_update(&gw, "key_removed").await);
    assert_eq!(
        ask_token(&base, &client_credentials("key_removed")).await.status,
        401
    );
}

#[test]
fn passthrough_without_an_upstream_refuses_to_start() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dialectgate"))
        .args([
            "serve",
            "--credentials",
            "passthrough",
            "--listen",
            "127.0.0.1:0",
            "--admin-listen",
            "",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("credentials.mode: passthrough needs an upstream (set upstream.url or --upstream)"),
        "{err}"
    );
}

// The real binary at the most verbose level, its stderr captured whole: no token and no secret
// in any line, through issuing, using, refusing and expiring tokens in both modes.
#[tokio::test]
async fn no_token_or_secret_in_the_logs() {
    const KEY: &str = "CANARYKEYt0k1";
    const SECRET: &str = "CANARYSECt0k2";
    let upstream = Upstream::start(|_| harness::customer_answer()).await;
    let mut tokens = Vec::new();
    let mut logs = String::new();
    for passthrough in [false, true] {
        let file = harness::config_file("tokens-logs", |t| t);
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .to_string();
        let mut args = vec![
            "serve".to_owned(),
            "--config".into(),
            file.to_str().unwrap().into(),
            "--listen".into(),
            addr.clone(),
            "--admin-listen".into(),
            String::new(),
        ];
        if passthrough {
            args.extend([
                "--credentials".into(),
                "passthrough".into(),
                "--upstream".into(),
                upstream.url(),
            ]);
        }
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_dialectgate"));
        cmd.args(&args)
            .env("RUST_LOG", "trace")
            .env("DIALECTGATE_KEYS", KEY)
            .env("DIALECTGATE__CREDENTIALS__TOKEN_TTL_S", "2");
        let (mut child, reader) = harness::spawn_captured(cmd);
        harness::wait_until_listening(&addr).await;
        let base = format!("http://{addr}");
        let secret = if passthrough { SECRET } else { KEY };
        let token = ask_token(&base, &client_credentials(secret)).await.access_token();
        ask_token(&base, &format!("grant_type=implicit&client_id={secret}")).await;
        ask_token(&base, &client_credentials("CANARYBADt0k3")).await;
        let put = |credential: String| {
            harness::client()
                .put(format!("{base}/v2/customers/cus_ada"))
                .header("content-type", "application/json")
                .header("authorization", format!("Bearer {credential}"))
                .body(r#"{"data":{"type":"customer","email":"ada@example.com"}}"#)
                .send()
        };
        assert_eq!(put(token.clone()).await.unwrap().status(), 200);
        // Expired (TTL 2 s): wait for the 401.
        let deadline = tokio::time::Instant::now() + harness::EVENT_DEADLINE;
        while put(token.clone()).await.unwrap().status() != 401 {
            assert!(tokio::time::Instant::now() < deadline, "the token never expired");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        tokens.push(token);
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let _ = child.wait();
        logs.push_str(&reader.join().unwrap());
    }
    assert!(logs.contains("Request handled."), "the capture works: {logs}");
    for secret in [KEY, SECRET, "CANARYBADt0k3"]
        .into_iter()
        .chain(tokens.iter().map(String::as_str))
    {
        assert!(!logs.contains(secret), "{secret} in the logs:\n{logs}");
        // Nor the random part alone.
        if let Some(random) = secret.strip_prefix("dgt_") {
            assert!(!logs.contains(random), "a token in the logs:\n{logs}");
        }
    }
}

/// Spree's Platform API token call (spree.md#authentication): `POST /spree_oauth/token` with
/// the client credentials, then `Authorization: Bearer <token>` on the users route.
#[tokio::test]
async fn spree_gets_a_token_at_its_own_path_and_updates_with_it() {
    let gw = harness::start(harness::config(Overrides::default(), &[])).await;
    let form = format!(
        "grant_type=client_credentials&client_id=ci-client&client_secret={}&scope=admin",
        harness::CALLER_KEY
    );
    let rsp = harness::client()
        .post(gw.url("/spree_oauth/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap();
    assert_eq!(rsp.status(), 200);
    let body: Value = rsp.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer", "{body}");
    assert_eq!(body["scope"], "admin", "{body}");
    assert!(body["expires_in"].is_u64(), "{body}");
    let token = body["access_token"].as_str().unwrap().to_owned();
    assert_ne!(token, harness::CALLER_KEY);
    let ok = update_as(&gw, "spree", &token).await;
    assert_eq!(ok.status, 200, "{}", String::from_utf8_lossy(&ok.body));
    assert_eq!(ok.json()["data"]["type"], "user");
    // A wrong secret: Spree's 401 body.
    let refused = update_as(&gw, "spree", "not-a-key").await;
    assert_eq!(refused.status, 401);
    assert_eq!(refused.json(), json!({"error": "The access token is invalid"}));
    gw.stop().await;
}
