//! Migration mode: a candidate upstream, in another dialect, fed copies of the traffic after the
//! primary answered, and compared with the primary in canonical form (`compare`), the
//! differences reported in metrics and a JSON-lines log (`log`).
//!
//! The caller never waits for the candidate: a copy is a [`Job`] put into a bounded queue with
//! `try_send` (a full queue drops it and counts it), and one worker task per configuration sends
//! the jobs (a few at once), reads the answers and compares them. The candidate's failures are
//! only reported; the primary's write is never undone. A reload builds a new [`Candidate`]; the
//! old worker finishes its queue and ends when the old gateway is dropped.

mod compare;
pub(crate) mod log;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use dialectgate_canonical::{ErrorKind, Problem};
use dialectgate_dialect::{Answer, Dialect, Endpoint, Outbound, Registry, Step, parse_strict};
use futures_util::StreamExt;
use http::{HeaderMap, HeaderName, HeaderValue};
use prometheus_client::metrics::counter::Counter;
use serde_json::Value;
use tokio::sync::mpsc;
use tower::ServiceExt;

use self::compare::{Divergence, Kind, Shape, Status};
use self::log::{Line, Log};
use crate::config::{CandidateMode, Config};
use crate::forward::{Reply, UpstreamRequest};
use crate::metrics::{CandidateLabels, Metrics, PointerLabels};
use crate::service::{Call, X_REQUEST_ID};
use crate::upstream::HttpUpstream;

/// Candidate calls in flight at once, per configuration.
const CONCURRENCY: usize = 8;
/// Most violations named in an untranslatable request's reason.
const MAX_REASON_VIOLATIONS: usize = 8;
/// Longest pointer (in bytes) named in a reason.
const MAX_REASON_POINTER: usize = 64;

/// What a copied request was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operation {
    Read,
    Update,
}

impl Operation {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Operation::Read => "read",
            Operation::Update => "update",
        }
    }
}

/// What the primary answered.
#[derive(Debug, Clone)]
pub(crate) enum Primary {
    /// The canonical Customer.
    Customer(Value),
    /// A refusal or failure.
    Error { kind: ErrorKind, status: u16 },
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

/// One copied request.
#[derive(Debug)]
pub(crate) struct Job {
    pub(crate) request_id: String,
    /// The caller's dialect id.
    pub(crate) caller: String,
    pub(crate) operation: Operation,
    pub(crate) primary: Primary,
    /// A second answer of the primary to the same request (`noise_probe`), if any.
    pub(crate) second_primary: Option<Value>,
    pub(crate) request: CandidateRequest,
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

/// The candidate of one configuration: its queue and what the pipeline needs to fill it.
#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    mode: CandidateMode,
    noise_probe: bool,
    endpoint: Endpoint,
    registry: Arc<Registry>,
    jobs: mpsc::Sender<Job>,
    /// `candidate_requests{mode, outcome="dropped"}`, resolved once.
    dropped: Counter,
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
        let http = HttpUpstream::new(url, config).map_err(CandidateError::Client)?;
        let log = match &c.log {
            None => None,
            Some(path) => Some(
                Log::open(path, c.log_values).map_err(|source| CandidateError::Log {
                    path: path.display().to_string(),
                    source,
                })?,
            ),
        };
        let shape = Shape::from_schema(registry.canonical().schema_documents()[1]);
        let mode = c.mode.as_str();
        let worker = Worker {
            registry: registry.clone(),
            endpoint: endpoint.clone(),
            http,
            auth: c
                .token
                .as_ref()
                .and_then(|t| crate::credentials::upstream_header(&endpoint, t.expose())),
            timeout: c.timeout,
            mode,
            metrics: metrics.clone(),
            log,
            shape,
            // What either backend assigns itself (each dialect's `[response] volatile`).
            volatile: {
                let mut v = primary.volatile();
                v.extend(endpoint.volatile());
                v.sort_unstable();
                v.dedup();
                v
            },
            translation: config.translation.clone(),
            max_depth: config.server.max_depth.get(),
        };
        let (jobs, rx) = mpsc::channel(c.queue.get());
        runtime.spawn(worker.run(rx));
        Ok(Some(Candidate {
            mode: c.mode,
            noise_probe: c.noise_probe,
            dropped: metrics
                .candidate_requests
                .get_or_create(&CandidateLabels {
                    mode,
                    outcome: "dropped".into(),
                })
                .clone(),
            endpoint,
            registry: registry.clone(),
            jobs,
        }))
    }

    /// Whether reads also go twice to the primary.
    pub(crate) fn noise_probe(&self) -> bool {
        self.noise_probe
    }

    /// Queues `job`; when the queue is full it is dropped and counted. Never waits.
    pub(crate) fn submit(&self, job: Job) {
        if self.jobs.try_send(job).is_err() {
            self.dropped.inc();
        }
    }

    /// In `reads` and `dual-write` modes, queues a copy of a read (request `request_id`, by a
    /// caller of `dialect`) of customer `id`, which the primary answered with `primary`
    /// (`second`: its second answer, with `noise_probe`).
    pub(crate) fn read(
        &self,
        request_id: &str,
        dialect: &Arc<Dialect>,
        id: &str,
        primary: Primary,
        second: Option<Value>,
    ) {
        if self.mode == CandidateMode::Off {
            return;
        }
        let request = match self.registry.retrieve(&self.endpoint, id) {
            Some(outbound) => CandidateRequest::Ready(outbound),
            None => CandidateRequest::Untranslatable(
                "the candidate's dialect declares no retrieve operation".into(),
            ),
        };
        self.submit(Job {
            request_id: request_id.to_owned(),
            caller: dialect.id().to_owned(),
            operation: Operation::Read,
            primary,
            second_primary: second,
            request,
        });
    }

    /// In `dual-write` mode, queues a copy of the update `call` (its query string and body as
    /// they came), which the primary accepted with `customer`. Other modes: nothing.
    pub(crate) fn dual_write(&self, call: &Call<'_>, query: &str, body: &Bytes, customer: &Value) {
        if self.mode != CandidateMode::DualWrite {
            return;
        }
        self.submit(Job {
            request_id: call.request_id.to_owned(),
            caller: call.dialect.id().to_owned(),
            operation: Operation::Update,
            primary: Primary::Customer(customer.clone()),
            second_primary: None,
            request: CandidateRequest::Caller {
                dialect: call.dialect.clone(),
                path_id: call.path_id.map(str::to_owned),
                query: query.to_owned(),
                body: body.clone(),
            },
        });
    }
}

/// The worker of one configuration: sends each job to the candidate and reports.
struct Worker {
    registry: Arc<Registry>,
    endpoint: Endpoint,
    http: HttpUpstream,
    /// The header carrying the gateway's credential for the candidate.
    auth: Option<(HeaderName, HeaderValue)>,
    timeout: Duration,
    mode: &'static str,
    metrics: Arc<Metrics>,
    log: Option<Log>,
    shape: Shape,
    volatile: Vec<String>,
    /// The translation settings (mode, fill) the candidate's requests are made with.
    translation: crate::config::TranslationConfig,
    max_depth: usize,
}

/// What became of one job.
enum Fate {
    /// The request could not be translated for the candidate.
    Untranslatable(String),
    /// The call failed (the label of the failure).
    Failed(&'static str),
    /// The candidate answered and the two answers were compared.
    Compared(Verdict),
}

/// The comparison of two answers.
enum Verdict {
    /// Both were Customers: the members that differ (empty: a match).
    Members(Vec<Divergence>),
    /// The statuses differ.
    Status { primary: Status, candidate: Status },
    /// Both failed the same way.
    SameError,
}

impl Worker {
    async fn run(self, rx: mpsc::Receiver<Job>) {
        let worker = &self;
        futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|job| (job, rx)) })
            .for_each_concurrent(CONCURRENCY, |job| async move {
                let result = worker.process(&job).await;
                worker.report(&job, &result);
            })
            .await;
    }

    async fn process(&self, job: &Job) -> Fate {
        let outbound = match self.outbound(&job.request, &job.request_id).await {
            Ok(outbound) => outbound,
            Err(reason) => return Fate::Untranslatable(reason),
        };
        let operation = match job.operation {
            Operation::Read => dialectgate_dialect::Operation::Retrieve,
            Operation::Update => dialectgate_dialect::Operation::Update,
        };
        let (status, body) = match self.send(operation, outbound, &job.request_id).await {
            Ok(answer) => answer,
            Err(label) => return Fate::Failed(label),
        };
        let mut answer = self.registry.read_answer(&self.endpoint, status, &body);
        if let (Answer::Customer(c), true) = (&mut answer, self.translation.overflow) {
            self.registry
                .restore_overflow(&self.endpoint, c, &self.translation.overflow_prefix);
        }
        Fate::Compared(self.verdict(job, &answer))
    }

    /// The request for the candidate, translated here when it came as the caller's (reading
    /// the candidate's stored customer first when its dialect needs it, as for the primary).
    async fn outbound(&self, request: &CandidateRequest, request_id: &str) -> Result<Outbound, String> {
        match request {
            CandidateRequest::Ready(outbound) => Ok(outbound.clone()),
            CandidateRequest::Untranslatable(reason) => Err(reason.clone()),
            CandidateRequest::Caller {
                dialect,
                path_id,
                query,
                body,
            } => {
                let mut body = parse_strict(body, self.max_depth).map_err(|_| "malformed".to_owned())?;
                dialect.apply_query(query, &mut body).map_err(|p| reason(&p))?;
                let caller = Endpoint::Dialect(dialect.clone());
                let options = self.translation.options();
                let step = self
                    .registry
                    .plan(&caller, &self.endpoint, path_id.as_deref(), &body, options)
                    .map_err(|p| reason(&p))?;
                let pending = match step {
                    Step::Ready(t) => return Ok(t.outbound),
                    Step::Read(pending) => pending,
                };
                // Read-modify-write at the candidate: its own stored customer.
                let read = self
                    .registry
                    .retrieve(&self.endpoint, pending.id())
                    .ok_or_else(|| "the candidate's dialect declares no retrieve operation".to_owned())?;
                let (status, answer) = self
                    .send(dialectgate_dialect::Operation::Retrieve, read, request_id)
                    .await
                    .map_err(|label| format!("the read before the write failed: {label}"))?;
                // As the candidate holds it: overflow is not restored, so a bag the candidate
                // replaces in full goes back with the gateway's keys in it.
                let stored = match self.registry.read_answer(&self.endpoint, status, &answer) {
                    Answer::Customer(stored) => stored,
                    Answer::Problem(p) => {
                        return Err(format!("the read before the write failed: {}", p.kind().as_str()));
                    }
                };
                self.registry
                    .complete(&caller, &self.endpoint, pending, &stored, options.mode)
                    .map(|t| t.outbound)
                    .map_err(|p| reason(&p))
            }
        }
    }

    /// One call to the candidate, bounded by its timeout: its status and body, or the label of
    /// the failure.
    async fn send(
        &self,
        operation: dialectgate_dialect::Operation,
        outbound: Outbound,
        request_id: &str,
    ) -> Result<(u16, Bytes), &'static str> {
        let mut headers = HeaderMap::with_capacity(2);
        if let Some((name, value)) = &self.auth {
            headers.insert(name.clone(), value.clone());
        }
        if let Ok(v) = HeaderValue::from_str(request_id) {
            headers.insert(X_REQUEST_ID, v);
        }
        let request = UpstreamRequest {
            id: String::new(),
            outbound: Arc::new(outbound),
            headers,
            repeatable: false,
            operation,
        };
        let call = self.http.clone().oneshot(request);
        match tokio::time::timeout(self.timeout, call).await {
            Err(_) => Err("timeout"),
            Ok(Err(e)) => Err(e.label()),
            Ok(Ok(Reply::Http { status, body })) => Ok((status, body)),
            // An HTTP upstream always answers over HTTP.
            Ok(Ok(Reply::Answer(_))) => Err("protocol"),
        }
    }

    fn verdict(&self, job: &Job, answer: &Answer) -> Verdict {
        match (&job.primary, answer) {
            (Primary::Customer(primary), Answer::Customer(candidate)) => {
                let mut divergences = compare::compare(&self.shape, primary, candidate, &self.volatile);
                if let Some(second) = &job.second_primary {
                    let noisy: BTreeSet<String> =
                        compare::noise(&self.shape, primary, second, &self.volatile);
                    compare::mark_noise(&mut divergences, &noisy);
                }
                Verdict::Members(divergences)
            }
            (Primary::Error { kind, .. }, Answer::Problem(p)) if *kind == p.kind() => Verdict::SameError,
            (primary, candidate) => Verdict::Status {
                primary: match primary {
                    Primary::Customer(_) => Status {
                        status: 200,
                        kind: None,
                    },
                    Primary::Error { kind, status } => Status {
                        status: *status,
                        kind: Some(*kind),
                    },
                },
                candidate: match candidate {
                    Answer::Customer(_) => Status {
                        status: 200,
                        kind: None,
                    },
                    Answer::Problem(p) => Status {
                        status: p.status,
                        kind: Some(p.kind()),
                    },
                },
            },
        }
    }

    /// Counts and logs what became of `job`.
    fn report(&self, job: &Job, result: &Fate) {
        let line = |kind| Line {
            request_id: &job.request_id,
            dialect: &job.caller,
            operation: job.operation.as_str(),
            kind,
            ..Line::default()
        };
        let mut lines = Vec::new();
        let outcome: String = match result {
            Fate::Untranslatable(reason) => {
                lines.push(Line {
                    reason: Some(reason),
                    ..line("untranslatable")
                });
                "untranslatable".into()
            }
            Fate::Failed(label) => {
                lines.push(Line {
                    reason: Some(label),
                    ..line("failed")
                });
                (*label).into()
            }
            Fate::Compared(Verdict::SameError) => "match".into(),
            Fate::Compared(Verdict::Status { primary, candidate }) => {
                lines.push(Line {
                    pointer: Some(""),
                    statuses: Some((primary.label(), candidate.label())),
                    ..line(Kind::Status.as_str())
                });
                format!("status_{}", candidate.kind.map_or("ok", ErrorKind::as_str))
            }
            Fate::Compared(Verdict::Members(divergences)) => {
                for d in divergences {
                    if d.kind != Kind::Noise {
                        self.metrics
                            .candidate_divergences
                            .get_or_create(&PointerLabels {
                                pointer: d.pointer.clone(),
                            })
                            .inc();
                    }
                    lines.push(Line {
                        pointer: Some(&d.pointer),
                        values: Some((d.primary.as_ref(), d.candidate.as_ref())),
                        ..line(d.kind.as_str())
                    });
                }
                if divergences.iter().any(|d| d.kind != Kind::Noise) {
                    "diverged".into()
                } else if divergences.is_empty() {
                    "match".into()
                } else {
                    "noise".into()
                }
            }
        };
        self.count(outcome.clone());
        if let Some(log) = &self.log {
            let mut written = true;
            if matches!(result, Fate::Compared(_)) {
                written &= log.write(&Line {
                    outcome: Some(&outcome),
                    ..line("compared")
                });
            }
            for l in &lines {
                written &= log.write(l);
            }
            if !written {
                self.count("log_dropped".into());
            }
        }
    }

    fn count(&self, outcome: String) {
        self.metrics
            .candidate_requests
            .get_or_create(&CandidateLabels {
                mode: self.mode,
                outcome,
            })
            .inc();
    }
}

/// Why a request could not be translated for the candidate: the problem's kind and its
/// violations' codes and pointers (bounded; never a value).
fn reason(problem: &Problem) -> String {
    let mut out = problem.kind().as_str().to_owned();
    for v in problem.errors.iter().take(MAX_REASON_VIOLATIONS) {
        let mut end = v.pointer.len().min(MAX_REASON_POINTER);
        while !v.pointer.is_char_boundary(end) {
            end -= 1;
        }
        out.push_str(&format!("; {} at {}", v.code, &v.pointer[..end]));
    }
    out
}

#[cfg(test)]
mod tests;
