//! The retry policy of the upstream stack (a `tower::retry::Policy`): a repeatable request (a
//! read, a PUT or PATCH, or a write sent with the caller's `Idempotency-Key`: see
//! `headers::repeatable`) is tried again, within the configured number of
//! retries and with exponential backoff, when the connection was refused or the upstream
//! answered 502, 503 or 504. Anything else is final. The request is copied only while another
//! attempt is still possible.

use std::time::Duration;

use tower::retry::Policy;

use crate::upstream::UpstreamError;
use crate::upstream::{Reply, UpstreamRequest};

/// Retries left and attempts made for one request (tower copies the policy per request).
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    remaining: u32,
    attempts: u32,
}

impl RetryPolicy {
    /// At most `retries` attempts after the first.
    pub fn new(retries: u32) -> RetryPolicy {
        RetryPolicy {
            remaining: retries,
            attempts: 0,
        }
    }
}

impl Policy<UpstreamRequest, Reply, UpstreamError> for RetryPolicy {
    type Future = tokio::time::Sleep;

    fn retry(
        &mut self,
        _request: &mut UpstreamRequest,
        result: &mut Result<Reply, UpstreamError>,
    ) -> Option<Self::Future> {
        self.attempts += 1;
        let again = match result {
            Err(UpstreamError::Connect(_)) => true,
            Ok(Reply::Http { status, .. }) => matches!(status, 502..=504),
            Ok(Reply::Answer(_)) | Err(_) => false,
        };
        if !again {
            return None;
        }
        self.remaining = self.remaining.saturating_sub(1);
        tracing::debug!(attempt = self.attempts, "Retrying the upstream call.");
        Some(tokio::time::sleep(Duration::from_millis(
            25 << self.attempts.min(6),
        )))
    }

    fn clone_request(&mut self, request: &UpstreamRequest) -> Option<UpstreamRequest> {
        (request.repeatable && self.remaining > 0).then(|| request.clone())
    }
}
