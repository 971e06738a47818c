//! Migration mode: a candidate upstream, in another dialect, fed copies of the traffic after the
//! primary answered, and compared with the primary in canonical form (`compare`), the
//! differences reported in metrics and a JSON-lines log (`log`).
//!
//! The caller never waits for the candidate: a copy is a [`Job`] put into a bounded queue with
//! `try_send` (a full queue drops it and counts it), and one worker task per configuration sends
//! the jobs (a few at once), reads the answers and compares them. A copy keeps only what the
//! comparison needs of the primary's answer (`digest`: a keyed hash per member), and the queue
//! has its own byte budget besides its length (`queue`). Only what the primary answered is
//! copied, and never a request the primary refused as unauthorised: a caller who was refused
//! causes no candidate call. The candidate's failures are only reported; the primary's write is
//! never undone. A reload builds a new [`Candidate`]; the old worker finishes its queue and ends
//! when the old gateway is dropped.

mod compare;
pub(crate) mod digest;
mod log;
mod queue;
mod shape;
mod worker;

use std::sync::Arc;

use bytes::Bytes;
use dialectgate_canonical::ErrorKind;
use dialectgate_dialect::{Dialect, Endpoint, Outbound, Registry};
use serde_json::Value;

use self::digest::Digest;
use self::log::Log;
use self::queue::{Queue, Reservation};
use self::shape::Shape;
use self::worker::Worker;
use crate::config::{CandidateMode, Config};
use crate::context::Call;
use crate::metrics::{CandidateLabels, Metrics};
use crate::outcome::{Failure, Outcome};
use crate::upstream::HttpUpstream;

/// What a copied request was: a read or an update (the dialect's `Operation` is what a caller
/// asks; this is what the candidate was sent a copy of).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CopyKind {
    Read,
    Update,
}

impl CopyKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            CopyKind::Read => "read",
            CopyKind::Update => "update",
        }
    }
}

/// What the primary answered.
#[derive(Debug, Clone)]
pub(crate) enum Primary {
    /// The canonical Customer, as the comparison needs it.
    Customer(Digest),
    /// A refusal or failure.
    Error { kind: ErrorKind, status: u16 },
}

/// Whether a request the primary answered with `result` may be copied: only when the primary
/// itself answered (a customer, or an error such as 404 or a 5xx), and never when it refused
/// the caller's or the gateway's credential (401, 403), nor when the gateway refused the request
/// or the primary could not be reached (nothing sent, or nothing to compare with).
fn copied<'a>(result: Result<&'a Value, &Failure>) -> Option<Result<&'a Value, (ErrorKind, u16)>> {
    match result {
        Ok(customer) => Some(Ok(customer)),
        Err(Failure {
            outcome: Outcome::UpstreamRefused,
            problem,
            ..
        }) if !matches!(problem.kind(), ErrorKind::Unauthorized | ErrorKind::Forbidden) => {
            Some(Err((problem.kind(), problem.status)))
        }
        Err(_) => None,
    }
}

/// The request for the candidate.
#[derive(Debug)]
pub(crate) enum CandidateRequest {
    /// Already translated for the candidate's dialect.
    Ready(Outbound),
    /// Could not be translated for the candidate: the reason (names and codes, no values).
    Untranslatable(String),
    /// The caller's request as it came, translated by the worker (off the caller's path).
    Caller {
        dialect: Arc<Dialect>,
        path_id: Option<String>,
        query: String,
        body: Bytes,
    },
}

impl CandidateRequest {
    fn heap_bytes(&self) -> usize {
        match self {
            CandidateRequest::Ready(o) => o.method.len() + o.path.len() + json_len(&o.body),
            CandidateRequest::Untranslatable(reason) => reason.len(),
            CandidateRequest::Caller {
                path_id, query, body, ..
            } => path_id.as_ref().map_or(0, String::len) + query.len() + body.len(),
        }
    }
}

/// The length of `value`'s JSON text.
fn json_len(value: &Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    let _ = serde_json::to_writer(&mut count, value);
    count.0
}

/// One copied request.
#[derive(Debug)]
pub(crate) struct Job {
    pub(crate) request_id: String,
    /// The caller's dialect id.
    pub(crate) caller: String,
    pub(crate) operation: CopyKind,
    pub(crate) primary: Primary,
    /// The members (shape nodes) that differed between two answers of the primary to the same
    /// request (`noise_probe`).
    pub(crate) noisy: Vec<usize>,
    pub(crate) request: CandidateRequest,
    /// The job's share of the queue's byte budget, given back when the job is dropped.
    held: Option<Reservation>,
}

impl Job {
    /// The bytes the job holds, itself included.
    fn bytes(&self) -> usize {
        let primary = match &self.primary {
            Primary::Customer(digest) => digest.heap_bytes(),
            Primary::Error { .. } => 0,
        };
        std::mem::size_of::<Job>()
            + self.request_id.len()
            + self.caller.len()
            + primary
            + self.noisy.capacity() * std::mem::size_of::<usize>()
            + self.request.heap_bytes()
    }
}

/// Why the candidate cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum CandidateError {
    /// `candidate.dialect` names no loaded dialect.
    #[error("candidate.dialect `{0}` is not `canonical` nor a loaded dialect")]
    UnknownDialect(String),
    /// The candidate's client could not be built.
    #[error("cannot set up the candidate's client")]
    Client(#[source] crate::upstream::BuildError),
    /// The divergence log cannot be opened.
    #[error("cannot open the candidate log {path}")]
    Log {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The worker needs a tokio runtime.
    #[error("the candidate needs a tokio runtime")]
    NoRuntime,
}

/// What the queue side and the worker both need to compare: the canonical Customer's shape,
/// the members either backend assigns itself (each dialect's `[response] volatile`), and
/// whether values are kept for the log.
#[derive(Debug)]
pub(crate) struct Comparison {
    shape: Shape,
    volatile: Vec<String>,
    keep_values: bool,
}

impl Comparison {
    fn digest(&self, customer: &Value) -> Digest {
        Digest::of(&self.shape, customer, &self.volatile, self.keep_values)
    }
}

/// The candidate of one configuration: its queue and what the pipeline needs to fill it.
#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    mode: CandidateMode,
    noise_probe: bool,
    endpoint: Endpoint,
    registry: Arc<Registry>,
    comparison: Arc<Comparison>,
    queue: Queue,
}

impl Candidate {
    /// The candidate `config` describes, its worker started; `None` when the mode is off.
    ///
    /// # Errors
    /// See [`CandidateError`].
    pub(crate) fn start(
        config: &Config,
        registry: &Arc<Registry>,
        (primary, endpoint): (&Endpoint, Option<Endpoint>),
        metrics: &Arc<Metrics>,
    ) -> Result<Option<Candidate>, CandidateError> {
        let c = &config.candidate;
        let Some(url) = c.url.as_deref().filter(|_| c.mode != CandidateMode::Off) else {
            return Ok(None);
        };
        let endpoint = endpoint.ok_or_else(|| CandidateError::UnknownDialect(c.dialect.clone()))?;
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| CandidateError::NoRuntime)?;
        let http = HttpUpstream::new(url, config, &c.roots).map_err(CandidateError::Client)?;
        let log = match &c.log {
            None => None,
            Some(path) => Some(
                Log::open(path, c.log_values).map_err(|source| CandidateError::Log {
                    path: path.display().to_string(),
                    source,
                })?,
            ),
        };
        let mut volatile = primary.volatile();
        volatile.extend(endpoint.volatile());
        volatile.sort_unstable();
        volatile.dedup();
        let comparison = Arc::new(Comparison {
            shape: Shape::from_schema(registry.canonical().schema_documents()[1]),
            volatile,
            keep_values: c.log_values,
        });
        let mode = c.mode.as_str();
        let worker = Worker {
            registry: registry.clone(),
            endpoint: endpoint.clone(),
            http,
            auth: c
                .token
                .as_ref()
                .and_then(|t| crate::pipeline::authenticate::upstream_header(&endpoint, t.expose())),
            timeout: c.timeout,
            mode,
            metrics: metrics.clone(),
            log,
            comparison: comparison.clone(),
            translation: config.translation.clone(),
            max_depth: config.server.max_depth.get(),
        };
        let dropped = metrics
            .candidate_requests
            .get_or_create(&CandidateLabels {
                mode,
                outcome: "dropped".into(),
            })
            .clone();
        let (queue, rx) = Queue::new(
            c.queue.get(),
            c.queue_bytes.get(),
            metrics.candidate_queue_bytes.clone(),
            dropped,
        );
        runtime.spawn(worker.run(rx));
        Ok(Some(Candidate {
            mode: c.mode,
            noise_probe: c.noise_probe,
            endpoint,
            registry: registry.clone(),
            comparison,
            queue,
        }))
    }

    /// Whether reads also go twice to the primary.
    pub(crate) fn noise_probe(&self) -> bool {
        self.noise_probe
    }

    /// Queues `job` (see [`Queue::submit`]). Never waits.
    pub(crate) fn submit(&self, job: Job) {
        self.queue.submit(job);
    }

    /// Queues `job` with the members that differ between its primary answer and `second`, the
    /// primary's second answer to the same read (none: nothing is noise).
    pub(crate) fn submit_probed(&self, mut job: Job, second: Option<&Value>) {
        if let (Primary::Customer(first), Some(second)) = (&job.primary, second) {
            let second = self.comparison.digest(second);
            let noisy = compare::noise(&self.comparison.shape, first, &second);
            // Within the capacity reserved with the job (one entry per node at most).
            job.noisy.extend(noisy);
        }
        self.submit(job);
    }

    /// In `reads` and `dual-write` modes, a copy of a read (request `request_id`, by a caller
    /// of `dialect`) of customer `id`, which the primary answered with `read`, ready to
    /// [`submit`](Self::submit). `None`: not copied — the mode is off, the primary did not
    /// answer or refused the credential ([`copied`]), or the queue has no room (counted).
    pub(crate) fn read(
        &self,
        request_id: &str,
        dialect: &Arc<Dialect>,
        id: &str,
        read: Result<&Value, &Failure>,
    ) -> Option<Job> {
        if self.mode == CandidateMode::Off {
            return None;
        }
        let answered = copied(read)?;
        if !self.queue.has_room() {
            self.queue.drop_one();
            return None;
        }
        let request = match self.registry.retrieve(&self.endpoint, id) {
            Some(outbound) => CandidateRequest::Ready(outbound),
            None => CandidateRequest::Untranslatable(
                "the candidate's dialect declares no retrieve operation".into(),
            ),
        };
        let (primary, noisy) = match answered {
            Ok(customer) if self.noise_probe => (
                Primary::Customer(self.comparison.digest(customer)),
                Vec::with_capacity(self.comparison.shape.len()),
            ),
            Ok(customer) => (Primary::Customer(self.comparison.digest(customer)), Vec::new()),
            Err((kind, status)) => (Primary::Error { kind, status }, Vec::new()),
        };
        self.queue.admit(Job {
            request_id: request_id.to_owned(),
            caller: dialect.id().to_owned(),
            operation: CopyKind::Read,
            primary,
            noisy,
            request,
            held: None,
        })
    }

    /// In `dual-write` mode, queues a copy of the update `call` (its query string and body as
    /// they came), which the primary accepted with `customer`. Other modes: nothing.
    ///
    /// The copy holds the caller's bytes (the request's own buffer, shared, not copied), not the
    /// caller's parsed request, and the worker parses them again (off the caller's path). Held parsed, a copy would cost the queue's
    /// byte budget (`candidate.queue_bytes`) several times as much: measured as resident
    /// memory per copy (`cargo run --release -p dialectgate-dialect --example parsed_size`,
    /// BENCHMARKS.md), the parsed tree of every fixture request and bench body (41 to 690
    /// bytes) takes 5.4 to 16.9 times its text (median 8.1 over all 34 bodies, e.g. a 189-byte
    /// Medusa body 231 bytes as text, 2,624 parsed), a 1 MiB body of string pairs 2.0 times,
    /// of number lists 8.1 times. So the same budget would queue 2 to 17 times fewer copies,
    /// and counting a tree's bytes exactly would need a walk of it where the text's are its
    /// length. What reuse would save is only the parse (the candidate's dialect is not the
    /// primary's, so its translation is its own either way).
    pub(crate) fn dual_write(&self, call: &Call<'_>, query: &str, body: &Bytes, customer: &Value) {
        if self.mode != CandidateMode::DualWrite {
            return;
        }
        if !self.queue.has_room() {
            return self.queue.drop_one();
        }
        let job = self.queue.admit(Job {
            request_id: call.request_id.to_owned(),
            caller: call.dialect.id().to_owned(),
            operation: CopyKind::Update,
            primary: Primary::Customer(self.comparison.digest(customer)),
            noisy: Vec::new(),
            request: CandidateRequest::Caller {
                dialect: call.dialect.clone(),
                path_id: call.path_id.map(str::to_owned),
                query: query.to_owned(),
                body: body.clone(),
            },
            held: None,
        });
        if let Some(job) = job {
            self.submit(job);
        }
    }
}

#[cfg(test)]
mod tests;
