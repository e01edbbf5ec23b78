//! `Idempotency-Key` for every mutating merchant call: the first response is stored and
//! replayed byte-for-byte for the same key and request; a different request with the same key
//! is `409 IDEMPOTENCY_CONFLICT`. Runs as a layer so no handler can forget it.

use super::error::{correlation_id, ApiError, CORRELATION_HEADER};
use super::extract::authenticate_merchant;
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use kassa_api::ErrorBody;
use kassa_store::{IdempotencyClaim, StoredResponse};
use sha2::{Digest, Sha256};

pub const HEADER: &str = "idempotency-key";
pub const REPLAYED: &str = "idempotent-replayed";
use super::BODY_LIMIT;
/// The longest `Idempotency-Key` (Stripe's limit too).
const MAX_KEY_LEN: usize = 255;

pub async fn idempotency(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(key) = request.headers().get(HEADER).cloned() else {
        return next.run(request).await;
    };
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return next.run(request).await;
    }
    // The portal's sign-in is not a merchant call: a stored login answer would hold a CSRF
    // token and a replay would set no cookie.
    if request.uri().path().starts_with("/portal/api/") {
        return next.run(request).await;
    }
    // Device calls and failed authentication go on to the handler, which answers them:
    // authentication errors come before anything else. A portal cookie authenticates here
    // as in the handler (with its CSRF and role checks), so its keys are the merchant's.
    let authenticated = authenticate_merchant(request.method(), request.headers(), &state).await;
    let Ok(merchant) = authenticated else {
        return next.run(request).await;
    };
    let key = match key
        .to_str()
        .ok()
        .filter(|k| !k.is_empty() && k.len() <= MAX_KEY_LEN)
    {
        Some(k) => k.to_string(),
        None => {
            return ApiError::field(
                "Idempotency-Key",
                format!("must be 1 to {MAX_KEY_LEN} visible ASCII characters"),
            )
            .into_response()
        }
    };
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, BODY_LIMIT).await else {
        return ApiError::PayloadTooLarge.into_response();
    };
    let fingerprint = fingerprint(&parts.method, &parts.uri, &bytes);
    let now = state.now();
    let since =
        now - chrono::Duration::from_std(state.config.idempotency_retention).unwrap_or_default();
    let claim = state
        .store
        .claim_idempotency_key(merchant.id, &key, &fingerprint, now, since)
        .await;
    match claim {
        Ok(IdempotencyClaim::Claimed) => {}
        Ok(IdempotencyClaim::Replay(stored)) => return replay(stored),
        Ok(IdempotencyClaim::Mismatch) => {
            return ApiError::IdempotencyConflict(
                "Idempotency-Key was already used for a different request".into(),
            )
            .into_response()
        }
        Ok(IdempotencyClaim::Lost) => {
            return ApiError::IdempotencyConflict(
                "the request with this Idempotency-Key took effect, but its answer was lost when \
                 the server stopped; it is not run again: read the resource for its result"
                    .into(),
            )
            .into_response()
        }
        Ok(IdempotencyClaim::InProgress) => {
            return ApiError::IdempotencyConflict(
                "a request with this Idempotency-Key is still in progress".into(),
            )
            .into_response()
        }
        Err(e) => return ApiError::from(e).into_response(),
    }
    // Inside the key's scope, the request's session and order changes mark the key in their
    // own transaction, so a crash before `finish` cannot let a retry run them twice.
    let work = next.run(Request::from_parts(parts, Body::from(bytes)));
    let response = kassa_store::with_idempotency_key(merchant.id, key.clone(), work).await;
    finish(&state, merchant.id, &key, response).await
}

fn fingerprint(method: &Method, uri: &axum::http::Uri, body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(method.as_str());
    h.update(b"\n");
    h.update(uri.path_and_query().map(|p| p.as_str()).unwrap_or(""));
    h.update(b"\n");
    h.update(body);
    hex::encode(h.finalize())
}

/// Put in its answer's extensions by a handler whose answer shows a credential once (a new
/// API key): such an answer is not kept for replay, because keeping it would store the
/// credential itself, which Kassa keeps only hashed. A retry with the same key runs again and
/// issues another credential; the first one shows in the list and can be revoked.
#[derive(Debug, Clone, Copy)]
pub struct ShownOnce;

/// Stores the answer, unless it was a server error: then nothing was done and a retry may run.
async fn finish(
    state: &AppState,
    merchant: kassa_core::MerchantId,
    key: &str,
    response: Response,
) -> Response {
    let (parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return ApiError::Internal("could not buffer response".into()).into_response();
    };
    let store = &state.store;
    let saved = if parts.status.is_server_error() || parts.extensions.get::<ShownOnce>().is_some() {
        store.release_idempotency_key(merchant, key).await
    } else {
        let mut headers: Vec<(String, String)> = parts
            .headers
            .iter()
            .filter(|(name, _)| *name == axum::http::header::CONTENT_TYPE)
            .filter_map(|(n, v)| Some((n.to_string(), v.to_str().ok()?.to_string())))
            .collect();
        // The id this answer goes out with (the correlate layer adds the header later), so a
        // replay repeats it and its header matches the `correlation_id` of a stored error body.
        headers.push((CORRELATION_HEADER.to_string(), correlation_id()));
        let stored = StoredResponse {
            status: parts.status.as_u16(),
            headers,
            body: bytes.to_vec(),
        };
        store.complete_idempotency_key(merchant, key, &stored).await
    };
    if let Err(e) = saved {
        tracing::error!(error = %e, "could not record idempotency key");
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// The first answer again, with its own `Correlation-Id` (which the correlate layer keeps).
/// Answers stored without one (before it was kept) take an error body's `correlation_id`.
fn replay(stored: StoredResponse) -> Response {
    let body_id = serde_json::from_slice::<ErrorBody>(&stored.body)
        .ok()
        .map(|e| e.correlation_id);
    let mut response = Response::new(Body::from(stored.body));
    *response.status_mut() = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    for (name, value) in stored.headers {
        if let (Ok(name), Ok(value)) = (
            name.parse::<axum::http::HeaderName>(),
            HeaderValue::from_str(&value),
        ) {
            response.headers_mut().insert(name, value);
        }
    }
    if let Some(id) = body_id.and_then(|id| HeaderValue::from_str(&id).ok()) {
        response
            .headers_mut()
            .entry(CORRELATION_HEADER)
            .or_insert(id);
    }
    response
        .headers_mut()
        .insert(REPLAYED, HeaderValue::from_static("true"));
    response
}
