//! The dialect definition file format (`config/dialects/<id>.toml`), as read from disk. The
//! reference for authors is `docs/dialect-format.md`: keep it in step with these types.
//!
//! Pipeline: file → [`RawDefinition`] (serde, `deny_unknown_fields`) → [`crate::compiled`] checks it
//! and compiles pointers, enum maps and templates once → a [`crate::Dialect`] ready to run.

use std::collections::BTreeMap;

use serde::Deserialize;

/// One dialect, as written in its definition file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDefinition {
    /// The dialect id (`elasticpath`, …); must match the file name.
    pub id: String,
    /// The vendor's name, for humans.
    pub vendor: String,
    /// Where the vendor documents this endpoint.
    #[serde(default)]
    pub docs: Option<String>,
    /// Free text: the decisions this definition makes where the vendor is silent, and why (each
    /// is a "Decision (ours)" in `docs/vendors/<id>.md`).
    #[serde(default)]
    pub decisions: Vec<String>,
    pub route: RawRoute,
    /// The vendor's "retrieve a customer" operation: its answer has the shape of the update's
    /// answer (`response`) unless it declares its own (`[retrieve.response]`). Used for inbound
    /// reads and for reading before a write.
    #[serde(default)]
    pub retrieve: Option<RawRoute>,
    pub auth: RawAuth,
    #[serde(default)]
    pub request: RawMessage,
    #[serde(default)]
    pub response: RawMessage,
    /// The field map, shared by requests and responses (see `RawField::on`).
    #[serde(default)]
    pub fields: Vec<RawField>,
    pub errors: RawErrors,
}

/// Where the operation lives.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRoute {
    /// HTTP method the vendor documents.
    pub method: String,
    /// Other methods the vendor's server also accepts for this operation.
    #[serde(default)]
    pub also_methods: Vec<String>,
    /// Path template; `{id}` marks the customer id when it travels in the path, any other
    /// `{name}` segment a path variable.
    pub path: String,
    /// Values of path variables for the paths the gateway sends, when the configuration gives
    /// none (`upstream.path_params`, `candidate.path_params` win).
    #[serde(default)]
    pub path_params: BTreeMap<String, String>,
    /// JSON Pointer of the customer id in the request body, when it travels there instead.
    #[serde(default)]
    pub id_in_body: Option<String>,
    /// Query parameters the vendor accepts (others are refused). Ignored when
    /// `query_into_body` is set.
    #[serde(default)]
    pub query: Vec<String>,
    /// The vendor reads query parameters as body members (query wins over body).
    #[serde(default)]
    pub query_into_body: bool,
    /// Longest customer id accepted, in bytes of UTF-8 (default 128). Every id is also refused
    /// when empty, `.`, `..` or carrying a control character.
    #[serde(default)]
    pub id_max_length: Option<usize>,
    /// The form of the customer id in this dialect: `"integer"`, or a template holding `{id}`
    /// once (`"gid://shopify/Customer/{id}"`). Default: the id as it is. On `retrieve`, the
    /// route's when not given.
    #[serde(default)]
    pub id_format: Option<String>,
    /// `retrieve` only: the query parameter that carries the customer id (`"id:in"`).
    #[serde(default)]
    pub id_in_query: Option<String>,
    /// Body members (absolute pointers) and the regular expressions their string values must
    /// match for a request to be this operation: what tells apart two operations sharing a
    /// method and path (a GraphQL `mutation` from a `query`).
    #[serde(default)]
    pub body_match: BTreeMap<String, String>,
    /// `[retrieve]` only: the retrieve call's own fixed members (`constants`, `extra`), when
    /// they differ from the update's.
    #[serde(default)]
    pub request: Option<RawMessage>,
    /// `[retrieve]` only: the read's answer, when its shape differs from the update's
    /// (`[response]`).
    #[serde(default)]
    pub response: Option<RawMessage>,
}

/// How callers authenticate.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAuth {
    /// Accepted credential forms, any one suffices. The first is the one the gateway sends when
    /// this dialect is the upstream.
    pub accept: Vec<RawCredential>,
    /// Extra headers a caller may send that only mean something to this vendor; forwarded only
    /// to an upstream of the same dialect (and never logged).
    #[serde(default)]
    pub forward_same_dialect: Vec<String>,
    /// Auxiliary token endpoint (OAuth2 client credentials) that this vendor's SDK calls first.
    #[serde(default)]
    pub token_endpoint: Option<RawTokenEndpoint>,
}

/// One credential form: a header, optionally with an auth scheme.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCredential {
    pub header: String,
    /// e.g. `Bearer`; `None` means the header carries the bare token.
    #[serde(default)]
    pub scheme: Option<String>,
    /// The scheme may be left out by callers (the gateway sends the bare token).
    #[serde(default)]
    pub scheme_optional: bool,
}

/// An OAuth2 client-credentials token endpoint.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTokenEndpoint {
    pub path: String,
    /// Token lifetime, in seconds.
    #[serde(default = "default_token_ttl")]
    pub expires_in: u64,
    /// The success body; `{access_token}`, `{expires}` (epoch seconds), `{expires_in}`, `{scope}`
    /// are filled in.
    pub body: toml::Value,
    /// How the client authenticates: `form` (default: `client_id`/`client_secret` in the form
    /// body, Elastic Path) or `basic` (HTTP Basic credentials, RFC 6749 §2.3.1: commercetools).
    #[serde(default)]
    pub client_auth: Option<String>,
}

fn default_token_ttl() -> u64 {
    3600
}

/// The shape of a request or success-response body.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMessage {
    /// JSON Pointer of the object holding the fields (`/data`); empty for a flat body.
    #[serde(default)]
    pub envelope: String,
    /// The envelope is a JSON array of items, each an object holding the fields (`[{…}]`,
    /// `{"data": [{…}]}`): one item per message, more refused.
    #[serde(default)]
    pub envelope_array: bool,
    /// Members with a fixed value, by absolute pointer (`"/data/type" = "customer"`): written on
    /// encode, required to match on decode.
    #[serde(default)]
    pub constants: BTreeMap<String, toml::Value>,
    /// Members written on encode but not required on decode (a human message, say), by
    /// absolute pointer.
    #[serde(default)]
    pub extra: BTreeMap<String, toml::Value>,
    /// HTTP status of a success response. Default 200.
    #[serde(default)]
    pub status: Option<u16>,
    /// Empty strings and nulls mean "leave unchanged" (they cannot clear a field).
    #[serde(default)]
    pub ignore_empty: bool,
    /// Members (dialect pointers relative to the envelope) the vendor requires on every write.
    #[serde(default)]
    pub required: Vec<String>,
    /// Responses only: the relations a caller picks with a query parameter (Medusa's `expand`).
    #[serde(default)]
    pub expand: Option<RawExpand>,
    /// Responses only: members (dialect pointers relative to the envelope, the `dialect` of a
    /// response rule) the vendor assigns itself, which differ between two backends holding the
    /// same customer: server ids, timestamps, the password flag. Migration mode ignores them.
    #[serde(default)]
    pub volatile: Vec<String>,
    /// Responses only: members (absolute pointers, among `extra`) written in the update's answer
    /// but not in a read's (AximCommerce's "Customer updated successfully").
    #[serde(default)]
    pub read_omits: Vec<String>,
    /// Requests only: the member (dialect pointer relative to the envelope, the `dialect` of a
    /// field rule) that holds free-form keys, where canonical members the dialect has no place
    /// for can overflow (`translation.overflow`).
    #[serde(default)]
    pub bag: Option<String>,
    /// `[retrieve.response]` only: an answer whose envelope holds `null` (GraphQL's
    /// `"customer": null`) means the customer does not exist.
    #[serde(default)]
    pub null_means_not_found: bool,
    /// Requests only: the body's members are set by a list of actions (commercetools'
    /// `{"version": 3, "actions": [{"action": "setFirstName", "firstName": "Ada"}]}`): rules
    /// with an `action` are read from and written to the items of that list.
    #[serde(default)]
    pub actions: Option<RawActions>,
}

/// A request whose changes are a discriminated list of actions.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawActions {
    /// The list (a dialect pointer relative to the envelope: `/actions`).
    pub list: String,
    /// The member of each item naming its action (`action`).
    pub discriminator: String,
}

/// Relations of a success answer that a caller picks with a query parameter: the parameter's
/// comma-separated list replaces the default list; relations not picked are left out.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawExpand {
    /// The query parameter (it must be one the route accepts).
    pub query: String,
    /// Every relation: members of the answer's envelope object, by name.
    pub relations: Vec<String>,
    /// The relations present when the parameter is absent (a subset of `relations`).
    pub default: Vec<String>,
}

/// Which messages a field rule applies to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RawOn {
    #[default]
    Both,
    Request,
    Response,
}

/// One field mapping between a dialect pointer and a canonical pointer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawField {
    /// Pointer in the dialect body, relative to the envelope (or to the parent rule).
    pub dialect: String,
    /// Pointer in the canonical document (or relative to the parent rule's canonical object).
    pub canonical: String,
    #[serde(default)]
    pub on: RawOn,
    /// Explicit enum map, dialect value → canonical value. Unmapped values are errors.
    #[serde(default, rename = "enum")]
    pub enum_map: Option<BTreeMap<String, String>>,
    /// A named value transform (see `Transform`).
    #[serde(default)]
    pub transform: Option<String>,
    /// `kv_list`: the member holding the key in each list item. Default `key`.
    #[serde(default)]
    pub key: Option<String>,
    /// `kv_list`: the member holding the value in each list item. Default `value`.
    #[serde(default)]
    pub value: Option<String>,
    /// Encode-only fallback when the canonical member is absent: computed from other members.
    #[serde(default)]
    pub derive: Option<RawDerive>,
    /// The value is an object mapped member by member with these rules.
    #[serde(default)]
    pub fields: Vec<RawField>,
    /// The value is an array of objects, each mapped with these rules.
    #[serde(default)]
    pub items: Vec<RawField>,
    /// The dialect replaces this value in full when it is sent (omitted members are cleared): an
    /// object rule (with `fields`), or a map the dialect sends as a list (`kv_list`).
    #[serde(default)]
    pub replace: bool,
    /// Responses only: the value written when the canonical member is absent (`"$null"` = null).
    #[serde(default)]
    pub default: Option<toml::Value>,
    /// Requests with an action list: the action (its discriminator value) that sets this member
    /// (`setFirstName`); the rule's `dialect` is then read inside that action's item. Answers read
    /// the member as a plain one.
    #[serde(default)]
    pub action: Option<String>,
}

/// How to compute a member the source did not send from ones it did.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDerive {
    /// Canonical pointers read (all must be present).
    pub from: Vec<String>,
    /// The derivation: `join_words`, `first_word`, `rest_words`.
    pub with: String,
}

/// How errors look in this dialect.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawErrors {
    /// Media type of error bodies. Default `application/json`.
    #[serde(default)]
    pub content_type: Option<String>,
    /// The body template used for every kind that does not give its own.
    pub body: toml::Value,
    /// Per error kind: status, texts and optional body override.
    #[serde(default)]
    pub kinds: BTreeMap<String, RawErrorKind>,
    /// Message templates per JSON Schema keyword or translation code.
    #[serde(default)]
    pub messages: BTreeMap<String, String>,
    /// Separator used for `{joined}`. Default `", "`.
    #[serde(default)]
    pub join: Option<String>,
}

/// How one error kind looks.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawErrorKind {
    pub status: Option<u16>,
    /// Other statuses a vendor server uses for this kind (accepted when reading its answers).
    #[serde(default)]
    pub also_status: Vec<u16>,
    pub title: Option<String>,
    pub detail: Option<String>,
    pub content_type: Option<String>,
    pub body: Option<toml::Value>,
}
