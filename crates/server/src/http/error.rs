//! `ApiError`: every failure a handler can return, rendered as the contract's error body with
//! the request's correlation id. A 5xx hides its cause from the client and logs it once.

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use kassa_api::ErrorBody;
use kassa_core::{DomainError, FieldError};
use kassa_store::{Duplicate, StoreError};
use tracing::Instrument;

tokio::task_local! {
    static CORRELATION_ID: String;
}

pub const CORRELATION_HEADER: &str = "correlation-id";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("bad value")]
    BadValue(Vec<String>),
    #[error("invalid json: {0}")]
    InvalidJson(String),
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("not allowed: {0}")]
    NotAllowed(String),
    #[error("device busy")]
    DeviceBusy,
    #[error("idempotency conflict: {0}")]
    IdempotencyConflict(String),
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("rate limited")]
    RateLimited { retry_after_secs: u64 },
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The request body did not arrive in full within the body timeout (`408`). The contract
    /// has no code for it; `BAD_VALUE` is its generic one for a request that cannot be used.
    #[error("request body timed out")]
    BodyTimeout(std::time::Duration),
    /// Every connection slot is busy with a request (`503`, from the listener); `RATE_LIMITED`
    /// is the contract's code for "retry after `Retry-After`".
    #[error("no connection slot free")]
    Busy,
    /// The card processor failed or did not answer; nothing changed (`502`).
    #[error("processor error: {0}")]
    Processor(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn field(path: &str, message: impl std::fmt::Display) -> Self {
        Self::BadValue(vec![format!("{path}: {message}")])
    }

    pub fn not_found(what: &str) -> Self {
        Self::NotFound(format!("{what} not found"))
    }

    /// Maps a store error, naming `what` when the store found nothing for this caller.
    pub fn missing(what: &'static str) -> impl Fn(StoreError) -> Self {
        move |e| match e {
            StoreError::NotFound => Self::not_found(what),
            other => other.into(),
        }
    }

    fn parts(&self) -> (StatusCode, &'static str, Vec<String>) {
        use StatusCode as S;
        match self {
            Self::BadValue(m) => (S::BAD_REQUEST, "BAD_VALUE", m.clone()),
            Self::InvalidJson(m) => (S::BAD_REQUEST, "INVALID_JSON", vec![m.clone()]),
            Self::Unauthorized(m) => (S::UNAUTHORIZED, "UNAUTHORIZED", vec![m.clone()]),
            Self::Forbidden(m) => (S::FORBIDDEN, "FORBIDDEN", vec![m.clone()]),
            Self::NotFound(m) => (S::NOT_FOUND, "NOT_FOUND", vec![m.clone()]),
            Self::NotAllowed(m) => (S::CONFLICT, "NOT_ALLOWED", vec![m.clone()]),
            Self::DeviceBusy => (
                S::CONFLICT,
                "DEVICE_BUSY",
                vec!["device_id: the device already has an open session".into()],
            ),
            Self::IdempotencyConflict(m) => (S::CONFLICT, "IDEMPOTENCY_CONFLICT", vec![m.clone()]),
            Self::PayloadTooLarge => (
                S::PAYLOAD_TOO_LARGE,
                "PAYLOAD_TOO_LARGE",
                vec!["request body is larger than 1 MiB".into()],
            ),
            Self::RateLimited { .. } => (
                S::TOO_MANY_REQUESTS,
                "RATE_LIMITED",
                vec!["too many requests; retry after the Retry-After delay".into()],
            ),
            Self::MethodNotAllowed => (
                S::METHOD_NOT_ALLOWED,
                "METHOD_NOT_ALLOWED",
                vec!["this path does not support this method".into()],
            ),
            Self::BodyTimeout(after) => (
                S::REQUEST_TIMEOUT,
                "BAD_VALUE",
                vec![format!(
                    "body: not received in full within {}",
                    humantime::format_duration(*after)
                )],
            ),
            Self::Busy => (
                S::SERVICE_UNAVAILABLE,
                "RATE_LIMITED",
                vec![
                    "the server is at its connection limit; retry after the Retry-After delay"
                        .into(),
                ],
            ),
            Self::Processor(m) => (S::BAD_GATEWAY, "PROCESSOR_ERROR", vec![m.clone()]),
            Self::Internal(_) => (
                S::INTERNAL_SERVER_ERROR,
                "INTERNAL_ERROR",
                vec!["internal error; quote the correlation id when reporting it".into()],
            ),
        }
    }
}

pub fn correlation_id() -> String {
    CORRELATION_ID
        .try_with(Clone::clone)
        .unwrap_or_else(|_| uuid::Uuid::new_v4().to_string())
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::Internal(cause) = &self {
            tracing::error!(error = %cause, "request failed");
        }
        let (status, code, messages) = self.parts();
        let body = ErrorBody {
            correlation_id: correlation_id(),
            error_code: code.into(),
            error_messages: messages,
        };
        let mut response = (status, Json(body)).into_response();
        let retry_after = match self {
            Self::RateLimited { retry_after_secs } => Some(retry_after_secs),
            Self::Busy => Some(1),
            _ => None,
        };
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert("retry-after", HeaderValue::from(secs));
        }
        response
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::Invalid(fields) => {
                Self::BadValue(fields.iter().map(FieldError::to_string).collect())
            }
            DomainError::NotAllowed(m) => Self::NotAllowed(m),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::not_found("object"),
            StoreError::DeviceBusy => Self::DeviceBusy,
            StoreError::BadReference { field, message } => Self::field(field, message),
            StoreError::Refused(d) => d.into(),
            StoreError::Duplicate(d) => {
                let message = d.to_string();
                match d {
                    Duplicate::AttemptId | Duplicate::IdempotencyKey => {
                        Self::IdempotencyConflict(message)
                    }
                    Duplicate::Email => Self::field("email", message),
                    Duplicate::Reader | Duplicate::OtherPayment | Duplicate::PaymentInUse => {
                        Self::NotAllowed(message)
                    }
                }
            }
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> Self {
        Self::Internal(format!("{e:#}"))
    }
}

/// Gives every request a correlation id (the caller's `Correlation-Id` if it sent a sane one),
/// makes it visible to error rendering and echoes it on the response. Bare 405s from the
/// router get the error body too.
pub async fn correlate(request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(CORRELATION_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.len() <= 64 && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let span = tracing::info_span!("request", correlation_id = %id, method = %request.method(), path = %request.uri().path());
    let mut response = CORRELATION_ID
        .scope(
            id.clone(),
            async move {
                let response = next.run(request).await;
                if response.status() == StatusCode::METHOD_NOT_ALLOWED && !has_body(&response) {
                    return ApiError::MethodNotAllowed.into_response();
                }
                response
            }
            .instrument(span),
        )
        .await;
    // A replayed idempotent answer already carries the first request's id, the one its body
    // holds: that one is kept, so header and body agree.
    if let Ok(value) = HeaderValue::from_str(&id) {
        response
            .headers_mut()
            .entry(CORRELATION_HEADER)
            .or_insert(value);
    }
    response
}

fn has_body(response: &Response) -> bool {
    response
        .headers()
        .contains_key(axum::http::header::CONTENT_TYPE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(e: StoreError) -> (StatusCode, &'static str, Vec<String>) {
        ApiError::from(e).parts()
    }

    #[test]
    fn store_conflicts_keep_idempotency_conflict_for_reused_keys() {
        use Duplicate as D;
        let cases = [
            (D::AttemptId, "IDEMPOTENCY_CONFLICT"),
            (D::IdempotencyKey, "IDEMPOTENCY_CONFLICT"),
            (D::Reader, "NOT_ALLOWED"),
            (D::OtherPayment, "NOT_ALLOWED"),
            (D::PaymentInUse, "NOT_ALLOWED"),
            (D::Email, "BAD_VALUE"),
        ];
        for (duplicate, want) in cases {
            let (_, got, messages) = code(StoreError::Duplicate(duplicate));
            assert_eq!(got, want, "{duplicate:?}");
            assert!(messages
                .iter()
                .all(|m| !m.contains('_') || m.contains("attempt_id")));
        }
        let (_, _, messages) = code(StoreError::Duplicate(D::Email));
        assert!(messages[0].starts_with("email: "), "{messages:?}");
        let (status, got, _) = code(StoreError::DeviceBusy);
        assert_eq!((status, got), (StatusCode::CONFLICT, "DEVICE_BUSY"));
        let (status, got, messages) = code(StoreError::Invariant("session changed under its lock"));
        assert_eq!((status.as_u16(), got), (500, "INTERNAL_ERROR"));
        assert!(
            !messages[0].contains("session"),
            "the cause stays in the log"
        );
    }
}
