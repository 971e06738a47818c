//! `dialectgate openapi` prints an OpenAPI 3.1 document of every inbound operation, generated
//! from the loaded dialects (so it cannot drift from them), that tools accept: every reference
//! resolves, every status the gateway answers is documented, the examples reach the embedded
//! backend's customers. The last tests hold it against the tools themselves: an OpenAPI 3.1
//! validator and schemathesis (a property-based API fuzzer) against `dialectgate serve`.
//! `.ci/run` installs both from PyPI; where they are absent locally those tests say so and skip.

// A test: any failure to set up is a failure of the test.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_dialectgate");

fn document() -> Value {
    let out = Command::new(BIN).arg("openapi").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Every `$ref` in `v`.
fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                out.push(r.clone());
            }
            m.values().for_each(|v| refs(v, out));
        }
        Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

/// Every operation: (path, method, operation).
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            out.push((path.clone(), method.clone(), op.clone()));
        }
    }
    out
}

/// `schema` (a reference into the document) compiled with the whole document as its root, as
/// an OpenAPI tool resolves it.
fn validator(doc: &Value, schema: &Value) -> jsonschema::Validator {
    let root = json!({"components": doc["components"].clone(), "allOf": [schema]});
    jsonschema::options().build(&root).unwrap()
}

#[test]
fn it_is_a_valid_openapi_3_1_document() {
    let doc = document();
    assert_eq!(doc["openapi"], "3.1.0");
    // A structural parse with a maintained OpenAPI 3.1 model.
    let spec = oas3::from_json(doc.to_string()).unwrap();
    assert_eq!(spec.openapi, "3.1.0");
    // Every $ref anywhere resolves inside the document (the dialect schemas' shared `$defs`
    // were hoisted into components), and nothing resolves against a URL outside it.
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(
        all.iter().any(|r| r.ends_with("_Address")),
        "shared definitions are referenced"
    );
    for r in &all {
        let pointer = r
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("{r} points outside"));
        assert!(doc.pointer(pointer).is_some(), "{r} does not resolve");
    }
    let text = doc.to_string();
    assert!(!text.contains("$defs"), "every definition is in components");
    assert!(
        !text.contains("\"$id\""),
        "no schema resolves against an outside URL"
    );
    // Every component schema compiles, its references resolved through the document.
    for name in doc["components"]["schemas"].as_object().unwrap().keys() {
        validator(&doc, &json!({"$ref": format!("#/components/schemas/{name}")}));
    }
    // Operation ids are unique (the alternative methods of a route have their own).
    let ids: Vec<String> = operations(&doc)
        .iter()
        .map(|(_, _, op)| op["operationId"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), ids.iter().collect::<BTreeSet<_>>().len(), "{ids:?}");
    // Every security requirement names a declared scheme.
    let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
    for (_, _, op) in operations(&doc) {
        for req in op["security"].as_array().into_iter().flatten() {
            for name in req.as_object().unwrap().keys() {
                assert!(schemes.contains_key(name), "{name}");
            }
        }
    }
}

#[test]
fn every_dialect_operation_is_described_as_its_vendor_serves_it() {
    let doc = document();
    let paths = &doc["paths"];
    let op = |path: &str, method: &str| paths[path][method].clone();
    let ep = op("/v2/customers/{id}", "put");
    assert_eq!(ep["operationId"], "elasticpath_update_customer");
    // The reads, at each vendor's retrieve route (docs/vendors/<id>.md#retrieve).
    for (path, method, id) in [
        ("/v2/customers/{id}", "get", "elasticpath_retrieve_customer"),
        (
            "/services/customer/v1/customer.info",
            "post",
            "microbase_retrieve_customer",
        ),
        ("/customers/{id}", "get", "axim_retrieve_customer"),
        ("/admin/customers/{id}", "get", "medusa_retrieve_customer"),
        ("/v1/customers/{id}", "get", "checkoutpage_retrieve_customer"),
    ] {
        let read = op(path, method);
        assert_eq!(read["operationId"], id, "{path}");
        assert!(read["responses"]["200"].is_object(), "{path}");
        assert!(read["responses"]["401"].is_object(), "{path}");
    }
    assert!(op("/v2/customers/{id}", "get").get("requestBody").is_none());
    assert_eq!(
        op("/services/customer/v1/customer.info", "post")["requestBody"]["content"]["application/json"]["schema"]
            ["required"],
        serde_json::json!(["id"])
    );
    assert_eq!(ep["parameters"][0]["name"], "id");
    assert!(ep["responses"]["401"].is_object());
    let mb = op("/services/customer/v1/customer.update", "post");
    assert_eq!(mb["operationId"], "microbase_update_customer");
    assert_eq!(
        op("/services/customer/v1/customer.update", "put")["operationId"],
        "microbase_update_customer_put"
    );
    assert!(
        mb["responses"]["200"]["content"]["application/json"]["schema"]["oneOf"].is_array(),
        "MicroBase errors are 200s"
    );
    assert!(
        mb["responses"].get("404").is_none(),
        "MicroBase's not found is a 200"
    );
    assert!(mb["responses"].get("422").is_none());
    assert!(
        mb["parameters"].as_array().unwrap().is_empty(),
        "MicroBase's id travels in the body"
    );
    let medusa = op("/admin/customers/{id}", "post");
    assert_eq!(
        medusa["responses"]["401"]["content"]["text/plain; charset=utf-8"]["schema"]["type"],
        "string"
    );
    assert_eq!(medusa["responses"]["422"]["description"], "Errors: duplicate");
    let names: Vec<&str> = medusa["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["id", "expand", "fields"]);
    assert!(op("/customers/{id}", "put").is_object());
    assert!(op("/v1/customers/{id}", "patch").is_object());
    assert!(op("/oauth/access_token", "post").is_object());
}

#[test]
fn every_status_the_gateway_answers_is_documented_with_the_vendors_error_schema() {
    let doc = document();
    // Statuses every update operation answers, whatever the dialect (README "Limits and
    // failure behaviour"); MicroBase answers not found and validation with 200.
    let common = [
        "400", "401", "405", "408", "413", "415", "429", "502", "503", "504",
    ];
    for (path, method, op) in operations(&doc) {
        let responses = op["responses"].as_object().unwrap();
        let id = op["operationId"].as_str().unwrap();
        if id.ends_with("_access_token") {
            continue;
        }
        for status in common {
            // Shopify answers throttling with 200 and THROTTLED (shopify.md#errors).
            if status == "429" && id.starts_with("shopify") {
                continue;
            }
            assert!(responses.contains_key(status), "{method} {path}: {status}");
        }
        // MicroBase and Shopify answer not found with 200 (`ok: false`; a GraphQL user error).
        if !id.starts_with("microbase") && !id.starts_with("shopify") {
            assert!(responses.contains_key("404"), "{method} {path}: 404");
        }
        let dialect = id.split('_').next().unwrap();
        let error = json!({"$ref": format!("#/components/schemas/{dialect}_error")});
        for (status, response) in responses {
            for (media_type, content) in response["content"].as_object().unwrap() {
                if media_type.starts_with("text/") {
                    assert_eq!(content["schema"]["type"], "string");
                } else if status.starts_with('2') {
                    assert!(
                        content["schema"]
                            .to_string()
                            .contains(&format!("{dialect}_response"))
                    );
                } else {
                    assert_eq!(content["schema"], error, "{method} {path} {status}");
                }
            }
        }
        let retry = &responses["503"]["headers"]["Retry-After"];
        assert_eq!(
            retry["required"], true,
            "{method} {path}: 503 always carries Retry-After"
        );
        if let Some(throttled) = responses.get("429") {
            assert!(throttled["headers"]["Retry-After"].is_object(), "{method} {path}");
        }
        assert_eq!(responses["405"]["headers"]["Allow"]["required"], true);
    }
    // The Elastic Path SDK's token endpoint: its 400 (grant type) and 401 (client credentials)
    // in Elastic Path's error shape, 405 for other methods.
    let token = &doc["paths"]["/oauth/access_token"]["post"];
    for status in ["200", "400", "401", "405", "408", "413"] {
        assert!(token["responses"][status].is_object(), "token endpoint: {status}");
    }
    assert_eq!(
        token["responses"]["400"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/elasticpath_error"
    );
    assert_eq!(
        token["security"],
        json!([]),
        "the token endpoint takes no credential header"
    );
}

#[test]
fn request_examples_address_the_embedded_backends_customers() {
    let doc = document();
    let fixtures: Vec<Value> = dialectgate_gateway::fixtures();
    let fixture_ids: BTreeSet<&str> = fixtures.iter().map(|c| c["id"].as_str().unwrap()).collect();
    let mut seen = BTreeSet::new();
    for (path, method, op) in operations(&doc) {
        let Some(content) = op["requestBody"]["content"]["application/json"].as_object() else {
            continue;
        };
        let examples = content["examples"].as_object().unwrap();
        assert!(!examples.is_empty(), "{method} {path} has examples");
        let schema = validator(&doc, &content["schema"]);
        for (name, example) in examples {
            assert!(fixture_ids.contains(name.as_str()), "{method} {path}: {name}");
            seen.insert(name.clone());
            let value = &example["value"];
            assert!(schema.is_valid(value), "{method} {path}: {name}: {value}");
            // An id in the body is the fixture's; an email, if any, is its own (never a
            // duplicate of another customer's).
            if let Some(id) = value.get("id") {
                assert_eq!(id, name.as_str());
            }
            let fixture = fixtures.iter().find(|c| c["id"] == name.as_str()).unwrap();
            let text = value.to_string();
            for other in &fixtures {
                if other["id"] != fixture["id"] {
                    assert!(!text.contains(other["email"].as_str().unwrap()), "{text}");
                }
            }
        }
        // The id's parameter offers exactly the ids the bodies were made for (path variables
        // such as `{store_hash}` take any value).
        for p in op["parameters"].as_array().unwrap() {
            if p["in"] == "path" && p["name"] == "id" {
                let ids: BTreeSet<&String> = p["examples"].as_object().unwrap().keys().collect();
                assert_eq!(ids, examples.keys().collect(), "{method} {path}");
            }
        }
    }
    assert_eq!(
        seen.iter().map(String::as_str).collect::<BTreeSet<_>>(),
        fixture_ids
    );
}

#[test]
fn each_dialect_declares_the_credential_headers_it_accepts() {
    let doc = document();
    let schemes = &doc["components"]["securitySchemes"];
    let axim = &schemes["axim_accesstoken"];
    assert_eq!(axim["type"], "apiKey");
    assert_eq!(axim["in"], "header");
    assert_eq!(axim["name"].as_str().unwrap().to_ascii_lowercase(), "accesstoken");
    assert_eq!(schemes["medusa_x_medusa_access_token"]["type"], "apiKey");
    for bearer in [
        "elasticpath_authorization",
        "microbase_authorization",
        "medusa_authorization",
        "checkoutpage_authorization",
    ] {
        assert_eq!(schemes[bearer]["scheme"], "bearer", "{bearer}");
    }
    let medusa = &doc["paths"]["/admin/customers/{id}"]["post"]["security"];
    assert_eq!(
        medusa.as_array().unwrap().len(),
        2,
        "x-medusa-access-token or Bearer"
    );
    let axim_op = &doc["paths"]["/customers/{id}"]["put"]["security"];
    assert_eq!(axim_op, &json!([{"axim_accesstoken": []}]));
}

// ---- Against the real binary and the tools.

/// A `dialectgate serve` child on its embedded backend, killed when dropped.
struct Served {
    child: Child,
    addr: String,
    _logs: Receiver<String>,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve() -> Served {
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--admin-listen",
            "127.0.0.1:0",
        ])
        .env("RUST_LOG", "warn,dialectgate_gateway=info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    // Drained for the child's whole life, so its logging never blocks.
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(200))
            && let Ok(v) = serde_json::from_str::<Value>(&line)
            && v["message"] == "Gateway listening."
        {
            let addr = v["listen"].as_str().unwrap().to_owned();
            return Served {
                child,
                addr,
                _logs: rx,
            };
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("the gateway did not start");
}

#[tokio::test]
async fn the_token_endpoint_refuses_other_methods_with_405_and_allow() {
    let served = serve();
    // reqwest is built without a rustls provider: install the one the gateway uses.
    let _ = tokio_rustls::rustls::crypto::ring::default_provider().install_default();
    let rsp = reqwest::Client::new()
        .get(format!("http://{}/oauth/access_token", served.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(rsp.status(), 405);
    assert_eq!(rsp.headers()["allow"], "POST");
    let body: Value = rsp.json().await.unwrap();
    assert_eq!(
        body["errors"][0]["status"], 405,
        "Elastic Path's error shape: {body}"
    );
}

/// Whether the PyPI tools are here; in CI (`CI` set) their absence is a failure, not a skip.
fn tools_present(test: &str) -> bool {
    let have = |cmd: &mut Command| cmd.output().is_ok_and(|o| o.status.success());
    let present = have(Command::new("python3").args(["-c", "import openapi_spec_validator"]))
        && have(Command::new("schemathesis").arg("--version"));
    if !present {
        assert!(
            std::env::var_os("CI").is_none(),
            "{test}: openapi-spec-validator and schemathesis must be installed in CI (.ci/run does it)"
        );
        eprintln!(
            "SKIPPED {test}: openapi-spec-validator or schemathesis is not installed here \
             (python3 -m pip install openapi-spec-validator==0.9.0 schemathesis==4.32.5; .ci/run does it)"
        );
    }
    present
}

/// A fresh directory for one test's files (the tools write caches where they run).
fn work_dir(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn an_openapi_3_1_validator_accepts_the_document() {
    if !tools_present("an_openapi_3_1_validator_accepts_the_document") {
        return;
    }
    let dir = work_dir("openapi-validate");
    let file = dir.join("openapi.json");
    std::fs::write(&file, document().to_string()).unwrap();
    let out = Command::new("python3")
        .args(["-m", "openapi_spec_validator"])
        .arg(&file)
        .current_dir(&dir)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && text.contains("OK"), "{text}");
}

/// The schemathesis configuration: the demo key for every security scheme of the document, and
/// the one exclusion.
fn schemathesis_config(doc: &Value) -> String {
    // The checks: server errors, undocumented statuses, content types, response schemas and
    // headers, methods; whether valid input is accepted and invalid input refused.
    let mut toml = String::from(
        "[checks]\nenabled = false\n\
         not_a_server_error.enabled = true\n\
         status_code_conformance.enabled = true\n\
         content_type_conformance.enabled = true\n\
         response_schema_conformance.enabled = true\n\
         response_headers_conformance.enabled = true\n\
         unsupported_method.enabled = true\n\
         allow_header_conformance.enabled = true\n\
         negative_data_rejection.enabled = true\n\n",
    );
    for (name, scheme) in doc["components"]["securitySchemes"].as_object().unwrap() {
        let key = if scheme["type"] == "http" {
            "bearer"
        } else {
            "api_key"
        };
        toml.push_str(&format!("[auth.openapi.{name}]\n{key} = \"dg_demo_key\"\n"));
    }
    toml.push_str(
        "\n# MicroBase answers a request that breaks its schema with HTTP 200 and\n\
         # {\"ok\": false, \"error\": \"validation_error\"}: the vendor's own behaviour (business\n\
         # errors are 200s; see config/dialects/microbase.toml), which the gateway keeps on\n\
         # purpose. So \"schema-violating request accepted\" is not checked for its operations.\n\
         [[operations]]\n\
         include-operation-id = [\"microbase_update_customer\", \"microbase_update_customer_put\", \"microbase_update_customer_patch\", \"microbase_retrieve_customer\", \"microbase_retrieve_customer_put\", \"microbase_retrieve_customer_patch\", \"microbase_retrieve_customer_get\"]\n\
         checks.negative_data_rejection.enabled = false\n\n\
         # Shopify answers input it refuses with HTTP 200 and user errors, as GraphQL does\n\
         # (config/dialects/shopify.toml).\n\
         [[operations]]\n\
         include-operation-id = [\"shopify_customer_by_body\"]\n\
         checks.negative_data_rejection.enabled = false\n",
    );
    toml
}

#[test]
fn schemathesis_finds_nothing_against_serve_on_its_embedded_backend() {
    let test = "schemathesis_finds_nothing_against_serve_on_its_embedded_backend";
    if !tools_present(test) {
        return;
    }
    let dir = work_dir("openapi-schemathesis");
    let doc = document();
    std::fs::write(dir.join("openapi.json"), doc.to_string()).unwrap();
    std::fs::write(dir.join("schemathesis.toml"), schemathesis_config(&doc)).unwrap();
    let served = serve();
    // Bounded: few examples per operation, a fixed seed (the same run each time), and a
    // watchdog far above what it takes on a loaded 2-core machine.
    let mut run = Command::new("schemathesis")
        .args(["--no-color", "--config-file", "schemathesis.toml", "run", "openapi.json"])
        .args(["--url", &format!("http://{}", served.addr)])
        // One worker: CPython 3.11's parser is not thread-safe ("AST constructor recursion
        // depth mismatch" inside hypothesis when two workers parse at once).
        .args(["--max-examples", "10", "--seed", "15", "--workers", "1"])
        .args(["--request-timeout", "30", "--report", "junit", "--report-dir", "report"])
        .current_dir(&dir)
        .stdout(std::fs::File::create(dir.join("output.txt")).unwrap())
        .stderr(std::fs::File::create(dir.join("errors.txt")).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(600);
    let status = loop {
        if let Some(status) = run.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = run.kill();
            panic!("schemathesis did not finish within 10 minutes");
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    let text = std::fs::read_to_string(dir.join("output.txt")).unwrap();
    assert!(status.success(), "schemathesis found problems:\n{text}");
    // Every operation of the document (each dialect's updates, reads and token endpoint).
    let tested = format!("Tested: {}", operations(&doc).len());
    assert!(
        text.contains(&tested),
        "every operation (updates and reads) was tested ({tested}):\n{text}"
    );
    drop(served);
}
