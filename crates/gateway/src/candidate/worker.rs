//! The worker of one configuration: takes the jobs off the queue (a few at once), sends each to
//! the candidate within its timeout, compares the answer with the primary's and reports. A job
//! (and its share of the byte budget) is let go as soon as it is reported.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use dialectgate_canonical::{ErrorKind, Problem};
use dialectgate_dialect::{Answer, Endpoint, Fidelity, Operation, Registry, Step, Translation, parse_strict};
use futures_util::StreamExt;
use http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;
use tokio::sync::mpsc;
use tower::timeout::Timeout;
use tower::util::MapErr;
use tower::{BoxError, ServiceExt};

use super::compare::{self, Divergence, Kind, Status};
use super::log::{Line, Log};
use super::{CandidateRequest, Comparison, CopyKind, Job, Primary};
use crate::context::X_REQUEST_ID;
use crate::exchange::{Called, Exchanged, Leg, Observer, Upstream, exchange};
use crate::metrics::{CandidateLabels, Metrics, PointerLabels};
use crate::upstream::{HttpUpstream, Reply, UpstreamError};

/// Candidate calls in flight at once, per configuration.
const CONCURRENCY: usize = 8;
/// Most violations named in an untranslatable request's reason.
const MAX_REASON_VIOLATIONS: usize = 8;
/// Longest pointer (in bytes) named in a reason.
const MAX_REASON_POINTER: usize = 64;

/// The worker of one configuration: sends each job to the candidate and reports.
pub(super) struct Worker {
    pub(super) registry: Arc<Registry>,
    pub(super) endpoint: Endpoint,
    pub(super) http: HttpUpstream,
    /// The header carrying the gateway's credential for the candidate.
    pub(super) auth: Option<(HeaderName, HeaderValue)>,
    /// Of each call to the candidate.
    pub(super) timeout: Duration,
    pub(super) mode: &'static str,
    pub(super) metrics: Arc<Metrics>,
    pub(super) log: Option<Log>,
    /// What the comparison needs (shared with the queue side).
    pub(super) comparison: Arc<Comparison>,
    /// The translation settings (mode, fill) the candidate's requests are made with.
    pub(super) translation: crate::config::TranslationConfig,
    pub(super) max_depth: usize,
}

/// The candidate's client bounded by its timeout; the timeout layer's own error is the
/// upstream's timeout (`UpstreamError::from`).
type Bounded = MapErr<Timeout<HttpUpstream>, fn(BoxError) -> UpstreamError>;

/// What became of one job.
enum JobResult {
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
    pub(super) async fn run(self, rx: mpsc::Receiver<Job>) {
        let worker = &self;
        futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|job| (job, rx)) })
            .for_each_concurrent(CONCURRENCY, |job| async move {
                let result = worker.process(&job).await;
                worker.report(&job, &result);
            })
            .await;
    }

    async fn process(&self, job: &Job) -> JobResult {
        let (caller, step) = match self.plan(&job.request) {
            Ok(planned) => planned,
            Err(reason) => return JobResult::Untranslatable(reason),
        };
        let operation = match job.operation {
            CopyKind::Read => Operation::Retrieve,
            CopyKind::Update => Operation::Update,
        };
        let call = JobCall {
            worker: self,
            request_id: &job.request_id,
        };
        let service: Bounded =
            Timeout::new(self.http.clone(), self.timeout).map_err(UpstreamError::from as fn(_) -> _);
        let upstream = Upstream {
            service: &service,
            registry: &self.registry,
            endpoint: &self.endpoint,
            // The candidate's answers are compared in canonical form only.
            caller: None,
            overflow: self.translation.restore_prefix(),
        };
        // Only a request completed from the stored customer is read from its caller's side.
        let from = caller.as_ref().unwrap_or(&self.endpoint);
        let mode = self.translation.mode;
        // Boxed as `Send` here, where its lifetimes are known: the worker's stream of jobs
        // cannot prove it for every lifetime (rust-lang/rust#102211).
        let exchanged: Pin<Box<dyn Future<Output = Result<Exchanged, JobResult>> + Send + '_>> =
            Box::pin(exchange(
                upstream,
                &call,
                from,
                (operation, step),
                (mode, self.translation.conflict_retries),
            ));
        match exchanged.await {
            Ok(sent) => JobResult::Compared(self.verdict(job, &sent.answer.answer)),
            Err(result) => result,
        }
    }

    /// The request for the candidate, planned here when it came as the caller's (the exchange
    /// reads the candidate's stored customer first when its dialect needs it, as for the
    /// primary), with the caller's side it was planned from.
    fn plan(&self, request: &CandidateRequest) -> Result<(Option<Endpoint>, Step), String> {
        match request {
            CandidateRequest::Ready(outbound) => Ok((
                None,
                Step::Ready(Translation {
                    id: String::new(),
                    outbound: outbound.clone(),
                    fidelity: Fidelity::default(),
                }),
            )),
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
                Ok((Some(caller), step))
            }
        }
    }

    fn verdict(&self, job: &Job, answer: &Answer) -> Verdict {
        match (&job.primary, answer) {
            (Primary::Customer(primary), Answer::Customer(candidate)) => {
                let c = &self.comparison;
                let candidate = c.digest(candidate);
                let mut divergences = compare::compare(&c.shape, primary, &candidate);
                compare::mark_noise(&mut divergences, &job.noisy);
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
    fn report(&self, job: &Job, result: &JobResult) {
        let line = |kind| Line {
            request_id: &job.request_id,
            dialect: &job.caller,
            operation: job.operation.as_str(),
            kind,
            ..Line::default()
        };
        let mut lines = Vec::new();
        let outcome: String = match result {
            JobResult::Untranslatable(reason) => {
                lines.push(Line {
                    reason: Some(reason),
                    ..line("untranslatable")
                });
                "untranslatable".into()
            }
            JobResult::Failed(label) => {
                lines.push(Line {
                    reason: Some(label),
                    ..line("failed")
                });
                (*label).into()
            }
            JobResult::Compared(Verdict::SameError) => "match".into(),
            JobResult::Compared(Verdict::Status { primary, candidate }) => {
                lines.push(Line {
                    pointer: Some(""),
                    statuses: Some((primary.label(), candidate.label())),
                    ..line(Kind::Status.as_str())
                });
                format!("status_{}", candidate.kind.map_or("ok", ErrorKind::as_str))
            }
            JobResult::Compared(Verdict::Members(divergences)) => {
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
            for l in &lines {
                written &= log.write(l);
            }
            // Last: a reader that sees a request's `compared` line has all of its lines.
            if matches!(result, JobResult::Compared(_)) {
                written &= log.write(&Line {
                    outcome: Some(&outcome),
                    ..line("compared")
                });
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

/// One job's request, as the read-modify-write exchange's channel: the candidate itself.
struct JobCall<'a> {
    worker: &'a Worker,
    request_id: &'a str,
}

impl JobCall<'_> {
    /// A failure of the read before the write: the request could not be made for the candidate.
    fn unread(what: &str) -> JobResult {
        JobResult::Untranslatable(format!("the read before the write failed: {what}"))
    }
}

impl Observer for JobCall<'_> {
    type Error = JobResult;

    /// The gateway's credential for the candidate and the request id, whatever the call does.
    fn headers(&self, _: Operation) -> HeaderMap {
        let mut headers = HeaderMap::with_capacity(2);
        if let Some((name, value)) = &self.worker.auth {
            headers.insert(name.clone(), value.clone());
        }
        if let Ok(v) = HeaderValue::from_str(self.request_id) {
            headers.insert(X_REQUEST_ID, v);
        }
        headers
    }

    /// Only reported: a failed call is labelled, never retried.
    fn replied(&self, called: Called<'_>, reply: Result<Reply, UpstreamError>) -> Result<Reply, JobResult> {
        let label = match reply {
            Ok(reply @ Reply::Http { .. }) => return Ok(reply),
            // An HTTP upstream always answers over HTTP.
            Ok(Reply::Answer(_)) => "protocol",
            Err(e) => e.label(),
        };
        Err(match called.leg {
            Leg::Read => JobCall::unread(label),
            Leg::Send => JobResult::Failed(label),
        })
    }

    /// As the candidate holds it: overflow is not restored, so a bag the candidate replaces in
    /// full goes back with the gateway's keys in it.
    fn stored(&self, _: &str, answer: Answer) -> Result<Value, JobResult> {
        match answer {
            Answer::Customer(stored) => Ok(stored),
            Answer::Problem(p) => Err(JobCall::unread(p.kind().as_str())),
        }
    }

    fn unreadable(&self, _: &Endpoint) -> JobResult {
        JobResult::Untranslatable("the candidate's dialect declares no retrieve operation".to_owned())
    }

    fn refused(&self, problem: Problem) -> JobResult {
        JobResult::Untranslatable(reason(&problem))
    }
}

#[cfg(test)]
mod tests;
