//! The HTTP upstream's own parts: the URL of a call, the `Host` header, reading the answer.

use super::*;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[test]
fn the_host_header_is_what_the_client_wrote_per_call() {
    // hyper-util's rule: the URI's host, then `:port` unless the scheme's default.
    for (base, host) in [
        ("http://127.0.0.1:8080", "127.0.0.1:8080"),
        ("http://upstream.example", "upstream.example"),
        ("http://upstream.example:80/base", "upstream.example"),
        ("http://[::1]:9000/", "[::1]:9000"),
        ("http://B\u{fc}cher.example", "xn--bcher-kva.example"),
    ] {
        let url = url::Url::parse(base).unwrap();
        assert_eq!(host_header(&url).unwrap(), host, "{base}");
    }
    // HTTPS may turn out HTTP/2 (ALPN), which names the authority in `:authority` alone:
    // the client writes what the protocol chosen needs.
    for base in ["https://upstream.example", "https://upstream.example:8443"] {
        assert_eq!(host_header(&url::Url::parse(base).unwrap()), None, "{base}");
    }
}

#[test]
fn the_url_written_directly_is_the_one_the_parser_checks() {
    let env: crate::config::EnvSource = Some([("K".to_owned(), "k".to_owned())].into_iter().collect());
    let config = crate::config::load_default(env, &crate::config::Overrides::default()).unwrap();
    // Every ASCII byte and a few others, alone, doubled and beside dots, in the path's last
    // segment, in a segment of its own and in the query, under bases with and without a path.
    let mut chars: Vec<String> = (0u8..0x80).map(|b| char::from(b).to_string()).collect();
    chars.extend(["\u{e9}", "\u{2028}", "%2e", "%2E", "%41", "%", "%zz", ".%2e"].map(str::to_owned));
    let mut fast = 0;
    for base in [
        "http://127.0.0.1:8080",
        "http://upstream.example/base/",
        "https://upstream.example:8443/a%20b/c",
        "http://B\u{fc}cher.example:80/",
        "http://upstream.example/base#fragment",
    ] {
        let upstream = HttpUpstream::new(base, &config, &[]).unwrap();
        let prefix = upstream.0.base_url.path().trim_end_matches('/');
        for c in &chars {
            for (path, query) in [
                (format!("/customers/{c}"), String::new()),
                (format!("/customers/{c}{c}"), String::new()),
                (format!("/x/{c}./y"), String::new()),
                (format!("/x/.{c}/y"), String::new()),
                (format!("/x/{c}"), format!("id:in={c}")),
                (format!("{c}/x"), String::new()),
                ("/customers".to_owned(), format!("{c}{c}")),
            ] {
                let checked = upstream
                    .checked_url(prefix, &path, &query)
                    .ok()
                    .and_then(|url| http::Uri::try_from(String::from(url)).ok());
                let direct = upstream.url_for(&path, &query).ok();
                assert_eq!(direct, checked, "{base} {path:?} {query:?}");
                fast += usize::from(kept_as_is(prefix, &path, &query));
            }
        }
    }
    assert!(fast > 100, "the direct way is taken ({fast})");
}

/// An upstream that reads one request and answers with `parts`, written one at a time.
async fn upstream(parts: Vec<&'static [u8]>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 4096];
        let _ = socket.read(&mut buf).await;
        for part in parts {
            socket.write_all(part).await.unwrap();
            socket.flush().await.unwrap();
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    format!("http://{addr}/")
}

async fn once(url: &str, limit: usize) -> Result<Reply, UpstreamError> {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<Bytes>>();
    let request = http::Request::get(url).body(Full::default()).unwrap();
    HttpUpstream::once(client.request(request), limit).await
}

const CHUNKED: &[u8] = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n";

#[tokio::test]
async fn an_answer_in_one_piece_or_in_many_is_read_whole_and_in_order() {
    let one = upstream(vec![b"HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\nabcdef"]).await;
    let many = upstream(vec![
        CHUNKED,
        b"3\r\nabc\r\n",
        b"2\r\nde\r\n",
        b"1\r\nf\r\n0\r\n\r\n",
    ]);
    let two = upstream(vec![CHUNKED, b"1\r\na\r\n", b"5\r\nbcdef\r\n0\r\n\r\n"]);
    for url in [one, many.await, two.await] {
        match once(&url, 6).await {
            Ok(Reply::Http { status, body }) => {
                assert_eq!((status, &body[..]), (200, &b"abcdef"[..]), "{url}");
            }
            other => panic!("{url}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn an_answer_growing_past_the_limit_is_refused() {
    let url = upstream(vec![
        CHUNKED,
        b"3\r\nabc\r\n",
        b"3\r\ndef\r\n",
        b"1\r\ng\r\n0\r\n\r\n",
    ])
    .await;
    assert!(matches!(
        once(&url, 6).await,
        Err(UpstreamError::TooLarge { limit: 6 })
    ));
    let url = upstream(vec![CHUNKED, b"7\r\nabcdefg\r\n0\r\n\r\n"]).await;
    assert!(matches!(
        once(&url, 6).await,
        Err(UpstreamError::TooLarge { limit: 6 })
    ));
}

#[test]
fn a_timeout_anywhere_in_the_chain_is_a_timeout_and_the_rest_a_broken_answer() {
    // The connect timeout of hyper-util's connector and TCP's own end in an `io::Error` of
    // kind `TimedOut`, however deep: a 504, as under reqwest.
    let nested = Wrapped(std::io::Error::from(std::io::ErrorKind::TimedOut));
    assert!(matches!(classify(Box::new(nested)), UpstreamError::Timeout));
    let reset = Wrapped(std::io::Error::from(std::io::ErrorKind::ConnectionReset));
    assert!(matches!(classify(Box::new(reset)), UpstreamError::Protocol(_)));
}

/// An error over an I/O error, as the client's own wrap theirs.
#[derive(Debug)]
struct Wrapped(std::io::Error);

impl std::fmt::Display for Wrapped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("client error")
    }
}

impl std::error::Error for Wrapped {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

#[tokio::test]
async fn a_refused_connection_is_a_connect_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let url = format!("http://{addr}/");
    assert!(matches!(once(&url, 6).await, Err(UpstreamError::Connect(_))));
}
