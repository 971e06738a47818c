//! The translation pipeline between two sides, each the canonical form or a dialect:
//! validate → decode → check the id → encode → (overflow) → (read the stored customer, fill,
//! encode again) → policy for requests; classify → decode → encode for answers (each side's
//! part in [`Side`]).

use std::sync::LazyLock;

use dialectgate_canonical::{ErrorKind, Problem, Violation};
use serde_json::{Map, Value};

use crate::canonical::{Canonical, VERSION};
use crate::engine::actions::Trail;
use crate::engine::{CanonicalRequest, Decoded, Encoded, Need, fill, overflow};
use crate::message::{Fill, Mode, Options, Pending, Step, Translation};
use crate::pointer::Pointer;
use crate::report::{Dropped, Fidelity, FillReason, FilledField, LossReason, Overflowed};
use crate::side::{Expressed, Side};
use crate::validate::MessageVars;
use crate::validate::refusal;

/// Validates, decodes, checks the id, encodes and applies the policy: the whole request
/// translation, unless the target needs the stored customer first (see
/// [`crate::Registry::plan`]).
pub(crate) fn request(
    from: &dyn Side,
    to: &dyn Side,
    canonical: &Canonical,
    path_id: Option<&str>,
    body: Body<'_>,
    options: Options<'_>,
) -> Result<Step, Problem> {
    from.validate_request(body.as_ref())?;
    let (decoded, body) = match body {
        Body::Shared(body) => (from.decode_request(path_id, body), body),
        Body::Taken(body) => (from.decode_request_taking(path_id, body), &*body),
    };
    let Decoded {
        mut request,
        unknown,
        complete,
        trail,
    } = decoded?;
    overflow::refuse_reserved((from, to), body, &request.patch, options.overflow_prefix)?;
    check_id(from, to, &request.id)?;
    let unchecked = unchecked(from, to, &trail, &mut request.patch);
    let mut expressed = to.encode_request(&request, &complete)?;
    let mut overflow = Vec::new();
    if let (true, Some(bag)) = (options.overflow, to.bag())
        && let Some(moved) = overflow::stow_lost(
            (from, canonical),
            &mut request.patch,
            expressed.report(),
            bag,
            options.overflow_prefix,
        )
    {
        overflow = moved;
        expressed = to.encode_request(&request, &complete)?;
    }
    let needs = expressed.needs();
    // The gateway's keys in a bag the target replaces in full stay even when the caller sent
    // the bag whole (they are never the caller's to see or write): they are read first.
    let keep = options
        .overflow
        .then(|| overflow::replaced_whole(to, &complete))
        .flatten();
    // A target without a retrieve operation cannot be read: its requests are translated as
    // with `Fill::Never`.
    if options.fill == Fill::Read
        && (!needs.is_empty() || keep.is_some())
        && to.retrieve(&request.id).is_some()
    {
        let mut needs = needs.to_vec();
        needs.extend(keep.map(|bag| Need {
            pointer: bag.clone(),
            reason: FillReason::Replaced,
            part_of: None,
        }));
        return Ok(Step::Read(Pending {
            needs,
            request,
            unknown,
            overflow,
            complete,
            reserved: keep.map(|_| options.overflow_prefix.to_owned()),
            trail,
            unchecked,
        }));
    }
    finish(
        (from, to, canonical),
        request,
        None,
        expressed,
        (&unknown, &trail),
        Reported {
            filled: Vec::new(),
            overflow,
            unchecked,
        },
        options.mode,
    )
    .map(Step::Ready)
}

/// A caller's request body, as a translation gets it.
pub(crate) enum Body<'a> {
    /// Read only.
    Shared(&'a Value),
    /// Its members carried whole may be moved out (see [`crate::Registry::plan_taking`]).
    Taken(&'a mut Value),
}

impl Body<'_> {
    fn as_ref(&self) -> &Value {
        match self {
            Body::Shared(body) => body,
            Body::Taken(body) => body,
        }
    }
}

/// Completes `pending` with the `stored` customer (canonical): the members it needs are taken
/// from there, and the request is encoded and checked as any other.
pub(crate) fn complete(
    from: &dyn Side,
    to: &dyn Side,
    canonical: &Canonical,
    pending: Pending,
    stored: &Value,
    mode: Mode,
) -> Result<Translation, Problem> {
    let Pending {
        mut request,
        unknown,
        overflow,
        needs,
        mut complete,
        reserved,
        trail,
        unchecked,
    } = pending;
    let sent = request.patch.clone();
    let held;
    let stored = match (&reserved, to.bag()) {
        (Some(prefix), Some(bag)) => {
            held = overflow::reserved_only(stored, bag, prefix);
            &held
        }
        _ => stored,
    };
    let filled = fill::fill(&mut request.patch, &needs, stored);
    complete.extend(filled.complete);
    let expressed = to.encode_request(&request, &complete)?;
    finish(
        (from, to, canonical),
        request,
        Some(&sent),
        expressed,
        (&unknown, &trail),
        Reported {
            filled: filled.fields,
            overflow,
            unchecked,
        },
        mode,
    )
}

/// What a translation adds to the encoder's report.
struct Reported {
    filled: Vec<FilledField>,
    overflow: Vec<Overflowed>,
    unchecked: Vec<String>,
}

/// Takes the caller's version out of `patch` when the target has no place for it: a version is
/// a precondition, which a target that keeps none cannot check. It is not the caller's data, so
/// it is neither lost nor stowed in a bag; the report names it as unchecked (pointers into the
/// caller's body).
fn unchecked(from: &dyn Side, to: &dyn Side, trail: &Trail, patch: &mut Map<String, Value>) -> Vec<String> {
    // Parsed once, not on every request.
    static VERSION_AT: LazyLock<Pointer> = LazyLock::new(|| Pointer::parse(VERSION).unwrap_or_default());
    if to.carries(&VERSION_AT) || VERSION_AT.remove(patch).is_none() {
        return Vec::new();
    }
    vec![
        trail
            .origin(VERSION)
            .map_or_else(|| from.source_pointer(VERSION), str::to_owned),
    ]
}

/// The policy over an encoding: a missing required member refused; the report restated in the
/// caller's terms (`sent`, the caller's patch before a read filled it, when there was one:
/// only what the caller sent can be lost); strict mode refusing losses; the target's schema.
fn finish(
    (from, to, canonical): (&dyn Side, &dyn Side, &Canonical),
    request: CanonicalRequest,
    sent: Option<&Map<String, Value>>,
    mut expressed: Expressed,
    (unknown, trail): (&[String], &Trail),
    reported: Reported,
    mode: Mode,
) -> Result<Translation, Problem> {
    if let Some(missing) = expressed.missing() {
        return Err(Problem::clone(missing));
    }
    let mut fidelity = restate(
        (from, canonical),
        expressed.take_report(),
        (unknown, trail),
        sent.unwrap_or(&request.patch),
        sent.is_some(),
    );
    fidelity.filled = reported.filled;
    fidelity.overflow = reported.overflow;
    fidelity.unchecked = reported.unchecked;
    let CanonicalRequest { id, patch } = request;
    let body = expressed.into_body(patch);
    let refused = mode == Mode::Strict && !fidelity.dropped.is_empty();
    if refused {
        return Err(lossy_problem(from, to, &fidelity, trail));
    }
    to.check_target(&body).map_err(|invalid| {
        // A body the target refuses because the caller's members had no place in it (nothing
        // left for Checkout Page, which refuses an empty body): the caller hears which of its
        // members, never that its body was empty.
        if fidelity.dropped.is_empty() {
            invalid
        } else {
            lossy_problem(from, to, &fidelity, trail)
        }
    })?;
    Ok(Translation {
        outbound: to.outbound(&id, body),
        id,
        fidelity,
    })
}

/// Encodes a canonical request for `to`, checked against `to`'s own request schema (see
/// [`crate::Registry::encode_request`]).
pub(crate) fn encode(to: &dyn Side, request: &CanonicalRequest) -> Result<Encoded, Problem> {
    let encoded = match to.encode_request(request, &[])? {
        Expressed::AsPatch => Encoded {
            body: Value::Object(request.patch.clone()),
            report: Fidelity::default(),
            needs: Vec::new(),
            missing: None,
        },
        Expressed::Encoded(encoded) => encoded,
    };
    if let Some(missing) = &encoded.missing {
        return Err(Problem::clone(missing));
    }
    to.check_target(&encoded.body)?;
    Ok(encoded)
}

/// Ids are opaque: at most the shorter of the two sides' limits, no control characters, not a
/// dot segment. Refused as the caller's validation error, pointing where the caller put the id.
pub(crate) fn check_id(from: &dyn Side, to: &dyn Side, id: &str) -> Result<(), Problem> {
    let max_len = from.id_max_length().min(to.id_max_length());
    if crate::id::check(id, max_len).is_ok() {
        // The target writes ids in its own form: one it cannot write (not an integer, for a
        // dialect of integer ids) is untranslatable, refused in the caller's words, never sent
        // mangled.
        return match to.unwritable_id(id) {
            Some(form) => Err(from.refuse(
                ErrorKind::Untranslatable,
                MessageVars {
                    format: Some(form),
                    target: Some(to.id().to_owned()),
                    ..refusal("invalid_id", from.id_pointer())
                },
            )),
            None => Ok(()),
        };
    }
    Err(from.refuse(
        ErrorKind::Validation,
        MessageVars {
            limit: Some(max_len.to_string()),
            ..refusal("invalid_id", from.id_pointer())
        },
    ))
}

/// The encoder's `report` (canonical pointers) restated in the caller's terms, with the caller's
/// `unknown` members (no rule carries them) dropped first. The report's derived members are
/// restated where they are (their target and list of sources reused: this runs for every
/// derived member of every request).
fn restate(
    (from, canonical): (&dyn Side, &Canonical),
    report: Fidelity,
    (unknown, trail): (&[String], &Trail),
    patch: &Map<String, Value>,
    filled: bool,
) -> Fidelity {
    let mut dropped: Vec<Dropped> = unknown
        .iter()
        .map(|p| Dropped {
            pointer: p.clone(),
            reason: LossReason::NoTarget,
        })
        .collect();
    for lost in &report.dropped {
        // After a read, members of the stored customer the target has no place for are not
        // the caller's to lose.
        if filled && !Pointer::parse(&lost.pointer).is_some_and(|p| fill::sent_by_caller(patch, &p)) {
            continue;
        }
        // A secret with no place in the target is named as one.
        let secret = lost.reason == LossReason::NoTarget
            && Pointer::parse(&lost.pointer).is_some_and(|p| canonical.is_secret(&p));
        let lost = &Dropped {
            pointer: lost.pointer.clone(),
            reason: if secret { LossReason::Secret } else { lost.reason },
        };
        // One lost canonical object may have been fed by several of the caller's members: name
        // every one of them, or the report would hide some of the loss.
        let within = trail.origins_within(&lost.pointer);
        let pointers = if within.is_empty() {
            from.source_pointers(&lost.pointer, patch)
        } else {
            within
        };
        if pointers.is_empty() {
            dropped.push(lost.clone());
        }
        for pointer in pointers {
            if !dropped
                .iter()
                .any(|d| d.pointer == pointer && d.reason == lost.reason)
            {
                dropped.push(Dropped {
                    pointer,
                    reason: lost.reason,
                });
            }
        }
    }
    let mut derived = report.derived;
    for d in &mut derived {
        // Sources read from the stored customer are reported as filled, not as the caller's.
        if filled {
            d.from
                .retain(|f| Pointer::parse(f).is_some_and(|p| fill::sent_by_caller(patch, &p)));
        }
        for f in &mut d.from {
            *f = trail
                .origin(f)
                .map_or_else(|| from.source_pointer(f), str::to_owned);
        }
    }
    Fidelity {
        derived,
        dropped,
        ..Fidelity::default()
    }
}

/// Strict mode: every dropped member refused, in the caller's words.
/// An item of an action list no rule knows is named by its action.
fn lossy_problem(from: &dyn Side, to: &dyn Side, fidelity: &Fidelity, trail: &Trail) -> Problem {
    let errors: Vec<Violation> = fidelity
        .dropped
        .iter()
        .map(|d| {
            from.violation(MessageVars {
                target: Some(to.id().to_owned()),
                property: trail.name(&d.pointer).map(str::to_owned),
                ..refusal(d.reason.code(), Pointer::parse(&d.pointer).unwrap_or_default())
            })
        })
        .collect();
    from.problem(ErrorKind::Untranslatable, errors)
}
