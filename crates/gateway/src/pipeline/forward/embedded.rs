//! The embedded backend as an upstream service: it speaks canonical, so the outbound body of an
//! update is the canonical merge patch, applied in process, and a retrieve reads the store; the
//! answer needs no reading.

use std::future::{Ready, ready};
use std::sync::Arc;
use std::task::{Context, Poll};

use dialectgate_dialect::{Answer, Operation};
use serde_json::Map;
use tower::Service;

use crate::backend::Backend;
use crate::upstream::UpstreamError;
use crate::upstream::{Reply, UpstreamRequest};

/// The in-memory store behind the upstream interface.
#[derive(Debug, Clone)]
pub struct Embedded {
    backend: Arc<Backend>,
}

impl Embedded {
    /// Calls go to `backend`.
    pub fn new(backend: Arc<Backend>) -> Embedded {
        Embedded { backend }
    }
}

impl Service<UpstreamRequest> for Embedded {
    type Response = Reply;
    type Error = UpstreamError;
    type Future = Ready<Result<Reply, UpstreamError>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), UpstreamError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: UpstreamRequest) -> Self::Future {
        let answer = match request.operation {
            Operation::Retrieve => match self.backend.get(&request.id) {
                Some(doc) => Answer::Customer(doc),
                None => Answer::Problem(Backend::not_found(&request.id)),
            },
            Operation::Update => {
                let updated = request.body.with_tree(|body| {
                    self.backend
                        .update(&request.id, body.as_object().unwrap_or(&Map::new()))
                });
                match updated {
                    Ok(doc) => Answer::Customer(doc),
                    Err(p) => Answer::Problem(p),
                }
            }
        };
        ready(Ok(Reply::Answer(answer)))
    }
}
