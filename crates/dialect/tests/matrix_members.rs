//! The fidelity matrix's member-level detail: each source member's fate and where it lands, in
//! agreement with the per-fate lists the JSON output has always carried.

#[path = "support/common.rs"]
mod common;

use dialectgate_dialect::{Fate, LossReason, MatrixEntry};

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
            // Carried and derived members name where they land; lost ones say why.
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
