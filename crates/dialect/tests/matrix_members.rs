//! The fidelity matrix's member-level detail: each source member's fate and where it lands, in
//! agreement with the per-fate lists the JSON output has always carried.

#[path = "support/common.rs"]
mod common;

use dialectgate_dialect::{Fate, Fill, LossReason, MatrixEntry, Mode, Options, Step};
use serde_json::json;

fn entry<'a>(matrix: &'a [MatrixEntry], from: &str, to: &str) -> &'a MatrixEntry {
    matrix
        .iter()
        .find(|e| e.from == from && e.to == to)
        .unwrap_or_else(|| panic!("no matrix entry {from}->{to}"))
}

#[test]
fn members_agree_with_the_lists_and_count_each_fate() {
    let matrix = common::registry().matrix();
    for e in &matrix {
        for (fate, list) in [
            (Fate::Carried, &e.carried),
            (Fate::Derived, &e.derived),
            (Fate::Filled, &e.filled),
            (Fate::Overflow, &e.overflow),
            (Fate::Lost, &e.lost),
        ] {
            let members: Vec<&String> = e
                .members
                .iter()
                .filter(|m| m.fate == fate)
                .map(|m| &m.member)
                .collect();
            assert_eq!(
                members,
                list.iter().collect::<Vec<_>>(),
                "{}->{} {fate:?}",
                e.from,
                e.to
            );
            assert_eq!(e.count(fate), list.len());
        }
        for m in &e.members {
            // Carried, derived, filled and overflowing members name where they land; lost ones
            // say why.
            assert_eq!(
                m.target.is_empty(),
                m.fate == Fate::Lost,
                "{}->{} {m:?}",
                e.from,
                e.to
            );
            assert_eq!(
                m.reason.is_some(),
                m.fate == Fate::Lost,
                "{}->{} {m:?}",
                e.from,
                e.to
            );
        }
    }
}

#[test]
fn members_name_their_target_members() {
    let matrix = common::registry().matrix();
    let e = entry(&matrix, "axim", "elasticpath");
    let fate = |member: &str| {
        e.members
            .iter()
            .find(|m| m.member == member)
            .unwrap_or_else(|| panic!("no member {member}"))
    };
    assert_eq!(fate("/email").fate, Fate::Carried);
    assert_eq!(fate("/email").target, ["/data/email"]);
    // Elastic Path has one name: given and family names are derived into it.
    assert_eq!(fate("/firstName").fate, Fate::Derived);
    assert_eq!(fate("/firstName").target, ["/data/name"]);
    assert_eq!(fate("/lastName").target, ["/data/name"]);
    assert_eq!(fate("/notes").fate, Fate::Lost);
    assert_eq!(fate("/notes").reason, Some(LossReason::NoTarget));

    let json = serde_json::to_value(e).unwrap();
    assert_eq!(json["members"][0]["fate"], "derived");
    assert!(json["members"][0].get("reason").is_none());
}

#[test]
fn filled_and_overflow_are_fates_of_their_own() {
    let matrix = common::registry().matrix();
    let fate = |from: &str, to: &str, member: &str| {
        let e = entry(&matrix, from, to);
        e.members
            .iter()
            .find(|m| m.member == member)
            .unwrap_or_else(|| panic!("no member {member}"))
            .clone()
    };
    // A first name alone cannot make Elastic Path's full name: the stored last name is read.
    let first = fate("medusa", "elasticpath", "/first_name");
    assert_eq!(first.fate, Fate::Filled);
    assert_eq!(first.target, ["/data/name"]);
    // AximCommerce requires its names and email on every write: any other member needs them.
    assert_eq!(fate("medusa", "axim", "/phone").fate, Fate::Filled);
    // Medusa's metadata merges; Axim's metaFields replaces the whole list.
    assert_eq!(fate("medusa", "axim", "/metadata").fate, Fate::Filled);
    // Medusa has a bag (metadata) for Checkout Page's company name; Elastic Path has none.
    let company = fate("checkoutpage", "medusa", "/companyName");
    assert_eq!(company.fate, Fate::Overflow);
    assert_eq!(company.target, ["/metadata"]);
    assert_eq!(
        fate("checkoutpage", "elasticpath", "/companyName").fate,
        Fate::Lost
    );
    // A password never overflows.
    let password = fate("medusa", "checkoutpage", "/password");
    assert_eq!(password.fate, Fate::Lost);
    assert_eq!(password.reason, Some(LossReason::Secret));
    // A pure patch is carried: an email into Medusa.
    assert_eq!(fate("checkoutpage", "medusa", "/email").fate, Fate::Carried);
}

/// Issue #22, item 7: the matrix counts every member of a dialect's request schema, mapped or
/// not. A vendor member its definition gives no place is lost on the way to every target, as
/// the engine reports it on a real request; before, only members with rules were counted
/// ("0 lost (of 0)" for a dialect without rules).
#[test]
fn a_request_schema_member_without_a_rule_is_lost_to_every_target() {
    let ws = common::Workspace::new("unmapped-member");
    ws.edit(
        "schemas/microbase/request.json",
        "\"properties\": {\n",
        "\"properties\": {\n    \"loyaltyTier\": { \"type\": \"string\" },\n",
    );
    let reg = ws.load().unwrap_or_else(|e| panic!("{e}"));
    let matrix = reg.matrix();
    let from_microbase: Vec<&MatrixEntry> = matrix.iter().filter(|e| e.from == "microbase").collect();
    assert_eq!(from_microbase.len(), common::DIALECTS.len());
    for e in from_microbase {
        let m = e
            .members
            .iter()
            .find(|m| m.member == "/loyaltyTier")
            .unwrap_or_else(|| panic!("microbase->{}: /loyaltyTier is not counted", e.to));
        assert_eq!(m.fate, Fate::Lost, "microbase->{}", e.to);
        assert_eq!(m.reason, Some(LossReason::NoTarget), "microbase->{}", e.to);
        assert!(e.lost.contains(&"/loyaltyTier".to_owned()), "microbase->{}", e.to);
    }
    // The engine drops it on a real request, as the matrix says.
    let options = Options {
        mode: Mode::Lenient,
        fill: Fill::Read,
        overflow: false,
        overflow_prefix: "dialectgate:",
    };
    let (from, to) = (
        reg.endpoint("microbase").expect("microbase"),
        reg.endpoint("canonical").expect("canonical"),
    );
    let body = json!({"id": "cus_1", "email": "ada@example.com", "loyaltyTier": "gold"});
    let Ok(Step::Ready(t)) = reg.plan(&from, &to, None, &body, options) else {
        panic!("microbase->canonical is a pure translation");
    };
    assert!(
        t.fidelity.dropped.iter().any(|d| d.pointer == "/loyaltyTier"),
        "{:?}",
        t.fidelity
    );
}

#[test]
fn the_shipped_dialects_map_every_member_of_their_request_schemas() {
    // Each shipped definition gives every member of its request schema a place in the
    // canonical form: nothing is lost on the way there.
    for e in common::registry().matrix().iter().filter(|e| e.to == "canonical") {
        assert!(e.lost.is_empty(), "{}->canonical loses {:?}", e.from, e.lost);
    }
}
