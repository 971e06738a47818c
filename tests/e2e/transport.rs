//! Connection rules (issue 10, item 4): the header-read and idle timeouts, the connection limit
//! and the HTTP/2 stream limit hold for HTTP/2 as for HTTP/1, and on the admin listener.
//!
//! The HTTP/2 clients here are raw sockets writing frames by hand: a well-behaved client library
//! cannot be told to stop in the middle of a frame.

use std::time::{Duration, Instant};

use dialectgate_gateway::Overrides;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::harness;

/// The HTTP/2 connection preface.
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// How long a test waits for the gateway to close a connection: far beyond the timeouts
/// configured here, so a loaded machine does not fail the test.
const PATIENCE: Duration = Duration::from_secs(60);

/// An HTTP/2 frame: 24-bit length, type, flags, stream id, payload.
fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).unwrap();
    let mut out = len.to_be_bytes()[1..].to_vec();
    out.extend([kind, flags]);
    out.extend(stream.to_be_bytes());
    out.extend(payload);
    out
}

/// The preface and an empty SETTINGS frame: what every HTTP/2 client sends first.
fn hello() -> Vec<u8> {
    let mut out = PREFACE.to_vec();
    out.extend(frame(0x4, 0, 0, &[]));
    out
}

/// A complete `GET /` request on stream 1 (HPACK: indexed `:method GET`, `:scheme http`,
/// `:path /`, and a literal `:authority: gw`), END_STREAM | END_HEADERS.
fn complete_request() -> Vec<u8> {
    let block = [0x82, 0x86, 0x84, 0x41, 0x02, b'g', b'w'];
    frame(0x1, 0x5, 1, &block)
}

/// A HEADERS frame announcing 64 bytes of header block, of which only the first 3 are sent.
fn cut_off_headers() -> Vec<u8> {
    let mut whole = frame(0x1, 0x5, 1, &[0x82; 64]);
    whole.truncate(9 + 3);
    whole
}

/// Reads (and discards) until the peer closes: EOF or a reset. Returns the time it took, or
/// `None` if the connection was still open after [`PATIENCE`].
async fn until_closed(stream: &mut TcpStream) -> Option<Duration> {
    let started = Instant::now();
    let mut buf = [0u8; 4096];
    tokio::time::timeout(PATIENCE, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return started.elapsed(),
                Ok(_) => {}
            }
        }
    })
    .await
    .ok()
}

fn short_timeouts(header_ms: &str, idle_ms: &str) -> dialectgate_gateway::Config {
    harness::config(
        Overrides::default(),
        &[
            ("DIALECTGATE__SERVER__HEADER_READ_TIMEOUT_MS", header_ms),
            ("DIALECTGATE__SERVER__IDLE_TIMEOUT_MS", idle_ms),
        ],
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Idle {
    /// Preface and SETTINGS, then nothing.
    PrefaceOnly,
    /// Preface, SETTINGS and a HEADERS frame cut off after three bytes of its block.
    CutOffHeaders,
    /// Ten bytes of the preface: the protocol is not even known yet.
    PartialPreface,
    /// One complete request (answered), then nothing: the idle timeout.
    AfterOneRequest,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundreds_of_idle_http2_connections_are_closed_while_http1_callers_are_served() {
    let header = Duration::from_millis(1500);
    let idle = Duration::from_millis(2500);
    let gw = harness::start(short_timeouts("1500", "2500")).await;
    let kinds = [
        Idle::PrefaceOnly,
        Idle::CutOffHeaders,
        Idle::PartialPreface,
        Idle::AfterOneRequest,
    ];
    let mut idle_conns = Vec::new();
    for i in 0..300 {
        let kind = kinds[i % kinds.len()];
        let mut s = TcpStream::connect(gw.addr).await.unwrap();
        let opened = Instant::now();
        let bytes = match kind {
            Idle::PrefaceOnly => hello(),
            Idle::CutOffHeaders => [hello(), cut_off_headers()].concat(),
            Idle::PartialPreface => PREFACE[..10].to_vec(),
            Idle::AfterOneRequest => [hello(), complete_request()].concat(),
        };
        s.write_all(&bytes).await.unwrap();
        idle_conns.push((kind, opened, s));
    }

    // Meanwhile HTTP/1 callers are served as usual.
    for _ in 0..20 {
        let answer = harness::send_simple(&gw, "medusa", "cus_ada").await;
        assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
    }

    // Every idle connection is closed by the gateway, none before its timeout.
    let closes = join_all(idle_conns.into_iter().map(|(kind, opened, mut s)| async move {
        let closed = until_closed(&mut s).await;
        (kind, closed.map(|_| opened.elapsed()))
    }))
    .await;
    for (kind, after) in closes {
        let after = after.unwrap_or_else(|| panic!("{kind:?}: still open after {PATIENCE:?}"));
        let least = if kind == Idle::AfterOneRequest {
            idle
        } else {
            header
        };
        assert!(
            after + Duration::from_millis(50) >= least,
            "{kind:?}: closed after {after:?}, before its {least:?} timeout"
        );
    }

    // And the gateway still serves.
    assert_eq!(harness::send_simple(&gw, "medusa", "cus_ada").await.status, 200);
}

/// Runs the futures concurrently on the runtime and collects their outputs in order.
async fn join_all<F>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

#[tokio::test]
async fn an_idle_http1_keep_alive_connection_is_closed() {
    // The header timeout (10 min) is far beyond the test's patience, so only the idle timeout
    // can close the connection in time.
    let gw = harness::start(short_timeouts("600000", "1000")).await;
    let mut s = TcpStream::connect(gw.addr).await.unwrap();
    s.write_all(b"GET /nowhere HTTP/1.1\r\nHost: gw\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let n = s.read(&mut buf).await.unwrap();
    assert!(
        buf[..n].starts_with(b"HTTP/1.1 404"),
        "{}",
        String::from_utf8_lossy(&buf[..n])
    );
    let after = until_closed(&mut s).await.expect("the idle connection is closed");
    assert!(after >= Duration::from_millis(950), "closed after {after:?}");
}

#[tokio::test]
async fn the_server_advertises_the_http2_stream_limit() {
    let gw = harness::start(harness::config(
        Overrides::default(),
        &[("DIALECTGATE__SERVER__HTTP2_MAX_CONCURRENT_STREAMS", "7")],
    ))
    .await;
    let mut s = TcpStream::connect(gw.addr).await.unwrap();
    s.write_all(&hello()).await.unwrap();
    // The server's first frame is its SETTINGS.
    let mut head = [0u8; 9];
    s.read_exact(&mut head).await.unwrap();
    assert_eq!(head[3], 0x4, "a SETTINGS frame first");
    let len = usize::from(head[1]) << 8 | usize::from(head[2]);
    let mut payload = vec![0u8; len];
    s.read_exact(&mut payload).await.unwrap();
    let settings: Vec<(u16, u32)> = payload
        .chunks(6)
        .map(|c| {
            (
                u16::from_be_bytes([c[0], c[1]]),
                u32::from_be_bytes([c[2], c[3], c[4], c[5]]),
            )
        })
        .collect();
    // SETTINGS_MAX_CONCURRENT_STREAMS (0x3) and SETTINGS_MAX_HEADER_LIST_SIZE (0x6).
    assert!(settings.contains(&(0x3, 7)), "{settings:?}");
    assert!(settings.contains(&(0x6, 16 * 1024)), "{settings:?}");
}

#[tokio::test]
async fn connections_beyond_the_limit_are_closed_at_once_and_the_others_keep_working() {
    let gw = harness::start(harness::config(
        Overrides::default(),
        &[("DIALECTGATE__SERVER__MAX_CONNECTIONS", "3")],
    ))
    .await;
    // Three connections hold every slot (headers still to come; the timeout is 10 s).
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut s = TcpStream::connect(gw.addr).await.unwrap();
        s.write_all(b"GET /nowhere HTTP/1.1\r\n").await.unwrap();
        held.push(s);
    }
    // A fourth is accepted by the kernel, then closed by the gateway without an answer.
    let mut extra = TcpStream::connect(gw.addr).await.unwrap();
    let after = until_closed(&mut extra).await.expect("closed");
    assert!(
        after < Duration::from_secs(9),
        "closed by the limit, not a timeout: {after:?}"
    );
    // The held ones still work.
    held[0].write_all(b"Host: gw\r\n\r\n").await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = held[0].read(&mut buf).await.unwrap();
    assert!(
        buf[..n].starts_with(b"HTTP/1.1 404"),
        "{}",
        String::from_utf8_lossy(&buf[..n])
    );
    // Once one closes, a new caller gets in.
    drop(held.pop());
    let deadline = Instant::now() + PATIENCE;
    loop {
        let rsp = harness::client().get(gw.url("/healthz-nowhere")).send().await;
        if let Ok(rsp) = rsp {
            assert_eq!(rsp.status(), 404);
            break;
        }
        assert!(Instant::now() < deadline, "no slot came free");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn the_admin_listener_closes_connections_that_never_finish_their_headers() {
    let file = harness::config_file("admin-slowloris", |t| {
        t.replace("header_read_timeout_ms = 10000", "header_read_timeout_ms = 1000")
    });
    let gw = harness::start_reloadable(file, vec![]).await;
    let admin = gw.admin.unwrap();
    let opened = Instant::now();
    let mut silent = TcpStream::connect(admin).await.unwrap();
    let mut partial = TcpStream::connect(admin).await.unwrap();
    partial
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: a")
        .await
        .unwrap();
    let mut h2 = TcpStream::connect(admin).await.unwrap();
    h2.write_all(&[hello(), cut_off_headers()].concat())
        .await
        .unwrap();
    for (what, s) in [
        ("silent", &mut silent),
        ("partial", &mut partial),
        ("h2", &mut h2),
    ] {
        until_closed(s)
            .await
            .unwrap_or_else(|| panic!("{what}: still open after {PATIENCE:?}"));
        let after = opened.elapsed();
        assert!(
            after >= Duration::from_millis(950),
            "{what}: closed after {after:?}"
        );
    }
    // The admin listener still answers.
    let rsp = harness::client()
        .get(format!("http://{admin}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(rsp.status(), 200);
}
