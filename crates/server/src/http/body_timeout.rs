//! The body deadline: a request's body must arrive in full within `body_timeout` of its
//! headers, or the answer is `408` with the contract's error body.
//!
//! The deadline lives on the body, not on the request: it runs only while someone waits for
//! body bytes that have not come, so a long-poll (`?wait=30`), a slow handler or the device
//! stream (no body) is never cut by it, and bytes already received are never refused late.
//! Whoever reads the body (an extractor, the idempotency layer, a processor's webhook) sees
//! an error and answers as it does for any unreadable body; `limit` then replaces that answer
//! with the `408`, so every route gives the same one.

use super::error::ApiError;
use crate::state::AppState;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body::{Body as _, Frame};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::time::{sleep_until, Instant, Sleep};

/// Puts the deadline on the request's body and answers `408` if it passed.
pub async fn limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if request.body().is_end_stream() {
        return next.run(request).await;
    }
    let after = state.config.connections.body_timeout;
    let expired = Arc::new(AtomicBool::new(false));
    let request = request.map(|inner| {
        Body::new(Deadline {
            inner,
            sleep: Box::pin(sleep_until(Instant::now() + after)),
            expired: expired.clone(),
        })
    });
    let response = next.run(request).await;
    if expired.load(Ordering::Acquire) {
        tracing::info!(after = ?after, "request body not received in time");
        return ApiError::BodyTimeout(after).into_response();
    }
    response
}

struct Deadline {
    inner: Body,
    sleep: Pin<Box<Sleep>>,
    expired: Arc<AtomicBool>,
}

/// The error a reader of a late body sees.
#[derive(Debug, thiserror::Error)]
#[error("request body not received in time")]
struct Late;

impl http_body::Body for Deadline {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        if self.expired.load(Ordering::Acquire) {
            return Poll::Ready(Some(Err(axum::Error::new(Late))));
        }
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Pending if self.sleep.as_mut().poll(cx).is_ready() => {
                self.expired.store(true, Ordering::Release);
                Poll::Ready(Some(Err(axum::Error::new(Late))))
            }
            other => other,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
