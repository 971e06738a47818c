//! The admin listener is safe by default (issue 10, item 6): `POST /admin/reload` needs the
//! token or is off, is rate limited, and a reload keeps in-flight accounting and breaker state.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::harness::{self, Upstream};

/// Generous for a loaded machine; only ever waited out when something is wrong.
const PATIENCE: Duration = Duration::from_secs(30);

async fn post_reload(gw: &harness::Running, auth: Option<&str>) -> reqwest::Response {
    let mut req = harness::client().post(format!("http://{}/admin/reload", gw.admin.unwrap()));
    if let Some(auth) = auth {
        req = req.header("authorization", auth);
    }
    req.send().await.unwrap()
}

/// Reloads with the harness's token, waiting out the rate limit; must succeed.
async fn reload(gw: &harness::Running) {
    let (status, body) = harness::reload(gw).await;
    assert_eq!(status, 200, "{body}");
}

async fn reloads_ok(gw: &harness::Running) -> String {
    let text = harness::client()
        .get(format!("http://{}/metrics", gw.admin.unwrap()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find(|l| l.starts_with(r#"dialectgate_config_reloads_total{result="ok"}"#))
        .unwrap_or("none")
        .to_owned()
}

#[tokio::test]
async fn reload_needs_the_token_and_is_rate_limited() {
    let gw = harness::start_reloadable(harness::config_file("admin-token", |t| t), vec![]).await;
    // Missing, wrong scheme, wrong token: 401, nothing reloaded.
    for auth in [
        None,
        Some(format!("Basic {}", harness::ADMIN_TOKEN)),
        Some("Bearer dg_test_admin_token_5d1c9f".to_owned()),
        Some(format!("Bearer {}x", harness::ADMIN_TOKEN)),
    ] {
        let rsp = post_reload(&gw, auth.as_deref()).await;
        assert_eq!(rsp.status(), 401, "{auth:?}");
        assert!(
            rsp.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Bearer")
        );
        let body = rsp.text().await.unwrap();
        assert!(!body.contains(harness::ADMIN_TOKEN), "{body}");
    }
    assert_eq!(reloads_ok(&gw).await, "none");
    // The right token: reloaded.
    let token = format!("Bearer {}", harness::ADMIN_TOKEN);
    let rsp = post_reload(&gw, Some(&token)).await;
    assert_eq!(rsp.status(), 200);
    // Again at once: 429 with Retry-After, nothing reloaded.
    let rsp = post_reload(&gw, Some(&token)).await;
    assert_eq!(rsp.status(), 429);
    assert_eq!(rsp.headers()["retry-after"], "1");
    assert!(reloads_ok(&gw).await.ends_with(" 1"), "{}", reloads_ok(&gw).await);
    // Allowed again once the interval has passed.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(post_reload(&gw, Some(&token)).await.status(), 200);
    assert!(reloads_ok(&gw).await.ends_with(" 2"));
    // Everything else is read-only.
    let rsp = harness::client()
        .get(format!("http://{}/admin/reload", gw.admin.unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(rsp.status(), 405);
    assert_eq!(rsp.headers()["allow"], "POST");
    for path in ["/healthz", "/readyz", "/metrics"] {
        let rsp = harness::client()
            .post(format!("http://{}{path}", gw.admin.unwrap()))
            .bearer_auth(harness::ADMIN_TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(rsp.status(), 405, "{path}");
        assert_eq!(rsp.headers()["allow"], "GET");
    }
}

#[tokio::test]
async fn reload_is_off_without_a_token() {
    let gw = harness::start_reloadable(
        harness::config_file("admin-off", |t| t),
        vec![("DIALECTGATE_ADMIN_TOKEN".into(), String::new())],
    )
    .await;
    for auth in [None, Some("Bearer anything-at-all-0123456789")] {
        let rsp = post_reload(&gw, auth).await;
        assert_eq!(rsp.status(), 403);
        let body: serde_json::Value = rsp.json().await.unwrap();
        assert_eq!(body["status"], "disabled");
        let reason = body["reason"].as_str().unwrap();
        assert!(
            reason.contains("DIALECTGATE_ADMIN_TOKEN") && reason.contains("admin.token_env"),
            "{reason}"
        );
    }
    assert_eq!(reloads_ok(&gw).await, "none");
    // Read-only endpoints work as ever.
    let rsp = harness::client()
        .get(format!("http://{}/healthz", gw.admin.unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(rsp.status(), 200);
}

/// An upstream that holds every request until released, counting arrivals.
struct Held {
    addr: SocketAddr,
    arrived: Arc<AtomicUsize>,
    release: Arc<Semaphore>,
}

impl Held {
    async fn start() -> Held {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let arrived = Arc::new(AtomicUsize::new(0));
        let release = Arc::new(Semaphore::new(0));
        let (a, r) = (arrived.clone(), release.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (a, r) = (a.clone(), r.clone());
                tokio::spawn(async move {
                    let svc = service_fn(move |_req: hyper::Request<Incoming>| {
                        let (a, r) = (a.clone(), r.clone());
                        async move {
                            a.fetch_add(1, Ordering::SeqCst);
                            r.acquire().await.unwrap().forget();
                            Ok::<_, Infallible>(harness::reply(harness::customer_answer()))
                        }
                    });
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        Held {
            addr,
            arrived,
            release,
        }
    }

    fn arrived(&self) -> usize {
        self.arrived.load(Ordering::SeqCst)
    }

    async fn wait_for(&self, n: usize) {
        let deadline = Instant::now() + PATIENCE;
        while self.arrived() < n {
            assert!(
                Instant::now() < deadline,
                "{} of {n} requests arrived",
                self.arrived()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

fn slow_request(gw: &Arc<harness::Running>) -> tokio::task::JoinHandle<u16> {
    let gw = gw.clone();
    tokio::spawn(async move {
        harness::send(&gw, "medusa", "cus_ada", &json!({"phone": "1"}))
            .await
            .status
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reloads_keep_in_flight_accounting() {
    let upstream = Held::start().await;
    let url = format!("http://{}", upstream.addr);
    let file = harness::config_file("admin-in-flight", |t| {
        t.replace("url = \"\"", &format!("url = \"{url}\""))
            .replace("max_in_flight = 1024", "max_in_flight = 2")
    });
    let gw = Arc::new(harness::start_reloadable(file.clone(), vec![]).await);

    // Two slow requests hold both slots.
    let held: Vec<_> = (0..2).map(|_| slow_request(&gw)).collect();
    upstream.wait_for(2).await;

    // Two reloads of the same limit: still full.
    reload(&gw).await;
    reload(&gw).await;
    for _ in 0..3 {
        let answer = harness::send(&gw, "medusa", "cus_ada", &json!({"phone": "2"})).await;
        assert_eq!(answer.status, 503, "{}", String::from_utf8_lossy(&answer.body));
        assert_eq!(answer.header("retry-after"), Some("1"));
    }
    assert_eq!(upstream.arrived(), 2, "no request got past the limit");

    // Raised to 3 while two are held: exactly one more.
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replace("max_in_flight = 2", "max_in_flight = 3")).unwrap();
    reload(&gw).await;
    let third = slow_request(&gw);
    upstream.wait_for(3).await;
    let refused = harness::send(&gw, "medusa", "cus_ada", &json!({"phone": "3"})).await;
    assert_eq!(refused.status, 503);
    assert_eq!(upstream.arrived(), 3);

    // Lowered to 1 while three are held: two finish and still nothing new gets in.
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replace("max_in_flight = 3", "max_in_flight = 1")).unwrap();
    reload(&gw).await;
    upstream.release.add_permits(2);
    let mut pending: Vec<_> = held.into_iter().chain([third]).collect();
    let deadline = Instant::now() + PATIENCE;
    while pending.len() > 1 {
        assert!(Instant::now() < deadline, "the released requests did not finish");
        let mut still = Vec::new();
        for h in pending {
            if h.is_finished() {
                assert_eq!(h.await.unwrap(), 200);
            } else {
                still.push(h);
            }
        }
        pending = still;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let refused = harness::send(&gw, "medusa", "cus_ada", &json!({"phone": "4"})).await;
    assert_eq!(refused.status, 503, "one held, limit 1");
    upstream.release.add_permits(1);
    assert_eq!(pending.pop().unwrap().await.unwrap(), 200);
    // Now exactly one at a time.
    let one = slow_request(&gw);
    upstream.wait_for(4).await;
    let refused = harness::send(&gw, "medusa", "cus_ada", &json!({"phone": "5"})).await;
    assert_eq!(refused.status, 503);
    upstream.release.add_permits(1);
    assert_eq!(one.await.unwrap(), 200);
}

#[tokio::test]
async fn an_open_breaker_stays_open_across_a_reload() {
    let failing = Upstream::start(|_| (500, "application/json", b"{}".to_vec())).await;
    let healthy = Upstream::start(|_| harness::customer_answer()).await;
    let file = harness::config_file("admin-breaker", |t| {
        t.replace("url = \"\"", &format!("url = \"{}\"", failing.url()))
            .replace("breaker_failures = 5", "breaker_failures = 2")
            .replace("breaker_cooldown_ms = 5000", "breaker_cooldown_ms = 600000")
    });
    let gw = harness::start_reloadable(file.clone(), vec![]).await;
    let update = json!({"phone": "1"});
    for _ in 0..2 {
        assert_eq!(harness::send(&gw, "medusa", "cus_ada", &update).await.status, 502);
    }
    assert_eq!(failing.seen().len(), 2);
    assert_eq!(harness::send(&gw, "medusa", "cus_ada", &update).await.status, 503);
    assert_eq!(failing.seen().len(), 2, "the open breaker keeps calls away");

    // Same upstream after a reload (and with a changed threshold): still open.
    reload(&gw).await;
    assert_eq!(harness::send(&gw, "medusa", "cus_ada", &update).await.status, 503);
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        text.replace("breaker_failures = 2", "breaker_failures = 3"),
    )
    .unwrap();
    reload(&gw).await;
    assert_eq!(harness::send(&gw, "medusa", "cus_ada", &update).await.status, 503);
    assert_eq!(failing.seen().len(), 2);

    // Another upstream gets a breaker of its own.
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replace(&failing.url(), &healthy.url())).unwrap();
    reload(&gw).await;
    assert_eq!(harness::send(&gw, "medusa", "cus_ada", &update).await.status, 200);
    assert_eq!(healthy.seen().len(), 1);
}
