//! What a call can fail with. The server's refusals ([`ApiError`], with the contract's
//! `error_code` as an [`ErrorCode`]) are kept apart from failures to reach it or to read its
//! answer, because only the first kind says the request was seen and refused.

use kassa_api::session::Session;
use kassa_api::ErrorBody;
use reqwest::header::HeaderMap;
use std::fmt;
use std::time::Duration;

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Every way a call can fail.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server answered with an error status and the contract's error body.
    #[error(transparent)]
    Api(ApiError),
    /// The events feed's `after` cursor names an event the server no longer keeps (older
    /// than its retention, 30 days by default) or never had. Nothing after it can be read:
    /// start again without a cursor, and reconcile from the REST resources.
    #[error("event cursor {cursor:?} is past the server's retention (or unknown)")]
    CursorExpired {
        /// The cursor that was refused.
        cursor: String,
        /// The server's answer (`400 BAD_VALUE`, "after: no such event").
        error: ApiError,
    },
    /// The request did not get an answer: connection, TLS, timeout, or a broken body.
    #[error("transport error: {0}")]
    Transport(#[from] reqwest::Error),
    /// The WebSocket of the device stream failed.
    #[error("device stream error: {0}")]
    WebSocket(#[from] tokio_tungstenite::tungstenite::Error),
    /// A 2xx answer (or a stream frame) that is not what the contract promises.
    #[error("could not decode the answer: {source}")]
    Decode {
        #[source]
        source: serde_json::Error,
        /// The first bytes of what arrived.
        snippet: String,
    },
    /// A request body could not be turned into JSON (a map with non-string keys, say).
    #[error("could not encode the request: {0}")]
    Encode(serde_json::Error),
    /// The base URL, a key or a token cannot be used in a request.
    #[error("invalid client configuration: {0}")]
    Config(String),
    /// `wait_for_status` ran out of time; the session as last seen.
    #[error("session {} is still {} after the wait", .0.session_id, .0.status)]
    WaitTimedOut(Box<Session>),
    /// `wait_for_status` saw the session settle in another terminal status, so the one
    /// waited for can never come; the session as it settled.
    #[error("session {} settled as {}", .0.session_id, .0.status)]
    StatusUnreachable(Box<Session>),
    /// The device was deleted: the server closed its stream (code 4401) and its token no
    /// longer works.
    #[error("the device was removed; its token is revoked")]
    DeviceRemoved,
}

impl Error {
    /// The server's refusal, if this is one (also for [`Error::CursorExpired`]).
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Self::Api(e) | Self::CursorExpired { error: e, .. } => Some(e),
            _ => None,
        }
    }

    /// The contract's error code, if the server refused the request.
    pub fn code(&self) -> Option<&ErrorCode> {
        self.api().map(|e| &e.code)
    }

    /// The HTTP status of the server's refusal.
    pub fn status(&self) -> Option<u16> {
        self.api().map(|e| e.status)
    }

    pub(crate) fn decode(source: serde_json::Error, body: &[u8]) -> Self {
        Self::Decode {
            source,
            snippet: snippet(body),
        }
    }
}

impl From<ApiError> for Error {
    fn from(e: ApiError) -> Self {
        Self::Api(e)
    }
}

/// A refusal from the server: its status and the contract's error body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status (`400`, `404`, `409`, …).
    pub status: u16,
    /// The body's `error_code`.
    pub code: ErrorCode,
    /// The body's `error_messages`; each names the field it is about, e.g.
    /// `order_amount: must equal the sum of order_items[].total_amount (240000 != 239000)`.
    pub messages: Vec<String>,
    /// The request's correlation id (body, else the `Correlation-Id` header): quote it when
    /// asking for support.
    pub correlation_id: Option<String>,
    /// `Retry-After` on `429`/`503`: wait this long before retrying.
    pub retry_after: Option<Duration>,
}

impl ApiError {
    /// Reads an error answer. A body that is not the contract's (a proxy's HTML page, say)
    /// gives [`ErrorCode::Other`] with the status as its name and the body as the message.
    pub(crate) fn from_parts(status: u16, headers: &HeaderMap, body: &[u8]) -> Self {
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let retry_after = header("retry-after")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        match serde_json::from_slice::<ErrorBody>(body) {
            Ok(b) => Self {
                status,
                code: ErrorCode::parse(&b.error_code),
                messages: b.error_messages,
                correlation_id: Some(b.correlation_id).or_else(|| header("correlation-id")),
                retry_after,
            },
            Err(_) => Self {
                status,
                code: ErrorCode::Other(format!("HTTP_{status}")),
                messages: vec![snippet(body)]
                    .into_iter()
                    .filter(|s| !s.is_empty())
                    .collect(),
                correlation_id: header("correlation-id"),
                retry_after,
            },
        }
    }

    /// Whether any message is about `field` (messages start with the field's path).
    pub fn mentions(&self, field: &str) -> bool {
        self.messages
            .iter()
            .any(|m| m.split(':').next().is_some_and(|path| path.trim() == field))
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status, self.code)?;
        if !self.messages.is_empty() {
            write!(f, ": {}", self.messages.join("; "))?;
        }
        if let Some(id) = &self.correlation_id {
            write!(f, " (correlation id {id})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

/// The contract's `error_code`s. A code this client does not know yet (a newer server)
/// arrives as [`ErrorCode::Other`] rather than failing the decode.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// `400`: a field failed validation; each message names its path.
    BadValue,
    /// `400`: the body is not JSON, or not sent as `application/json`.
    InvalidJson,
    /// `401`: missing, wrong or revoked credentials.
    Unauthorized,
    /// `403`: valid credentials that may not do this (a test key on a live server, a
    /// mismatched `x-merchant-id`).
    Forbidden,
    /// `404`: no such object for this caller.
    NotFound,
    /// `409`: the object's state forbids the operation (cancel a `FINALIZED` session).
    NotAllowed,
    /// `409`: the device already has an open session.
    DeviceBusy,
    /// `409`: the `Idempotency-Key` (or finalize `attempt_id`) was used for another request,
    /// or its first request is still running.
    IdempotencyConflict,
    /// `413`: the body is over 1 MiB.
    PayloadTooLarge,
    /// `429` (or `503` at the connection limit): retry after [`ApiError::retry_after`].
    RateLimited,
    /// `405`: the path does not take this method.
    MethodNotAllowed,
    /// `502`: the card processor failed or did not answer; nothing changed. Retry with the
    /// same `Idempotency-Key`.
    ProcessorError,
    /// `500`: a bug in the server; quote the correlation id.
    InternalError,
    /// A code this client does not know, as sent (or `HTTP_<status>` for an answer without
    /// the contract's body).
    Other(String),
}

impl ErrorCode {
    const KNOWN: [(Self, &'static str); 13] = [
        (Self::BadValue, "BAD_VALUE"),
        (Self::InvalidJson, "INVALID_JSON"),
        (Self::Unauthorized, "UNAUTHORIZED"),
        (Self::Forbidden, "FORBIDDEN"),
        (Self::NotFound, "NOT_FOUND"),
        (Self::NotAllowed, "NOT_ALLOWED"),
        (Self::DeviceBusy, "DEVICE_BUSY"),
        (Self::IdempotencyConflict, "IDEMPOTENCY_CONFLICT"),
        (Self::PayloadTooLarge, "PAYLOAD_TOO_LARGE"),
        (Self::RateLimited, "RATE_LIMITED"),
        (Self::MethodNotAllowed, "METHOD_NOT_ALLOWED"),
        (Self::ProcessorError, "PROCESSOR_ERROR"),
        (Self::InternalError, "INTERNAL_ERROR"),
    ];

    /// The code for a wire name; never fails.
    pub fn parse(code: &str) -> Self {
        Self::KNOWN
            .iter()
            .find(|(_, name)| *name == code)
            .map(|(c, _)| c.clone())
            .unwrap_or_else(|| Self::Other(code.to_string()))
    }

    /// The wire name (`BAD_VALUE`, …).
    pub fn as_str(&self) -> &str {
        match self {
            Self::Other(code) => code,
            known => Self::KNOWN
                .iter()
                .find(|(c, _)| c == known)
                .map(|(_, name)| *name)
                .unwrap_or_default(),
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    text.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_code_round_trips_and_unknown_ones_are_kept() {
        for (code, name) in ErrorCode::KNOWN {
            assert_eq!(ErrorCode::parse(name), code);
            assert_eq!(code.as_str(), name);
        }
        assert_eq!(
            ErrorCode::parse("TEAPOT"),
            ErrorCode::Other("TEAPOT".into())
        );
        assert_eq!(ErrorCode::parse("TEAPOT").as_str(), "TEAPOT");
    }

    #[test]
    fn an_answer_without_the_error_body_still_gives_an_error() {
        let mut headers = HeaderMap::new();
        headers.insert("correlation-id", "abc".parse().unwrap());
        headers.insert("retry-after", "3".parse().unwrap());
        let e = ApiError::from_parts(503, &headers, b"<html>busy</html>");
        assert_eq!(e.code, ErrorCode::Other("HTTP_503".into()));
        assert_eq!(e.messages, ["<html>busy</html>"]);
        assert_eq!(e.correlation_id.as_deref(), Some("abc"));
        assert_eq!(e.retry_after, Some(Duration::from_secs(3)));
    }

    #[test]
    fn messages_are_matched_by_their_field_path() {
        let body = br#"{"correlation_id":"c","error_code":"BAD_VALUE","error_messages":["after: no such event"]}"#;
        let e = ApiError::from_parts(400, &HeaderMap::new(), body);
        assert_eq!(e.code, ErrorCode::BadValue);
        assert!(e.mentions("after"));
        assert!(!e.mentions("aft"));
    }
}
