//! An `https://` upstream over real TLS (rustls): a loopback server with a certificate of a
//! private CA. Trusted through `upstream.ca_file`, the call goes through and the upstream sees
//! the request; without it, the handshake fails and the caller gets a 502 in its own dialect,
//! nothing having been sent in clear.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use dialectgate_gateway::Overrides;
use http_body_util::{BodyExt, Full};
use serde_json::json;
use tokio_rustls::rustls::{
    self,
    pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject},
};

use crate::harness;

/// What the TLS upstream saw: method and path of each request that completed a handshake.
type Seen = Arc<Mutex<Vec<(String, String)>>>;

/// A canonical upstream over TLS on a loopback port, answering each PATCH with the customer
/// the path names. Returns its `https://` base URL and what it saw.
async fn tls_upstream() -> (String, Seen) {
    // The process-wide provider, as the gateway installs it (whichever comes first).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter("tests/tls/server.pem")
        .expect("tests/tls/server.pem")
        .collect::<Result<_, _>>()
        .expect("a PEM certificate");
    let key = PrivateKeyDer::from_pem_file("tests/tls/server.key").expect("tests/tls/server.key");
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("a server certificate and its key");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let port = listener.local_addr().expect("its address").port();
    let seen: Seen = Arc::default();
    let record = seen.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let record = record.clone();
            tokio::spawn(async move {
                // A client that does not trust the certificate ends here.
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service =
                    hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let record = record.clone();
                        async move {
                            let (parts, body) = req.into_parts();
                            let _ = body.collect().await;
                            let path = parts.uri.path().to_owned();
                            record
                                .lock()
                                .expect("the record")
                                .push((parts.method.to_string(), path.clone()));
                            let id = path.rsplit('/').next().unwrap_or_default();
                            let customer = json!({"id": id, "email": "ada@example.com",
                            "name": {"given": "Ada", "family": "King"}});
                            let body = serde_json::to_vec(&customer).expect("JSON");
                            Ok::<_, std::convert::Infallible>(
                                hyper::Response::builder()
                                    .header("content-type", "application/json")
                                    .body(Full::new(Bytes::from(body)))
                                    .expect("a response"),
                            )
                        }
                    });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    (format!("https://localhost:{port}"), seen)
}

fn overrides(url: &str) -> Overrides {
    Overrides {
        upstream: Some(url.to_owned()),
        upstream_dialect: Some("canonical".into()),
        ..Overrides::default()
    }
}

#[tokio::test]
async fn an_https_upstream_of_a_trusted_private_ca_is_called_over_tls() {
    let (url, seen) = tls_upstream().await;
    let ca = std::fs::canonicalize("tests/tls/ca.pem").unwrap();
    let config = harness::config(
        overrides(&url),
        &[("DIALECTGATE__UPSTREAM__CA_FILE", ca.to_str().unwrap())],
    );
    let gw = harness::start(config).await;
    let got = harness::send_simple(&gw, "medusa", "cus_tls").await;
    assert_eq!(got.status, 200, "{}", String::from_utf8_lossy(&got.body));
    assert_eq!(got.json()["customer"]["id"], "cus_tls");
    assert_eq!(
        *seen.lock().unwrap(),
        [("PATCH".to_owned(), "/customers/cus_tls".to_owned())]
    );
    gw.stop().await;
}

#[tokio::test]
async fn an_https_upstream_whose_certificate_is_not_trusted_is_never_called() {
    let (url, seen) = tls_upstream().await;
    let gw = harness::start(harness::config(overrides(&url), &[])).await;
    let got = harness::send_simple(&gw, "medusa", "cus_tls").await;
    assert_eq!(got.status, 502, "{}", String::from_utf8_lossy(&got.body));
    // In Medusa's error shape (its definition's default body), no transport detail.
    assert_eq!(
        got.json(),
        json!({"type": "bad_gateway", "message": "the upstream could not be reached"})
    );
    assert!(seen.lock().unwrap().is_empty(), "no request went through");
    gw.stop().await;
}

#[test]
fn a_ca_file_that_is_not_pem_is_refused_at_load() {
    let dir = std::env::temp_dir().join(format!("dg-e2e-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("not-a-ca.pem");
    std::fs::write(&bad, "hello").unwrap();
    for (value, needle) in [
        (bad.to_str().unwrap().to_owned(), "holds no PEM certificate"),
        (
            dir.join("missing.pem").to_str().unwrap().to_owned(),
            "upstream.ca_file: cannot read",
        ),
    ] {
        let mut env = std::collections::HashMap::new();
        env.insert("DIALECTGATE__UPSTREAM__CA_FILE".to_owned(), value);
        env.insert("DIALECTGATE_KEYS".to_owned(), harness::CALLER_KEY.to_owned());
        let err = dialectgate_gateway::load(
            Some(std::path::Path::new("config/dialectgate.toml")),
            Some(env),
            &overrides("https://localhost:1"),
        )
        .expect_err("a bad ca_file is refused");
        assert!(format!("{err:?}").contains(needle), "{err:?}");
    }
}
