//! Test support: a recording upstream and a gateway started on `127.0.0.1:0`.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use dialectgate_gateway::{Backend, Config, Overrides};

use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::Value;
use tokio::net::TcpListener;

/// The token the gateway sends upstream in static mode.
pub const UPSTREAM_TOKEN: &str = "up_token_7f3a";
/// The caller key the harness configures (`DIALECTGATE_KEYS`) in static mode.
pub const CALLER_KEY: &str = "dg_test_caller_key";
/// The admin token the reloadable harness configures (`DIALECTGATE_ADMIN_TOKEN`).
pub const ADMIN_TOKEN: &str = "dg_test_admin_token_5d1c9e";
/// The shipped demo key: accepted only in front of the embedded backend.
pub const DEMO_KEY: &str = "dg_demo_key";

/// One request as the upstream saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

impl Recorded {
    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("upstream received JSON")
    }

    /// A header, by lower-case name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

/// What the stub upstream answers: status, content type, body.
pub type Reply = (u16, &'static str, Vec<u8>);

/// A stub upstream that records every request and answers with `reply`.
pub struct Upstream {
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<Recorded>>>,
    /// How many requests have arrived, for [`Upstream::wait_for`].
    arrived: tokio::sync::watch::Receiver<usize>,
    /// Open (`true`) lets held answers go, for [`Upstream::start_held`].
    gate: Arc<tokio::sync::watch::Sender<bool>>,
}

/// How long a test waits for an event before calling it a failure: generous, for a loaded
/// 2-core machine. Never a synchronisation point, only a bound.
pub const EVENT_DEADLINE: std::time::Duration = std::time::Duration::from_secs(60);

impl Upstream {
    pub async fn start(reply: impl Fn(&Recorded) -> Reply + Send + Sync + 'static) -> Upstream {
        Self::start_gated(reply, true, |_| true).await
    }

    /// Like [`Upstream::start`], but each request is recorded at once and answered only after
    /// [`Upstream::release`] (without blocking a runtime thread).
    pub async fn start_held(reply: impl Fn(&Recorded) -> Reply + Send + Sync + 'static) -> Upstream {
        Self::start_gated(reply, false, |_| true).await
    }

    /// Like [`Upstream::start_held`], but only the requests `held` picks are held (and counted
    /// by [`Upstream::wait_for`]), the others answered at once (a token endpoint beside the calls
    /// a test holds); and a held request's answer is made when it arrives, sent on release, so
    /// that two held reads of a stateful stand-in answer the same state whatever runs first once
    /// released.
    pub async fn start_held_only(
        reply: impl Fn(&Recorded) -> Reply + Send + Sync + 'static,
        held: impl Fn(&Recorded) -> bool + Send + Sync + 'static,
    ) -> Upstream {
        Self::start_gated_with(reply, false, held, true).await
    }

    async fn start_gated(
        reply: impl Fn(&Recorded) -> Reply + Send + Sync + 'static,
        open: bool,
        held: impl Fn(&Recorded) -> bool + Send + Sync + 'static,
    ) -> Upstream {
        Self::start_gated_with(reply, open, held, false).await
    }

    async fn start_gated_with(
        reply: impl Fn(&Recorded) -> Reply + Send + Sync + 'static,
        open: bool,
        held: impl Fn(&Recorded) -> bool + Send + Sync + 'static,
        answer_on_arrival: bool,
    ) -> Upstream {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let reply = Arc::new(reply);
        let held = Arc::new(held);
        let seen2 = seen.clone();
        let (arrived_tx, arrived) = tokio::sync::watch::channel(0usize);
        let arrived_tx = Arc::new(arrived_tx);
        let gate = Arc::new(tokio::sync::watch::channel(open).0);
        let gate2 = gate.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (seen, reply, held) = (seen2.clone(), reply.clone(), held.clone());
                let (arrived_tx, gate) = (arrived_tx.clone(), gate2.clone());
                tokio::spawn(async move {
                    let svc = service_fn(move |req: hyper::Request<Incoming>| {
                        let (seen, reply, held) = (seen.clone(), reply.clone(), held.clone());
                        let (arrived_tx, mut gate) = (arrived_tx.clone(), gate.subscribe());
                        async move {
                            let (parts, body) = req.into_parts();
                            let body = body
                                .collect()
                                .await
                                .map(|c| c.to_bytes().to_vec())
                                .unwrap_or_default();
                            let rec = Recorded {
                                method: parts.method.to_string(),
                                path: parts.uri.path().to_owned(),
                                query: parts.uri.query().map(str::to_owned),
                                headers: parts
                                    .headers
                                    .iter()
                                    .map(|(k, v)| {
                                        (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned())
                                    })
                                    .collect(),
                                body,
                            };
                            seen.lock().unwrap().push(rec.clone());
                            if !held(&rec) {
                                return Ok::<_, Infallible>(self::reply(reply(&rec)));
                            }
                            let early = answer_on_arrival.then(|| reply(&rec));
                            arrived_tx.send_modify(|n| *n += 1);
                            let _ = gate.wait_for(|open| *open).await;
                            Ok(self::reply(early.unwrap_or_else(|| reply(&rec))))
                        }
                    });
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        Upstream {
            addr,
            seen,
            arrived,
            gate,
        }
    }

    /// Lets every held answer (and every later one) go.
    pub fn release(&self) {
        self.gate.send_replace(true);
    }

    /// Waits until at least `n` requests have arrived; fails after [`EVENT_DEADLINE`].
    pub async fn wait_for(&self, n: usize) {
        let mut arrived = self.arrived.clone();
        tokio::time::timeout(EVENT_DEADLINE, arrived.wait_for(|c| *c >= n))
            .await
            .unwrap_or_else(|_| panic!("{n} requests did not reach the upstream in time"))
            .unwrap();
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Everything received so far.
    pub fn seen(&self) -> Vec<Recorded> {
        self.seen.lock().unwrap().clone()
    }

    /// Forgets what was received so far.
    pub fn clear(&self) {
        self.seen.lock().unwrap().clear();
    }
}

/// A running gateway.
pub struct Running {
    pub addr: SocketAddr,
    /// The admin listener, when started with [`start_reloadable`].
    pub admin: Option<SocketAddr>,
    pub backend: Arc<Backend>,
    /// The gateway's metrics (shared across reloads).
    pub metrics: Arc<dialectgate_gateway::Metrics>,
    server: Option<dialectgate_gateway::Running>,
}

impl Running {
    fn new(server: dialectgate_gateway::Running) -> Running {
        Running {
            addr: server.addr(),
            admin: server.admin(),
            backend: server.shared().backend,
            metrics: server.shared().metrics,
            server: Some(server),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Requests being handled now (`dialectgate_in_flight_requests`).
    pub fn in_flight(&self) -> i64 {
        self.metrics.in_flight.get()
    }

    /// Waits until exactly `n` requests are being handled; fails after [`EVENT_DEADLINE`].
    pub async fn wait_in_flight(&self, n: i64) {
        let deadline = tokio::time::Instant::now() + EVENT_DEADLINE;
        while self.in_flight() != n {
            assert!(
                tokio::time::Instant::now() < deadline,
                "in flight: {} (waiting for {n})",
                self.in_flight()
            );
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }

    /// Stops the gateway and waits for it to drain.
    pub async fn stop(mut self) -> bool {
        match self.server.take() {
            Some(server) => {
                server.stop();
                server.drained().await
            }
            None => false,
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(server) = &self.server {
            server.stop();
        }
    }
}

/// The shipped configuration with `overrides`, the upstream token in the injected environment.
/// A canonical upstream's success answer: 200 and the first fixture customer.
pub fn customer_answer() -> (u16, &'static str, Vec<u8>) {
    (
        200,
        "application/json",
        serde_json::to_vec(&dialectgate_gateway::fixtures().remove(0)).unwrap(),
    )
}

pub fn config(overrides: Overrides, extra_env: &[(&str, &str)]) -> Config {
    let mut env: HashMap<String, String> = HashMap::new();
    env.insert("DIALECTGATE_UPSTREAM_TOKEN".into(), UPSTREAM_TOKEN.into());
    env.insert("DIALECTGATE_KEYS".into(), CALLER_KEY.into());
    for (k, v) in extra_env {
        env.insert((*k).into(), (*v).into());
    }
    // Values for the path variables of the upstream's and the candidate's dialects that their
    // definitions give no default (`/stores/{store_hash}/…`), unless the test sets its own.
    let mut overrides = Overrides {
        listen: Some("127.0.0.1:0".into()),
        ..overrides
    };
    if overrides.upstream_path_params.is_empty() {
        overrides.upstream_path_params = path_params(overrides.upstream_dialect.as_deref());
    }
    if overrides.candidate_path_params.is_empty() {
        overrides.candidate_path_params = path_params(overrides.candidate_dialect.as_deref());
    }
    dialectgate_gateway::load(
        Some(std::path::Path::new("config/dialectgate.toml")),
        Some(env),
        &overrides,
    )
    .expect("test configuration loads")
}

/// The value the tests give a path variable (`store_hash` → `store_hash-e2e`), as a caller's
/// path and as an upstream's configuration.
pub fn path_value(name: &str) -> String {
    format!("{name}-e2e")
}

/// Values for the path variables of `dialect`'s routes that its definition gives no default.
pub fn path_params(dialect: Option<&str>) -> Vec<(String, String)> {
    let Some(d) = dialect.and_then(|id| shipped().dialect(id)) else {
        return Vec::new();
    };
    let mut out: Vec<(String, String)> = Vec::new();
    for (_, route) in d.routes() {
        for name in route.variables() {
            if !route.path_params.contains_key(name) && !out.iter().any(|(n, _)| n == name) {
                out.push((name.to_owned(), path_value(name)));
            }
        }
    }
    out
}

/// `template` (a route's path) with customer `id` and a value for every path variable.
pub fn fill_path(template: &str, id: &str) -> String {
    let mut out = String::with_capacity(template.len() + id.len());
    for segment in template.split('/').skip(1) {
        out.push('/');
        match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some("id") => out.push_str(id),
            Some(name) => out.push_str(&path_value(name)),
            None => out.push_str(segment),
        }
    }
    out
}

/// Starts a gateway with `config` (without its admin listener), through the binary's wiring.
pub async fn start(mut config: Config) -> Running {
    config.admin.listen = None;
    let server = dialectgate_gateway::run(config, dialectgate_gateway::Options::default())
        .await
        .unwrap();
    Running::new(server)
}

/// Starts a gateway from the configuration file `file` (plus `env`), reloadable from it, with
/// its admin listener, through the binary's wiring.
pub async fn start_reloadable(file: std::path::PathBuf, env: Vec<(String, String)>) -> Running {
    let load = move || -> Result<Config, String> {
        let mut map: HashMap<String, String> = env.iter().cloned().collect();
        map.entry("DIALECTGATE_UPSTREAM_TOKEN".into())
            .or_insert_with(|| UPSTREAM_TOKEN.into());
        map.entry("DIALECTGATE_KEYS".into())
            .or_insert_with(|| CALLER_KEY.into());
        map.entry("DIALECTGATE_ADMIN_TOKEN".into())
            .or_insert_with(|| ADMIN_TOKEN.into());
        let overrides = Overrides {
            listen: Some("127.0.0.1:0".into()),
            admin_listen: Some("127.0.0.1:0".into()),
            ..Overrides::default()
        };
        dialectgate_gateway::load(Some(&file), Some(map), &overrides).map_err(|e| format!("{e:?}"))
    };
    let first = load().expect("the initial configuration loads");
    let options = dialectgate_gateway::Options {
        reload: Some(Box::new(load)),
        reload_on_sighup: false,
    };
    Running::new(dialectgate_gateway::run(first, options).await.unwrap())
}

/// A copy of the shipped configuration in a temporary directory, with `edit` applied (it uses
/// the built-in dialects, schemas and demo keys, so it works from anywhere).
pub fn config_file(name: &str, edit: impl Fn(String) -> String) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("dg-e2e-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let text = std::fs::read_to_string("config/dialectgate.toml").unwrap();
    let file = dir.join("dialectgate.toml");
    std::fs::write(&file, edit(text)).unwrap();
    file
}

/// A gateway in front of `upstream`, which speaks `dialect`.
pub async fn gateway_to(upstream: &Upstream, dialect: &str) -> Running {
    start(config(
        Overrides {
            upstream: Some(upstream.url()),
            upstream_dialect: Some(dialect.into()),
            ..Overrides::default()
        },
        &[],
    ))
    .await
}

/// The HTTP client used as a caller. reqwest is built without a rustls provider (the gateway
/// installs ring when it builds its upstream client): a test that makes its client first, alone,
/// would otherwise panic.
pub fn client() -> reqwest::Client {
    let _ = tokio_rustls::rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().build().unwrap()
}

/// A caller's answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// How a caller of each dialect sends its update, with the demo credential.
pub struct Call {
    pub method: &'static str,
    pub path: String,
    pub auth: (&'static str, String),
}

/// The request line and credential a vendor client of `dialect` sends for customer `id`: the
/// route of its definition and its first accepted credential (bare when the scheme is optional,
/// as the gateway itself sends it).
pub fn call(dialect: &str, id: &str, key: &str) -> Call {
    let d = registry_dialect(dialect);
    let credential = &d.auth().accept[0];
    let value = match &credential.scheme {
        Some(scheme) if !credential.scheme_optional => format!("{scheme} {key}"),
        _ => key.to_owned(),
    };
    // A variable the definition gives a default is called with it (what the gateway sends an
    // upstream of this dialect unless configured); the others get the tests' values.
    let mut path = fill_path(&d.route().path, id);
    for (name, value) in &d.route().path_params {
        path = path.replace(&format!("/{}/", path_value(name)), &format!("/{value}/"));
    }
    Call {
        method: &d.route().method,
        path,
        auth: (&credential.header, value),
    }
}

/// Sends `body` as a caller of `dialect` would.
/// A Medusa Admin read of customer `id` (the path segment as given, already encoded), with the
/// test caller key.
pub async fn medusa_read(gw: &Running, id: &str) -> Answer {
    let rsp = client()
        .get(gw.url(&format!("/admin/customers/{id}")))
        .header("x-medusa-access-token", CALLER_KEY)
        .send()
        .await
        .unwrap();
    answer(rsp).await
}

pub async fn send(gw: &Running, dialect: &str, id: &str, body: &Value) -> Answer {
    send_with(gw, dialect, id, body, &[]).await
}

/// Sends [`simple_update`] as a caller of `dialect` would.
pub async fn send_simple(gw: &Running, dialect: &str, id: &str) -> Answer {
    send(gw, dialect, id, &simple_update(dialect, id)).await
}

/// Sends `body` as a caller of `dialect` would, with extra headers.
pub async fn send_with(
    gw: &Running,
    dialect: &str,
    id: &str,
    body: &Value,
    extra: &[(&str, &str)],
) -> Answer {
    let c = call(dialect, id, CALLER_KEY);
    let mut req = client()
        .request(c.method.parse().unwrap(), gw.url(&c.path))
        .header("content-type", "application/json")
        .header(c.auth.0, c.auth.1)
        .body(serde_json::to_vec(body).unwrap());
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    answer(req.send().await.unwrap()).await
}

/// A simple update every dialect can express, as each caller writes it:
/// `tests/fixtures/<dialect>/request.simple.json`, for customer `id`.
pub fn simple_update(dialect: &str, id: &str) -> Value {
    fixture(
        dialect,
        "request.simple.json",
        &[("id", id), ("email", "ada.king@example.com")],
    )
}

/// `tests/fixtures/<dialect>/<name>` as JSON, each string that is exactly `"{var}"` replaced
/// by the value `vars` gives `var` (the customer id, where the dialect carries it in the body;
/// an email), and `"{var:integer}"` by that value as a JSON integer when it is digits.
pub fn fixture(dialect: &str, name: &str, vars: &[(&str, &str)]) -> Value {
    fn fill(v: &mut Value, vars: &[(&str, &str)]) {
        match v {
            Value::String(s) => {
                let var = s.strip_prefix('{').and_then(|r| r.strip_suffix('}'));
                // `"{id:integer}"`: the id as a JSON integer (BigCommerce's), when it is digits.
                if let Some(name) = var.and_then(|v| v.strip_suffix(":integer"))
                    && let Some((_, value)) = vars.iter().find(|(n, _)| *n == name)
                {
                    *v = value
                        .parse::<u64>()
                        .map_or_else(|_| Value::String((*value).to_owned()), Value::from);
                } else if let Some((_, value)) = vars.iter().find(|(n, _)| var == Some(*n)) {
                    *s = (*value).to_owned();
                } else if let Some((_, value)) = vars.iter().find(|(var, _)| *var == "id")
                    && s.contains("{id}")
                {
                    // An id in its dialect's form (`gid://shopify/Customer/{id}`).
                    *s = s.replace("{id}", value);
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|i| fill(i, vars)),
            Value::Object(map) => map.values_mut().for_each(|m| fill(m, vars)),
            _ => {}
        }
    }
    // Read once per file: the load test asks for thousands.
    static READ: Mutex<Option<HashMap<String, Value>>> = Mutex::new(None);
    let path = format!("tests/fixtures/{dialect}/{name}");
    let mut body = READ
        .lock()
        .unwrap()
        .get_or_insert_with(HashMap::new)
        .entry(path.clone())
        .or_insert_with(|| {
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
        })
        .clone();
    fill(&mut body, vars);
    body
}

/// Every dialect id, in the order the registry loads them (by id).
pub static DIALECTS: std::sync::LazyLock<Vec<&'static str>> =
    std::sync::LazyLock::new(|| shipped().dialects().iter().map(|d| d.id()).collect());

/// The shipped definition of `dialect`.
pub fn registry_dialect(dialect: &str) -> &'static dialectgate_dialect::Dialect {
    shipped()
        .dialect(dialect)
        .unwrap_or_else(|| panic!("unknown dialect {dialect}"))
}

/// The shipped registry, loaded once (for the request lines and credentials of [`call`]).
fn shipped() -> &'static dialectgate_dialect::Registry {
    static REGISTRY: std::sync::LazyLock<dialectgate_dialect::Registry> = std::sync::LazyLock::new(registry);
    &REGISTRY
}

/// The loaded registry (for schema checks).
pub fn registry() -> dialectgate_dialect::Registry {
    dialectgate_dialect::Registry::load(
        std::path::Path::new("config/dialects"),
        std::path::Path::new("schemas"),
    )
    .unwrap()
}

/// `POST /admin/reload` with the harness's admin token, waiting out the rate limit (at most one
/// reload per second) as `Retry-After` says; the status and body.
pub async fn reload(gw: &Running) -> (u16, String) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let rsp = client()
            .post(format!("http://{}/admin/reload", gw.admin.unwrap()))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap();
        if rsp.status() == 429 && std::time::Instant::now() < deadline {
            let secs: u64 = rsp.headers()["retry-after"].to_str().unwrap().parse().unwrap();
            tokio::time::sleep(std::time::Duration::from_secs(secs)).await;
            continue;
        }
        return (rsp.status().as_u16(), rsp.text().await.unwrap());
    }
}

/// Waits until nothing accepts connections at `addr` any more (the listener closed); fails
/// after [`EVENT_DEADLINE`].
pub async fn wait_until_refused(addr: SocketAddr) {
    let deadline = tokio::time::Instant::now() + EVENT_DEADLINE;
    while tokio::net::TcpStream::connect(addr).await.is_ok() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{addr} still accepts connections"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

/// Waits until something listens on `addr` (a process starting), without blocking the
/// runtime; fails after [`EVENT_DEADLINE`].
pub async fn wait_until_listening(addr: &str) {
    let deadline = tokio::time::Instant::now() + EVENT_DEADLINE;
    while tokio::net::TcpStream::connect(addr).await.is_err() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "nothing started on {addr}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// A caller's answer, read whole.
pub async fn answer(rsp: reqwest::Response) -> Answer {
    Answer {
        status: rsp.status().as_u16(),
        headers: rsp.headers().clone(),
        body: rsp.bytes().await.unwrap().to_vec(),
    }
}

/// An upstream's answer: status, content type and body.
pub fn reply((status, content_type, body): Reply) -> hyper::Response<Full<Bytes>> {
    let mut rsp = hyper::Response::new(Full::new(Bytes::from(body)));
    *rsp.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
    rsp.headers_mut()
        .insert("content-type", content_type.parse().unwrap());
    rsp
}

/// Starts `cmd` with its standard error captured whole; the thread returns it once the process
/// has exited.
pub fn spawn_captured(
    mut cmd: std::process::Command,
) -> (std::process::Child, std::thread::JoinHandle<String>) {
    let mut child = cmd
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        let _ = std::io::Read::read_to_string(&mut std::io::BufReader::new(stderr), &mut all);
        all
    });
    (child, reader)
}

/// A loopback port where connections are refused for as long as the returned socket lives: it is
/// bound but never listens, so no other test can take it meanwhile (a port merely closed can be).
pub fn refused_port() -> (tokio::net::TcpSocket, u16) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let port = socket.local_addr().unwrap().port();
    (socket, port)
}

/// A Medusa caller's update of `cus_ada`, sent in the background (to be held at the upstream).
pub fn send_in_background(
    gw: &Running,
) -> tokio::task::JoinHandle<Result<reqwest::Response, reqwest::Error>> {
    let url = gw.url("/admin/customers/cus_ada");
    tokio::spawn(async move {
        client()
            .post(url)
            .header("x-medusa-access-token", CALLER_KEY)
            .header("content-type", "application/json")
            .body(r#"{"phone":"1"}"#)
            .send()
            .await
    })
}

/// `GET` on the admin listener: status and body.
pub async fn admin_get(gw: &Running, path: &str) -> (u16, String) {
    let rsp = client()
        .get(format!("http://{}{path}", gw.admin.unwrap()))
        .send()
        .await
        .unwrap();
    (rsp.status().as_u16(), rsp.text().await.unwrap())
}

/// The value of the metric line starting with `name_and_labels` in Prometheus text.
pub fn metric(text: &str, name_and_labels: &str) -> Option<f64> {
    text.lines().find_map(|l| {
        l.strip_prefix(name_and_labels)
            .and_then(|v| v.trim().parse().ok())
    })
}
