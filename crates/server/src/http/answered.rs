//! "`ipp.session.created` is sent after the create response has been returned" (spec §5).
//! The create handler puts an `Answered` guard in its response's extensions; the outermost
//! layer moves it into the body, and hyper drops the body once it has taken the last bytes
//! for the connection. Only then are the session's held deliveries released.

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use http_body::Frame;
use kassa_core::SessionId;
use kassa_store::Signals;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// Releases the session's held deliveries when the last clone is dropped.
#[derive(Clone)]
pub struct Answered {
    _release: Arc<Release>,
}

struct Release {
    signals: Signals,
    session: SessionId,
}

impl Answered {
    pub fn new(signals: Signals, session: SessionId) -> Self {
        Self {
            _release: Arc::new(Release { signals, session }),
        }
    }
}

impl Drop for Release {
    fn drop(&mut self) {
        self.signals.release_deliveries(self.session);
    }
}

/// The outermost layer: a response that carries an `Answered` keeps it until its body is done.
pub async fn hold_until_sent(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    match response.extensions_mut().remove::<Answered>() {
        Some(guard) => response.map(|inner| Holding::body(inner, guard)),
        None => response,
    }
}

/// A response body that keeps `held` alive until hyper has taken its last byte (or dropped
/// it): the create's `Answered` guard here, a request's in-flight mark in `listener`.
pub struct Holding<G> {
    inner: Body,
    _held: G,
}

impl<G: Send + Unpin + 'static> Holding<G> {
    pub fn body(inner: Body, held: G) -> Body {
        Body::new(Self { inner, _held: held })
    }
}

impl<G: Unpin> http_body::Body for Holding<G> {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
