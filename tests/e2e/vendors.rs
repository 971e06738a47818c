//! Stateful upstream stand-ins that behave as each VENDOR documents
//! (`docs/vendors/<id>.md`: Update, Semantics and Errors for the update call, Retrieve for the
//! retrieve call), not as the gateway's dialect definitions say: the gateway is tested against
//! them.
//!
//! One engine serves all six: a table of per-vendor rules ([`VENDORS`]: routes, credential,
//! envelope, refusals, merge rules) and one set of error shapes ([`Vendor::error`]). Each store
//! is a [`harness::Upstream`] whose answer function applies those rules to a record map, so
//! every request is also recorded.
//!
//! The stand-ins' own choices where the vendors' documents are silent: timestamps in records are
//! left as given (stored records stay comparable with literal values); an unknown route answers
//! `404 text/plain`; Elastic Path answers a missing `type` 422 (as seen on create) and other
//! validation errors 400; AximCommerce and Checkout Page store members they do not document; a
//! credential is checked for presence only; ids in update bodies never change a record.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use dialectgate_gateway::{CredentialMode, Overrides};
use serde_json::{Map, Value, json};

use crate::harness::{self, Recorded, Reply, Upstream};

/// One request as a store saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    /// Header names in lower case.
    pub headers: HashMap<String, String>,
    /// The body as JSON, or `Null` when empty or not JSON.
    pub body: Value,
}

impl Seen {
    /// A header, by lower-case name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

/// A stateful stand-in for one vendor's customer API on a loopback port.
pub struct VendorStore {
    upstream: Upstream,
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    records: BTreeMap<String, Value>,
    reads: usize,
    writes: usize,
    failing_reads: Option<(u16, Value)>,
}

impl VendorStore {
    /// A store speaking `dialect` ("elasticpath" | "microbase" | "axim" | "medusa" |
    /// "checkoutpage" | "spree" | "canonical") on a loopback port, holding `records`: (id,
    /// record), the record being the vendor's own customer object as its retrieve call answers
    /// it inside the envelope (EP: the `data` object; MicroBase: `customer`; Axim: `data`;
    /// Medusa: `customer`; Checkout Page: `data`; Spree: the JSON:API `data` object; canonical:
    /// the Customer document).
    pub async fn start(dialect: &str, records: Vec<(String, Value)>) -> VendorStore {
        let vendor = VENDORS
            .iter()
            .find(|v| v.dialect == dialect)
            .unwrap_or_else(|| panic!("no vendor store for {dialect}"));
        let state = Arc::new(Mutex::new(State {
            records: records.into_iter().collect(),
            ..State::default()
        }));
        let shared = state.clone();
        let upstream =
            Upstream::start(move |req| vendor.handle(&mut shared.lock().unwrap(), &seen(req))).await;
        VendorStore { upstream, state }
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        self.upstream.url()
    }

    /// The stored record `id`, as the retrieve call would answer it inside the envelope.
    pub fn record(&self, id: &str) -> Option<Value> {
        self.state.lock().unwrap().records.get(id).cloned()
    }

    /// Retrieve calls answered (any status).
    pub fn reads(&self) -> usize {
        self.state.lock().unwrap().reads
    }

    /// Update calls that changed the store.
    pub fn writes(&self) -> usize {
        self.state.lock().unwrap().writes
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.upstream.seen().iter().map(seen).collect()
    }

    /// Forgets the requests seen so far (counts and records are kept).
    pub fn clear_seen(&self) {
        self.upstream.clear();
    }

    /// From now on, retrieve calls answer `status` with `body` (the vendor's own error body)
    /// instead.
    pub fn fail_reads(&self, status: u16, body: Value) {
        self.state.lock().unwrap().failing_reads = Some((status, body));
    }
}

fn seen(r: &Recorded) -> Seen {
    Seen {
        method: r.method.clone(),
        path: r.path.clone(),
        headers: r.headers.clone(),
        body: serde_json::from_slice(&r.body).unwrap_or(Value::Null),
    }
}

/// The two calls each vendor documents.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Op {
    Retrieve,
    Update,
}

/// A vendor route: method (`None`: any verb, as MicroBase) and path; `{id}` stands for the
/// customer id, which is otherwise the body member `id`.
struct Route {
    method: Option<&'static str>,
    path: &'static str,
}

/// The vendor's credential header.
enum Credential {
    /// `Authorization: Bearer <token>`.
    Bearer,
    /// `accessToken: <token>` (bare or with `Bearer `).
    AccessToken,
    /// `x-medusa-access-token: <token>` or `Authorization: Bearer <token>`.
    MedusaToken,
}

/// Which update members a vendor looks at.
enum Accepts {
    /// Any member is stored.
    Any,
    /// Only these; any other member is refused (Medusa's `forbidNonWhitelisted`).
    OnlyRefusing(&'static [&'static str]),
    /// Only these; any other member is ignored (MicroBase assigns named fields only).
    OnlyIgnoring(&'static [&'static str]),
}

/// What is kept of a write-only secret member.
enum Secret {
    /// Nothing (Medusa `password`: hashed, never answered).
    Nothing,
    /// `true` once set (Elastic Path `password`).
    SetFlag,
}

/// How an accepted update is applied to the stored record.
enum Merge {
    /// Each supplied top-level member replaces the stored one (objects and lists in full).
    TopLevel,
    /// RFC 7396 JSON merge patch (canonical).
    MergePatch,
}

/// One vendor's documented rules.
struct Vendor {
    dialect: &'static str,
    retrieve: Route,
    update: Route,
    credential: Credential,
    /// The member of the success answer holding the record (`None`: the record is the answer).
    envelope: Option<&'static str>,
    /// Members the success answer carries beside the record, as a JSON object's text.
    answer_extra: &'static str,
    /// The member of the update body holding the attributes, and the `type` it must carry if
    /// any (Elastic Path: `{"data":{"type":"customer",…}}`; Spree: `{"user":{…}}`).
    body_in: Option<(&'static str, Option<&'static str>)>,
    /// The member of the stored record the attributes live in (Spree's JSON:API
    /// `attributes`), when not at its top level.
    attributes_in: Option<&'static str>,
    /// The update body's content type must be this.
    content_type: Option<&'static str>,
    accepts: Accepts,
    /// Members every update must carry as strings (AximCommerce).
    required: &'static [&'static str],
    /// An update without any member is refused (Checkout Page).
    refuse_empty: bool,
    /// Members whose value must be one of these (MicroBase `status`).
    enums: &'static [(&'static str, &'static [&'static str])],
    /// Falsy values (`""`, null, 0, false) are ignored (MicroBase).
    ignore_falsy: bool,
    /// A write-only member and what the record keeps of it.
    secret: Option<(&'static str, Secret)>,
    /// Object members merged key by key, a value `""` deleting the key (Medusa `metadata`).
    merged_by_key: &'static [&'static str],
    /// The stored record member that, when true, forbids changing `email` (Medusa
    /// `has_account`).
    email_locked_by: Option<&'static str>,
    merge: Merge,
}

/// The seven vendors, per docs/vendors/<id>.md.
static VENDORS: [Vendor; 7] = [
    // elasticpath.md: PUT merges attributes; password write-only; 404 in the errors envelope.
    Vendor {
        dialect: "elasticpath",
        retrieve: Route {
            method: Some("GET"),
            path: "/v2/customers/{id}",
        },
        update: Route {
            method: Some("PUT"),
            path: "/v2/customers/{id}",
        },
        credential: Credential::Bearer,
        envelope: Some("data"),
        answer_extra: "{}",
        body_in: Some(("data", Some("customer"))),
        attributes_in: None,
        content_type: None,
        accepts: Accepts::Any,
        required: &[],
        refuse_empty: false,
        enums: &[],
        ignore_falsy: false,
        secret: Some(("password", Secret::SetFlag)),
        merged_by_key: &[],
        email_locked_by: None,
        merge: Merge::TopLevel,
    },
    // microbase.md: RPC calls on any verb, id in the body; falsy values ignored; errors as 200
    // ok:false.
    Vendor {
        dialect: "microbase",
        retrieve: Route {
            method: None,
            path: "/services/customer/v1/customer.info",
        },
        update: Route {
            method: None,
            path: "/services/customer/v1/customer.update",
        },
        credential: Credential::Bearer,
        envelope: Some("customer"),
        answer_extra: r#"{"ok": true}"#,
        body_in: None,
        attributes_in: None,
        content_type: None,
        accepts: Accepts::OnlyIgnoring(&["email", "firstName", "lastName", "status", "tags"]),
        required: &[],
        refuse_empty: false,
        enums: &[("status", &["ACTIVE", "INACTIVE"])],
        ignore_falsy: true,
        secret: None,
        merged_by_key: &[],
        email_locked_by: None,
        merge: Merge::TopLevel,
    },
    // axim.md: PUT needs firstName, lastName, email; supplied members (lists too) replace.
    Vendor {
        dialect: "axim",
        retrieve: Route {
            method: Some("GET"),
            path: "/customers/{id}",
        },
        update: Route {
            method: Some("PUT"),
            path: "/customers/{id}",
        },
        credential: Credential::AccessToken,
        envelope: Some("data"),
        answer_extra: r#"{"success": true, "message": "Customer updated successfully"}"#,
        body_in: None,
        attributes_in: None,
        content_type: None,
        accepts: Accepts::Any,
        required: &["firstName", "lastName", "email"],
        refuse_empty: false,
        enums: &[],
        ignore_falsy: false,
        secret: None,
        merged_by_key: &[],
        email_locked_by: None,
        merge: Merge::TopLevel,
    },
    // medusa.md: whitelisted properties; metadata merged key by key; password never kept.
    Vendor {
        dialect: "medusa",
        retrieve: Route {
            method: Some("GET"),
            path: "/admin/customers/{id}",
        },
        update: Route {
            method: Some("POST"),
            path: "/admin/customers/{id}",
        },
        credential: Credential::MedusaToken,
        envelope: Some("customer"),
        answer_extra: "{}",
        body_in: None,
        attributes_in: None,
        content_type: None,
        accepts: Accepts::OnlyRefusing(&[
            "email",
            "first_name",
            "last_name",
            "password",
            "phone",
            "metadata",
            "groups",
        ]),
        required: &[],
        refuse_empty: false,
        enums: &[],
        ignore_falsy: false,
        secret: Some(("password", Secret::Nothing)),
        merged_by_key: &["metadata"],
        email_locked_by: Some("has_account"),
        merge: Merge::TopLevel,
    },
    // checkoutpage.md: top-level merge, address and shipping replaced in full; empty body refused.
    Vendor {
        dialect: "checkoutpage",
        retrieve: Route {
            method: Some("GET"),
            path: "/v1/customers/{id}",
        },
        update: Route {
            method: Some("PATCH"),
            path: "/v1/customers/{id}",
        },
        credential: Credential::Bearer,
        envelope: Some("data"),
        answer_extra: "{}",
        body_in: None,
        attributes_in: None,
        content_type: None,
        accepts: Accepts::Any,
        required: &[],
        refuse_empty: true,
        enums: &[],
        ignore_falsy: false,
        secret: None,
        merged_by_key: &[],
        email_locked_by: None,
        merge: Merge::TopLevel,
    },
    // spree.md: {"user": {…}} assigns only the permitted attributes sent (others dropped by
    // strong parameters); the answer is the JSON:API document {"data": {id, type, attributes,
    // relationships}}; the password is never answered.
    Vendor {
        dialect: "spree",
        retrieve: Route {
            method: Some("GET"),
            path: "/api/v2/platform/users/{id}",
        },
        update: Route {
            method: Some("PATCH"),
            path: "/api/v2/platform/users/{id}",
        },
        credential: Credential::Bearer,
        envelope: Some("data"),
        answer_extra: "{}",
        body_in: Some(("user", None)),
        attributes_in: Some("attributes"),
        content_type: None,
        accepts: Accepts::OnlyIgnoring(&[
            "email",
            "first_name",
            "last_name",
            "password",
            "password_confirmation",
            "selected_locale",
            "ship_address_id",
            "bill_address_id",
            "public_metadata",
            "private_metadata",
        ]),
        required: &[],
        refuse_empty: false,
        enums: &[],
        ignore_falsy: false,
        secret: Some(("password", Secret::Nothing)),
        merged_by_key: &[],
        email_locked_by: None,
        merge: Merge::TopLevel,
    },
    // The canonical upstream: RFC 7396 merge patch, problem+json errors.
    Vendor {
        dialect: "canonical",
        retrieve: Route {
            method: Some("GET"),
            path: "/customers/{id}",
        },
        update: Route {
            method: Some("PATCH"),
            path: "/customers/{id}",
        },
        credential: Credential::Bearer,
        envelope: None,
        answer_extra: "{}",
        body_in: None,
        attributes_in: None,
        content_type: Some("application/merge-patch+json"),
        accepts: Accepts::Any,
        required: &[],
        refuse_empty: false,
        enums: &[],
        ignore_falsy: false,
        secret: None,
        merged_by_key: &[],
        email_locked_by: None,
        merge: Merge::MergePatch,
    },
];

/// Why a store refuses a request.
enum Refusal {
    Unauthorized,
    NotFound(String),
    /// A validation error: the member concerned (if any) and the vendor's message.
    Invalid(Option<String>, String),
    UnsupportedMediaType,
}

impl Route {
    /// The customer id in the path (`Some("")` for a route without `{id}`), when `req` is on
    /// this route.
    fn matches<'r>(&self, req: &'r Seen) -> Option<&'r str> {
        if self.method.is_some_and(|m| m != req.method) {
            return None;
        }
        match self.path.split_once("{id}") {
            Some((before, after)) => req
                .path
                .strip_prefix(before)
                .and_then(|rest| rest.strip_suffix(after))
                .filter(|id| !id.is_empty() && !id.contains('/')),
            None => (req.path == self.path).then_some(""),
        }
    }
}

impl Vendor {
    fn handle(&self, state: &mut State, req: &Seen) -> Reply {
        let (op, path_id) = match (self.retrieve.matches(req), self.update.matches(req)) {
            (Some(id), _) => (Op::Retrieve, id),
            (None, Some(id)) => (Op::Update, id),
            (None, None) => return (404, "text/plain", b"no such route".to_vec()),
        };
        if op == Op::Retrieve {
            state.reads += 1;
        }
        if !self.authorized(req) {
            return self.error(Refusal::Unauthorized);
        }
        if let (Op::Retrieve, Some((status, body))) = (op, &state.failing_reads) {
            return (*status, "application/json", serde_json::to_vec(body).unwrap());
        }
        match self.answer(state, op, path_id, req) {
            Ok(record) => {
                let mut body = match self.envelope {
                    Some(member) => json!({ member: record }),
                    None => record,
                };
                let extra: Map<String, Value> = serde_json::from_str(self.answer_extra).unwrap();
                if let Value::Object(map) = &mut body {
                    map.extend(extra);
                }
                (200, "application/json", serde_json::to_vec(&body).unwrap())
            }
            Err(refusal) => self.error(refusal),
        }
    }

    /// The record to answer (for an authorized request), after applying the update `req` for
    /// [`Op::Update`].
    fn answer(&self, state: &mut State, op: Op, path_id: &str, req: &Seen) -> Result<Value, Refusal> {
        let id = if path_id.is_empty() {
            match req.body.get("id").and_then(Value::as_str) {
                Some(id) => id.to_owned(),
                None => {
                    return Err(Refusal::Invalid(
                        Some("id".into()),
                        "payload: should have required property 'id'".into(),
                    ));
                }
            }
        } else {
            path_id.to_owned()
        };
        let members = match op {
            Op::Retrieve => Map::new(),
            Op::Update => self.update_members(req)?,
        };
        let Some(stored) = state.records.get_mut(&id) else {
            return Err(Refusal::NotFound(id));
        };
        if op == Op::Update {
            if let Some(flag) = self.email_locked_by
                && members.contains_key("email")
                && stored[flag] == true
            {
                return Err(Refusal::Invalid(
                    Some("email".into()),
                    "Email cannot be changed when the user has registered their account".into(),
                ));
            }
            let before = stored.clone();
            self.apply(stored, members);
            if *stored != before {
                state.writes += 1;
            }
        }
        Ok(stored.clone())
    }

    fn authorized(&self, req: &Seen) -> bool {
        let bearer = || {
            req.header("authorization")
                .and_then(|v| v.strip_prefix("Bearer "))
                .is_some_and(|t| !t.trim().is_empty())
        };
        let present = |name| req.header(name).is_some_and(|v| !v.trim().is_empty());
        match self.credential {
            Credential::Bearer => bearer(),
            Credential::AccessToken => present("accesstoken"),
            Credential::MedusaToken => present("x-medusa-access-token") || bearer(),
        }
    }

    /// The update's members, once the vendor's refusal rules have passed.
    fn update_members(&self, req: &Seen) -> Result<Map<String, Value>, Refusal> {
        if let Some(expected) = self.content_type {
            let got = req.header("content-type").unwrap_or("");
            if got.split(';').next().map(str::trim) != Some(expected) {
                return Err(Refusal::UnsupportedMediaType);
            }
        }
        let body = match (&req.body, self.refuse_empty) {
            (Value::Null, true) => Map::new(),
            (Value::Object(map), _) => map.clone(),
            _ => return Err(Refusal::Invalid(None, "the body must be a JSON object".into())),
        };
        let mut members = match self.body_in {
            Some((member, tag)) => {
                let Some(Value::Object(inner)) = body.get(member) else {
                    return Err(Refusal::Invalid(
                        Some(member.into()),
                        format!("{member} is required"),
                    ));
                };
                if let Some(tag) = tag
                    && inner.get("type").and_then(Value::as_str) != Some(tag)
                {
                    return Err(Refusal::Invalid(Some("type".into()), "type is required".into()));
                }
                let mut inner = inner.clone();
                inner.remove("type");
                inner
            }
            None => body,
        };
        // An id is never changed by an update; MicroBase's names the record.
        members.remove("id");
        if self.refuse_empty && members.is_empty() {
            return Err(Refusal::Invalid(None, "Request body must not be empty".into()));
        }
        match self.accepts {
            Accepts::OnlyRefusing(allowed) => {
                let unknown: Vec<String> = members
                    .keys()
                    .filter(|k| !allowed.contains(&k.as_str()))
                    .map(|k| format!("property {k} should not exist"))
                    .collect();
                if !unknown.is_empty() {
                    return Err(Refusal::Invalid(None, unknown.join(", ")));
                }
            }
            Accepts::OnlyIgnoring(allowed) => members.retain(|k, _| allowed.contains(&k.as_str())),
            Accepts::Any => {}
        }
        for member in self.required {
            if !members.get(*member).is_some_and(Value::is_string) {
                return Err(Refusal::Invalid(
                    Some((*member).into()),
                    format!("{member} is required"),
                ));
            }
        }
        for (member, values) in self.enums {
            if let Some(v) = members.get(*member).and_then(Value::as_str)
                && !v.is_empty()
                && !values.contains(&v)
            {
                return Err(Refusal::Invalid(
                    Some((*member).into()),
                    format!("{member}: `{v}` is not a valid enum value for path `{member}`."),
                ));
            }
        }
        Ok(members)
    }

    /// Applies accepted `members` to the `stored` record.
    fn apply(&self, stored: &mut Value, members: Map<String, Value>) {
        if let Merge::MergePatch = self.merge {
            merge_patch(stored, &Value::Object(members));
            return;
        }
        let stored = match self.attributes_in {
            Some(member) => &mut stored[member],
            None => stored,
        };
        let Value::Object(record) = stored else {
            return;
        };
        for (key, value) in members {
            if self.ignore_falsy && falsy(&value) {
                continue;
            }
            match &self.secret {
                Some((secret, Secret::Nothing)) if *secret == key => continue,
                Some((secret, Secret::SetFlag)) if *secret == key => {
                    record.insert(key, true.into());
                    continue;
                }
                _ => {}
            }
            match (self.merged_by_key.contains(&key.as_str()), value) {
                (true, Value::Object(changes)) => {
                    let bag = record.entry(key).or_insert_with(|| json!({}));
                    if !bag.is_object() {
                        *bag = json!({});
                    }
                    if let Value::Object(bag) = bag {
                        for (k, v) in changes {
                            if v == "" {
                                bag.remove(&k);
                            } else {
                                bag.insert(k, v);
                            }
                        }
                    }
                }
                (_, value) => {
                    record.insert(key, value);
                }
            }
        }
    }

    /// The vendor's own error answer.
    fn error(&self, refusal: Refusal) -> Reply {
        let json =
            |status: u16, body: Value| (status, "application/json", serde_json::to_vec(&body).unwrap());
        match (self.dialect, refusal) {
            ("elasticpath", Refusal::Unauthorized) => json(
                401,
                json!({"errors": [{"status": 401, "title": "Unable to validate access token"}]}),
            ),
            ("elasticpath", Refusal::NotFound(_)) => json(
                404,
                json!({"errors": [{"status": 404, "title": "Customer not found",
                                   "detail": "The requested customer could not be found"}]}),
            ),
            ("elasticpath", Refusal::Invalid(member, detail)) => {
                // A missing `type` was seen answering 422; other validation errors are 400.
                let status = if member.as_deref() == Some("type") {
                    422
                } else {
                    400
                };
                let title = if member.is_some() { "required" } else { "invalid" };
                json(
                    status,
                    json!({"errors": [{"status": status, "source": member.unwrap_or_default(),
                                       "title": title, "detail": detail}]}),
                )
            }
            ("microbase", Refusal::Unauthorized) => json(401, json!({"ok": false, "error": "invalid_token"})),
            ("microbase", Refusal::NotFound(id)) => json(
                200,
                json!({"ok": false, "error": "customer_not_found", "data": {"id": id}}),
            ),
            ("microbase", Refusal::Invalid(_, detail)) => json(
                200,
                json!({"ok": false, "error": "validation_error", "data": [detail]}),
            ),
            ("axim", Refusal::Unauthorized) => {
                json(401, json!({"success": false, "message": "Unauthorized"}))
            }
            ("axim", Refusal::NotFound(_)) => {
                json(404, json!({"success": false, "message": "Customer not found"}))
            }
            ("axim", Refusal::Invalid(_, message)) => {
                json(400, json!({"success": false, "message": message}))
            }
            ("medusa", Refusal::Unauthorized) => (401, "text/plain", b"Unauthorized".to_vec()),
            ("medusa", Refusal::NotFound(id)) => json(
                404,
                json!({"type": "not_found", "message": format!("Customer with id: {id} was not found")}),
            ),
            ("medusa", Refusal::Invalid(_, message)) => {
                json(400, json!({"type": "invalid_data", "message": message}))
            }
            ("checkoutpage", Refusal::Unauthorized) => json(
                401,
                json!({"status": "error", "type": "error", "error": "Unauthorized",
                       "message": "Missing or invalid API key", "errors": []}),
            ),
            ("checkoutpage", Refusal::NotFound(id)) => json(
                404,
                json!({"status": "error", "type": "error", "message": "Not Found",
                       "errors": [{"param": "customerId", "message": "Customer not found", "value": id}]}),
            ),
            ("checkoutpage", Refusal::Invalid(member, message)) => json(
                400,
                json!({"status": "error", "type": "error", "message": message,
                       "errors": [{"param": member, "message": message, "value": null}]}),
            ),
            // spree.md#errors: {error}, a 422 adding errors by attribute; JSON:API's media type.
            ("spree", refusal) => {
                let (status, body) = match refusal {
                    Refusal::Unauthorized => (401, json!({"error": "The access token is invalid"})),
                    Refusal::NotFound(_) => (
                        404,
                        json!({"error": "The resource you were looking for could not be found."}),
                    ),
                    Refusal::Invalid(member, message) => (
                        422,
                        json!({"error": message, "errors": {member.unwrap_or_else(|| "base".into()): [message]}}),
                    ),
                    Refusal::UnsupportedMediaType => {
                        (415, json!({"status": 415, "error": "Unsupported Media Type"}))
                    }
                };
                (
                    status,
                    "application/vnd.api+json",
                    serde_json::to_vec(&body).unwrap(),
                )
            }
            (_, refusal) => {
                let (status, title, detail) = match refusal {
                    Refusal::Unauthorized => (401, "Unauthorized", "a bearer token is required".to_owned()),
                    Refusal::NotFound(id) => (404, "Not Found", format!("no customer {id}")),
                    Refusal::UnsupportedMediaType => (
                        415,
                        "Unsupported Media Type",
                        "the body must be application/merge-patch+json".to_owned(),
                    ),
                    Refusal::Invalid(_, detail) => (400, "Bad Request", detail),
                };
                (
                    status,
                    "application/problem+json",
                    serde_json::to_vec(&json!({"type": "about:blank", "title": title,
                                               "status": status, "detail": detail}))
                    .unwrap(),
                )
            }
        }
    }
}

/// JavaScript falsiness, as MicroBase's `msg.x || customer.x` tests it.
fn falsy(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(_) | Value::Object(_) => false,
    }
}

/// RFC 7396 JSON merge patch.
fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = json!({});
    }
    if let Value::Object(target) = target {
        for (k, v) in patch {
            if v.is_null() {
                target.remove(k);
            } else {
                merge_patch(target.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
    }
}

/// A record of each vendor, with literal values from docs/vendors/<id>.md (its id first).
pub fn sample(dialect: &str) -> (String, Value) {
    let record = match dialect {
        "elasticpath" => json!({
            "type": "customer", "id": "c1", "name": "Ron Swanson", "email": "ron@swanson.com",
            "password": true, "external_ref": "crm-0001",
            "meta": {"timestamps": {"created_at": "2017-01-11T18:44:45Z", "updated_at": "2017-01-11T18:44:45Z"}}
        }),
        "microbase" => json!({
            "id": "HkhhuXESl", "email": "ron@swanson.com", "firstName": "Ron", "lastName": "Swanson",
            "status": "ACTIVE", "tags": ["vip"],
            "addresses": [{"name": "Home", "firstName": "Ron", "lastName": "Swanson", "address_1": "1 Main St",
                           "address_2": "", "postCode": "46001", "city": "Pawnee", "state": "IN", "country": "US",
                           "company": "", "phone": 2_173_203_531_u64, "instructions": "", "id": "addr1"}]
        }),
        "axim" => json!({
            "id": "c1", "email": "ron@swanson.com", "firstName": "Ron", "lastName": "Swanson",
            "phoneNumber": "2173203531", "role": "role1", "company": "comp1", "status": "active",
            "verifiedEmail": true, "newsletter": false, "isB2B": false,
            "metaFields": [{"code": "tier", "value": "gold"}], "createdBy": {},
            "createdAt": "2024-01-10T09:00:00Z", "updatedAt": "2024-01-10T09:00:00Z",
            "address": [{"firstName": "Ron", "lastName": "Swanson", "phoneNumber": "2173203531",
                         "address1": "1 Main St", "address2": "", "city": "Pawnee", "state": "IN",
                         "country": "US", "zipcode": "46001", "isDefaultAddress": true}]
        }),
        "medusa" => json!({
            "id": "cus_123", "created_at": "2024-01-10T09:00:00Z", "updated_at": "2024-01-10T09:00:00Z",
            "deleted_at": null, "email": "ron@swanson.com", "first_name": "Ron", "last_name": "Swanson",
            "billing_address_id": null, "phone": "2173203531", "has_account": false,
            "metadata": {"source": "crm", "tier": "gold"}, "orders": [], "shipping_addresses": []
        }),
        "checkoutpage" => json!({
            "id": "c1", "name": "Ron Swanson", "companyName": "Very Good Building", "email": "ron@swanson.com",
            "phone": "2173203531", "billingEmail": null,
            "address": {"line1": "1 Main St", "line2": null, "city": "Pawnee", "state": "IN",
                        "postalCode": "46001", "country": "US"},
            "shipping": {"name": "Ron Swanson", "phone": null,
                         "address": {"line1": "1 Main St", "line2": null, "city": "Pawnee", "state": "IN",
                                     "postalCode": "46001", "country": "US"}},
            "taxId": null, "taxIdType": null, "sellerId": "sel_1", "stripeCustomerId": "cus_stripe_1",
            "createdAt": "2019-08-24T14:15:22Z", "updatedAt": "2019-08-24T14:15:22Z"
        }),
        // The JSON:API `data` object, as spree.md#answer documents it.
        "spree" => json!({
            "id": "144", "type": "user",
            "attributes": {
                "email": "ron@swanson.com", "first_name": "Ron", "last_name": "Swanson",
                "selected_locale": "en", "created_at": "2022-11-08T19:35:55.180Z",
                "updated_at": "2022-11-08T19:35:55.414Z", "public_metadata": {}, "private_metadata": {},
                "average_order_value": [], "lifetime_value": [], "store_credits": []
            },
            "relationships": {"bill_address": {"data": null}, "ship_address": {"data": null}}
        }),
        "canonical" => dialectgate_gateway::fixtures().remove(0),
        other => panic!("no sample for {other}"),
    };
    (record["id"].as_str().unwrap().to_owned(), record)
}

/// A store of `dialect` holding its [`sample`].
async fn sample_store(dialect: &str) -> (VendorStore, String, Value) {
    let (id, record) = sample(dialect);
    let store = VendorStore::start(dialect, vec![(id.clone(), record.clone())]).await;
    (store, id, record)
}

/// The vendor's credential header, as a client of it sends one.
fn credential(dialect: &str) -> (&'static str, &'static str) {
    match dialect {
        "axim" => ("accessToken", "tok"),
        "medusa" => ("x-medusa-access-token", "tok"),
        _ => ("authorization", "Bearer tok"),
    }
}

/// A raw call to `store` with the vendor's credential (or none) and a JSON body (or none).
async fn raw(
    store: &VendorStore,
    dialect: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
    authorized: bool,
) -> harness::Answer {
    let content_type = if dialect == "canonical" {
        "application/merge-patch+json"
    } else {
        "application/json"
    };
    let mut req = harness::client().request(method.parse().unwrap(), format!("{}{path}", store.url()));
    if authorized {
        let (name, value) = credential(dialect);
        req = req.header(name, value);
    }
    if let Some(body) = body {
        req = req
            .header("content-type", content_type)
            .body(serde_json::to_vec(&body).unwrap());
    }
    harness::answer(req.send().await.unwrap()).await
}

/// `body` is a valid success answer of `dialect` (`schemas/<dialect>/response.json`; canonical:
/// the Customer schema), so the gateway accepts it from an upstream.
fn assert_valid_answer(dialect: &str, body: &Value) {
    let file = if dialect == "canonical" {
        "customer.json"
    } else {
        "response.json"
    };
    let path = format!("schemas/{dialect}/{file}");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator.iter_errors(body).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{path}: {errors:?} in {body}");
}

/// `record` with `changes` set at the top level.
fn with(record: &Value, changes: Value) -> Value {
    let mut record = record.clone();
    for (k, v) in changes.as_object().unwrap() {
        record[k] = v.clone();
    }
    record
}

const DIALECT_STORES: [&str; 7] = [
    "elasticpath",
    "microbase",
    "axim",
    "medusa",
    "checkoutpage",
    "spree",
    "canonical",
];

/// The retrieve request of each store for customer `id`: method, path, body.
fn retrieve(dialect: &str, id: &str) -> (&'static str, String, Option<Value>) {
    match dialect {
        "elasticpath" => ("GET", format!("/v2/customers/{id}"), None),
        "microbase" => (
            "POST",
            "/services/customer/v1/customer.info".into(),
            Some(json!({"id": id})),
        ),
        "axim" => ("GET", format!("/customers/{id}"), None),
        "medusa" => ("GET", format!("/admin/customers/{id}"), None),
        "checkoutpage" => ("GET", format!("/v1/customers/{id}"), None),
        "spree" => ("GET", format!("/api/v2/platform/users/{id}"), None),
        _ => ("GET", format!("/customers/{id}"), None),
    }
}

#[tokio::test]
async fn every_store_answers_its_retrieve_call_in_the_vendors_envelope() {
    for dialect in DIALECT_STORES {
        let (store, id, record) = sample_store(dialect).await;
        let (method, path, body) = retrieve(dialect, &id);
        let got = raw(&store, dialect, method, &path, body, true).await;
        assert_eq!(
            got.status,
            200,
            "{dialect}: {}",
            String::from_utf8_lossy(&got.body)
        );
        let got = got.json();
        assert_valid_answer(dialect, &got);
        let inside = match dialect {
            "microbase" | "medusa" => &got["customer"],
            "canonical" => &got,
            _ => &got["data"],
        };
        assert_eq!(inside, &record, "{dialect}");
        match dialect {
            "microbase" => assert_eq!(got["ok"], true),
            "axim" => assert_eq!(got["success"], true),
            _ => {}
        }
        assert_eq!((store.reads(), store.writes()), (1, 0), "{dialect}");
        assert_eq!(store.record(&id), Some(record), "{dialect}");
    }
}

#[tokio::test]
async fn every_store_refuses_a_call_without_its_credential_in_its_own_shape() {
    for dialect in DIALECT_STORES {
        let (store, id, record) = sample_store(dialect).await;
        let (method, path, body) = retrieve(dialect, &id);
        let got = raw(&store, dialect, method, &path, body, false).await;
        assert_eq!(got.status, 401, "{dialect}");
        let expected = match dialect {
            "elasticpath" => {
                Some(json!({"errors": [{"status": 401, "title": "Unable to validate access token"}]}))
            }
            "microbase" => Some(json!({"ok": false, "error": "invalid_token"})),
            "axim" => Some(json!({"success": false, "message": "Unauthorized"})),
            "medusa" => None,
            "checkoutpage" => Some(
                json!({"status": "error", "type": "error", "error": "Unauthorized",
                                          "message": "Missing or invalid API key", "errors": []}),
            ),
            "spree" => Some(json!({"error": "The access token is invalid"})),
            _ => Some(
                json!({"type": "about:blank", "title": "Unauthorized", "status": 401,
                             "detail": "a bearer token is required"}),
            ),
        };
        match expected {
            Some(expected) => assert_eq!(got.json(), expected, "{dialect}"),
            None => {
                assert_eq!(got.header("content-type"), Some("text/plain"));
                assert_eq!(got.body, b"Unauthorized");
            }
        }
        // A write without the credential changes nothing either; the read was counted.
        let update = match dialect {
            "microbase" => (
                "POST",
                "/services/customer/v1/customer.update".to_owned(),
                json!({"id": id, "email": "x@example.com"}),
            ),
            "elasticpath" => (
                "PUT",
                path.clone(),
                json!({"data": {"type": "customer", "email": "x@example.com"}}),
            ),
            "axim" => (
                "PUT",
                path.clone(),
                json!({"firstName": "X", "lastName": "Y", "email": "x@example.com"}),
            ),
            "medusa" => ("POST", path.clone(), json!({"email": "x@example.com"})),
            "spree" => ("PATCH", path.clone(), json!({"user": {"email": "x@example.com"}})),
            _ => ("PATCH", path.clone(), json!({"email": "x@example.com"})),
        };
        let got = raw(&store, dialect, update.0, &update.1, Some(update.2), false).await;
        assert_eq!(got.status, 401, "{dialect}");
        assert_eq!((store.reads(), store.writes()), (1, 0), "{dialect}");
        assert_eq!(store.record(&id), Some(record), "{dialect}");
    }
}

#[tokio::test]
async fn every_store_answers_not_found_as_its_vendor_documents() {
    for dialect in DIALECT_STORES {
        let (store, _, _) = sample_store(dialect).await;
        let (method, path, body) = retrieve(dialect, "cus_nobody");
        let got = raw(&store, dialect, method, &path, body, true).await;
        let expected = match dialect {
            "elasticpath" => (
                404,
                json!({"errors": [{"status": 404, "title": "Customer not found",
                                                      "detail": "The requested customer could not be found"}]}),
            ),
            "microbase" => (
                200,
                json!({"ok": false, "error": "customer_not_found", "data": {"id": "cus_nobody"}}),
            ),
            "axim" => (404, json!({"success": false, "message": "Customer not found"})),
            "medusa" => (
                404,
                json!({"type": "not_found", "message": "Customer with id: cus_nobody was not found"}),
            ),
            "checkoutpage" => (
                404,
                json!({"status": "error", "type": "error", "message": "Not Found",
                                           "errors": [{"param": "customerId", "message": "Customer not found",
                                                       "value": "cus_nobody"}]}),
            ),
            "spree" => (
                404,
                json!({"error": "The resource you were looking for could not be found."}),
            ),
            _ => (
                404,
                json!({"type": "about:blank", "title": "Not Found", "status": 404,
                              "detail": "no customer cus_nobody"}),
            ),
        };
        assert_eq!((got.status, got.json()), expected, "{dialect}");
        assert_eq!(store.reads(), 1, "{dialect}");
    }
}

#[tokio::test]
async fn failing_reads_answer_the_given_error_and_writes_still_work() {
    let (store, id, record) = sample_store("medusa").await;
    let failure =
        json!({"code": "unknown_error", "type": "unknown_error", "message": "An unknown error occurred."});
    store.fail_reads(500, failure.clone());
    let got = raw(&store, "medusa", "GET", "/admin/customers/cus_123", None, true).await;
    assert_eq!((got.status, got.json()), (500, failure));
    assert_eq!(store.reads(), 1);
    let got = raw(
        &store,
        "medusa",
        "POST",
        "/admin/customers/cus_123",
        Some(json!({"phone": "555"})),
        true,
    )
    .await;
    assert_eq!(got.status, 200);
    assert_eq!(store.record(&id), Some(with(&record, json!({"phone": "555"}))));
    assert_eq!((store.reads(), store.writes()), (1, 1));
    // Every request was seen, with its method, path, headers and body; clear_seen forgets them.
    let seen = store.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(
        (seen[0].method.as_str(), seen[0].path.as_str(), &seen[0].body),
        ("GET", "/admin/customers/cus_123", &Value::Null)
    );
    assert_eq!(seen[1].body, json!({"phone": "555"}));
    assert_eq!(seen[1].header("x-medusa-access-token"), Some("tok"));
    store.clear_seen();
    assert!(store.seen().is_empty());
    assert_eq!((store.reads(), store.writes()), (1, 1));
}

#[tokio::test]
async fn elasticpath_merges_attributes_keeps_only_that_a_password_is_set_and_needs_the_type() {
    let (store, id, record) = sample_store("elasticpath").await;
    let path = format!("/v2/customers/{id}");
    let got = raw(
        &store,
        "elasticpath",
        "PUT",
        &path,
        Some(json!({"data": {"type": "customer", "email": "ron@swanson.com"}})),
        true,
    )
    .await;
    assert_eq!(got.status, 200);
    assert_eq!(store.writes(), 0, "the same email changes nothing");
    let mut stored = with(&record, json!({"password": false}));
    let store = VendorStore::start("elasticpath", vec![(id.clone(), stored.clone())]).await;
    let got = raw(
        &store,
        "elasticpath",
        "PUT",
        &path,
        Some(json!({"data": {"type": "customer", "name": "Leslie Knope", "password": "s3cret!"}})),
        true,
    )
    .await;
    assert_eq!(got.status, 200);
    stored = with(&stored, json!({"name": "Leslie Knope", "password": true}));
    assert_eq!(got.json(), json!({"data": stored}));
    assert_valid_answer("elasticpath", &got.json());
    assert_eq!(store.record(&id), Some(stored.clone()));
    assert!(!String::from_utf8_lossy(&got.body).contains("s3cret!"));
    // A body without `type: "customer"` is refused (422, as seen on create), nothing written.
    for body in [
        json!({"data": {"email": "x@example.com"}}),
        json!({"data": {"type": "product", "email": "x@example.com"}}),
        json!({"email": "x@example.com"}),
    ] {
        let got = raw(&store, "elasticpath", "PUT", &path, Some(body.clone()), true).await;
        assert!(matches!(got.status, 400 | 422), "{body}");
        assert_eq!(got.json()["errors"][0]["status"], got.status, "{body}");
    }
    assert_eq!(store.record(&id), Some(stored));
    assert_eq!(store.writes(), 1);
}

#[tokio::test]
async fn microbase_ignores_falsy_values_and_members_it_does_not_update() {
    let (store, id, record) = sample_store("microbase").await;
    let update = "/services/customer/v1/customer.update";
    let got = raw(
        &store,
        "microbase",
        "POST",
        update,
        Some(json!({
            "id": id, "firstName": "", "lastName": null, "status": "", "email": "leslie@pawnee.gov",
            "tags": [], "password": "s3cret!", "addresses": [], "phone": 0
        })),
        true,
    )
    .await;
    assert_eq!(got.status, 200);
    let expected = with(&record, json!({"email": "leslie@pawnee.gov", "tags": []}));
    assert_eq!(got.json(), json!({"ok": true, "customer": expected}));
    assert_valid_answer("microbase", &got.json());
    assert_eq!(store.record(&id), Some(expected.clone()));
    assert_eq!(store.writes(), 1);
    // Business errors are HTTP 200 with ok:false.
    let got = raw(
        &store,
        "microbase",
        "POST",
        update,
        Some(json!({"id": id, "status": "active"})),
        true,
    )
    .await;
    assert_eq!(
        (got.status, got.json()),
        (
            200,
            json!({"ok": false, "error": "validation_error",
        "data": ["status: `active` is not a valid enum value for path `status`."]})
        )
    );
    let got = raw(
        &store,
        "microbase",
        "POST",
        update,
        Some(json!({"email": "x@example.com"})),
        true,
    )
    .await;
    assert_eq!(
        (got.status, got.json()),
        (
            200,
            json!({"ok": false, "error": "validation_error",
        "data": ["payload: should have required property 'id'"]})
        )
    );
    let got = raw(
        &store,
        "microbase",
        "POST",
        update,
        Some(json!({"id": "nobody", "firstName": "X"})),
        true,
    )
    .await;
    assert_eq!(
        (got.status, got.json()["error"].clone()),
        (200, json!("customer_not_found"))
    );
    assert_eq!(store.record(&id), Some(expected));
    assert_eq!(store.writes(), 1);
}

#[tokio::test]
async fn axim_refuses_a_put_missing_a_required_member_and_replaces_lists_in_full() {
    let (store, id, record) = sample_store("axim").await;
    let path = format!("/customers/{id}");
    for missing in ["firstName", "lastName", "email"] {
        let mut body = json!({"firstName": "Leslie", "lastName": "Knope", "email": "leslie@pawnee.gov"});
        body.as_object_mut().unwrap().remove(missing);
        let got = raw(&store, "axim", "PUT", &path, Some(body), true).await;
        assert_eq!(
            (got.status, got.json()),
            (
                400,
                json!({"success": false, "message": format!("{missing} is required")})
            )
        );
    }
    assert_eq!((store.writes(), store.record(&id)), (0, Some(record.clone())));
    let address = json!([{"address1": "2 Park Ave", "city": "Eagleton", "country": "US"}]);
    let got = raw(
        &store,
        "axim",
        "PUT",
        &path,
        Some(json!({
            "firstName": "Leslie", "lastName": "Knope", "email": "leslie@pawnee.gov",
            "address": address, "metaFields": [{"code": "team", "value": "parks"}]
        })),
        true,
    )
    .await;
    assert_eq!(got.status, 200);
    let expected = with(
        &record,
        json!({"firstName": "Leslie", "lastName": "Knope", "email": "leslie@pawnee.gov",
                                        "address": address, "metaFields": [{"code": "team", "value": "parks"}]}),
    );
    assert_eq!(
        got.json(),
        json!({"success": true, "message": "Customer updated successfully", "data": expected})
    );
    assert_valid_answer("axim", &got.json());
    assert_eq!((store.writes(), store.record(&id)), (1, Some(expected)));
    // The token may come with the `Bearer ` prefix too.
    let got = harness::answer(
        harness::client()
            .get(format!("{}{path}", store.url()))
            .header("accessToken", "Bearer tok")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(got.status, 200);
}

#[tokio::test]
async fn medusa_refuses_unknown_properties_merges_metadata_and_never_keeps_a_password() {
    let (store, id, record) = sample_store("medusa").await;
    let path = format!("/admin/customers/{id}");
    let got = raw(
        &store,
        "medusa",
        "POST",
        &path,
        Some(json!({"billing_address": {"city": "Pawnee"}, "first_name": "Leslie"})),
        true,
    )
    .await;
    assert_eq!(
        (got.status, got.json()),
        (
            400,
            json!({"type": "invalid_data",
                                                       "message": "property billing_address should not exist"})
        )
    );
    assert_eq!(store.writes(), 0);
    let got = raw(
        &store,
        "medusa",
        "POST",
        &path,
        Some(json!({
            "first_name": "Leslie", "password": "s3cret!", "metadata": {"tier": "", "team": "parks"}
        })),
        true,
    )
    .await;
    assert_eq!(got.status, 200);
    let expected = with(
        &record,
        json!({"first_name": "Leslie", "metadata": {"source": "crm", "team": "parks"}}),
    );
    assert_eq!(got.json(), json!({"customer": expected}));
    assert_valid_answer("medusa", &got.json());
    assert_eq!((store.writes(), store.record(&id)), (1, Some(expected.clone())));
    // Authorization: Bearer is the other credential.
    let got = harness::answer(
        harness::client()
            .get(format!("{}{path}", store.url()))
            .bearer_auth("tok")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((got.status, got.json()), (200, json!({"customer": expected})));
    // A customer with an account keeps its email.
    let locked = with(&record, json!({"has_account": true}));
    let store = VendorStore::start("medusa", vec![(id.clone(), locked.clone())]).await;
    let got = raw(
        &store,
        "medusa",
        "POST",
        &path,
        Some(json!({"email": "leslie@pawnee.gov"})),
        true,
    )
    .await;
    assert_eq!(
        (got.status, got.json()),
        (
            400,
            json!({"type": "invalid_data",
        "message": "Email cannot be changed when the user has registered their account"})
        )
    );
    assert_eq!(store.record(&id), Some(locked));
}

#[tokio::test]
async fn checkoutpage_refuses_an_empty_body_and_replaces_address_and_shipping_in_full() {
    let (store, id, record) = sample_store("checkoutpage").await;
    let path = format!("/v1/customers/{id}");
    for body in [Some(json!({})), None] {
        let got = raw(&store, "checkoutpage", "PATCH", &path, body, true).await;
        assert_eq!(
            (
                got.status,
                got.json()["status"].clone(),
                got.json()["message"].clone()
            ),
            (400, json!("error"), json!("Request body must not be empty"))
        );
    }
    assert_eq!(store.writes(), 0);
    let got = raw(&store, "checkoutpage", "PATCH", &path, Some(json!({
        "companyName": "Pawnee Parks", "address": {"city": "Eagleton"}, "shipping": {"name": "Leslie Knope"}
    })), true).await;
    assert_eq!(got.status, 200);
    let expected = with(
        &record,
        json!({"companyName": "Pawnee Parks", "address": {"city": "Eagleton"},
                                        "shipping": {"name": "Leslie Knope"}}),
    );
    assert_eq!(got.json(), json!({"data": expected}));
    assert_valid_answer("checkoutpage", &got.json());
    assert_eq!((store.writes(), store.record(&id)), (1, Some(expected)));
}

#[tokio::test]
async fn canonical_applies_a_merge_patch_and_wants_its_media_type() {
    let (store, id, record) = sample_store("canonical").await;
    let path = format!("/customers/{id}");
    let got = raw(
        &store,
        "canonical",
        "PATCH",
        &path,
        Some(json!({"name": {"given": "Augusta"}, "notes": null, "tags": ["a"]})),
        true,
    )
    .await;
    assert_eq!(got.status, 200);
    let mut expected = with(&record, json!({"tags": ["a"]}));
    expected["name"]["given"] = json!("Augusta");
    expected.as_object_mut().unwrap().remove("notes");
    assert_eq!(got.json(), expected);
    assert_valid_answer("canonical", &got.json());
    assert_eq!((store.writes(), store.record(&id)), (1, Some(expected.clone())));
    let got = harness::answer(
        harness::client()
            .patch(format!("{}{path}", store.url()))
            .bearer_auth("tok")
            .header("content-type", "application/json")
            .body(r#"{"email":"x@example.com"}"#)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (got.status, got.header("content-type")),
        (415, Some("application/problem+json"))
    );
    assert_eq!((store.writes(), store.record(&id)), (1, Some(expected)));
}

/// A gateway in front of `store` (speaking `dialect`), presenting the static token `tok`.
async fn gateway_to_store(store: &VendorStore, dialect: &str) -> harness::Running {
    harness::start(harness::config(
        Overrides {
            upstream: Some(store.url()),
            upstream_dialect: Some(dialect.into()),
            credentials: Some(CredentialMode::Static),
            ..Overrides::default()
        },
        &[("DIALECTGATE_UPSTREAM_TOKEN", "tok")],
    ))
    .await
}

/// A full update from a `caller` of the gateway to a `dialect` store: the store's record ends as
/// `expected` (exactly), with one write, no read.
async fn full_update(dialect: &str, caller: &str, body: Value, changes: Value) {
    let (store, id, record) = sample_store(dialect).await;
    let gw = gateway_to_store(&store, dialect).await;
    let got = harness::send(&gw, caller, &id, &body).await;
    assert_eq!(
        got.status,
        200,
        "{caller} → {dialect}: {}",
        String::from_utf8_lossy(&got.body)
    );
    assert_eq!(
        store.record(&id),
        Some(with(&record, changes)),
        "{caller} → {dialect}"
    );
    assert_eq!((store.reads(), store.writes()), (0, 1), "{caller} → {dialect}");
    let seen = store.seen();
    assert_eq!(seen.len(), 1);
    let (name, value) = credential(dialect);
    let sent = seen[0].header(&name.to_ascii_lowercase()).unwrap_or_default();
    assert!(
        sent.ends_with("tok") && value.ends_with("tok"),
        "{caller} → {dialect}: {sent:?}"
    );
    gw.stop().await;
}

#[tokio::test]
async fn gateway_in_front_of_an_axim_store_carries_a_full_medusa_update() {
    full_update(
        "axim",
        "medusa",
        json!({"first_name": "Leslie", "last_name": "Knope", "email": "leslie@pawnee.gov"}),
        json!({"firstName": "Leslie", "lastName": "Knope", "email": "leslie@pawnee.gov"}),
    )
    .await;
}

#[tokio::test]
async fn gateway_in_front_of_an_elasticpath_store_carries_a_full_checkoutpage_update() {
    full_update(
        "elasticpath",
        "checkoutpage",
        json!({"name": "Leslie Knope", "email": "leslie@pawnee.gov"}),
        json!({"name": "Leslie Knope", "email": "leslie@pawnee.gov"}),
    )
    .await;
}

#[tokio::test]
async fn gateway_in_front_of_a_microbase_store_carries_a_full_medusa_update() {
    full_update(
        "microbase",
        "medusa",
        json!({"first_name": "Leslie", "last_name": "Knope", "email": "leslie@pawnee.gov"}),
        json!({"firstName": "Leslie", "lastName": "Knope", "email": "leslie@pawnee.gov"}),
    )
    .await;
}

#[tokio::test]
async fn gateway_in_front_of_a_medusa_store_carries_a_full_axim_update() {
    full_update(
        "medusa",
        "axim",
        json!({"firstName": "Leslie", "lastName": "Knope", "email": "leslie@pawnee.gov"}),
        json!({"first_name": "Leslie", "last_name": "Knope", "email": "leslie@pawnee.gov"}),
    )
    .await;
}

#[tokio::test]
async fn gateway_in_front_of_a_checkoutpage_store_carries_a_full_elasticpath_update() {
    full_update(
        "checkoutpage",
        "elasticpath",
        json!({"data": {"type": "customer", "name": "Leslie Knope", "email": "leslie@pawnee.gov"}}),
        json!({"name": "Leslie Knope", "email": "leslie@pawnee.gov"}),
    )
    .await;
}

#[tokio::test]
async fn gateway_in_front_of_a_canonical_store_carries_a_checkoutpage_update() {
    full_update(
        "canonical",
        "checkoutpage",
        json!({"email": "leslie@pawnee.gov", "phone": "+1 555 0100"}),
        json!({"email": "leslie@pawnee.gov", "phone": "+1 555 0100"}),
    )
    .await;
}

#[tokio::test]
async fn gateway_in_front_of_a_medusa_store_carries_a_full_spree_update() {
    full_update(
        "medusa",
        "spree",
        json!({"user": {"first_name": "Leslie", "last_name": "Knope", "email": "leslie@pawnee.gov"}}),
        json!({"first_name": "Leslie", "last_name": "Knope", "email": "leslie@pawnee.gov"}),
    )
    .await;
}

#[tokio::test]
async fn gateway_in_front_of_a_spree_store_carries_a_checkoutpage_update_into_its_attributes() {
    let (store, id, record) = sample_store("spree").await;
    let gw = gateway_to_store(&store, "spree").await;
    let got = harness::send(
        &gw,
        "checkoutpage",
        &id,
        &json!({"name": "Leslie Knope", "email": "leslie@pawnee.gov"}),
    )
    .await;
    assert_eq!(got.status, 200, "{}", String::from_utf8_lossy(&got.body));
    assert_eq!(got.json()["data"]["name"], "Leslie Knope");
    // spree.md#semantics: only the attributes sent change; the rest of the record stays.
    let mut expected = record.clone();
    expected["attributes"] = with(
        &record["attributes"],
        json!({"first_name": "Leslie", "last_name": "Knope", "email": "leslie@pawnee.gov"}),
    );
    assert_eq!(store.record(&id), Some(expected));
    assert_eq!((store.reads(), store.writes()), (0, 1));
    let seen = store.seen();
    assert_eq!(seen[0].method, "PATCH");
    assert_eq!(seen[0].path, format!("/api/v2/platform/users/{id}"));
    assert_eq!(
        seen[0].body,
        json!({"user": {"first_name": "Leslie", "last_name": "Knope", "email": "leslie@pawnee.gov"}})
    );
    gw.stop().await;
}
