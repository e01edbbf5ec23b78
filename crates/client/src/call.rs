//! [`Call`]: one mutating merchant request, built, then awaited. Awaiting it gives the
//! answer; [`Call::idempotency_key`] makes a retry safe, and [`Call::send`] also tells
//! whether the server replayed an earlier answer instead of acting again.

use crate::error::{Error, Result};
use crate::transport::Transport;
use futures::future::BoxFuture;
use reqwest::Method;
use serde::Serialize;
use std::future::IntoFuture;
use std::sync::Arc;

/// A mutating call (`POST`, `PUT`, `DELETE`) not yet sent.
///
/// `.await` it for the answer, or set an [`Idempotency-Key`](Call::idempotency_key) first and
/// [`send`](Call::send) it to learn whether the answer was replayed:
///
/// ```no_run
/// # async fn run(client: kassa_client::Client, req: kassa_client::api::session::CreateSession)
/// # -> kassa_client::Result<()> {
/// // Plain: the session.
/// let session = client.sessions().create(&req).await?;
///
/// // Safe to retry after a timeout: the same key never creates a second session.
/// let answer = client.sessions().create(&req).idempotency_key("order-1001").send().await?;
/// if answer.replayed {
///     println!("created earlier: {}", answer.value.session_id);
/// }
/// # Ok(()) }
/// ```
#[must_use = "a call does nothing until it is awaited or sent"]
pub struct Call<T> {
    transport: Arc<Transport>,
    method: Method,
    path: String,
    query: Vec<(&'static str, String)>,
    body: Option<Result<Vec<u8>, serde_json::Error>>,
    idempotency_key: Option<String>,
    decode: fn(&crate::transport::Answer) -> Result<T>,
}

impl<T: Send + 'static> Call<T> {
    /// Sends `Idempotency-Key: key` (at most 255 characters). Within the server's retention
    /// (24 h by default) the same key with the same request replays the first answer and does
    /// nothing again; with a different request it is `409 IDEMPOTENCY_CONFLICT`. A `5xx` is
    /// not stored: retrying with the same key runs the request.
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }

    /// Sends the call and returns its answer with whether it was replayed.
    pub async fn send(self) -> Result<Replayable<T>> {
        let mut request = self
            .transport
            .request(self.method, &self.path)
            .query(&self.query);
        if let Some(key) = &self.idempotency_key {
            request = request.header("idempotency-key", key);
        }
        if let Some(body) = self.body {
            request = request
                .header("content-type", "application/json")
                .body(body.map_err(Error::Encode)?);
        }
        let answer = self.transport.send(request).await?;
        Ok(Replayable {
            value: (self.decode)(&answer)?,
            replayed: answer.replayed(),
            correlation_id: answer.header("correlation-id").map(str::to_string),
        })
    }
}

impl<T: Send + 'static> IntoFuture for Call<T> {
    type Output = Result<T>;
    type IntoFuture = BoxFuture<'static, Result<T>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move { self.send().await.map(|r| r.value) })
    }
}

impl<T> Call<T> {
    pub(crate) fn new(
        transport: &Arc<Transport>,
        method: Method,
        path: String,
        decode: fn(&crate::transport::Answer) -> Result<T>,
    ) -> Self {
        Self {
            transport: transport.clone(),
            method,
            path,
            query: Vec::new(),
            body: None,
            idempotency_key: None,
            decode,
        }
    }

    pub(crate) fn body(mut self, body: &impl Serialize) -> Self {
        self.body = Some(serde_json::to_vec(body));
        self
    }

    pub(crate) fn query(mut self, name: &'static str, value: Option<impl ToString>) -> Self {
        crate::transport::push_opt(&mut self.query, name, value);
        self
    }
}

/// A call answered with a JSON body of type `T`.
pub(crate) fn json<T: serde::de::DeserializeOwned>(
    transport: &Arc<Transport>,
    method: Method,
    path: String,
) -> Call<T> {
    Call::new(transport, method, path, |a| a.json())
}

/// A call answered with `204 No Content` (or any 2xx whose body does not matter).
pub(crate) fn empty(transport: &Arc<Transport>, method: Method, path: String) -> Call<()> {
    Call::new(transport, method, path, |_| Ok(()))
}

/// An answer and whether the server replayed it for a repeated `Idempotency-Key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replayable<T> {
    /// The answer (the first request's, when replayed).
    pub value: T,
    /// `Idempotent-Replayed: true`: nothing was done this time; `value` is what the first
    /// request with this key answered.
    pub replayed: bool,
    /// The answer's `Correlation-Id` (a replay keeps the first request's).
    pub correlation_id: Option<String>,
}

impl<T> Replayable<T> {
    /// The answer, dropping the replay flag.
    pub fn into_inner(self) -> T {
        self.value
    }
}

impl<T> std::ops::Deref for Replayable<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}
