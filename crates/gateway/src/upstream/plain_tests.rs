//! The plain client against loopback upstreams counting their connections: reuse, the idle
//! maximum, connections the peer closed, `Connection: close`, the idle expiry, and the same
//! bytes on the wire and the same errors as hyper-util's pooled client.

use super::client::Client;
use super::plain::{self, Origin, POOL_IDLE, Plain};
use super::*;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Barrier;
use tower::ServiceExt;

const OK: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";

/// A loopback upstream answering every request with `answer`, counting the connections it
/// accepted and keeping every request's bytes.
struct Upstream {
    addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<Vec<u8>>>>,
}

/// How the upstream behaves on each connection.
#[derive(Clone)]
struct Behaviour {
    answer: &'static [u8],
    /// Closes the connection after its first answer.
    close_after: bool,
    /// Every request waits here before it is answered.
    hold: Option<Arc<Barrier>>,
    /// Told when a connection was closed by the upstream.
    closed: Option<tokio::sync::mpsc::UnboundedSender<()>>,
}

impl Behaviour {
    fn answering(answer: &'static [u8]) -> Behaviour {
        Behaviour {
            answer,
            close_after: false,
            hold: None,
            closed: None,
        }
    }
}

impl Upstream {
    async fn start(behaviour: Behaviour) -> Upstream {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (count, kept) = (accepted.clone(), requests.clone());
        tokio::spawn(async move {
            loop {
                let (socket, _) = listener.accept().await.unwrap();
                count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(serve(socket, behaviour.clone(), kept.clone()));
            }
        });
        Upstream {
            addr,
            accepted,
            requests,
        }
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    fn client(&self, max_idle: usize) -> Plain {
        Plain::new(Origin::Addr(self.addr), Duration::from_secs(2), max_idle)
    }
}

/// Serves the requests of one connection.
async fn serve(mut socket: TcpStream, behaviour: Behaviour, kept: Arc<Mutex<Vec<Vec<u8>>>>) {
    while let Some(request) = read_request(&mut socket).await {
        kept.lock().unwrap().push(request);
        if let Some(hold) = &behaviour.hold {
            hold.wait().await;
        }
        socket.write_all(behaviour.answer).await.unwrap();
        if behaviour.close_after {
            drop(socket);
            if let Some(closed) = &behaviour.closed {
                let _ = closed.send(());
            }
            return;
        }
    }
}

/// One request's bytes (head and `content-length` body); None at the end of the connection.
async fn read_request(socket: &mut TcpStream) -> Option<Vec<u8>> {
    let mut bytes = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&bytes[..end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length:"))
                .map_or(0, |n| n.trim().parse::<usize>().unwrap());
            if bytes.len() >= end + 4 + length {
                return Some(bytes);
            }
        }
        let n = socket.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        bytes.extend_from_slice(&buf[..n]);
    }
}

fn get(addr: SocketAddr) -> http::Request<Full<Bytes>> {
    http::Request::get("/customers/1")
        .header(http::header::HOST, addr.to_string())
        .body(Full::default())
        .unwrap()
}

/// One request through the plain client, its body read as the service reads it (the
/// connection goes back to the pool at its end).
async fn call(client: &Plain, addr: SocketAddr) -> Result<Reply, UpstreamError> {
    Attempt::new(Ok(client::Sending::Plain(client.request(get(addr)))), 1024).await
}

fn ok(reply: Result<Reply, UpstreamError>) {
    match reply {
        Ok(Reply::Http { status: 200, body }) => assert_eq!(&body[..], b"ok"),
        other => panic!("{other:?}"),
    }
}

/// Yields to the runtime until `done` (the events it waits for come from other tasks).
async fn until(mut done: impl FnMut() -> bool) {
    for _ in 0..100_000 {
        if done() {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!("the event never came");
}

#[tokio::test]
async fn sequential_requests_use_one_connection() {
    let upstream = Upstream::start(Behaviour::answering(OK)).await;
    let client = upstream.client(4);
    for _ in 0..5 {
        ok(call(&client, upstream.addr).await);
    }
    assert_eq!(upstream.accepted(), 1);
    assert_eq!(client.idle(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_open_several_and_at_most_the_maximum_stay_idle() {
    let mut behaviour = Behaviour::answering(OK);
    // No answer until all five requests arrived: each needs a connection of its own.
    behaviour.hold = Some(Arc::new(Barrier::new(5)));
    let upstream = Upstream::start(behaviour).await;
    let client = upstream.client(2);
    let calls: Vec<_> = (0..5)
        .map(|_| {
            let (client, addr) = (client.clone(), upstream.addr);
            tokio::spawn(async move { call(&client, addr).await })
        })
        .collect();
    for call in calls {
        ok(call.await.unwrap());
    }
    assert_eq!(upstream.accepted(), 5);
    assert_eq!(client.idle(), 2);
}

#[tokio::test]
async fn a_connection_its_peer_closed_is_not_used_again() {
    let (closed, mut was_closed) = tokio::sync::mpsc::unbounded_channel();
    let mut behaviour = Behaviour::answering(OK);
    behaviour.close_after = true;
    behaviour.closed = Some(closed);
    let upstream = Upstream::start(behaviour).await;
    let client = upstream.client(4);
    ok(call(&client, upstream.addr).await);
    // The answer kept the connection open: it is idle until the peer's close is seen.
    was_closed.recv().await.unwrap();
    until(|| client.idle_closed()).await;
    ok(call(&client, upstream.addr).await);
    assert_eq!(upstream.accepted(), 2);
}

#[tokio::test]
async fn a_request_given_back_unsent_by_a_pooled_connection_is_sent_once_more_on_a_new_one() {
    let upstream = Upstream::start(Behaviour::answering(OK)).await;
    let client = upstream.client(4);
    // A pooled connection ready for a request (its task polled once), whose task then ends
    // before it takes the request: hyper gives the request back unsent.
    let (io, _peer) = tokio::io::duplex(1024);
    let (sender, connection) =
        hyper::client::conn::http1::handshake::<_, Full<Bytes>>(hyper_util::rt::TokioIo::new(io))
            .await
            .unwrap();
    let mut connection = Box::pin(connection);
    std::future::poll_fn(|cx| {
        assert!(connection.as_mut().poll(cx).is_pending());
        std::task::Poll::Ready(())
    })
    .await;
    assert!(sender.is_ready());
    client.put_idle(sender);
    let (sending, addr) = (client.clone(), upstream.addr);
    let call = tokio::spawn(async move { call(&sending, addr).await });
    // The call takes the pooled connection and queues its request on it.
    until(|| client.idle() == 0).await;
    drop(connection);
    ok(call.await.unwrap());
    assert_eq!(upstream.accepted(), 1);
    assert_eq!(upstream.requests.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn an_answer_closing_its_connection_does_not_give_it_back() {
    for answer in [
        &b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\nok"[..],
        b"HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\ncontent-length: 2\r\n\r\nok",
        b"HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\nok",
    ] {
        let upstream = Upstream::start(Behaviour::answering(answer)).await;
        let client = upstream.client(4);
        ok(call(&client, upstream.addr).await);
        assert_eq!(client.idle(), 0);
        ok(call(&client, upstream.addr).await);
        assert_eq!(upstream.accepted(), 2);
    }
}

#[tokio::test]
async fn an_answer_not_read_to_the_end_does_not_give_its_connection_back() {
    let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 2000\r\n\r\n";
    let upstream = Upstream::start(Behaviour::answering(answer)).await;
    let client = upstream.client(4);
    // Over the limit by its length: refused at its head, the connection dropped.
    assert!(matches!(
        call(&client, upstream.addr).await,
        Err(UpstreamError::TooLarge { limit: 1024 })
    ));
    assert_eq!(client.idle(), 0);
}

#[tokio::test(start_paused = true)]
async fn an_idle_connection_expires_after_the_idle_timeout() {
    let upstream = Upstream::start(Behaviour::answering(OK)).await;
    let client = upstream.client(4);
    ok(call(&client, upstream.addr).await);
    assert_eq!(client.idle(), 1);
    // The paused clock jumps to each deadline: just short of the idle timeout, then past it,
    // when the pool's sweeper drops the connection.
    tokio::time::sleep(POOL_IDLE - Duration::from_millis(1)).await;
    assert_eq!(client.idle(), 1);
    tokio::time::sleep(Duration::from_millis(1)).await;
    until(|| client.idle() == 0).await;
    ok(call(&client, upstream.addr).await);
    assert_eq!(upstream.accepted(), 2);
}

#[test]
fn an_idle_connection_is_too_old_from_the_idle_timeout_on() {
    let since = tokio::time::Instant::now();
    assert!(!plain::expired(since, since));
    assert!(!plain::expired(
        since,
        since + POOL_IDLE - Duration::from_millis(1)
    ));
    assert!(plain::expired(since, since + POOL_IDLE));
}

fn config() -> Config {
    let env: crate::config::EnvSource = Some([("K".to_owned(), "k".to_owned())].into_iter().collect());
    crate::config::load_default(env, &crate::config::Overrides::default()).unwrap()
}

fn update() -> UpstreamRequest {
    let mut headers = HeaderMap::new();
    headers.insert("x-request-id", http::HeaderValue::from_static("r-1"));
    UpstreamRequest::new(
        "cus_1".into(),
        dialectgate_dialect::Outbound {
            method: "POST".into(),
            path: "/customers/cus_1".into(),
            query: "expand=a,b".into(),
            content_type: "application/json",
            body: serde_json::json!({"email": "a@example.com"}),
            held: dialectgate_dialect::HeldText::default(),
        },
        headers,
        (dialectgate_dialect::Operation::Update, true),
    )
}

#[tokio::test]
async fn the_request_on_the_wire_is_the_one_the_pooled_client_sent() {
    let upstream = Upstream::start(Behaviour::answering(OK)).await;
    let service = HttpUpstream::new(&format!("http://{}/base", upstream.addr), &config(), &[]).unwrap();
    assert!(matches!(service.0.client, Client::Plain(_)));
    ok(service.clone().oneshot(update()).await);
    // The same request in absolute form through hyper-util's client, as before.
    let mut sent = service.request(update()).unwrap();
    *sent.uri_mut() = service.url_for("/customers/cus_1", "expand=a,b").unwrap();
    let pooled = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<Bytes>>();
    ok(HttpUpstream::once(pooled.request(sent), 1024).await);
    let requests = upstream.requests.lock().unwrap();
    assert_eq!(requests.len(), 2);
    assert!(
        requests[0].starts_with(b"POST /base/customers/cus_1?expand=a,b HTTP/1.1\r\n"),
        "{}",
        String::from_utf8_lossy(&requests[0])
    );
    assert_eq!(
        String::from_utf8_lossy(&requests[0]),
        String::from_utf8_lossy(&requests[1])
    );
}

#[test]
fn the_origin_form_is_the_absolute_urls_path_and_query() {
    let env_config = config();
    for base in ["http://127.0.0.1:8080", "http://upstream.example/base/"] {
        let upstream = HttpUpstream::new(base, &env_config, &[]).unwrap();
        for (path, query) in [
            ("/customers/1", ""),
            ("/customers/a b", "x=%zz"),
            ("/x/./y", "id:in=1"),
            ("/customers/\u{e9}", ""),
            ("customers", ""),
        ] {
            let absolute = upstream.url_for(path, query).ok();
            let origin = upstream.uri_for(path, query, true).ok();
            let want = absolute.map(|uri| http::Uri::from(uri.into_parts().path_and_query.unwrap()));
            assert_eq!(origin, want, "{base} {path:?} {query:?}");
        }
    }
}

/// The failure of one request to `addr` through the plain client and through hyper-util's,
/// both with a 2 s connect timeout.
async fn both_fail(addr: SocketAddr) -> (&'static str, &'static str) {
    let client = Plain::new(Origin::Addr(addr), Duration::from_secs(2), 4);
    let ours = match call(&client, addr).await {
        Err(e) => e.label(),
        Ok(reply) => panic!("{reply:?}"),
    };
    let mut http = hyper_util::client::legacy::connect::HttpConnector::new();
    http.set_connect_timeout(Some(Duration::from_secs(2)));
    let pooled = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build::<_, Full<Bytes>>(http);
    let request = http::Request::get(format!("http://{addr}/customers/1"))
        .body(Full::default())
        .unwrap();
    let theirs = match HttpUpstream::once(pooled.request(request), 1024).await {
        Err(e) => e.label(),
        Ok(reply) => panic!("{reply:?}"),
    };
    (ours, theirs)
}

/// A listener whose queue of connections not yet accepted is full: the system drops every
/// further connection's opening (SYN), which waits for its answer until its timeout.
fn black_hole() -> (socket2::Socket, std::net::TcpStream) {
    let listener = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    listener
        .bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())
        .unwrap();
    // A backlog of 0: one connection fills the queue.
    listener.listen(0).unwrap();
    let addr = listener.local_addr().unwrap().as_socket().unwrap();
    let filler = std::net::TcpStream::connect(addr).unwrap();
    (listener, filler)
}

#[tokio::test(start_paused = true)]
async fn a_connect_timeout_answers_as_with_the_pooled_client() {
    let (listener, _filler) = black_hole();
    let addr = listener.local_addr().unwrap().as_socket().unwrap();
    // The paused clock runs to the timeout as soon as nothing else is left to do.
    assert_eq!(both_fail(addr).await, ("timeout", "timeout"));
}

#[tokio::test]
async fn a_refused_connection_is_a_connect_error_as_with_the_pooled_client() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let refused = listener.local_addr().unwrap();
    drop(listener);
    assert_eq!(both_fail(refused).await, ("connect", "connect"));
}

#[test]
fn the_origin_of_an_http_url_is_its_address_or_its_name() {
    let of = |url: &str| Origin::of(&url::Url::parse(url).unwrap());
    assert!(matches!(of("http://127.0.0.1:8080/x"), Some(Origin::Addr(a)) if a.port() == 8080));
    assert!(matches!(of("http://[::1]/"), Some(Origin::Addr(a)) if a.port() == 80 && a.is_ipv6()));
    assert!(matches!(of("http://medusa:9000"), Some(Origin::Name(n, 9000)) if &*n == "medusa"));
}

#[tokio::test]
async fn a_name_is_resolved_for_a_new_connection() {
    let upstream = Upstream::start(Behaviour::answering(OK)).await;
    let client = Plain::new(
        Origin::Name("localhost".into(), upstream.addr.port()),
        Duration::from_secs(2),
        4,
    );
    // `localhost` may resolve to ::1 first, where nothing listens: the next address is tried.
    ok(call(&client, upstream.addr).await);
    assert_eq!(upstream.accepted(), 1);
}
