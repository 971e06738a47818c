//! Every caller dialect × every upstream kind (canonical + every dialect of the registry), each
//! caller sending its vendor's richest documented request (`request.vendor-example.json`) in
//! lenient mode: the upstream receives exactly the request its vendor documents (a reviewed
//! snapshot per pair, the canonical schema for a canonical upstream), the fidelity header says
//! exactly what the engine's report says, and the caller gets exactly its vendor's answer.

use std::collections::BTreeSet;

use dialectgate_dialect::{Endpoint, Fidelity, Mode, Registry, Translation};
use dialectgate_gateway::Overrides;
use serde_json::Value;

use crate::harness::{self, Answer, CALLER_KEY, DIALECTS, Running, UPSTREAM_TOKEN, Upstream};

/// What a vendor backend answers on success about customer `id` (the gateway refuses an answer
/// about another customer than the one it asked for): its example answer, the example's id
/// replaced by `id` wherever it occurs, as it is and in the upstream's id form.
fn success_reply(upstream: &str, id: &str) -> Value {
    let mut doc = if upstream == "canonical" {
        let mut doc = dialectgate_gateway::fixtures().remove(0);
        doc["email"] = "ada.king@example.com".into();
        doc["name"] = serde_json::json!({"given": "Ada", "family": "King", "full": "Ada King"});
        doc
    } else {
        let path = format!("tests/fixtures/{upstream}/response.vendor-example.json");
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
    };
    let registry = harness::registry();
    let bytes = serde_json::to_vec(&doc).unwrap();
    let example = match registry.read_answer(&registry.endpoint(upstream).unwrap(), 200, &bytes) {
        dialectgate_dialect::Answer::Customer(c) => c["id"].as_str().unwrap().to_owned(),
        other => panic!("{upstream}'s example is not a customer: {other:?}"),
    };
    replace_string(&mut doc, &example, id);
    // And in the upstream's own id form (Shopify's `gid://shopify/Customer/<id>`).
    if let Some(d) = registry.dialect(upstream) {
        let form = &d.route().id_format;
        if let (Some(from), Some(to)) = (form.encode_text(&example), form.encode_text(id)) {
            replace_string(&mut doc, &from, &to);
        }
    }
    doc
}

/// Replaces every string `from` in `v` with `to`, and every member `id` that is the number
/// written `from` (an integer id: BigCommerce's) with `to` as a number.
fn replace_string(v: &mut Value, from: &str, to: &str) {
    match v {
        Value::String(s) if s == from => *s = to.to_owned(),
        Value::Object(map)
            if map
                .get("id")
                .is_some_and(|id| id.as_u64().is_some() && id.as_u64() == from.parse::<u64>().ok()) =>
        {
            if let Ok(n) = to.parse::<u64>() {
                map.insert("id".to_owned(), Value::from(n));
            }
            map.values_mut().for_each(|m| replace_string(m, from, to));
        }
        Value::Array(items) => items.iter_mut().for_each(|i| replace_string(i, from, to)),
        Value::Object(map) => map.values_mut().for_each(|m| replace_string(m, from, to)),
        _ => {}
    }
}

/// A gateway in front of `upstream` (speaking `upstream_kind`), in lenient mode.
async fn lenient_gateway_to(upstream: &Upstream, upstream_kind: &str) -> Running {
    harness::start(harness::config(
        Overrides {
            upstream: Some(upstream.url()),
            upstream_dialect: Some(upstream_kind.into()),
            mode: Some(Mode::Lenient),
            ..Overrides::default()
        },
        // The pure translation, one upstream call per request (reads before writes have
        // their own tests: tests/e2e/fill.rs).
        &[("DIALECTGATE__TRANSLATION__FILL", "never")],
    ))
    .await
}

/// A caller's request: its body, the customer id it is about (the body's own where the dialect
/// carries it there) and the id the route's path carries (none when it has no `{id}`).
struct Request {
    body: Value,
    id: String,
    path_id: Option<String>,
}

fn request(caller: &str, body: Value, upstream_kind: &str) -> Request {
    let dialect = harness::registry_dialect(caller);
    // The bare id (what every other side sees), read through the caller's id form.
    let route = dialect.route();
    // Where the id travels in the path: `cus_ada`, or digits where the upstream writes ids as
    // integers (BigCommerce), so every pair can be carried.
    let writes = |id: &str| {
        upstream_kind == "canonical" || harness::registry_dialect(upstream_kind).route().writes_id(id)
    };
    let default = if writes("cus_ada") { "cus_ada" } else { "1815" };
    let id = route
        .id_in_body
        .as_ref()
        .and_then(|p| p.get(&body))
        .and_then(|v| route.id_format.decode_value(v))
        .unwrap_or_else(|| default.to_owned());
    let path = harness::call(caller, &id, CALLER_KEY).path;
    let path_id = dialect
        .match_path(&path)
        .expect("the caller's own route matches its path");
    Request { body, id, path_id }
}

/// The caller's vendor example request: the richest valid body its vendor page documents.
fn vendor_example(caller: &str, upstream_kind: &str) -> Request {
    request(
        caller,
        harness::fixture(caller, "request.vendor-example.json", &[]),
        upstream_kind,
    )
}

/// The engine's own translation of `req` from `caller` to `upstream_kind`, in lenient mode.
fn engine(
    registry: &Registry,
    caller: &str,
    upstream_kind: &str,
    req: &Request,
) -> Result<Translation, dialectgate_canonical::Problem> {
    registry.translate(
        &registry.endpoint(caller).unwrap(),
        &registry.endpoint(upstream_kind).unwrap(),
        req.path_id.as_deref(),
        &req.body,
        Mode::Lenient,
    )
}

/// The members a fidelity report names, as the `X-Dialectgate-Fidelity` header writes them
/// (`derived=target<-from+from,…; dropped=pointer(code),…`).
fn report_members(f: &Fidelity) -> BTreeSet<String> {
    let derived = f
        .derived
        .iter()
        .map(|d| format!("derived {}<-{}", d.target, d.from.join("+")));
    let dropped = f
        .dropped
        .iter()
        .map(|d| format!("dropped {}({})", d.pointer, d.reason.code()));
    let unchecked = f.unchecked.iter().map(|p| format!("unchecked {p}"));
    derived.chain(dropped).chain(unchecked).collect()
}

/// The members the header names (none when it is absent).
fn header_members(header: Option<&str>) -> BTreeSet<String> {
    let mut members = BTreeSet::new();
    for part in header.into_iter().flat_map(|h| h.split("; ")) {
        let (kind, list) = part
            .split_once('=')
            .unwrap_or_else(|| panic!("fidelity header part without `=`: {part:?}"));
        assert!(
            kind == "derived" || kind == "dropped" || kind == "unchecked",
            "fidelity header part {part:?}"
        );
        for member in list.split(',') {
            assert!(
                members.insert(format!("{kind} {member}")),
                "{member} named twice in the fidelity header"
            );
        }
    }
    members
}

/// `body` satisfies the canonical update schema, read with the jsonschema crate directly.
fn assert_canonical_update(body: &Value, what: &str) {
    let text = std::fs::read_to_string("schemas/canonical/update.json").unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(body)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what}: not a valid canonical update: {errors:?}\n{body}"
    );
}

/// The request line and credential a `upstream_kind` upstream must see for customer `id`.
fn assert_request_line(got: &harness::Recorded, caller: &str, upstream_kind: &str, id: &str) {
    let pair = format!("{caller} -> {upstream_kind}");
    if upstream_kind == "canonical" {
        assert_eq!(
            (got.method.as_str(), got.path.as_str()),
            (
                "PATCH",
                format!("/customers/{}", dialectgate_dialect::id::segment(id)).as_str()
            ),
            "{pair}"
        );
        assert_eq!(got.header("content-type"), Some("application/merge-patch+json"));
        assert_eq!(
            got.header("authorization"),
            Some(format!("Bearer {UPSTREAM_TOKEN}").as_str()),
            "{pair}: credential"
        );
        return;
    }
    // The id as the gateway writes it: one percent-encoded segment (a Shopify GID holds `:`
    // and `/`).
    let segment = dialectgate_dialect::id::segment(id).to_string();
    let expected = harness::call(upstream_kind, &segment, UPSTREAM_TOKEN);
    assert_eq!(
        (got.method.as_str(), got.path.as_str()),
        (expected.method, expected.path.as_str()),
        "{pair}"
    );
    assert_eq!(got.header("content-type"), Some("application/json"), "{pair}");
    assert_eq!(
        got.header(expected.auth.0),
        Some(expected.auth.1.as_str()),
        "{pair}: credential"
    );
}

/// The caller got the error the engine's refusal renders to in its own dialect.
fn assert_refused_as_engine(
    registry: &Registry,
    caller: &Endpoint,
    problem: &dialectgate_canonical::Problem,
    req: &Request,
    answer: &Answer,
    pair: &str,
) {
    let mut problem = problem.clone();
    problem.request_id = answer.header("x-request-id").map(str::to_owned);
    let rendered = registry.render_error(caller, &problem, Some(&req.id));
    assert_eq!(
        answer.status,
        rendered.status,
        "{pair}: {}",
        String::from_utf8_lossy(&answer.body)
    );
    assert_eq!(
        answer.header("content-type"),
        Some(rendered.content_type.as_str()),
        "{pair}"
    );
    let expected: Value = serde_json::from_slice(&rendered.body).unwrap();
    assert_eq!(answer.json(), expected, "{pair}: the refusal the engine renders");
}

/// One pair; the engine's report when the request went through.
async fn pair(caller: &str, upstream_kind: &str) -> Option<Fidelity> {
    let pair = format!("{caller} -> {upstream_kind}");
    let req = vendor_example(caller, upstream_kind);
    let reply = serde_json::to_vec(&success_reply(upstream_kind, &req.id)).unwrap();
    let upstream = Upstream::start(move |_| (200, "application/json", reply.clone())).await;
    let gw = lenient_gateway_to(&upstream, upstream_kind).await;
    let answer = harness::send(&gw, caller, &req.id, &req.body).await;
    gw.stop().await;
    let registry = harness::registry();
    let seen = upstream.seen();

    let translation = match engine(&registry, caller, upstream_kind, &req) {
        Ok(t) => t,
        Err(problem) => {
            // Even lenient mode cannot carry this pair (an unmapped value, a member the target
            // requires): the caller hears why, in its own words, and the upstream nothing.
            assert!(seen.is_empty(), "{pair}: a refused request reached the upstream");
            let from = registry.endpoint(caller).unwrap();
            assert_refused_as_engine(&registry, &from, &problem, &req, &answer, &pair);
            insta::assert_json_snapshot!(format!("{caller}_to_{upstream_kind}_refused"), answer.json());
            return None;
        }
    };

    // The upstream saw exactly one request, shaped as its vendor documents.
    assert_eq!(seen.len(), 1, "{pair}: upstream calls");
    let got = &seen[0];
    assert_request_line(got, caller, upstream_kind, &req.id);
    let body = got.json();
    match registry.endpoint(upstream_kind).unwrap() {
        Endpoint::Canonical => assert_canonical_update(&body, &pair),
        ref to => assert!(
            registry.validate_request(to, &body).is_ok(),
            "{pair}: the upstream request must satisfy its vendor's schema: {body}"
        ),
    }
    assert_eq!(
        body, translation.outbound.body,
        "{pair}: the engine's translation"
    );
    assert!(got.header("x-request-id").is_some());
    assert_eq!(got.query, None, "no query string is invented");
    // The caller's own credential never travels in static mode.
    assert!(
        got.headers.values().all(|v| !v.contains(CALLER_KEY)),
        "{pair}: caller key forwarded"
    );
    insta::assert_json_snapshot!(format!("{caller}_to_{upstream_kind}_upstream"), body);

    // The caller got its own vendor's success answer, and the fidelity header names exactly
    // what the engine's report names.
    assert_eq!(
        answer.status,
        200,
        "{pair}: {}",
        String::from_utf8_lossy(&answer.body)
    );
    assert_eq!(
        header_members(answer.header("x-dialectgate-fidelity")),
        report_members(&translation.fidelity),
        "{pair}: fidelity header against the engine's report {:?}",
        translation.fidelity
    );
    assert_eq!(answer.header("content-type"), Some("application/json"));
    let json = answer.json();
    assert!(
        registry.dialect(caller).unwrap().is_valid_response_body(&json),
        "{caller} <- {upstream_kind}: answer must satisfy the caller's response schema: {json}"
    );
    insta::assert_json_snapshot!(format!("{caller}_from_{upstream_kind}_answer"), json);
    Some(translation.fidelity)
}

/// Every caller dialect of the registry × every upstream kind (canonical + every dialect).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_caller_against_every_upstream_kind() {
    let mut reports = Vec::new();
    for &caller in DIALECTS.iter() {
        for upstream in std::iter::once("canonical").chain(DIALECTS.iter().copied()) {
            reports.extend(pair(caller, upstream).await);
        }
    }
    // The bodies are rich enough that the header comparison is never vacuous.
    assert!(
        reports.iter().any(|f| !f.dropped.is_empty()),
        "no pair dropped a member"
    );
    assert!(
        reports.iter().any(|f| !f.derived.is_empty()),
        "no pair derived a member"
    );
    assert!(reports.iter().any(Fidelity::is_exact), "no pair was exact");
}

/// Lower-cases every string member named `country`, anywhere in `v`; true when one changed.
fn lower_countries(v: &mut Value) -> bool {
    match v {
        Value::Object(map) => {
            let mut changed = false;
            for (key, member) in map.iter_mut() {
                match member {
                    Value::String(s) if key == "country" && *s != s.to_lowercase() => {
                        *s = s.to_lowercase();
                        changed = true;
                    }
                    _ => changed |= lower_countries(member),
                }
            }
            changed
        }
        Value::Array(items) => items.iter_mut().fold(false, |c, i| lower_countries(i) | c),
        _ => false,
    }
}

/// A body valid in the caller's own dialect whose translation the canonical schema refuses (a
/// lower-case country code, which the canonical form writes upper-case): the caller hears the
/// refusal (`target_invalid`) in its own words, and the upstream sees nothing, even in lenient
/// mode.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_translation_the_canonical_upstream_would_refuse_is_never_sent() {
    let registry = harness::registry();
    let mut exercised = Vec::new();
    for &caller in DIALECTS.iter() {
        let mut body = harness::fixture(caller, "request.vendor-example.json", &[]);
        let from = registry.endpoint(caller).unwrap();
        if !lower_countries(&mut body) || registry.validate_request(&from, &body).is_err() {
            continue; // no country, or the caller's own schema refuses a lower-case one
        }
        let req = request(caller, body, "canonical");
        let pair = format!("{caller} -> canonical, lower-case country");
        let upstream = Upstream::start(|_| harness::customer_answer()).await;
        let gw = lenient_gateway_to(&upstream, "canonical").await;
        let answer = harness::send(&gw, caller, &req.id, &req.body).await;
        gw.stop().await;
        assert!(
            upstream.seen().is_empty(),
            "{pair}: the upstream saw the invalid body"
        );
        let problem = engine(&registry, caller, "canonical", &req)
            .err()
            .unwrap_or_else(|| panic!("{pair}: the engine must refuse"));
        assert!(!problem.errors.is_empty(), "{pair}: {problem:?}");
        for violation in &problem.errors {
            assert_eq!(violation.code, "target_invalid", "{pair}: {violation:?}");
        }
        assert!(
            problem.errors.iter().any(|v| v.pointer.ends_with("/country")),
            "{pair}: the refusal names the country: {problem:?}"
        );

        assert_refused_as_engine(&registry, &from, &problem, &req, &answer, &pair);
        assert!(
            String::from_utf8_lossy(&answer.body).contains("country"),
            "{pair}: the caller is told which member: {}",
            String::from_utf8_lossy(&answer.body)
        );
        exercised.push(caller);
    }
    assert!(
        !exercised.is_empty(),
        "no caller dialect accepts a lower-case country: the case was never exercised"
    );
}

#[tokio::test]
async fn every_dialect_works_against_the_embedded_backend() {
    let gw = harness::start(harness::config(Default::default(), &[])).await;
    for &dialect in DIALECTS.iter() {
        let route = harness::registry_dialect(dialect).route();
        let answer = if route.writes_id("cus_grace") {
            harness::send_simple(&gw, dialect, "cus_grace").await
        } else {
            // Integer ids (BigCommerce): the backend's customer 1815, with an email of its own.
            let body = harness::fixture(
                dialect,
                "request.simple.json",
                &[("id", "1815"), ("email", "augusta.king@example.com")],
            );
            harness::send(&gw, dialect, "1815", &body).await
        };
        assert_eq!(
            answer.status,
            200,
            "{dialect}: {}",
            String::from_utf8_lossy(&answer.body)
        );
        assert!(
            harness::registry()
                .dialect(dialect)
                .unwrap()
                .is_valid_response_body(&answer.json())
        );
    }
    let stored = gw.backend.get("cus_grace").unwrap();
    assert_eq!(stored["email"], "ada.king@example.com");
    assert_eq!(stored["name"]["full"], "Ada King");
}
