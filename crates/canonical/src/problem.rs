//! Canonical errors: RFC 9457 problem details with a list of violations
//! (`schemas/canonical/error.json`), and the closed set of error kinds every dialect renders.

use serde::{Deserialize, Serialize};

/// What went wrong, independent of any dialect. Each dialect definition says how it renders
/// every kind (status code and body); an upstream's error is classified back into one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The body is not acceptable JSON (syntax, UTF-8, duplicate keys, nesting).
    Malformed,
    /// The body is JSON but breaks the dialect's schema.
    Validation,
    /// Valid, but it cannot be expressed in the target without losing or guessing data.
    Untranslatable,
    /// Wrong or missing `Content-Type`.
    UnsupportedMediaType,
    /// The body is over the size limit.
    PayloadTooLarge,
    /// Missing or invalid credential.
    Unauthorized,
    /// The credential lacks permission.
    Forbidden,
    /// No such customer (or no such route).
    NotFound,
    /// The route exists but not for this method.
    MethodNotAllowed,
    /// The client was too slow to send its request.
    RequestTimeout,
    /// A concurrent write or state conflict.
    Conflict,
    /// A unique value (e.g. the email) is already taken.
    Duplicate,
    /// Too many requests for this caller.
    RateLimited,
    /// Too many requests in flight for the gateway.
    Overloaded,
    /// The upstream could not be reached or gave an unusable answer.
    BadGateway,
    /// The upstream did not answer in time.
    GatewayTimeout,
    /// A fault of the gateway itself.
    Internal,
}

impl ErrorKind {
    /// Every kind, in declaration order.
    pub const ALL: [ErrorKind; 17] = [
        ErrorKind::Malformed,
        ErrorKind::Validation,
        ErrorKind::Untranslatable,
        ErrorKind::UnsupportedMediaType,
        ErrorKind::PayloadTooLarge,
        ErrorKind::Unauthorized,
        ErrorKind::Forbidden,
        ErrorKind::NotFound,
        ErrorKind::MethodNotAllowed,
        ErrorKind::RequestTimeout,
        ErrorKind::Conflict,
        ErrorKind::Duplicate,
        ErrorKind::RateLimited,
        ErrorKind::Overloaded,
        ErrorKind::BadGateway,
        ErrorKind::GatewayTimeout,
        ErrorKind::Internal,
    ];

    /// The HTTP status of this kind in the canonical binding.
    pub fn status(self) -> u16 {
        match self {
            ErrorKind::Malformed | ErrorKind::Validation => 400,
            ErrorKind::Untranslatable => 422,
            ErrorKind::UnsupportedMediaType => 415,
            ErrorKind::PayloadTooLarge => 413,
            ErrorKind::Unauthorized => 401,
            ErrorKind::Forbidden => 403,
            ErrorKind::NotFound => 404,
            ErrorKind::MethodNotAllowed => 405,
            ErrorKind::RequestTimeout => 408,
            ErrorKind::Conflict | ErrorKind::Duplicate => 409,
            ErrorKind::RateLimited => 429,
            ErrorKind::Overloaded => 503,
            ErrorKind::BadGateway => 502,
            ErrorKind::GatewayTimeout => 504,
            ErrorKind::Internal => 500,
        }
    }

    /// The snake_case name used in definition files and problem `type` URIs.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Malformed => "malformed",
            ErrorKind::Validation => "validation",
            ErrorKind::Untranslatable => "untranslatable",
            ErrorKind::UnsupportedMediaType => "unsupported_media_type",
            ErrorKind::PayloadTooLarge => "payload_too_large",
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::NotFound => "not_found",
            ErrorKind::MethodNotAllowed => "method_not_allowed",
            ErrorKind::RequestTimeout => "request_timeout",
            ErrorKind::Conflict => "conflict",
            ErrorKind::Duplicate => "duplicate",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::Overloaded => "overloaded",
            ErrorKind::BadGateway => "bad_gateway",
            ErrorKind::GatewayTimeout => "gateway_timeout",
            ErrorKind::Internal => "internal",
        }
    }

    /// Parses the snake_case name.
    pub fn from_name(name: &str) -> Option<ErrorKind> {
        ErrorKind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// A short human title, used when the dialect gives none.
    pub fn title(self) -> &'static str {
        match self {
            ErrorKind::Malformed => "Malformed request body",
            ErrorKind::Validation => "Invalid request",
            ErrorKind::Untranslatable => "Request cannot be translated without loss",
            ErrorKind::UnsupportedMediaType => "Unsupported media type",
            ErrorKind::PayloadTooLarge => "Payload too large",
            ErrorKind::Unauthorized => "Unauthorized",
            ErrorKind::Forbidden => "Forbidden",
            ErrorKind::NotFound => "Not found",
            ErrorKind::MethodNotAllowed => "Method not allowed",
            ErrorKind::RequestTimeout => "Request timeout",
            ErrorKind::Conflict => "Conflict",
            ErrorKind::Duplicate => "Duplicate",
            ErrorKind::RateLimited => "Too many requests",
            ErrorKind::Overloaded => "Service overloaded",
            ErrorKind::BadGateway => "Bad gateway",
            ErrorKind::GatewayTimeout => "Gateway timeout",
            ErrorKind::Internal => "Internal server error",
        }
    }

    /// The problem `type` URI of this kind.
    pub fn type_uri(self) -> String {
        format!("{}{}", Problem::TYPE_PREFIX, self.as_str())
    }

    /// True for kinds caused by the caller (4xx).
    pub fn is_client_error(self) -> bool {
        self.status() < 500
    }
}

/// One reason a request was refused, pointing into the caller's own body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    /// JSON Pointer into the caller's body (`""` is the whole body).
    pub pointer: String,
    /// A machine-readable code: a JSON Schema keyword (`required`, `type`, …) or a translation
    /// code (`lossy`, `unmapped_enum`, `required_on_write`, …).
    pub code: String,
    /// A human message. Never contains the offending value (it may be a secret).
    pub message: String,
    /// The name of the member the violation is about, when there is one (the missing or
    /// unexpected property, or the last segment of the pointer).
    #[serde(skip)]
    pub property: Option<String>,
}

impl Violation {
    /// A violation with no separate property name.
    pub fn new(pointer: impl Into<String>, code: impl Into<String>, message: impl Into<String>) -> Self {
        Violation {
            pointer: pointer.into(),
            code: code.into(),
            message: message.into(),
            property: None,
        }
    }
}

/// RFC 9457 problem details, the canonical error body (`application/problem+json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub type_uri: String,
    pub title: String,
    pub status: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<Violation>,
    /// The kind this problem was built from; not serialized (the `type` URI carries it).
    #[serde(skip)]
    pub kind: Option<ErrorKind>,
}

impl Problem {
    /// Prefix of the `type` URI of every problem the gateway emits.
    pub const TYPE_PREFIX: &'static str = "urn:dialectgate:problem:";

    /// A problem of `kind` with a detail message.
    pub fn new(kind: ErrorKind, detail: impl Into<String>) -> Problem {
        Problem {
            type_uri: kind.type_uri(),
            title: kind.title().to_owned(),
            status: kind.status(),
            detail: Some(detail.into()),
            instance: None,
            request_id: None,
            errors: Vec::new(),
            kind: Some(kind),
        }
    }

    /// Adds the violations that caused it.
    #[must_use]
    pub fn with_errors(mut self, errors: Vec<Violation>) -> Problem {
        self.errors = errors;
        self
    }

    /// The kind: the one it was built from, or the one its `type` URI or status names.
    pub fn kind(&self) -> ErrorKind {
        if let Some(kind) = self.kind {
            return kind;
        }
        self.type_uri
            .strip_prefix(Problem::TYPE_PREFIX)
            .and_then(ErrorKind::from_name)
            .unwrap_or_else(|| ErrorKind::from_status(self.status))
    }

    /// The detail, or the title when there is none.
    pub fn message(&self) -> &str {
        self.detail.as_deref().unwrap_or(&self.title)
    }
}

impl ErrorKind {
    /// The kind an HTTP error status most plausibly means, for answers that say nothing more.
    pub fn from_status(status: u16) -> ErrorKind {
        match status {
            401 => ErrorKind::Unauthorized,
            403 => ErrorKind::Forbidden,
            404 => ErrorKind::NotFound,
            405 => ErrorKind::MethodNotAllowed,
            408 => ErrorKind::RequestTimeout,
            409 => ErrorKind::Conflict,
            413 => ErrorKind::PayloadTooLarge,
            415 => ErrorKind::UnsupportedMediaType,
            422 => ErrorKind::Validation,
            429 => ErrorKind::RateLimited,
            400..=499 => ErrorKind::Validation,
            503 => ErrorKind::Overloaded,
            504 => ErrorKind::GatewayTimeout,
            _ => ErrorKind::BadGateway,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_names_round_trip() {
        for kind in ErrorKind::ALL {
            assert_eq!(ErrorKind::from_name(kind.as_str()), Some(kind));
            let problem = Problem {
                kind: None,
                ..Problem::new(kind, "x")
            };
            assert_eq!(problem.kind(), kind);
        }
    }
}
