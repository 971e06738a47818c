//! The driver over a fake upstream (`tower::service_fn`) speaking commercetools, whose writes
//! carry the customer's version and whose stale version is a 409 `ConcurrentModification`. The
//! expected calls and bodies are commercetools' own (docs/vendors/commercetools.md: the
//! retrieve `GET /{projectKey}/customers/{ID}`, the update `POST` of `{"version", "actions"}`, the
//! 409 body of the spec's example), not the definitions under test.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use dialectgate_dialect::{Options, Registry};
use serde_json::{Value, json};
use tower::service_fn;

use super::*;

const PROJECT: &str = "my-project";

/// commercetools' stored customer (members of the spec's example), as version `version`.
fn stored(version: u64) -> Value {
    json!({
        "id": "cus_ada",
        "version": version,
        "email": "johndoe@example.com",
        "firstName": "John",
        "lastName": "Doe",
        "addresses": [],
        "isEmailVerified": false
    })
}

/// The spec's own 409 example.
fn concurrent_modification() -> Value {
    json!({"statusCode": 409, "message": "Version mismatch. Concurrent modification.",
        "errors": [{"code": "ConcurrentModification", "message": "Version mismatch. Concurrent modification."}]})
}

/// One call the fake upstream received.
#[derive(Debug, PartialEq)]
struct Received {
    method: String,
    path: String,
    body: Value,
}

/// A commercetools store holding `cus_ada` at version 1 that answers its first `conflicts`
/// writes with 409 (another writer got there first, each time raising the version), then
/// applies the write; every call recorded.
fn store(
    conflicts: usize,
) -> (
    impl Service<UpstreamRequest, Response = Reply, Error = UpstreamError> + Clone,
    Arc<Mutex<Vec<Received>>>,
) {
    let received = Arc::new(Mutex::new(Vec::new()));
    let log = received.clone();
    let service = service_fn(move |request: UpstreamRequest| {
        let mut log = log.lock().unwrap();
        let writes = log.iter().filter(|r: &&Received| r.method == "POST").count();
        let o = &request.outbound;
        log.push(Received {
            method: o.method.clone(),
            path: o.path.clone(),
            body: request.body.with_tree(Value::clone),
        });
        let version = 1 + writes.min(conflicts) as u64;
        let (status, body) = match (o.method.as_str(), writes < conflicts) {
            ("GET", _) => (200, stored(version)),
            (_, true) => (409, concurrent_modification()),
            (_, false) => {
                let mut customer = stored(version + 1);
                customer["firstName"] = json!("Augusta");
                (200, customer)
            }
        };
        let body = Bytes::from(serde_json::to_vec(&body).unwrap());
        std::future::ready(Ok::<_, UpstreamError>(Reply::Http { status, body }))
    });
    (service, received)
}

/// What the observer saw, in order.
#[derive(Default)]
struct Seen(Mutex<Vec<String>>);

impl Observer for Seen {
    type Error = String;

    fn headers(&self, _: Operation) -> HeaderMap {
        HeaderMap::new()
    }

    fn replied(&self, called: Called<'_>, reply: Result<Reply, UpstreamError>) -> Result<Reply, String> {
        self.0.lock().unwrap().push(format!("{:?}", called.leg));
        reply.map_err(|e| e.label().to_owned())
    }

    fn stored(&self, _: &str, answer: Answer) -> Result<Value, String> {
        match answer {
            Answer::Customer(c) => Ok(c),
            Answer::Problem(p) => Err(p.kind().as_str().to_owned()),
        }
    }

    fn unreadable(&self, _: &Endpoint) -> String {
        "unreadable".into()
    }

    fn refused(&self, problem: Problem) -> String {
        problem.kind().as_str().to_owned()
    }

    fn retrying(&self, retry: u32) {
        self.0.lock().unwrap().push(format!("retry {retry}"));
    }
}

fn commercetools(registry: &Registry) -> Endpoint {
    let params = BTreeMap::from([("projectKey".to_owned(), PROJECT.to_owned())]);
    registry
        .endpoint("commercetools")
        .unwrap()
        .bind_path_params(&params)
        .unwrap()
}

/// Sends `body` from a caller of `from` about `cus_ada` through the driver, with at most
/// `retries` retries on a conflict.
async fn drive(
    (registry, from): (&Registry, &str),
    body: Value,
    (conflicts, retries): (usize, u32),
) -> (Result<Exchanged, String>, Vec<Received>, Vec<String>) {
    let to = commercetools(registry);
    let from = registry.endpoint(from).unwrap();
    let (service, received) = store(conflicts);
    let upstream = Upstream {
        service: &service,
        registry,
        endpoint: &to,
        caller: Some(&from),
        overflow: None,
    };
    let step = registry
        .plan(&from, &to, Some("cus_ada"), &body, Options::default())
        .unwrap();
    let seen = Seen::default();
    let exchanged = exchange(
        upstream,
        &seen,
        &from,
        (Operation::Update, step),
        (Mode::default(), retries),
    )
    .await;
    let received = std::mem::take(&mut *received.lock().unwrap());
    (exchanged, received, seen.0.into_inner().unwrap())
}

fn read() -> Received {
    Received {
        method: "GET".into(),
        path: format!("/{PROJECT}/customers/cus_ada"),
        body: Value::Null,
    }
}

/// The write commercetools documents: the version read, the change as an action.
fn write(version: u64) -> Received {
    Received {
        method: "POST".into(),
        path: format!("/{PROJECT}/customers/cus_ada"),
        body: json!({"version": version, "actions": [{"action": "setFirstName", "firstName": "Augusta"}]}),
    }
}

fn first_name(exchanged: &Exchanged) -> &Value {
    match &exchanged.answer.answer {
        Answer::Customer(c) => &c["name"]["given"],
        Answer::Problem(p) => panic!("a problem: {p:?}"),
    }
}

#[tokio::test]
async fn a_write_without_a_version_reads_the_customer_then_writes_with_the_version_read() {
    let registry = Registry::embedded().unwrap();
    let (exchanged, received, seen) =
        drive((&registry, "medusa"), json!({"first_name": "Augusta"}), (0, 2)).await;
    let exchanged = exchanged.unwrap();
    assert_eq!(received, [read(), write(1)]);
    assert_eq!(seen, ["Read", "Send"]);
    assert_eq!(exchanged.id, "cus_ada");
    assert_eq!(first_name(&exchanged), "Augusta");
}

#[tokio::test]
async fn a_conflict_on_the_version_read_is_read_and_written_again_then_answered() {
    let registry = Registry::embedded().unwrap();
    let (exchanged, received, seen) =
        drive((&registry, "medusa"), json!({"first_name": "Augusta"}), (1, 2)).await;
    assert_eq!(received, [read(), write(1), read(), write(2)]);
    assert_eq!(seen, ["Read", "Send", "retry 1", "Read", "Send"]);
    assert_eq!(first_name(&exchanged.unwrap()), "Augusta");
}

#[tokio::test]
async fn conflicts_past_the_retries_are_the_callers_409() {
    let registry = Registry::embedded().unwrap();
    let (exchanged, received, seen) = drive(
        (&registry, "medusa"),
        json!({"first_name": "Augusta"}),
        (usize::MAX, 2),
    )
    .await;
    // Two retries: three reads and three writes, each with the version then stored.
    assert_eq!(received, [read(), write(1), read(), write(2), read(), write(3)]);
    assert_eq!(
        seen,
        [
            "Read", "Send", "retry 1", "Read", "Send", "retry 2", "Read", "Send"
        ]
    );
    match exchanged.unwrap().answer.answer {
        Answer::Problem(p) => assert_eq!((p.kind(), p.status), (ErrorKind::Conflict, 409)),
        Answer::Customer(c) => panic!("a customer: {c}"),
    }
}

#[tokio::test]
async fn the_callers_own_version_is_never_retried() {
    let registry = Registry::embedded().unwrap();
    let body = json!({"version": 1, "actions": [{"action": "setFirstName", "firstName": "Augusta"}]});
    let (exchanged, received, seen) = drive((&registry, "commercetools"), body, (1, 2)).await;
    assert_eq!(received, [write(1)]);
    assert_eq!(seen, ["Send"]);
    match exchanged.unwrap().answer.answer {
        Answer::Problem(p) => assert_eq!((p.kind(), p.status), (ErrorKind::Conflict, 409)),
        Answer::Customer(c) => panic!("a customer: {c}"),
    }
}
