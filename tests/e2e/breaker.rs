//! The circuit breaker's half-open state, end to end: after the cooldown exactly one trial call
//! reaches the upstream while every other caller gets 503 in its own dialect; the trial's
//! success closes the breaker, its failure opens it again. The upstream holds the trial until
//! the test releases it, so "while the trial is under way" is an event, not a guess at timing.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use dialectgate_gateway::Overrides;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};

use crate::harness;

const COOLDOWN: Duration = Duration::from_millis(1500);
/// A failure bound only: how long to wait for an event that should come at once.
const DEADLINE: Duration = Duration::from_secs(30);

/// How the upstream answers the next requests.
enum Mode {
    /// 503 at once.
    Fail,
    /// 200 with a customer at once.
    Succeed,
    /// Hold the request until the sender is used, then answer with the status sent (200 or 503).
    Hold(Option<oneshot::Receiver<u16>>),
}

/// A canonical upstream whose answers the test steers; reports each request's arrival.
struct Steered {
    url: String,
    mode: Arc<Mutex<Mode>>,
    arrived: mpsc::UnboundedReceiver<()>,
}

impl Steered {
    async fn start() -> Steered {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let mode = Arc::new(Mutex::new(Mode::Fail));
        let (tx, arrived) = mpsc::unbounded_channel();
        let m = mode.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (mode, tx) = (m.clone(), tx.clone());
                tokio::spawn(async move {
                    let svc = service_fn(move |req: hyper::Request<Incoming>| {
                        let (mode, tx) = (mode.clone(), tx.clone());
                        async move {
                            let _ = req.into_body().collect().await;
                            let held = {
                                let mut mode = mode.lock().unwrap();
                                match &mut *mode {
                                    Mode::Fail => Err(503),
                                    Mode::Succeed => Err(200),
                                    Mode::Hold(release) => Ok(release.take()),
                                }
                            };
                            tx.send(()).unwrap();
                            let status = match held {
                                Err(status) => status,
                                // A second request while holding: the test fails on its count.
                                Ok(None) => 500,
                                Ok(Some(release)) => release.await.unwrap_or(500),
                            };
                            Ok::<_, Infallible>(answer(status))
                        }
                    });
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        Steered { url, mode, arrived }
    }

    fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    /// Holds the next request; the sender releases it with a status.
    fn hold(&self) -> oneshot::Sender<u16> {
        let (release, held) = oneshot::channel();
        self.set(Mode::Hold(Some(held)));
        release
    }

    /// Waits for one request to arrive.
    async fn next_arrival(&mut self) {
        tokio::time::timeout(DEADLINE, self.arrived.recv())
            .await
            .expect("a request reaches the upstream")
            .unwrap();
    }

    /// The requests that arrived and were not yet taken by [`Steered::next_arrival`].
    fn pending_arrivals(&mut self) -> usize {
        let mut n = 0;
        while self.arrived.try_recv().is_ok() {
            n += 1;
        }
        n
    }
}

fn answer(status: u16) -> hyper::Response<Full<Bytes>> {
    let body = if status == 200 {
        harness::customer_answer().2
    } else {
        br#"{"type":"about:blank","title":"Service Unavailable","status":503}"#.to_vec()
    };
    hyper::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .unwrap()
}

async fn gateway(upstream: &Steered) -> harness::Running {
    let cooldown = COOLDOWN.as_millis().to_string();
    harness::start(harness::config(
        Overrides {
            upstream: Some(upstream.url.clone()),
            upstream_dialect: Some("canonical".into()),
            ..Overrides::default()
        },
        &[
            ("DIALECTGATE__UPSTREAM__RETRIES", "0"),
            ("DIALECTGATE__UPSTREAM__TIMEOUT_MS", "60000"),
            ("DIALECTGATE__UPSTREAM__BREAKER_FAILURES", "2"),
            ("DIALECTGATE__UPSTREAM__BREAKER_COOLDOWN_MS", &cooldown),
        ],
    ))
    .await
}

/// The callers whose dialect can write the string ids these tests use (not BigCommerce's
/// integers).
fn string_id_callers() -> Vec<&'static str> {
    harness::DIALECTS
        .iter()
        .copied()
        .filter(|d| harness::registry_dialect(d).route().writes_id("cus_ada"))
        .collect()
}

/// A refusal by the open breaker, in `dialect`'s own error shape (docs/vendors/<id>.md#errors).
fn assert_refused(dialect: &str, answer: &harness::Answer) {
    let body = String::from_utf8_lossy(&answer.body);
    assert_eq!(answer.status, 503, "{dialect}: {body}");
    assert!(answer.header("retry-after").is_some(), "{dialect}: Retry-After");
    let json: Value = answer.json();
    let shaped = match dialect {
        "elasticpath" => json["errors"][0]["status"].as_u64() == Some(503),
        "microbase" => json["ok"] == Value::Bool(false) && json["error"].is_object(),
        "axim" => json["message"].is_string(),
        "medusa" => json["type"].is_string() && json["message"].is_string(),
        "checkoutpage" => json["status"] == "error" && json["message"].is_string(),
        // Rails' public exceptions body.
        "spree" => json["status"].as_u64() == Some(503) && json["error"] == "Service Unavailable",
        // commercetools.md#errors: {statusCode, message, errors:[{code: "OverCapacity", …}]}.
        "commercetools" => {
            json["statusCode"].as_u64() == Some(503) && json["errors"][0]["code"] == "OverCapacity"
        }
        // GraphQL's top-level errors (shopify.md#errors); the gateway's 503 keeps its status.
        "shopify" => json["errors"][0]["message"].is_string(),
        other => panic!("{other}: no error shape known to this test"),
    };
    assert!(shaped, "{dialect}: not its error shape: {body}");
}

/// Opens the breaker with two failures (each reaching the upstream), and checks it refuses.
async fn open(gw: &harness::Running, up: &mut Steered) {
    up.set(Mode::Fail);
    for _ in 0..2 {
        let a = harness::send_simple(gw, "medusa", "cus_ada").await;
        assert_eq!(a.status, 503);
        up.next_arrival().await;
    }
    let a = harness::send_simple(gw, "checkoutpage", "cus_ada").await;
    assert_refused("checkoutpage", &a);
    assert_eq!(up.pending_arrivals(), 0, "an open breaker calls nobody");
}

/// Waits out the cooldown, holds the next call (the trial), and checks that while it is held
/// every other caller is refused without reaching the upstream. Returns the trial and its release.
async fn hold_trial(
    gw: &Arc<harness::Running>,
    up: &mut Steered,
) -> (tokio::task::JoinHandle<harness::Answer>, oneshot::Sender<u16>) {
    // Waiting longer than the cooldown is always right: the breaker is half-open after it.
    tokio::time::sleep(COOLDOWN + Duration::from_millis(200)).await;
    let release = up.hold();
    let g = gw.clone();
    let trial = tokio::spawn(async move { harness::send_simple(&g, "medusa", "cus_ada").await });
    up.next_arrival().await;
    // Concurrent callers, every dialect, several each, all at once.
    let mut others = Vec::new();
    for round in 0..3 {
        // The callers that can name `cus_…` ids (BigCommerce's are integers).
        for dialect in string_id_callers() {
            let g = gw.clone();
            others.push(tokio::spawn(async move {
                let id = format!("cus_{round}");
                (dialect, harness::send_simple(&g, dialect, &id).await)
            }));
        }
    }
    for other in others {
        let (dialect, answer) = other.await.unwrap();
        assert_refused(dialect, &answer);
    }
    assert_eq!(up.pending_arrivals(), 0, "only the trial reached the upstream");
    assert!(!trial.is_finished(), "the trial is still held");
    (trial, release)
}

#[tokio::test]
async fn half_open_lets_exactly_one_trial_through_then_closes_or_reopens() {
    let mut up = Steered::start().await;
    let gw = Arc::new(gateway(&up).await);

    // Open, then a held trial that succeeds: the breaker closes.
    open(&gw, &mut up).await;
    let (trial, release) = hold_trial(&gw, &mut up).await;
    up.set(Mode::Succeed);
    release.send(200).unwrap();
    let answered = tokio::time::timeout(DEADLINE, trial).await.unwrap().unwrap();
    assert_eq!(answered.status, 200, "the trial's answer reaches its caller");
    for dialect in string_id_callers() {
        let a = harness::send_simple(&gw, dialect, "cus_ada").await;
        assert_eq!(a.status, 200, "{dialect}: closed again");
        up.next_arrival().await;
    }

    // Open again, then a held trial that fails: the breaker opens for another cooldown.
    open(&gw, &mut up).await;
    let (trial, release) = hold_trial(&gw, &mut up).await;
    release.send(503).unwrap();
    let answered = tokio::time::timeout(DEADLINE, trial).await.unwrap().unwrap();
    let failed_at = Instant::now();
    assert_eq!(answered.status, 503, "the failed trial's answer");
    up.set(Mode::Succeed);
    let a = harness::send_simple(&gw, "axim", "cus_ada").await;
    if failed_at.elapsed() < COOLDOWN {
        assert_refused("axim", &a);
        assert_eq!(up.pending_arrivals(), 0, "reopened: nothing reaches the upstream");
    }
    // And after that cooldown, a trial again, which closes it.
    tokio::time::sleep(COOLDOWN + Duration::from_millis(200)).await;
    let _ = up.pending_arrivals();
    let a = harness::send_simple(&gw, "axim", "cus_ada").await;
    assert_eq!(a.status, 200);
    up.next_arrival().await;
}
