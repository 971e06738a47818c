//! The one engine that runs every dialect definition in both directions:
//! dialect body ⇄ canonical merge patch (requests) and dialect body ⇄ canonical Customer
//! (success responses).
//!
//! Decoding is faithful by construction: every rule copies or transforms one member. Encoding
//! keeps books: every canonical member is either carried by a rule, used to derive another
//! member, or reported lost, so the policy layer can refuse (strict) or report (lenient).

use dialectgate_canonical::{ErrorKind, Problem, Violation};
use serde_json::{Map, Value};

use crate::dialect::Dialect;
use crate::plan::{Derivation, MessagePlan, Rule, Shape, Transform};
use crate::pointer::Pointer;
use crate::validate::{self, MessageVars};

/// Why a canonical member did not reach the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LossReason {
    /// The target has no member for it.
    NoTarget,
    /// The target cannot clear a member (null or empty is ignored there).
    CannotClear,
    /// The target replaces the enclosing object in full, so this omitted member would be cleared.
    PartialReplace,
}

impl LossReason {
    /// The violation code used when a loss is refused.
    pub fn code(self) -> &'static str {
        match self {
            LossReason::NoTarget => "lossy",
            LossReason::CannotClear => "cannot_clear",
            LossReason::PartialReplace => "partial_replace",
        }
    }
}

/// A canonical member that was dropped.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Lost {
    /// Canonical pointer.
    pub canonical: String,
    pub reason: LossReason,
}

/// A target member computed from others.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Derived {
    /// Pointer in the target body.
    pub target: String,
    /// Canonical pointers it was computed from.
    pub from: Vec<String>,
}

/// What an encoding did with the canonical members.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    pub derived: Vec<Derived>,
    pub lost: Vec<Lost>,
}

impl Report {
    /// True when nothing was derived or lost.
    pub fn is_exact(&self) -> bool {
        self.derived.is_empty() && self.lost.is_empty()
    }
}

/// The canonical meaning of an update request: which customer, and the merge patch.
#[derive(Debug, Clone, PartialEq)]
pub struct CanonicalRequest {
    pub id: String,
    pub patch: Map<String, Value>,
}

/// A decoded request plus the caller's members no rule carries.
#[derive(Debug, Clone)]
pub struct Decoded {
    pub request: CanonicalRequest,
    /// Pointers (into the caller's body) of members the dialect's schema let through but no rule
    /// maps; they would be lost.
    pub unknown: Vec<String>,
}

/// An encoded body and its report.
#[derive(Debug, Clone)]
pub struct Encoded {
    pub body: Value,
    pub report: Report,
}

struct DecodeCtx<'a> {
    dialect: &'a Dialect,
    ignore_empty: bool,
    /// Requests: a patch (replaced objects prefilled with nulls, `null` means clear).
    /// Responses: a document, where `null` only means "not set" and is left out.
    replace: bool,
}

impl Dialect {
    /// Decodes a request body (already validated against the request schema) into the canonical
    /// request. `path_id` is the id taken from the path, when the route has one.
    ///
    /// # Errors
    /// A [`Problem`] in canonical terms (validation or untranslatable) with pointers into `body`.
    pub fn decode_request(&self, path_id: Option<&str>, body: &Value) -> Result<Decoded, Problem> {
        let id = match (&self.route.id_in_body, path_id) {
            (Some(p), _) => p.get(body).and_then(Value::as_str).map(str::to_owned),
            (None, id) => id.map(str::to_owned),
        };
        let Some(id) = id.filter(|id| !id.is_empty()) else {
            let pointer = self.route.id_in_body.clone().unwrap_or_default();
            return Err(self.problem(
                ErrorKind::Validation,
                vec![self.violation(MessageVars {
                    code: "required".into(),
                    pointer: pointer.clone(),
                    at: pointer,
                    ..Default::default()
                })],
            ));
        };
        let plan = &self.request;
        let root = plan
            .envelope
            .get(body)
            .ok_or_else(|| self.shape_problem(&plan.envelope))?;
        let ctx = DecodeCtx {
            dialect: self,
            ignore_empty: plan.ignore_empty,
            replace: true,
        };
        let mut patch = Map::new();
        for rule in &plan.rules {
            ctx.rule(rule, root, &plan.envelope, &mut patch)?;
        }
        let mut unknown = Vec::new();
        let envelope = plan.envelope.segments();
        let claimed: Vec<&[String]> = plan
            .constants
            .iter()
            .chain(&plan.extra)
            .map(|(p, _)| p)
            .chain(&self.route.id_in_body)
            .filter_map(|p| p.segments().strip_prefix(envelope))
            .collect();
        unknown_members(root, &views(&plan.rules), &claimed, &plan.envelope, &mut unknown);
        Ok(Decoded {
            request: CanonicalRequest { id, patch },
            unknown,
        })
    }

    /// Encodes a canonical request as this dialect's request body.
    ///
    /// # Errors
    /// Untranslatable when a value has no equivalent (unmapped enum) or a member the dialect
    /// requires on every write is missing. Pointers are canonical.
    pub fn encode_request(&self, request: &CanonicalRequest) -> Result<Encoded, Problem> {
        let plan = &self.request;
        let mut report = Report::default();
        let mut out = Map::new();
        let mut ctx = EncodeCtx {
            dialect: self,
            plan,
            report: Some(&mut report),
        };
        ctx.object(&plan.rules, &request.patch, &Pointer::root(), &mut out)?;
        let mut body = wrap(plan, out);
        if let (Some(p), Value::Object(map)) = (&self.route.id_in_body, &mut body) {
            p.set(map, Value::String(request.id.clone()));
        }
        let missing: Vec<Violation> = plan
            .required
            .iter()
            .filter(|p| plan.envelope.join(p).get(&body).is_none_or(Value::is_null))
            .map(|p| {
                self.violation(MessageVars {
                    code: "required_on_write".into(),
                    pointer: p.clone(),
                    at: p.clone(),
                    target: Some(self.id.clone()),
                    ..Default::default()
                })
            })
            .collect();
        if !missing.is_empty() {
            return Err(self.problem(ErrorKind::Untranslatable, missing));
        }
        Ok(Encoded { body, report })
    }

    /// Applies a request's query string as the route declares: merged into the body where the
    /// vendor reads query parameters as members (query wins), accepted where listed, refused
    /// otherwise (never silently dropped).
    ///
    /// # Errors
    /// A validation problem naming the first parameter the route does not accept.
    pub fn apply_query(&self, query: &str, body: &mut Value) -> Result<(), Problem> {
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            if self.route.query_into_body {
                if let Value::Object(map) = body {
                    map.insert(key.into_owned(), Value::String(value.into_owned()));
                }
            } else if !self.route.query.iter().any(|q| *q == key) {
                let violation = self.violation(MessageVars {
                    code: "query".into(),
                    property: Some(key.into_owned()),
                    ..Default::default()
                });
                return Err(self.problem(ErrorKind::Validation, vec![violation]));
            }
        }
        Ok(())
    }

    /// Decodes this dialect's success body into a canonical Customer document.
    ///
    /// # Errors
    /// When the body does not have the dialect's success shape.
    pub fn decode_response(&self, body: &Value) -> Result<Value, Problem> {
        let plan = &self.response;
        let root = plan
            .envelope
            .get(body)
            .ok_or_else(|| self.shape_problem(&plan.envelope))?;
        let ctx = DecodeCtx {
            dialect: self,
            ignore_empty: false,
            replace: false,
        };
        let mut doc = Map::new();
        for rule in &plan.rules {
            ctx.rule(rule, root, &plan.envelope, &mut doc)?;
        }
        Ok(Value::Object(doc))
    }

    /// Encodes a canonical Customer document as this dialect's success body. Members the dialect
    /// has no place for are left out (only allow-listed members ever reach a caller).
    ///
    /// # Errors
    /// When a value has no equivalent in this dialect (an unmapped enum value).
    pub fn encode_response(&self, customer: &Value) -> Result<Value, Problem> {
        let plan = &self.response;
        let empty = Map::new();
        let doc = customer.as_object().unwrap_or(&empty);
        let mut out = Map::new();
        let mut ctx = EncodeCtx {
            dialect: self,
            plan,
            report: None,
        };
        ctx.object(&plan.rules, doc, &Pointer::root(), &mut out)?;
        Ok(wrap(plan, out))
    }

    /// True when `body` carries this dialect's success constants (MicroBase's `ok: true`, …).
    pub fn is_success_body(&self, body: &Value) -> bool {
        self.response
            .constants
            .iter()
            .all(|(p, v)| p.get(body) == Some(v))
            && self.response.envelope.get(body).is_some_and(Value::is_object)
    }

    /// The dialect pointer a canonical request pointer came from, following this dialect's
    /// request rules (array indexes carried over). `None` when no rule maps it.
    pub fn source_pointer(&self, canonical: &str) -> Option<String> {
        let target = Pointer::parse(canonical)?;
        let found = source_in(&self.request.rules, &target).or_else(|| {
            // A whole canonical object (`/addresses`) that only some rules map into: name the
            // first member of the caller's body that fed it.
            self.request
                .rules
                .iter()
                .find(|r| target.is_prefix_of(&r.canonical))
                .map(|r| r.dialect.clone())
        })?;
        Some(self.request.envelope.join(&found).to_string())
    }

    /// Every member of the caller's body a lost canonical request pointer came from. Unlike
    /// [`Dialect::source_pointer`], a whole canonical object that several rules feed
    /// (`/addresses` from Checkout Page's `address` and `shipping`) names each of those members
    /// that `patch` carries, not only the first; a member no rule maps names the nearest
    /// enclosing member that fed it. Empty when no rule relates to `canonical` at all.
    pub(crate) fn source_pointers(&self, canonical: &str, patch: &Map<String, Value>) -> Vec<String> {
        let Some(target) = Pointer::parse(canonical) else {
            return Vec::new();
        };
        let envelope = &self.request.envelope;
        if let Some(found) = source_in(&self.request.rules, &target) {
            return vec![envelope.join(&found).to_string()];
        }
        let mut under = Vec::new();
        let mut nearest = None;
        sources_under(
            &self.request.rules,
            &target,
            (&Pointer::root(), &Pointer::root()),
            &MapRef(patch),
            &mut under,
            &mut nearest,
        );
        let mut out: Vec<String> = match nearest {
            Some(p) if under.is_empty() => vec![envelope.join(&p).to_string()],
            _ => under.iter().map(|p| envelope.join(p).to_string()).collect(),
        };
        out.dedup();
        out
    }

    pub(crate) fn violation(&self, vars: MessageVars) -> Violation {
        validate::violation(&self.errors.messages, &vars)
    }

    pub(crate) fn problem(&self, kind: ErrorKind, errors: Vec<Violation>) -> Problem {
        let detail = errors
            .iter()
            .map(|v| v.message.as_str())
            .collect::<Vec<_>>()
            .join(&self.errors.join);
        Problem::new(kind, detail).with_errors(errors)
    }

    fn shape_problem(&self, at: &Pointer) -> Problem {
        self.problem(
            ErrorKind::Validation,
            vec![self.violation(MessageVars {
                code: "required".into(),
                pointer: at.clone(),
                at: at.clone(),
                ..Default::default()
            })],
        )
    }
}

fn wrap(plan: &MessagePlan, fields: Map<String, Value>) -> Value {
    let mut root = Map::new();
    plan.envelope.set(&mut root, Value::Object(fields));
    for (p, v) in plan.constants.iter().chain(&plan.extra) {
        p.set(&mut root, v.clone());
    }
    Value::Object(root)
}

fn source_in(rules: &[Rule], target: &Pointer) -> Option<Pointer> {
    for rule in rules {
        let Some(rest) = target.strip_prefix(&rule.canonical) else {
            continue;
        };
        match &rule.shape {
            Shape::Leaf => return Some(rule.dialect.join(&rest)),
            Shape::Object { rules, .. } => {
                if rest.is_root() {
                    return Some(rule.dialect.clone());
                }
                if let Some(inner) = source_in(rules, &rest) {
                    return Some(rule.dialect.join(&inner));
                }
            }
            Shape::Array { rules } => {
                let Some((index, inner)) = rest.segments().split_first() else {
                    return Some(rule.dialect.clone());
                };
                let inner = Pointer::parse(&format!("/{}", inner.join("/"))).unwrap_or_default();
                let mapped = if inner.is_root() {
                    Some(Pointer::root())
                } else {
                    source_in(rules, &inner)
                };
                if let Some(mapped) = mapped {
                    return Some(rule.dialect.child(index.clone()).join(&mapped));
                }
            }
        }
    }
    None
}

/// The dialect pointers of the rules mapping a canonical member below `target` that `patch`
/// carries (`under`), and the deepest rule enclosing `target` (`nearest`).
fn sources_under(
    rules: &[Rule],
    target: &Pointer,
    (canonical_base, dialect_base): (&Pointer, &Pointer),
    patch: &MapRef<'_>,
    under: &mut Vec<Pointer>,
    nearest: &mut Option<Pointer>,
) {
    for rule in rules {
        let c = canonical_base.join(&rule.canonical);
        let d = dialect_base.join(&rule.dialect);
        if target.is_prefix_of(&c) {
            if patch.get(&c).is_some() {
                under.push(d);
            }
        } else if c.is_prefix_of(target) {
            if let Shape::Object { rules, .. } = &rule.shape {
                sources_under(rules, target, (&c, &d), patch, under, nearest);
            }
            if nearest
                .as_ref()
                .is_none_or(|n| n.segments().len() < d.segments().len())
            {
                *nearest = Some(d);
            }
        }
    }
}

/// A rule seen from inside the members its dialect pointer descends through: what is left of
/// its pointer, and the rule.
type RuleView<'a> = (&'a [String], &'a Rule);

fn views(rules: &[Rule]) -> Vec<RuleView<'_>> {
    rules.iter().map(|r| (r.dialect.segments(), r)).collect()
}

/// Collects members of `value` that no rule (nor a claimed pointer) covers. Runs on every
/// request, so it allocates only to descend into mapped objects and to report.
fn unknown_members(
    value: &Value,
    rules: &[RuleView<'_>],
    claimed: &[&[String]],
    at: &Pointer,
    out: &mut Vec<String>,
) {
    let Value::Object(map) = value else { return };
    for (key, member) in map {
        if claimed.iter().any(|c| c.len() == 1 && c[0] == *key) {
            continue;
        }
        // Rules whose dialect pointer starts with this member (the last exact one wins).
        let mut exact = None;
        let mut deeper = false;
        for (path, rule) in rules {
            if let Some((first, rest)) = path.split_first()
                && first == key
            {
                if rest.is_empty() {
                    exact = Some(*rule);
                } else {
                    deeper = true;
                }
            }
        }
        match exact {
            Some(rule) => match (&rule.shape, member) {
                (Shape::Object { rules, .. }, Value::Object(_)) => {
                    unknown_members(member, &views(rules), &[], &at.child(key.clone()), out)
                }
                (Shape::Array { rules }, Value::Array(items)) => {
                    let rules = views(rules);
                    let here = at.child(key.clone());
                    for (i, item) in items.iter().enumerate() {
                        unknown_members(item, &rules, &[], &here.child(i.to_string()), out);
                    }
                }
                _ => {}
            },
            None if deeper => {
                fn below<'a>(p: &'a [String], key: &str) -> Option<&'a [String]> {
                    match p.split_first() {
                        Some((first, rest)) if first == key => Some(rest),
                        _ => None,
                    }
                }
                let nested: Vec<RuleView<'_>> = rules
                    .iter()
                    .filter_map(|(p, r)| below(p, key).map(|rest| (rest, *r)))
                    .collect();
                let nested_claimed: Vec<&[String]> = claimed.iter().filter_map(|c| below(c, key)).collect();
                unknown_members(member, &nested, &nested_claimed, &at.child(key.clone()), out);
            }
            None => out.push(at.child(key.clone()).to_string()),
        }
    }
}

impl DecodeCtx<'_> {
    fn rule(
        &self,
        rule: &Rule,
        src: &Value,
        at: &Pointer,
        dst: &mut Map<String, Value>,
    ) -> Result<(), Problem> {
        let Some(v) = rule.dialect.get(src) else {
            return Ok(());
        };
        if (self.ignore_empty || !self.replace) && v.is_null() || self.ignore_empty && v.as_str() == Some("")
        {
            return Ok(());
        }
        let here = || at.join(&rule.dialect);
        let value = match (&rule.shape, v) {
            (_, Value::Null) => Value::Null,
            (
                Shape::Object {
                    rules,
                    replace,
                    cleared,
                },
                Value::Object(_),
            ) => {
                let mut obj = if *replace && self.replace {
                    cleared.clone()
                } else {
                    Map::new()
                };
                let here = here();
                for r in rules {
                    self.rule(r, v, &here, &mut obj)?;
                }
                Value::Object(obj)
            }
            (Shape::Array { rules }, Value::Array(items)) => {
                let here = here();
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    let mut obj = Map::new();
                    let item_at = here.child(i.to_string());
                    for r in rules {
                        self.rule(r, item, &item_at, &mut obj)?;
                    }
                    out.push(Value::Object(obj));
                }
                Value::Array(out)
            }
            (Shape::Leaf, v) => self.leaf(rule, v, here)?,
            (Shape::Object { .. } | Shape::Array { .. }, _) => {
                return Err(self.dialect.problem(
                    ErrorKind::Validation,
                    vec![
                        self.dialect.violation(MessageVars {
                            code: "type".into(),
                            pointer: here(),
                            at: here(),
                            expected: Some(
                                if matches!(rule.shape, Shape::Object { .. }) {
                                    "object"
                                } else {
                                    "array"
                                }
                                .into(),
                            ),
                            ..Default::default()
                        }),
                    ],
                ));
            }
        };
        rule.canonical.set(dst, value);
        Ok(())
    }

    fn leaf(&self, rule: &Rule, v: &Value, here: impl Fn() -> Pointer) -> Result<Value, Problem> {
        if let Some(map) = &rule.enum_map {
            let mapped = v.as_str().and_then(|s| map.to_canonical.get(s));
            return match mapped {
                Some(c) => Ok(Value::String(c.clone())),
                None => Err(self.dialect.problem(
                    ErrorKind::Untranslatable,
                    vec![self.dialect.violation(MessageVars {
                        code: "unmapped_enum".into(),
                        pointer: here(),
                        at: here(),
                        target: Some("canonical".into()),
                        ..Default::default()
                    })],
                )),
            };
        }
        let Some(t) = &rule.transform else {
            return Ok(v.clone());
        };
        Ok(match (t, v) {
            (Transform::KvList { key, value }, Value::Array(items)) => {
                let mut obj = Map::new();
                for (i, item) in items.iter().enumerate() {
                    let k = item.get(key).and_then(Value::as_str);
                    let Some(k) = k.filter(|k| !obj.contains_key(*k)) else {
                        let p = here().child(i.to_string()).child(key.clone());
                        return Err(self.dialect.problem(
                            ErrorKind::Validation,
                            vec![self.dialect.violation(MessageVars {
                                code: "duplicate_key".into(),
                                pointer: p.clone(),
                                at: p,
                                ..Default::default()
                            })],
                        ));
                    };
                    obj.insert(k.to_owned(), item.get(value).cloned().unwrap_or(Value::Null));
                }
                Value::Object(obj)
            }
            (Transform::NumberString, Value::Number(n)) => Value::String(n.to_string()),
            (Transform::EmptyStringNull, Value::Object(map)) => Value::Object(
                map.iter()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            if v.as_str() == Some("") {
                                Value::Null
                            } else {
                                v.clone()
                            },
                        )
                    })
                    .collect(),
            ),
            (Transform::LowerUpper, Value::String(s)) => Value::String(s.to_uppercase()),
            (_, other) => other.clone(),
        })
    }
}

struct EncodeCtx<'a> {
    dialect: &'a Dialect,
    plan: &'a MessagePlan,
    /// `None` for responses, which keep no books.
    report: Option<&'a mut Report>,
}

impl EncodeCtx<'_> {
    /// Encodes the canonical object `src` (at canonical pointer `at`) with `rules` into `out`.
    fn object(
        &mut self,
        rules: &[Rule],
        src: &Map<String, Value>,
        at: &Pointer,
        out: &mut Map<String, Value>,
    ) -> Result<(), Problem> {
        let mut consumed: Vec<&Pointer> = Vec::with_capacity(rules.len());
        let src_value = MapRef(src);
        for rule in rules {
            match src_value.get(&rule.canonical) {
                Some(v) => {
                    consumed.push(&rule.canonical);
                    let cannot_clear = self.plan.ignore_empty && (v.is_null() || v.as_str() == Some(""));
                    if cannot_clear {
                        self.lose(at.join(&rule.canonical), crate::engine::LossReason::CannotClear);
                        continue;
                    }
                    let encoded = self.value(rule, v, at)?;
                    rule.dialect.set(out, encoded);
                }
                None => {
                    if let Some(d) = &rule.derive
                        && let Some(value) = derive(d, &src_value)
                    {
                        for f in &d.from {
                            consumed.push(f);
                        }
                        if let Some(report) = self.report.as_deref_mut() {
                            report.derived.push(Derived {
                                target: self.plan.envelope.join(&rule.dialect).to_string(),
                                from: d.from.iter().map(|f| at.join(f).to_string()).collect(),
                            });
                        }
                        rule.dialect.set(out, value);
                        continue;
                    }
                    // Defaults fill responses only; a request must never invent a value.
                    if let (Some(default), None) = (&rule.default, &self.report) {
                        rule.dialect.set(out, default.clone());
                    }
                }
            }
        }
        if self.report.is_some() {
            let mut lost = Vec::new();
            uncovered(src, &consumed, &Pointer::root(), &mut lost);
            for p in lost {
                // Clearing a member the target has no place for at all loses nothing: the target
                // holds no value there either way. (Checkout Page's replaced `address` decodes
                // into nulls for every canonical address member, most of which no dialect has;
                // reporting them would refuse even Checkout Page → Checkout Page.) A null for an
                // object the target maps only in part (`name: null`) is still reported.
                if MapRef(src).get(&p).is_some_and(Value::is_null)
                    && !rules.iter().any(|r| p.is_prefix_of(&r.canonical))
                {
                    continue;
                }
                self.lose(at.join(&p), crate::engine::LossReason::NoTarget);
            }
        }
        Ok(())
    }

    fn lose(&mut self, canonical: Pointer, reason: LossReason) {
        if let Some(report) = self.report.as_deref_mut() {
            report.lost.push(Lost {
                canonical: canonical.to_string(),
                reason,
            });
        }
    }

    /// Encodes the value `v` of `rule`, a member of the canonical object at `parent`. The
    /// member's own pointer is built only when needed (nested members, losses, errors): this
    /// runs for every member of every request and answer.
    fn value(&mut self, rule: &Rule, v: &Value, parent: &Pointer) -> Result<Value, Problem> {
        match (&rule.shape, v) {
            (_, Value::Null) => Ok(Value::Null),
            (Shape::Object { rules, replace, .. }, Value::Object(obj)) => {
                let at = &parent.join(&rule.canonical);
                let mut out = Map::new();
                self.object(rules, obj, at, &mut out)?;
                if *replace && self.report.is_some() {
                    // The target clears what it is not sent: every member it can carry must be
                    // present in the patch (possibly null), or it would be wiped.
                    for r in rules {
                        if MapRef(obj).get(&r.canonical).is_none() && r.derive.is_none() {
                            self.lose(at.join(&r.canonical), LossReason::PartialReplace);
                        }
                    }
                }
                Ok(Value::Object(out))
            }
            (Shape::Array { rules }, Value::Array(items)) => {
                let at = parent.join(&rule.canonical);
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    let mut obj = Map::new();
                    if let Value::Object(item) = item {
                        self.object(rules, item, &at.child(i.to_string()), &mut obj)?;
                    }
                    out.push(Value::Object(obj));
                }
                Ok(Value::Array(out))
            }
            (Shape::Leaf, v) => self.leaf(rule, v, parent),
            (Shape::Object { .. } | Shape::Array { .. }, other) => Ok(other.clone()),
        }
    }

    fn leaf(&self, rule: &Rule, v: &Value, parent: &Pointer) -> Result<Value, Problem> {
        if let Some(map) = &rule.enum_map {
            return match v.as_str().and_then(|s| map.to_dialect.get(s)) {
                Some(d) => Ok(Value::String(d.clone())),
                None => Err(self.dialect.problem(
                    ErrorKind::Untranslatable,
                    vec![self.dialect.violation(MessageVars {
                        code: "unmapped_enum".into(),
                        pointer: parent.join(&rule.canonical),
                        at: parent.join(&rule.canonical),
                        target: Some(self.dialect.id.clone()),
                        ..Default::default()
                    })],
                )),
            };
        }
        let Some(t) = &rule.transform else {
            return Ok(v.clone());
        };
        Ok(match (t, v) {
            (Transform::KvList { key, value }, Value::Object(map)) => Value::Array(
                map.iter()
                    .map(|(k, v)| {
                        let mut item = Map::new();
                        item.insert(key.clone(), Value::String(k.clone()));
                        item.insert(value.clone(), v.clone());
                        Value::Object(item)
                    })
                    .collect(),
            ),
            (Transform::NumberString, Value::String(s)) => s
                .parse::<serde_json::Number>()
                .map_or_else(|_| v.clone(), Value::Number),
            (Transform::EmptyStringNull, Value::Object(map)) => Value::Object(
                map.iter()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            if v.is_null() {
                                Value::String(String::new())
                            } else {
                                v.clone()
                            },
                        )
                    })
                    .collect(),
            ),
            (Transform::LowerUpper, Value::String(s)) => Value::String(s.to_lowercase()),
            (_, other) => other.clone(),
        })
    }
}

/// A borrowed object seen through pointers.
struct MapRef<'a>(&'a Map<String, Value>);

impl<'a> MapRef<'a> {
    fn get(&self, p: &Pointer) -> Option<&'a Value> {
        let (first, rest) = p.segments().split_first()?;
        let mut cur = self.0.get(first)?;
        for seg in rest {
            cur = cur.as_object()?.get(seg)?;
        }
        Some(cur)
    }
}

fn derive(d: &crate::plan::Derive, src: &MapRef<'_>) -> Option<Value> {
    let values: Vec<&Value> = d.from.iter().map(|f| src.get(f)).collect::<Option<_>>()?;
    if values.iter().all(|v| v.is_null()) {
        return Some(Value::Null);
    }
    let strings: Vec<&str> = values.iter().map(|v| v.as_str()).collect::<Option<_>>()?;
    let out = match d.with {
        Derivation::JoinWords => strings
            .iter()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" "),
        Derivation::FirstWord => strings
            .first()?
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_owned(),
        Derivation::RestWords => {
            let full = strings.first()?.trim();
            full.split_once(char::is_whitespace)
                .map(|(_, rest)| rest.trim().to_owned())
                .unwrap_or_default()
        }
    };
    Some(Value::String(out))
}

/// Collects the members of `src` that no pointer in `consumed` covers.
fn uncovered(src: &Map<String, Value>, consumed: &[&Pointer], at: &Pointer, out: &mut Vec<Pointer>) {
    for (key, v) in src {
        let here = at.child(key.clone());
        if consumed.iter().any(|c| c.is_prefix_of(&here)) {
            continue;
        }
        match v {
            Value::Object(obj) if !obj.is_empty() && consumed.iter().any(|c| here.is_prefix_of(c)) => {
                uncovered(obj, consumed, &here, out);
            }
            _ => out.push(here),
        }
    }
}
