//! A broken definition or schema fails at load, with a message that names the file and the
//! problem; it never gets as far as a request.

#[path = "support/common.rs"]
mod common;

use common::Workspace;

/// Loads the workspace, which must fail, and returns the error message.
fn load_error(ws: &Workspace) -> String {
    match ws.load() {
        Ok(reg) => panic!(
            "the broken definitions loaded: {:?}",
            reg.dialects().iter().map(|d| d.id()).collect::<Vec<_>>()
        ),
        Err(e) => e.to_string(),
    }
}

fn assert_mentions(message: &str, needles: &[&str]) {
    for needle in needles {
        assert!(message.contains(needle), "{needle:?} not in:\n{message}");
    }
}

#[test]
fn an_unedited_copy_loads() {
    let ws = Workspace::new("pristine");
    let reg = ws.load().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        reg.dialects().len(),
        std::fs::read_dir(ws.dialects()).unwrap().count()
    );
}

#[test]
fn a_bad_pointer_fails_naming_the_file_and_the_key() {
    let ws = Workspace::new("bad-pointer");
    ws.edit(
        "dialects/elasticpath.toml",
        "dialect = \"/email\"",
        "dialect = \"email\"",
    );
    let message = load_error(&ws);
    assert_mentions(
        &message,
        &[
            "elasticpath.toml",
            "fields[2].dialect",
            "`email` is not a JSON Pointer",
        ],
    );
}

#[test]
fn an_unknown_transform_fails() {
    let ws = Workspace::new("bad-transform");
    ws.edit(
        "dialects/axim.toml",
        "transform = \"kv_list\"",
        "transform = \"rot13\"",
    );
    let message = load_error(&ws);
    assert_mentions(
        &message,
        &["axim.toml", ".transform", "unknown transform `rot13`"],
    );
}

#[test]
fn an_unknown_error_kind_fails() {
    let ws = Workspace::new("bad-kind");
    ws.edit(
        "dialects/medusa.toml",
        "[errors.kinds.duplicate]",
        "[errors.kinds.duplicated]",
    );
    let message = load_error(&ws);
    assert_mentions(
        &message,
        &["medusa.toml", "errors.kinds.duplicated", "unknown error kind"],
    );
}

#[test]
fn a_canonical_pointer_outside_the_canonical_schema_fails() {
    let ws = Workspace::new("bad-canonical");
    ws.edit(
        "dialects/microbase.toml",
        "canonical = \"/tags\"",
        "canonical = \"/labels\"",
    );
    let message = load_error(&ws);
    assert_mentions(
        &message,
        &[
            "microbase.toml",
            ".canonical",
            "`/labels` is not a member of the canonical Customer",
        ],
    );
}

#[test]
fn a_nested_canonical_pointer_outside_the_canonical_schema_fails() {
    let ws = Workspace::new("bad-nested-canonical");
    ws.edit(
        "dialects/checkoutpage.toml",
        "canonical = \"/postal_code\"",
        "canonical = \"/zip\"",
    );
    let message = load_error(&ws);
    assert_mentions(
        &message,
        &["checkoutpage.toml", "`/addresses/billing/zip` is not a member"],
    );
}

#[test]
fn a_schema_that_is_not_a_valid_json_schema_fails() {
    let ws = Workspace::new("bad-schema");
    ws.write("schemas/checkoutpage/request.json", r#"{"type": 12}"#);
    let message = load_error(&ws);
    assert_mentions(
        &message,
        &["checkoutpage", "request.json", "not a valid JSON Schema"],
    );
}

#[test]
fn a_schema_that_is_not_json_fails() {
    let ws = Workspace::new("schema-not-json");
    ws.write("schemas/medusa/error.json", "{ type: object");
    let message = load_error(&ws);
    assert_mentions(&message, &["medusa", "error.json", "not JSON"]);
}

#[test]
fn a_missing_schema_file_fails() {
    let ws = Workspace::new("schema-missing");
    std::fs::remove_file(ws.schemas().join("axim/response.json")).unwrap();
    let message = load_error(&ws);
    assert_mentions(&message, &["cannot read", "axim", "response.json"]);
}

#[test]
fn an_enum_map_that_is_not_one_to_one_fails() {
    let ws = Workspace::new("bad-enum");
    ws.edit(
        "dialects/microbase.toml",
        "enum = { ACTIVE = \"active\", INACTIVE = \"inactive\" }",
        "enum = { ACTIVE = \"active\", ENABLED = \"active\", INACTIVE = \"inactive\" }",
    );
    let message = load_error(&ws);
    assert_mentions(
        &message,
        &[
            "microbase.toml",
            ".enum",
            "`active` is mapped twice",
            "one-to-one",
        ],
    );
}

#[test]
fn an_unknown_member_in_a_definition_fails() {
    let ws = Workspace::new("unknown-member");
    ws.edit("dialects/axim.toml", "[route]\n", "[route]\nverb = \"PUT\"\n");
    let message = load_error(&ws);
    assert_mentions(&message, &["axim.toml", "unknown field `verb`"]);
}

#[test]
fn an_id_that_does_not_match_the_file_name_fails() {
    let ws = Workspace::new("bad-id");
    ws.edit("dialects/medusa.toml", "id = \"medusa\"", "id = \"medusa2\"");
    let message = load_error(&ws);
    assert_mentions(
        &message,
        &["medusa.toml", "`medusa2` does not match the file name `medusa`"],
    );
}

#[test]
fn every_problem_in_every_file_is_reported_at_once() {
    let ws = Workspace::new("many");
    ws.edit(
        "dialects/axim.toml",
        "transform = \"kv_list\"",
        "transform = \"rot13\"",
    );
    ws.edit(
        "dialects/medusa.toml",
        "[errors.kinds.duplicate]",
        "[errors.kinds.duplicated]",
    );
    ws.edit(
        "dialects/elasticpath.toml",
        "canonical = \"/external_ref\"",
        "canonical = \"/externalRef\"",
    );
    let message = load_error(&ws);
    assert_mentions(
        &message,
        &[
            "3 problems",
            "axim.toml",
            "rot13",
            "medusa.toml",
            "duplicated",
            "elasticpath.toml",
            "/externalRef",
        ],
    );
}

#[test]
fn overlapping_routes_fail() {
    let ws = Workspace::new("overlap");
    std::fs::copy(ws.dialects().join("axim.toml"), ws.dialects().join("axim2.toml")).unwrap();
    common::copy_tree(&ws.schemas().join("axim"), &ws.schemas().join("axim2"));
    ws.edit("dialects/axim2.toml", "id = \"axim\"", "id = \"axim2\"");
    let message = load_error(&ws);
    assert_mentions(&message, &["axim2.toml", "overlaps the route of `axim`"]);
}

#[test]
fn an_unknown_placeholder_fails_naming_the_key_and_the_known_ones() {
    let ws = Workspace::new("bad-placeholder");
    ws.edit(
        "dialects/axim.toml",
        "required = \"{property} is required\"",
        "required = \"{propety} is required\"",
    );
    let message = load_error(&ws);
    assert_mentions(
        &message,
        &[
            "axim.toml",
            "errors.messages.required",
            "unknown placeholder `{propety}`",
            "property",
        ],
    );
}

#[test]
fn the_former_dollar_spelling_of_a_placeholder_fails_with_the_new_one() {
    let ws = Workspace::new("old-placeholder");
    ws.edit(
        "dialects/medusa.toml",
        "message = \"{detail}\"",
        "message = \"$detail\"",
    );
    let message = load_error(&ws);
    assert_mentions(
        &message,
        &[
            "medusa.toml",
            "errors.body.message",
            "`$detail` is the old placeholder spelling; write `{detail}`",
        ],
    );
}

#[test]
fn a_title_cannot_name_itself() {
    let ws = Workspace::new("self-title");
    ws.edit(
        "dialects/medusa.toml",
        "detail = \"Customer with id: {id} was not found\"",
        "detail = \"{detail}: {id}\"",
    );
    let message = load_error(&ws);
    assert_mentions(
        &message,
        &["errors.kinds.not_found.detail", "unknown placeholder `{detail}`"],
    );
}

#[test]
fn a_token_body_placeholder_is_checked() {
    let ws = Workspace::new("token-placeholder");
    ws.edit("dialects/elasticpath.toml", "\"{access_token}\"", "\"{token}\"");
    let message = load_error(&ws);
    assert_mentions(
        &message,
        &[
            "elasticpath.toml",
            "auth.token_endpoint.body.access_token",
            "unknown placeholder `{token}`",
        ],
    );
}

#[test]
fn a_get_retrieve_call_with_the_id_in_a_body_fails() {
    // MicroBase's customer.info takes `{"id"}`: declared with GET, the gateway would send that
    // body with a GET. GET stays acceptable in `also_methods` (callers' query, `query_into_body`).
    let ws = Workspace::new("get-with-body");
    ws.edit(
        "dialects/microbase.toml",
        "method = \"POST\"\nalso_methods = [\"GET\", \"PUT\", \"PATCH\"]\npath = \"/services/customer/v1/customer.info\"",
        "method = \"GET\"\nalso_methods = [\"POST\", \"PUT\", \"PATCH\"]\npath = \"/services/customer/v1/customer.info\"",
    );
    let message = load_error(&ws);
    assert_mentions(
        &message,
        &[
            "microbase.toml",
            "retrieve.method",
            "a `GET` retrieve call would send the customer id in a body",
        ],
    );
}

#[test]
fn a_get_update_fails() {
    // An update always has a body.
    let ws = Workspace::new("get-update");
    ws.edit(
        "dialects/checkoutpage.toml",
        "method = \"PATCH\"",
        "method = \"GET\"",
    );
    let message = load_error(&ws);
    assert_mentions(
        &message,
        &[
            "checkoutpage.toml",
            "route.method",
            "`GET` cannot carry the update's body",
        ],
    );
}

// Loader honesty (issue #22): what the engine cannot honour is refused at load, never accepted
// and ignored.

#[test]
fn a_member_name_filled_per_violation_loads_and_any_other_placeholder_name_fails() {
    // BigCommerce keys its errors by the violating member (`"errors":{"0.email":"…"}`, issue
    // #22): an error body's member name may be a violation's variable (one member per
    // violation).
    let ws = Workspace::new("placeholder-name-ok");
    ws.edit(
        "dialects/elasticpath.toml",
        "body = { errors = [{ status = \"{status}\", title = \"{title}\", detail = \"{message}\" }] }",
        "body = { errors = { \"{pointer}\" = \"{message}\" } }",
    );
    ws.load().unwrap_or_else(|e| panic!("{e}"));

    // A member name filled from anything but one violation's variables is not honoured.
    let ws = Workspace::new("placeholder-name");
    ws.edit(
        "dialects/elasticpath.toml",
        "body = { errors = [{ status = \"{status}\", title = \"{title}\", detail = \"{message}\" }] }",
        "body = { errors = { \"{kind}\" = \"{message}\" } }",
    );
    // Nothing fills a name in a token body or a fixed member.
    ws.edit(
        "dialects/axim.toml",
        "\"/message\" = \"Customer updated successfully\"",
        "\"/message\" = { \"{id}\" = \"Customer updated successfully\" }",
    );
    let message = load_error(&ws);
    assert_mentions(
        &message,
        &[
            "elasticpath.toml",
            "errors.body.errors.{kind}: the member name holds `{kind}`",
            "from its variables only (pointer, code, message, property, field)",
            "axim.toml",
            "`{id}`: no placeholder is filled in a fixed member's name",
        ],
    );
}

#[test]
fn a_bracket_pointer_fails() {
    // commercetools' update actions as a dialect author might point at them (issue #22).
    let ws = Workspace::new("bracket-pointer");
    ws.edit(
        "dialects/elasticpath.toml",
        "dialect = \"/email\"",
        "dialect = \"/actions[action=changeEmail]/email\"",
    );
    let message = load_error(&ws);
    assert_mentions(
        &message,
        &[
            "elasticpath.toml",
            "fields[2].dialect",
            "bracket selector `actions[action=changeEmail]`",
            "JSON Pointer does not have",
        ],
    );
}

#[test]
fn a_numeric_envelope_segment_fails() {
    // An array body (`[{…}]`) written `envelope = "/0"` (issue #22): encoding would build
    // `{"0":{…}}` and decoding would read item 0 and drop the rest (`envelope_array` says it).
    let ws = Workspace::new("numeric-envelope");
    ws.edit("dialects/axim.toml", "envelope = \"/data\"", "envelope = \"/0\"");
    let message = load_error(&ws);
    assert_mentions(
        &message,
        &[
            "axim.toml",
            "response.envelope",
            "numeric segment `0`",
            "{\"0\": …}",
        ],
    );
}

#[test]
fn a_numeric_segment_in_any_other_pointer_fails() {
    let ws = Workspace::new("numeric-pointer");
    ws.edit(
        "dialects/microbase.toml",
        "id_in_body = \"/id\"",
        "id_in_body = \"/0/id\"",
    );
    ws.edit(
        "dialects/elasticpath.toml",
        "dialect = \"/email\"",
        "dialect = \"/emails/1\"",
    );
    let message = load_error(&ws);
    assert_mentions(
        &message,
        &[
            "microbase.toml",
            "route.id_in_body: `/0/id` has the numeric segment `0`",
            "elasticpath.toml",
            "fields[2].dialect: `/emails/1` has the numeric segment `1`",
        ],
    );
}

#[test]
fn a_placeholder_in_a_fixed_member_fails() {
    let ws = Workspace::new("placeholder-extra");
    ws.edit(
        "dialects/axim.toml",
        "\"Customer updated successfully\"",
        "\"Customer {id} updated successfully\"",
    );
    let message = load_error(&ws);
    assert_mentions(
        &message,
        &[
            "axim.toml",
            "response.extra.\"/message\"",
            "`{id}`: no placeholder is filled in a fixed member",
        ],
    );
}

#[test]
fn a_placeholder_in_a_default_fails() {
    let ws = Workspace::new("placeholder-default");
    ws.edit(
        "dialects/medusa.toml",
        "derive = { from = [\"/name/full\"], with = \"first_word\" }\ndefault = \"$null\"",
        "derive = { from = [\"/name/full\"], with = \"first_word\" }\ndefault = \"{id}\"",
    );
    let message = load_error(&ws);
    assert_mentions(
        &message,
        &["medusa.toml", ".default: `{id}`: no placeholder is filled"],
    );
}

#[test]
fn a_problem_in_a_rule_shared_by_requests_and_responses_is_named_once() {
    let ws = Workspace::new("named-once");
    ws.edit(
        "dialects/elasticpath.toml",
        "dialect = \"/email\"",
        "dialect = \"/emails/0\"",
    );
    let message = load_error(&ws);
    assert_eq!(message.matches("fields[2].dialect").count(), 1, "{message}");
}

// Issue #22, BigCommerce and Shopify: id formats, array envelopes, a read's id in the query.

#[test]
fn a_malformed_id_format_fails() {
    let ws = Workspace::new("bad-id-format");
    ws.edit(
        "dialects/medusa.toml",
        "path = \"/admin/customers/{id}\"\nquery",
        "path = \"/admin/customers/{id}\"\nid_format = \"gid://shopify/Customer/\"\nquery",
    );
    ws.edit(
        "dialects/axim.toml",
        "path = \"/customers/{id}\"",
        "path = \"/customers/{id}\"\nid_format = \"{id}-{id}\"",
    );
    ws.edit(
        "dialects/checkoutpage.toml",
        "path = \"/v1/customers/{id}\"",
        "path = \"/v1/customers/{id}\"\nid_format = \"gid://{shop}/Customer/{id}\"",
    );
    let message = load_error(&ws);
    assert_mentions(
        &message,
        &[
            "medusa.toml",
            "route.id_format: `gid://shopify/Customer/` is neither `integer` nor a template holding `{id}` once",
            "axim.toml",
            "route.id_format: `{id}-{id}` holds `{id}` more than once",
            "checkoutpage.toml",
            "`{shop}` is not `{id}`",
        ],
    );
}

#[test]
fn the_id_rule_takes_no_transform_of_its_own_under_an_id_format() {
    let ws = Workspace::new("id-format-transform");
    ws.edit(
        "dialects/bigcommerce.toml",
        "dialect = \"/id\"\ncanonical = \"/id\"\non = \"response\"",
        "dialect = \"/id\"\ncanonical = \"/id\"\non = \"response\"\ntransform = \"number_string\"",
    );
    let message = load_error(&ws);
    assert_mentions(
        &message,
        &[
            "bigcommerce.toml",
            "the customer id's form comes from `route.id_format`",
        ],
    );
}

#[test]
fn the_id_travels_in_exactly_one_place_and_only_a_read_takes_it_from_the_query() {
    let ws = Workspace::new("id-in-query");
    // Two places at once.
    ws.edit(
        "dialects/bigcommerce.toml",
        "id_in_query = \"id:in\"",
        "id_in_query = \"id:in\"\nid_in_body = \"/id\"\nmethod_unused = 1",
    );
    assert_mentions(
        &load_error(&ws),
        &["bigcommerce.toml", "unknown field `method_unused`"],
    );
    ws.edit("dialects/bigcommerce.toml", "\nmethod_unused = 1", "");
    assert_mentions(
        &load_error(&ws),
        &[
            "retrieve: the customer id must travel in exactly one place: the path (`{id}`), the body (`id_in_body`) or the query (`id_in_query`)",
        ],
    );

    // On the update route; listed among the other parameters; with query_into_body.
    let ws = Workspace::new("id-in-query-update");
    ws.edit(
        "dialects/bigcommerce.toml",
        "id_in_body = \"/id\"\nid_format",
        "id_in_query = \"id:in\"\nid_format",
    );
    ws.edit(
        "dialects/microbase.toml",
        "path = \"/services/customer/v1/customer.info\"\nid_in_body = \"/id\"",
        "path = \"/services/customer/v1/customer.info\"\nid_in_query = \"id\"",
    );
    ws.edit(
        "dialects/medusa.toml",
        "path = \"/admin/customers/{id}\"\nquery = [\"expand\", \"fields\"]\n\n[auth]",
        "path = \"/admin/customers\"\nid_in_query = \"expand\"\nquery = [\"expand\", \"fields\"]\n\n[auth]",
    );
    let message = load_error(&ws);
    assert_mentions(
        &message,
        &[
            "bigcommerce.toml",
            "route.id_in_query: only a retrieve call reads the customer id from its query",
            "microbase.toml",
            "retrieve.id_in_query: `query_into_body` reads every parameter as a body member",
            "medusa.toml",
            "retrieve.query: `expand` is the id's parameter (`id_in_query`); list only the others",
        ],
    );
}

#[test]
fn nothing_fixed_can_reach_into_an_array_envelope() {
    let ws = Workspace::new("array-envelope");
    ws.edit(
        "dialects/bigcommerce.toml",
        "extra = { \"/meta\" = {} }",
        "extra = { \"/meta\" = {}, \"/data/source\" = \"gateway\" }",
    );
    ws.edit(
        "dialects/bigcommerce.toml",
        "[request]\nenvelope_array = true",
        "[request]\nenvelope_array = true\nconstants = { \"/kind\" = \"customer\" }",
    );
    let message = load_error(&ws);
    assert_mentions(
        &message,
        &[
            "bigcommerce.toml",
            "response.constants or extra: `/data/source` is inside the array envelope `/data`",
            "request.constants or extra: `/kind` is inside the array envelope ``",
        ],
    );
}
