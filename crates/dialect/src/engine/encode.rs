//! Canonical → dialect: a canonical request into the dialect's request body, and any canonical
//! object into a dialect message (the success answer's shaping is in `answer.rs`). Requests keep
//! books: every canonical member is carried by a rule, used to derive another member, or
//! reported dropped (canonical pointers; the pipeline restates them in the caller's terms).

use dialectgate_canonical::{ErrorKind, Problem};
use serde_json::{Map, Value};

use super::built::Built;
use super::node::Node;
use super::transform::{self, Direction, LeafError};
use super::{CanonicalRequest, Encoded, Need};
use crate::compiled::Compiled;
use crate::compiled::{CompiledMessage, Derivation, Rule, Shape};
use crate::pointer::Pointer;
use crate::report::{DerivedField, Dropped, Fidelity, FillReason, LossReason};
use crate::validate::MessageVars;
use crate::validate::refusal;

/// See [`crate::Dialect::encode_request`]. `complete` lists the canonical objects and bags of `request`
/// that were filled from the stored customer: they hold every member, so an omitted one is
/// absent at the upstream too (no partial replace, no further need).
pub(crate) fn request(
    d: Compiled<'_>,
    request: &CanonicalRequest,
    complete: &[Pointer],
) -> Result<Encoded, Problem> {
    let message = &d.request;
    let mut report = Fidelity::default();
    let mut needs = Vec::new();
    let mut body: Value = encode_message(
        d,
        message,
        &request.patch,
        Some(Books {
            report: &mut report,
            needs: &mut needs,
            complete,
        }),
    )?;
    if let Some(actions) = &message.actions {
        super::actions::gather(actions, &message.rules, &message.envelope, &mut body);
    }
    if let Some(p) = &d.route.id_in_body {
        // Written in the route's form (checked writable before: `translate::check_id`).
        let id = d
            .route
            .id_format
            .encode_value(&request.id)
            .unwrap_or_else(|| Value::String(request.id.clone()));
        crate::pointer::set_through(p, &mut body, id);
    }
    let mut missing = Vec::new();
    for p in &message.required {
        match message.envelope.join(p).get(&body) {
            Some(v) if !v.is_null() => {}
            // Absent: the stored customer has it (a read fills it); null: the caller clears a
            // member the target requires, which no read can mend.
            found => {
                let rule = message.rules.iter().find(|r| &r.dialect == p);
                if let (None, Some(rule)) = (found, rule) {
                    need(&mut needs, rule.canonical.clone(), FillReason::RequiredOnWrite);
                }
                missing.push(d.violation(MessageVars {
                    target: Some(d.id.to_owned()),
                    ..refusal("required_on_write", p.clone())
                }));
            }
        }
    }
    let missing = (!missing.is_empty()).then(|| Box::new(d.problem(ErrorKind::Untranslatable, missing)));
    Ok(Encoded {
        body,
        report,
        needs,
        missing,
    })
}

/// Adds a need, once.
fn need(needs: &mut Vec<Need>, pointer: Pointer, reason: FillReason) {
    need_part(needs, pointer, reason, None);
}

/// Adds a need, once, with the whole it is a part of (see [`Need::part_of`]).
fn need_part(
    needs: &mut Vec<Need>,
    pointer: Pointer,
    reason: FillReason,
    part_of: Option<(Pointer, usize, usize)>,
) {
    if !needs.iter().any(|n| n.pointer == pointer) {
        needs.push(Need {
            pointer,
            reason,
            part_of,
        });
    }
}

/// The books a request encoding keeps: what it derived and dropped, what it needs from the
/// stored customer, and which objects are already complete.
pub(super) struct Books<'a> {
    report: &'a mut Fidelity,
    needs: &'a mut Vec<Need>,
    complete: &'a [Pointer],
}

/// Encodes the canonical object `src` as the dialect message `message`: its members inside the
/// envelope, with the constant and extra members. Books are kept when given (requests).
/// The message is built as `O`: a `Value`, or a [`crate::doc::Doc`] borrowing `src`, the
/// definition's names and its constants.
pub(super) fn encode_message<'a, O: Built<'a>>(
    d: Compiled<'a>,
    message: &'a CompiledMessage,
    src: &'a Map<String, Value>,
    books: Option<Books<'a>>,
) -> Result<O, Problem> {
    let mut fields = O::Members::default();
    Encoder {
        dialect: d,
        message,
        books,
    }
    .object::<O>(&message.rules, src, &Pointer::root(), &mut fields)?;
    let mut root = O::Members::default();
    match &message.array {
        // An array envelope: one item. At the root the body is the array itself (nothing can
        // be fixed beside it: refused at load).
        Some(list) if list.is_root() => return Ok(O::array(vec![O::object(fields)])),
        Some(list) => O::set(&mut root, list, O::array(vec![O::object(fields)])),
        None => O::set(&mut root, &message.envelope, O::object(fields)),
    }
    for (p, v) in message.constants.iter().chain(&message.extra) {
        O::set(&mut root, p, O::of(v));
    }
    Ok(O::object(root))
}

struct Encoder<'a> {
    dialect: Compiled<'a>,
    message: &'a CompiledMessage,
    /// `None` for responses, which keep no books.
    books: Option<Books<'a>>,
}

impl<'a> Encoder<'a> {
    /// Encodes the canonical object `src` (at canonical pointer `at`) with `rules` into `out`.
    fn object<O: Built<'a>>(
        &mut self,
        rules: &'a [Rule],
        src: &'a Map<String, Value>,
        at: &Pointer,
        out: &mut O::Members,
    ) -> Result<(), Problem> {
        // What the rules read, for the books' losses: answers keep no books, and list nothing.
        let keeps_books = self.books.is_some();
        let mut consumed: Vec<&Pointer> = Vec::with_capacity(if keeps_books { rules.len() } else { 0 });
        let members = Members::of(src);
        for rule in rules {
            match members.get(&rule.canonical) {
                Some(v) => {
                    if keeps_books {
                        consumed.push(&rule.canonical);
                    }
                    if self.message.ignore_empty && v.is_blank() {
                        self.lose(at.join(&rule.canonical), LossReason::CannotClear);
                        continue;
                    }
                    if keeps_books && rule.replace && matches!(rule.shape, Shape::Leaf) && !v.is_null() {
                        // Built only here (and never for an answer, which keeps no books): this
                        // runs for every member of every request and answer.
                        let whole = at.join(&rule.canonical);
                        if !self.is_complete(&whole) {
                            // A map the target replaces in full, which the patch only merges
                            // into: the stored keys would be wiped unless the stored map
                            // completes it.
                            self.lose(whole.clone(), LossReason::PartialReplace);
                            self.partial(whole);
                        }
                    }
                    let encoded = self.value::<O>(rule, v, at)?;
                    O::set(out, &rule.dialect, encoded);
                }
                None => {
                    if let Some(d) = &rule.derive
                        && let Some(value) = d.value_by(|f| members.get(f))
                    {
                        if let Some(books) = self.books.as_mut() {
                            consumed.extend(&d.from);
                            books.report.derived.push(DerivedField {
                                target: d.target_text.clone(),
                                from: if at.is_root() {
                                    d.from_text.clone()
                                } else {
                                    d.from.iter().map(|f| at.join_text(f)).collect()
                                },
                            });
                        }
                        O::set(out, &rule.dialect, O::owned(value));
                        continue;
                    }
                    if let (Some(d), Some(books)) = (&rule.derive, self.books.as_mut())
                        && d.from.iter().any(|f| members.get(f).is_some())
                    {
                        // Part of what the derivation reads was sent: the stored customer has
                        // the rest (a first name alone into a full name).
                        let whole = at.join(&rule.canonical);
                        for (i, f) in d.from.iter().enumerate() {
                            if members.get(f).is_none() {
                                let part_of = (d.with == Derivation::JoinWords)
                                    .then(|| (whole.clone(), i, d.from.len()));
                                need_part(books.needs, at.join(f), FillReason::Derived, part_of);
                            }
                        }
                    }
                    // Defaults fill responses only; a request must never invent a value.
                    if let (Some(default), None) = (&rule.default, &self.books) {
                        O::set(out, &rule.dialect, O::of(default));
                    }
                }
            }
        }
        if keeps_books {
            let mut lost = Vec::new();
            uncovered(src, &consumed, &mut Vec::new(), &mut lost);
            for p in lost {
                // Clearing a member the target has no place for at all loses nothing: the target
                // holds no value there either way. (Checkout Page's replaced `address` decodes
                // into nulls for every canonical address member, most of which no dialect has;
                // reporting them would refuse even Checkout Page → Checkout Page.) A null for an
                // object the target maps only in part (`name: null`) is still reported.
                if p.get_member(src).is_some_and(Value::is_null)
                    && !rules.iter().any(|r| p.is_prefix_of(&r.canonical))
                {
                    continue;
                }
                self.lose(at.join(&p), LossReason::NoTarget);
            }
        }
        Ok(())
    }

    fn lose(&mut self, canonical: Pointer, reason: LossReason) {
        if let Some(books) = self.books.as_mut() {
            books.report.dropped.push(Dropped {
                pointer: canonical.to_string(),
                reason,
            });
        }
    }

    /// The value at `canonical` is replaced in full by the target but only part of it is in the
    /// patch: lost members unless the object is complete; the stored one completes it.
    fn partial(&mut self, canonical: Pointer) {
        let Some(books) = self.books.as_mut() else {
            return;
        };
        if books.complete.contains(&canonical) {
            return;
        }
        need(books.needs, canonical.clone(), FillReason::Replaced);
    }

    /// True when the object at `canonical` was filled from the stored customer.
    fn is_complete(&self, canonical: &Pointer) -> bool {
        self.books
            .as_ref()
            .is_some_and(|b| b.complete.contains(canonical))
    }

    /// Encodes the value `v` of `rule`, a member of the canonical object at `parent`. The
    /// member's own pointer is built only when needed (nested members, losses, errors): this
    /// runs for every member of every request and answer.
    fn value<O: Built<'a>>(&mut self, rule: &'a Rule, v: &'a Value, parent: &Pointer) -> Result<O, Problem> {
        match (&rule.shape, v) {
            (_, Value::Null) => Ok(O::of(v)),
            (Shape::Object { rules, replace, .. }, Value::Object(obj)) => {
                let at = &parent.join(&rule.canonical);
                let mut out = O::Members::default();
                self.object::<O>(rules, obj, at, &mut out)?;
                if *replace && self.books.is_some() && !self.is_complete(at) {
                    // The target clears what it is not sent: every member it can carry must be
                    // present in the patch (possibly null), or it would be wiped.
                    let mut partial = false;
                    for r in rules {
                        if r.canonical.get_member(obj).is_none() && r.derive.is_none() {
                            self.lose(at.join(&r.canonical), LossReason::PartialReplace);
                            partial = true;
                        }
                    }
                    if partial {
                        self.partial(at.clone());
                    }
                }
                Ok(O::object(out))
            }
            (Shape::Array { rules }, Value::Array(items)) => {
                let at = parent.join(&rule.canonical);
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    let mut obj = O::Members::default();
                    if let Value::Object(item) = item {
                        self.object::<O>(rules, item, &at.child(i.to_string()), &mut obj)?;
                    }
                    out.push(O::object(obj));
                }
                Ok(O::array(out))
            }
            // As it is: referred to where the message can borrow it.
            (Shape::Leaf, v) if rule.enum_map.is_none() && rule.transform.is_none() => Ok(O::of(v)),
            (Shape::Leaf, v) => transform::leaf(rule, v, Direction::ToDialect)
                .map(O::owned)
                .map_err(|e| match e {
                    // Encoding reads canonical objects only: a kv_list never meets a repeated key.
                    LeafError::InvalidId => self.dialect.refuse(
                        ErrorKind::Untranslatable,
                        MessageVars {
                            format: self.dialect.route.id_format.describe(),
                            target: Some(self.dialect.id.to_owned()),
                            ..refusal("invalid_id", parent.join(&rule.canonical))
                        },
                    ),
                    LeafError::UnmappedEnum | LeafError::DuplicateKey(_) => self.dialect.refuse(
                        ErrorKind::Untranslatable,
                        MessageVars {
                            target: Some(self.dialect.id.to_owned()),
                            ..refusal("unmapped_enum", parent.join(&rule.canonical))
                        },
                    ),
                }),
            (Shape::Object { .. } | Shape::Array { .. }, other) => Ok(O::of(other)),
        }
    }
}

/// The members of a canonical object, listed once for the rules that look into it (each rule
/// its member, a derivation its sources). A member is found by comparing names for equality,
/// which looks at the bytes only of a name of the same length, where a search of the map
/// compares the bytes of every name on its way: this runs for every rule of every request and
/// answer. A larger object (more than [`Members::LISTED`]) is searched as a map.
struct Members<'v> {
    map: &'v Map<String, Value>,
    listed: Vec<(&'v str, &'v Value)>,
}

impl<'v> Members<'v> {
    const LISTED: usize = 32;

    fn of(map: &'v Map<String, Value>) -> Self {
        let listed = if map.len() <= Self::LISTED {
            map.iter().map(|(k, v)| (k.as_str(), v)).collect()
        } else {
            Vec::new()
        };
        Members { map, listed }
    }

    /// The member at `p` (through objects only: [`Pointer::get_member`]).
    fn get(&self, p: &Pointer) -> Option<&'v Value> {
        if self.listed.is_empty() {
            return p.get_member(self.map);
        }
        p.get_member_by(|name| self.listed.iter().find(|(k, _)| *k == name).map(|&(_, v)| v))
    }
}

/// Collects the members of `src` that no pointer in `consumed` covers.
/// Each member's pointer (`at`, the names leading to `src`, followed by its key) is built only
/// when it is reported; walking into a member only pushes its name on `at`: this runs for every
/// member of every request.
fn uncovered<'s>(
    src: &'s Map<String, Value>,
    consumed: &[&Pointer],
    at: &mut Vec<&'s str>,
    out: &mut Vec<Pointer>,
) {
    for (key, v) in src {
        if consumed.iter().any(|c| covers(c, at, key)) {
            continue;
        }
        match v {
            Value::Object(obj) if !obj.is_empty() && consumed.iter().any(|c| within(c, at, key)) => {
                at.push(key);
                uncovered(obj, consumed, at, out);
                at.pop();
            }
            _ => out.push(Pointer::of(at.iter().copied().chain([key.as_str()]))),
        }
    }
}

/// True when the segments `c` begin with the names `at`.
fn starts_with(c: &[String], at: &[&str]) -> bool {
    c.len() >= at.len() && c.iter().zip(at).all(|(c, a)| c == a)
}

/// True when `c` is the member `key` of the object at `at`, or an ancestor of it.
fn covers(c: &Pointer, at: &[&str], key: &str) -> bool {
    let c = c.segments();
    match c.len().cmp(&(at.len() + 1)) {
        std::cmp::Ordering::Greater => false,
        std::cmp::Ordering::Equal => c[at.len()] == key && starts_with(c, at),
        std::cmp::Ordering::Less => at.iter().zip(c).all(|(a, c)| c == a),
    }
}

/// True when `c` is the member `key` of the object at `at`, or inside it.
fn within(c: &Pointer, at: &[&str], key: &str) -> bool {
    let c = c.segments();
    c.len() > at.len() && c[at.len()] == key && starts_with(c, at)
}

#[cfg(test)]
mod tests {
    use serde_json::{Map, json};

    use super::Members;
    use crate::pointer::Pointer;

    #[test]
    fn members_find_what_the_map_finds() {
        let mut large = Map::new();
        for i in 0..40 {
            large.insert(format!("m{i}"), json!(i));
        }
        large.insert("name".into(), json!({"given": "Ada"}));
        let small =
            json!({"id": "1", "ie": 2, "name": {"given": "Ada", "full": null}, "l": [{"a": 1}], "": 0});
        let pointers = [
            "",
            "/id",
            "/ie",
            "/i",
            "/idx",
            "/name",
            "/name/given",
            "/name/full",
            "/name/x",
            "/id/x",
            "/l/0/a",
            "/",
            "/m7",
            "/m39",
            "/m40",
        ];
        for doc in [small.as_object().unwrap(), &large, &Map::new()] {
            let members = Members::of(doc);
            for p in pointers {
                let p = Pointer::parse(p).unwrap();
                assert_eq!(members.get(&p), p.get_member(doc), "{p} in {doc:?}");
            }
        }
        assert!(
            Members::of(&large).listed.is_empty(),
            "a large object is searched as a map"
        );
    }
}
