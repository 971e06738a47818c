//! How a request ended, as a value: the [`Outcome`] names it (the `outcome` label of
//! `dialectgate_requests_total` and the `outcome` field of the access log are derived from it,
//! never written as strings elsewhere) and says who is at fault, in Pingora's spirit: the caller
//! (downstream), the upstream, or the gateway itself. A refused request travels through the
//! pipeline as a [`Failure`]: its outcome, the problem the caller is answered with and, once
//! known, the customer id the answer names.

use dialectgate_canonical::Problem;

/// Who caused a request to fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    /// The caller: a malformed, unauthorised, oversized or untranslatable request.
    Downstream,
    /// The upstream: unreachable, too slow, broken, or it refused the request.
    Upstream,
    /// The gateway: over capacity, misconfigured, or a bug.
    Internal,
}

impl Fault {
    /// The log field value.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Fault::Downstream => "downstream",
            Fault::Upstream => "upstream",
            Fault::Internal => "internal",
        }
    }
}

/// How one request ended. Each variant's label is part of the metrics and log interface:
/// dashboards and alerts select on these exact strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Translated, forwarded and answered.
    Ok,
    /// A token was issued.
    Token,
    /// The request URI is over the limit (414).
    UriTooLong,
    /// An HTTP/1.1 request without `Host`.
    NoHost,
    /// No dialect serves the path.
    NoRoute,
    /// The dialect's route does not accept the method.
    MethodNotAllowed,
    /// Admission refused: too many requests in flight or waiting.
    Overloaded,
    /// No credential, or not a valid one.
    Unauthorized,
    /// Not a JSON content type.
    UnsupportedMediaType,
    /// An `Idempotency-Key` that cannot be passed on.
    BadIdempotencyKey,
    /// The body is over the limit.
    PayloadTooLarge,
    /// The body did not arrive in time.
    BodyTimeout,
    /// The body could not be read.
    BodyError,
    /// The body is not valid JSON.
    Malformed,
    /// The body (or a token request's form) breaks the dialect's rules.
    Validation,
    /// The request cannot be expressed in the upstream's dialect.
    Untranslatable,
    /// The caller's id cannot make the upstream URL; nothing was sent.
    Unsendable,
    /// The upstream call failed (transport, timeout, size, open breaker).
    UpstreamError,
    /// The upstream refused the gateway's own credential.
    UpstreamAuth,
    /// The upstream answered with an error.
    UpstreamRefused,
    /// The upstream's answer cannot be expressed in the caller's dialect.
    UntranslatableAnswer,
    /// A token request used the implicit grant, which is off.
    ImplicitRefused,
    /// The gateway failed (no token could be issued).
    Internal,
}

impl Outcome {
    /// The `outcome` label and log field.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Token => "token",
            Outcome::UriTooLong => "uri_too_long",
            Outcome::NoHost => "no_host",
            Outcome::NoRoute => "no_route",
            Outcome::MethodNotAllowed => "method_not_allowed",
            Outcome::Overloaded => "overloaded",
            Outcome::Unauthorized => "unauthorized",
            Outcome::UnsupportedMediaType => "unsupported_media_type",
            Outcome::BadIdempotencyKey => "bad_idempotency_key",
            Outcome::PayloadTooLarge => "payload_too_large",
            Outcome::BodyTimeout => "body_timeout",
            Outcome::BodyError => "body_error",
            Outcome::Malformed => "malformed",
            Outcome::Validation => "validation",
            Outcome::Untranslatable => "untranslatable",
            Outcome::Unsendable => "unsendable",
            Outcome::UpstreamError => "upstream_error",
            Outcome::UpstreamAuth => "upstream_auth",
            Outcome::UpstreamRefused => "upstream_refused",
            Outcome::UntranslatableAnswer => "untranslatable_answer",
            Outcome::ImplicitRefused => "implicit_refused",
            Outcome::Internal => "internal",
        }
    }

    /// Who is at fault; `None` for a success.
    pub(crate) fn fault(self) -> Option<Fault> {
        match self {
            Outcome::Ok | Outcome::Token => None,
            Outcome::UriTooLong
            | Outcome::NoHost
            | Outcome::NoRoute
            | Outcome::MethodNotAllowed
            | Outcome::Unauthorized
            | Outcome::UnsupportedMediaType
            | Outcome::BadIdempotencyKey
            | Outcome::PayloadTooLarge
            | Outcome::BodyTimeout
            | Outcome::BodyError
            | Outcome::Malformed
            | Outcome::Validation
            | Outcome::Untranslatable
            | Outcome::Unsendable
            | Outcome::ImplicitRefused => Some(Fault::Downstream),
            Outcome::UpstreamError | Outcome::UpstreamRefused | Outcome::UntranslatableAnswer => {
                Some(Fault::Upstream)
            }
            // Admission is the gateway's capacity; a refused gateway credential is its
            // configuration.
            Outcome::Overloaded | Outcome::UpstreamAuth | Outcome::Internal => Some(Fault::Internal),
        }
    }

    /// The log field naming who is at fault (`none` for a success).
    pub(crate) fn fault_field(self) -> &'static str {
        self.fault().map_or("none", Fault::as_str)
    }
}

/// A refused request: why, what the caller is told, and the customer id the answer names.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) outcome: Outcome,
    pub(crate) problem: Problem,
    /// The id the request turned out to be about (from the body or the translation); the
    /// answer falls back to the id in the path.
    pub(crate) id: Option<String>,
}

impl Failure {
    /// A failure with `problem` as the answer.
    pub(crate) fn new(outcome: Outcome, problem: Problem) -> Failure {
        Failure {
            outcome,
            problem,
            id: None,
        }
    }

    /// The same failure, about customer `id`.
    pub(crate) fn about(mut self, id: Option<String>) -> Failure {
        self.id = id;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every outcome, its label (metrics and dashboards depend on these exact strings) and
    /// who is at fault.
    const TABLE: [(Outcome, &str, Option<Fault>); 23] = [
        (Outcome::Ok, "ok", None),
        (Outcome::Token, "token", None),
        (Outcome::UriTooLong, "uri_too_long", Some(Fault::Downstream)),
        (Outcome::NoHost, "no_host", Some(Fault::Downstream)),
        (Outcome::NoRoute, "no_route", Some(Fault::Downstream)),
        (
            Outcome::MethodNotAllowed,
            "method_not_allowed",
            Some(Fault::Downstream),
        ),
        (Outcome::Overloaded, "overloaded", Some(Fault::Internal)),
        (Outcome::Unauthorized, "unauthorized", Some(Fault::Downstream)),
        (
            Outcome::UnsupportedMediaType,
            "unsupported_media_type",
            Some(Fault::Downstream),
        ),
        (
            Outcome::BadIdempotencyKey,
            "bad_idempotency_key",
            Some(Fault::Downstream),
        ),
        (
            Outcome::PayloadTooLarge,
            "payload_too_large",
            Some(Fault::Downstream),
        ),
        (Outcome::BodyTimeout, "body_timeout", Some(Fault::Downstream)),
        (Outcome::BodyError, "body_error", Some(Fault::Downstream)),
        (Outcome::Malformed, "malformed", Some(Fault::Downstream)),
        (Outcome::Validation, "validation", Some(Fault::Downstream)),
        (Outcome::Untranslatable, "untranslatable", Some(Fault::Downstream)),
        (Outcome::Unsendable, "unsendable", Some(Fault::Downstream)),
        (Outcome::UpstreamError, "upstream_error", Some(Fault::Upstream)),
        (Outcome::UpstreamAuth, "upstream_auth", Some(Fault::Internal)),
        (
            Outcome::UpstreamRefused,
            "upstream_refused",
            Some(Fault::Upstream),
        ),
        (
            Outcome::UntranslatableAnswer,
            "untranslatable_answer",
            Some(Fault::Upstream),
        ),
        (
            Outcome::ImplicitRefused,
            "implicit_refused",
            Some(Fault::Downstream),
        ),
        (Outcome::Internal, "internal", Some(Fault::Internal)),
    ];

    #[test]
    fn each_outcome_keeps_its_label_and_names_who_is_at_fault() {
        for (outcome, label, fault) in TABLE {
            assert_eq!(outcome.label(), label);
            assert_eq!(outcome.fault(), fault, "{label}");
        }
        let mut labels: Vec<&str> = TABLE.iter().map(|(o, _, _)| o.label()).collect();
        labels.sort_unstable();
        labels.dedup();
        assert_eq!(labels.len(), TABLE.len(), "labels are distinct");
        assert_eq!(Outcome::Ok.fault_field(), "none");
        assert_eq!(Outcome::UpstreamError.fault_field(), "upstream");
    }
}
