//! The set of loaded dialects plus the canonical schemas: everything the engine needs, loaded
//! and checked once. What a registry does is listed here, the work done by the rooms it names
//! (the translation pipeline, the engine); the generators above it, the fidelity matrix
//! (`matrix.rs`) and the OpenAPI document (`openapi.rs`), add their methods where they live.

use std::path::Path;
use std::sync::Arc;

use dialectgate_canonical::Problem;
use serde_json::Value;

use crate::canonical::Canonical;
use crate::dialect::{self, Dialect};
use crate::doc::Doc;
use crate::endpoint::Endpoint;
use crate::engine::{AnswerView, CanonicalRequest, Encoded, overflow};
use crate::error::DialectError;
use crate::held::HeldText;
use crate::message::{Answer, Fill, Mode, Options, Outbound, Pending, Step, Translation, Understood};
use crate::pointer::Pointer;
use crate::render::Rendered;
use crate::route::Operation;
use crate::source::{Source, Tree};
use crate::translate::{self, Body};

/// All loaded dialects.
#[derive(Debug)]
pub struct Registry {
    pub(crate) dialects: Vec<Arc<Dialect>>,
    pub(crate) canonical: Canonical,
}

impl Registry {
    /// Loads every `*.toml` in `dialects_dir`, with schemas from `schemas_dir/<id>/` and the
    /// canonical schemas from `schemas_dir/canonical/`.
    ///
    /// # Errors
    /// Every problem in every file, at once.
    pub fn load(dialects_dir: &Path, schemas_dir: &Path) -> Result<Registry, DialectError> {
        Registry::from_sources(
            &Source::Dir(dialects_dir.to_owned()),
            &Source::Dir(schemas_dir.to_owned()),
        )
    }

    /// Loads the definitions and schemas built into the binary.
    ///
    /// # Errors
    /// Only if the build embedded a broken definition (the tests load them).
    pub fn embedded() -> Result<Registry, DialectError> {
        Registry::from_sources(&Source::Embedded, &Source::Embedded)
    }

    /// Loads every `*.toml` definition of `dialects`, with its schemas from `<id>/` of `schemas`
    /// and the canonical schemas from `canonical/`: each source the embedded copies or a
    /// directory, independently.
    ///
    /// # Errors
    /// Every problem in every file, at once.
    pub fn from_sources(dialects: &Source, schemas: &Source) -> Result<Registry, DialectError> {
        let (definitions, schemas) = (Tree::definitions(dialects), Tree::schemas(schemas));
        let canonical = Canonical::load(schemas)?;
        let mut errors = Vec::new();
        let files = definitions.files("toml")?;
        let mut dialects = Vec::new();
        for file in &files {
            let stem = file.strip_suffix(".toml").unwrap_or(file);
            match dialect::load(
                definitions,
                stem,
                schemas,
                [&canonical.update_json, &canonical.customer_json],
            ) {
                Ok(d) => dialects.push(Arc::new(d)),
                Err(e) => errors.push(e),
            }
        }
        if files.is_empty() {
            errors.push(DialectError::Invalid {
                path: definitions.path(""),
                problems: vec!["no dialect definitions (*.toml) found".to_owned()],
            });
        }
        // Two dialects on one route would make routing ambiguous.
        for (i, a) in dialects.iter().enumerate() {
            for b in &dialects[i + 1..] {
                if a.routes().any(|(_, x)| b.routes().any(|(_, y)| x.overlaps(y))) {
                    errors.push(DialectError::Invalid {
                        path: definitions.path(&format!("{}.toml", b.id())),
                        problems: vec![format!(
                            "route `{} {}` overlaps the route of `{}`",
                            b.route().method,
                            b.route().path,
                            a.id()
                        )],
                    });
                }
            }
        }
        if !errors.is_empty() {
            return Err(DialectError::all(errors));
        }
        Ok(Registry { dialects, canonical })
    }

    /// The loaded dialects, sorted by id.
    pub fn dialects(&self) -> &[Arc<Dialect>] {
        &self.dialects
    }

    /// A dialect by id.
    pub fn dialect(&self, id: &str) -> Option<&Arc<Dialect>> {
        self.dialects.iter().find(|d| d.id() == id)
    }

    /// The canonical schemas.
    pub fn canonical(&self) -> &Canonical {
        &self.canonical
    }

    /// Keeps only the dialects named in `only`.
    ///
    /// # Errors
    /// The first name that is not a loaded dialect.
    pub fn retain(&mut self, only: &[String]) -> Result<(), String> {
        if let Some(unknown) = only.iter().find(|id| self.dialect(id).is_none()) {
            return Err(unknown.clone());
        }
        self.dialects.retain(|d| only.iter().any(|id| id == d.id()));
        Ok(())
    }

    /// The endpoint named `id` (`canonical` or a dialect id).
    pub fn endpoint(&self, id: &str) -> Option<Endpoint> {
        if id == "canonical" {
            return Some(Endpoint::Canonical);
        }
        self.dialect(id).cloned().map(Endpoint::Dialect)
    }

    /// Validates a request body against the endpoint's request schema.
    ///
    /// # Errors
    /// A validation problem listing every violation with a pointer into `body`.
    pub fn validate_request(&self, from: &Endpoint, body: &Value) -> Result<(), Problem> {
        from.side(&self.canonical).validate_request(body)
    }

    /// Validates, decodes, applies the policy and encodes: the whole request translation.
    ///
    /// # Errors
    /// A problem in canonical terms with pointers into the caller's body: validation,
    /// untranslatable (strict mode losses, unmapped enums, required-on-write), or a path/body id
    /// mismatch.
    pub fn translate(
        &self,
        from: &Endpoint,
        to: &Endpoint,
        path_id: Option<&str>,
        body: &Value,
        mode: Mode,
    ) -> Result<Translation, Problem> {
        let options = Options {
            mode,
            fill: Fill::Never,
            ..Options::default()
        };
        match self.plan(from, to, path_id, body, options)? {
            Step::Ready(translation) => Ok(translation),
            // `Fill::Never` never asks for a read.
            Step::Read(_) => Err(Problem::new(
                dialectgate_canonical::ErrorKind::Internal,
                "a translation that reads nothing asked for a read",
            )),
        }
    }

    /// Validates, decodes and encodes, as [`Registry::translate`], with `options` deciding
    /// what happens to members the target cannot take as they are: overflow into its bag, and
    /// a read of the stored customer ([`Step::Read`]: read it with [`Registry::retrieve`], then
    /// [`Registry::complete`]).
    ///
    /// # Errors
    /// As [`Registry::translate`].
    pub fn plan(
        &self,
        from: &Endpoint,
        to: &Endpoint,
        path_id: Option<&str>,
        body: &Value,
        options: Options<'_>,
    ) -> Result<Step, Problem> {
        self.request((from, to), path_id, Body::Shared(body), options)
    }

    /// [`Registry::plan`] for a caller that needs `body` no more: the members the translation
    /// carries as they are (a scalar, or a map or list such as a metadata bag, that no other
    /// rule reads and no transform changes) are moved out of it into the translation (their
    /// places left `null`), so the caller's tree and the translation's are not both alive. The same translation, the same refusals.
    ///
    /// # Errors
    /// As [`Registry::translate`].
    pub fn plan_taking(
        &self,
        from: &Endpoint,
        to: &Endpoint,
        path_id: Option<&str>,
        body: &mut Value,
        options: Options<'_>,
    ) -> Result<Step, Problem> {
        self.request((from, to), path_id, Body::Taken(body), options)
    }

    /// The members of `from`'s request bodies that may be held as their text on the way to
    /// `to` ([`crate::parse_holding_text`], [`HeldText`]): none when `to` has no place to write
    /// one.
    pub fn held_members<'a>(&self, from: &'a Endpoint, to: &Endpoint) -> &'a [String] {
        match from {
            Endpoint::Dialect(d) if !to.side(&self.canonical).held_places().is_empty() => &d.held.as_caller,
            _ => &[],
        }
    }

    /// Gives `outbound` (a translation for `to` of a body parsed with `held` members) their
    /// text, when every placeholder came out whole, once, where `to` may write a member held
    /// as text, and nowhere else. Else `held` is given back: the body must be translated again
    /// whole (see [`HeldText`]).
    ///
    /// # Errors
    /// `held`, when the translation cannot carry it.
    pub fn hold_text(&self, to: &Endpoint, outbound: &mut Outbound, held: HeldText) -> Result<(), HeldText> {
        if crate::held::placed(&outbound.body, to.side(&self.canonical).held_places(), held.len()) {
            outbound.held = held;
            Ok(())
        } else {
            Err(held)
        }
    }

    fn request(
        &self,
        (from, to): (&Endpoint, &Endpoint),
        path_id: Option<&str>,
        body: Body<'_>,
        options: Options<'_>,
    ) -> Result<Step, Problem> {
        translate::request(
            from.side(&self.canonical),
            to.side(&self.canonical),
            &self.canonical,
            path_id,
            body,
            options,
        )
    }

    /// Completes a request waiting for the `stored` customer: a canonical Customer as
    /// [`Registry::read_answer`] gives it, overflow not restored (a bag the target replaces in
    /// full is sent back whole, the gateway's keys included).
    ///
    /// # Errors
    /// As [`Registry::translate`]: what the stored customer cannot mend is refused or reported.
    pub fn complete(
        &self,
        from: &Endpoint,
        to: &Endpoint,
        pending: Pending,
        stored: &Value,
        mode: Mode,
    ) -> Result<Translation, Problem> {
        translate::complete(
            from.side(&self.canonical),
            to.side(&self.canonical),
            &self.canonical,
            pending,
            stored,
            mode,
        )
    }

    /// The one step between planning a request and sending it, shared by the gateway's
    /// read-modify-write driver and the CLI's `translate --current`: a request planned as
    /// `step` (from `from` for `to`) is ready as it is; one waiting for the stored customer is
    /// completed (in `mode`) with `stored` when it has been read, else it still waits
    /// ([`Step::Read`]: read it with [`Registry::retrieve`], then settle it again with it).
    ///
    /// # Errors
    /// As [`Registry::complete`].
    pub fn settle(
        &self,
        (from, to): (&Endpoint, &Endpoint),
        step: Step,
        stored: Option<&Value>,
        mode: Mode,
    ) -> Result<Step, Problem> {
        match (step, stored) {
            (Step::Read(pending), Some(stored)) => {
                self.complete(from, to, pending, stored, mode).map(Step::Ready)
            }
            (step, _) => Ok(step),
        }
    }

    /// Checks the id of a retrieve request (see [`Dialect::retrieve_id`]) from `from` for an
    /// upstream speaking `to`: opaque, within both sides' limits.
    ///
    /// # Errors
    /// A validation problem in `from`'s words.
    pub fn check_retrieve_id(&self, from: &Endpoint, to: &Endpoint, id: &str) -> Result<(), Problem> {
        translate::check_id(from.side(&self.canonical), to.side(&self.canonical), id)
    }

    /// The request that retrieves customer `id` from an upstream speaking `to`; its answer is
    /// read with [`Registry::read_answer`]. `None` when `to` declares no retrieve operation.
    pub fn retrieve(&self, to: &Endpoint, id: &str) -> Option<Outbound> {
        to.side(&self.canonical).retrieve(id)
    }

    /// Takes the keys starting with `prefix` (the gateway's own) out of `upstream`'s extension
    /// bag in the canonical `customer`, and puts back the members that overflowed there: only
    /// members `upstream` has no place for, never read-only, secret or vendor-assigned ones,
    /// and never over a member the customer has.
    pub fn restore_overflow(&self, upstream: &Endpoint, customer: &mut Value, prefix: &str) {
        if let Some(d) = upstream.dialect()
            && let Some(bag) = &d.request.bag
        {
            overflow::restore(
                customer,
                bag,
                prefix,
                |p| self.restorable(d, p),
                |c| self.canonical.is_valid_customer(c),
            );
        }
    }

    /// Whether a bag of the upstream dialect `upstream` may give back the canonical member at `p`:
    /// only a member the gateway could have put there. Never one the canonical Customer schema
    /// marks `readOnly` (set by the backend: the id, the password and account flags, the
    /// timestamps) or that sits inside one, never a secret (write-only), never one any loaded
    /// dialect declares `[response] volatile` (assigned by its vendor), and never one the
    /// upstream's own request rules carry or derive from (it stores that member itself).
    fn restorable(&self, upstream: &Dialect, p: &Pointer) -> bool {
        let overlaps = |a: &Pointer| a.is_prefix_of(p) || p.is_prefix_of(a);
        !self.canonical.is_read_only(p)
            && !self.canonical.is_secret(p)
            && !self
                .dialects
                .iter()
                .any(|d| d.response.volatile.iter().any(overlaps))
            && !overflow::stored_by(&upstream.request.rules, &Pointer::root(), &overlaps)
    }

    /// Encodes a canonical request for `to`, checking the result against `to`'s own schema.
    ///
    /// # Errors
    /// Untranslatable when `to` cannot express the request.
    pub fn encode_request(&self, to: &Endpoint, canonical: &CanonicalRequest) -> Result<Encoded, Problem> {
        translate::encode(to.side(&self.canonical), canonical)
    }

    /// Understands an upstream answer from `upstream` to an update, overflow not restored.
    pub fn read_answer(&self, upstream: &Endpoint, status: u16, body: &[u8]) -> Answer {
        self.read_answer_to(Operation::Update, upstream, status, body)
    }

    /// Understands an upstream answer from `upstream` to `op`, overflow not restored.
    pub fn read_answer_to(&self, op: Operation, upstream: &Endpoint, status: u16, body: &[u8]) -> Answer {
        self.understand((op, upstream), status, body, None, None).answer
    }

    /// Understands an upstream answer from `upstream` to `op` once: the customer or the problem, with
    /// `overflow` (the gateway's key prefix when overflow is on) the members the upstream
    /// keeps in its bag restored (a read that completes a write asks for none: the customer as
    /// the upstream holds it), and,
    /// for a `caller` speaking the upstream's dialect, the success body as parsed (for
    /// [`Registry::encode_answer_for`]).
    pub fn understand(
        &self,
        (op, upstream): (Operation, &Endpoint),
        status: u16,
        body: &[u8],
        caller: Option<&Endpoint>,
        overflow: Option<&str>,
    ) -> Understood {
        let keep = caller.is_some_and(|to| passes_through(upstream, to));
        let (answer, body) =
            upstream
                .side(&self.canonical)
                .read_answer(op, status, body, (&self.canonical.customer, keep));
        Understood {
            answer: self.restored(upstream, answer, overflow),
            body,
        }
    }

    /// `answer` from `upstream` with, given `overflow` (the gateway's key prefix when overflow
    /// is on), the members the upstream keeps in its bag back in place.
    pub fn restored(&self, upstream: &Endpoint, mut answer: Answer, overflow: Option<&str>) -> Answer {
        if let (Answer::Customer(customer), Some(prefix)) = (&mut answer, overflow) {
            self.restore_overflow(upstream, customer, prefix);
        }
        answer
    }

    /// Encodes a canonical Customer as `to`'s success answer: (status, body).
    ///
    /// # Errors
    /// When a value has no equivalent in `to`.
    pub fn encode_answer(&self, to: &Endpoint, customer: &Value) -> Result<(u16, Value), Problem> {
        to.side(&self.canonical)
            .success_answer(customer, &AnswerView::default())
            .map(|(status, doc)| (status, doc.to_value()))
    }

    /// [`Registry::encode_answer_for`] an update (the engine's tests).
    ///
    /// # Errors
    /// When a value has no equivalent in `to`.
    #[cfg(test)]
    pub(crate) fn encode_answer_to(
        &self,
        to: &Endpoint,
        customer: &Value,
        query: &str,
        upstream: Option<(&Endpoint, &[u8])>,
    ) -> Result<(u16, Value), Problem> {
        let same = upstream
            .filter(|(from, _)| passes_through(from, to))
            .and_then(|(_, body)| crate::parse::parse_strict(body, crate::parse::DEFAULT_MAX_DEPTH).ok());
        self.encode_answer_for(Operation::Update, to, customer, query, same.as_ref())
            .map(|(status, doc)| (status, doc.to_value()))
    }

    /// Encodes a canonical Customer as `to`'s success answer to an operation `op` with the query
    /// string `query`, the customer read from an upstream speaking `to`'s dialect whose success
    /// body is `upstream` ([`Understood::body`]): the members of that body the canonical model
    /// does not carry pass through (those `to`'s response schema names); `to`'s relations
    /// follow the caller's pick.
    ///
    /// The answer borrows the customer's strings, the upstream body's and `to`'s definition's:
    /// [`Doc`] writes as the `Value` it equals would.
    ///
    /// # Errors
    /// When a value has no equivalent in `to`.
    pub fn encode_answer_for<'a>(
        &'a self,
        op: Operation,
        to: &'a Endpoint,
        customer: &'a Value,
        query: &'a str,
        upstream: Option<&'a Value>,
    ) -> Result<(u16, Doc<'a>), Problem> {
        let view = AnswerView {
            query,
            upstream,
            read: op == Operation::Retrieve,
        };
        to.side(&self.canonical).success_answer(customer, &view)
    }

    /// Renders `problem` as `to`'s error answer.
    pub fn render_error(&self, to: &Endpoint, problem: &Problem, id: Option<&str>) -> Rendered {
        self.render_error_to(Operation::Update, to, problem, id)
    }

    /// Renders `problem` as `to`'s error answer to a caller of `op` (a read's not found can
    /// have a shape of its own: `null_means_not_found`).
    pub fn render_error_to(
        &self,
        op: Operation,
        to: &Endpoint,
        problem: &Problem,
        id: Option<&str>,
    ) -> Rendered {
        to.side(&self.canonical).render_error(op, problem, id)
    }
}

/// Whether an answer from `upstream` passes members through to a caller speaking `to`: both
/// speak the same dialect.
fn passes_through(upstream: &Endpoint, to: &Endpoint) -> bool {
    matches!(upstream, Endpoint::Dialect(_)) && upstream.id() == to.id()
}

#[cfg(test)]
mod tests;
