//! Extractors: JSON bodies with the contract's error rules, merchant credentials (an API key
//! or the portal's session cookie), device credentials, and paging parameters.

use super::error::ApiError;
use super::limits::{self, Subject};
use super::portal::session;
use crate::secrets;
use crate::state::AppState;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method};
use base64::Engine;
use kassa_store::{Device, Merchant};
use serde::de::DeserializeOwned;

/// The request body is read only after authentication passed (extractors run in argument
/// order and the body comes last), which gives the contract's error precedence.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(';')
                    .next()
                    .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
            });
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(body_error)?;
        if !is_json {
            return Err(ApiError::InvalidJson(
                "Content-Type must be application/json".into(),
            ));
        }
        parse_json(&bytes).map(JsonBody)
    }
}

fn body_error(e: BytesRejection) -> ApiError {
    if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge
    } else {
        ApiError::InvalidJson(format!("could not read the body: {e}"))
    }
}

/// Syntax errors are `INVALID_JSON`; a well-formed body with a wrong or missing field is
/// `BAD_VALUE` naming the field's path.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // Syntax first: a truncated body is INVALID_JSON even if a field before the cut is wrong.
    serde_json::from_slice::<serde::de::IgnoredAny>(bytes)
        .map_err(|e| ApiError::InvalidJson(format!("body is not valid JSON: {e}")))?;
    reject_nul(bytes)?;
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let inner = e.inner();
        if !inner.is_data() {
            return ApiError::InvalidJson(format!("body is not valid JSON: {inner}"));
        }
        ApiError::BadValue(vec![field_message(
            &e.path().to_string(),
            &inner.to_string(),
        )])
    })?;
    de.end()
        .map_err(|e| ApiError::InvalidJson(format!("body is not valid JSON: {e}")))?;
    Ok(value)
}

/// Text may not contain U+0000: PostgreSQL cannot store it, and no merchant means it. JSON
/// can only carry it as the escape `\u0000`, so the body is scanned for that first and the
/// field is located only when it is there.
fn reject_nul(bytes: &[u8]) -> Result<(), ApiError> {
    if !bytes.windows(6).any(|w| w == b"\\u0000") {
        return Ok(());
    }
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::InvalidJson(format!("body is not valid JSON: {e}")))?;
    match nul_path(&value, String::new()) {
        Some(path) => Err(ApiError::field(
            if path.is_empty() { "body" } else { &path },
            "must not contain NUL characters",
        )),
        None => Ok(()),
    }
}

fn nul_path(value: &serde_json::Value, path: String) -> Option<String> {
    use serde_json::Value;
    match value {
        Value::String(s) if s.contains('\0') => Some(path),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| nul_path(v, format!("{path}[{i}]"))),
        Value::Object(map) => map.iter().find_map(|(k, v)| {
            if k.contains('\0') {
                return Some(path.clone());
            }
            let child = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            nul_path(v, child)
        }),
        _ => None,
    }
}

/// serde says "missing field `x`" at the parent's path; the merchant wants `x: is required`.
fn field_message(path: &str, message: &str) -> String {
    let message = message.split(" at line ").next().unwrap_or(message);
    if let Some(field) = message
        .strip_prefix("missing field `")
        .and_then(|m| m.strip_suffix('`'))
    {
        let full = if path == "." {
            field.to_string()
        } else {
            format!("{path}.{field}")
        };
        return format!("{full}: is required");
    }
    let path = if path == "." { "body" } else { path };
    format!("{path}: {message}")
}

/// An authenticated merchant: an API key, or the merchant portal's session cookie.
pub struct MerchantAuth(pub Merchant);

impl FromRequestParts<AppState> for MerchantAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        authenticate_merchant(&parts.method, &parts.headers, state)
            .await
            .map(MerchantAuth)
    }
}

/// The merchant behind the request's credentials. An `Authorization` header always wins,
/// so API clients behave the same whatever cookies they carry; without one, the portal's
/// session cookie counts, and for a change (`method`) it also needs the CSRF token and an
/// `admin` user. Both kinds give the same merchant and so the same tenancy. Rate limits
/// (`limits.rs`) apply around it: per key or portal merchant, and per address on failure.
pub async fn authenticate_merchant(
    method: &Method,
    headers: &HeaderMap,
    state: &AppState,
) -> Result<Merchant, ApiError> {
    limits::before_auth(state)?;
    match credentials(method, headers, state).await {
        Ok((merchant, subject)) => limits::admit(state, subject).map(|()| merchant),
        Err(e) => {
            if matches!(e, ApiError::Unauthorized(_)) {
                limits::failed();
            }
            Err(e)
        }
    }
}

async fn credentials(
    method: &Method,
    headers: &HeaderMap,
    state: &AppState,
) -> Result<(Merchant, Subject), ApiError> {
    if !headers.contains_key(AUTHORIZATION) {
        if let Some(token) = session::cookie_token(headers) {
            let merchant = session::merchant_for_cookie(state, method, headers, token).await?;
            claimed_merchant(headers, &merchant, "the signed-in merchant")?;
            let subject = Subject::Merchant(merchant.id.0);
            return Ok((merchant, subject));
        }
    }
    merchant_for_key(headers, state).await
}

async fn merchant_for_key(
    headers: &HeaderMap,
    state: &AppState,
) -> Result<(Merchant, Subject), ApiError> {
    let (username, key) = api_key(headers)?;
    let (api_key, merchant) = state
        .store
        .find_api_key(&secrets::hash(&key))
        .await?
        .ok_or_else(|| ApiError::Unauthorized("unknown or revoked API key".into()))?;
    if api_key.mode != session::server_mode(state) {
        return Err(ApiError::Forbidden(format!(
            "a {} key cannot be used on a {} server",
            api_key.mode.as_str(),
            if state.is_playground() {
                "playground"
            } else {
                "live"
            }
        )));
    }
    if username.is_some_and(|u| u != merchant.id.to_string()) {
        return Err(ApiError::Forbidden(
            "the Basic username is not the API key's merchant".into(),
        ));
    }
    claimed_merchant(headers, &merchant, "the API key")?;
    Ok((merchant, Subject::Key(api_key.id.0)))
}

/// An `x-merchant-id` header, if sent, must name the authenticated merchant. Sent empty or
/// not a UUID it names nobody, and is refused like a wrong one: a caller who sends the header
/// asked for the check, and a blank from an unset variable must not pass it silently.
fn claimed_merchant(headers: &HeaderMap, merchant: &Merchant, what: &str) -> Result<(), ApiError> {
    let Some(header) = headers.get("x-merchant-id") else {
        return Ok(());
    };
    let claimed = header
        .to_str()
        .ok()
        .and_then(|h| h.trim().parse::<uuid::Uuid>().ok());
    match claimed {
        Some(id) if id == merchant.id.0 => Ok(()),
        Some(_) => Err(ApiError::Forbidden(format!(
            "x-merchant-id does not match {what}"
        ))),
        None => Err(ApiError::Forbidden(
            "x-merchant-id must be a merchant id (a UUID)".into(),
        )),
    }
}

/// Reads the key from `Basic <key>`, `Basic base64(user:key)` or `Bearer <key>`.
fn api_key(headers: &HeaderMap) -> Result<(Option<String>, String), ApiError> {
    let missing = || ApiError::Unauthorized("missing or malformed Authorization header".into());
    let value = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(missing)?;
    let (scheme, credential) = value.trim().split_once(' ').ok_or_else(missing)?;
    let credential = credential.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        return Ok((None, credential.to_string()));
    }
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(missing());
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(credential)
        .ok()
        .and_then(|b| String::from_utf8(b).ok());
    match decoded.as_deref().and_then(|d| d.split_once(':')) {
        Some((user, key)) => Ok((
            (!user.is_empty()).then(|| user.to_string()),
            key.to_string(),
        )),
        None => Ok((None, credential.to_string())),
    }
}

/// An authenticated POS device (bearer token from registration).
pub struct DeviceAuth(pub Device);

impl FromRequestParts<AppState> for DeviceAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(&parts.headers)
            .ok_or_else(|| ApiError::Unauthorized("missing device bearer token".into()))?;
        device_for_token(state, &token).await.map(DeviceAuth)
    }
}

pub fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
}

pub async fn device_for_token(state: &AppState, token: &str) -> Result<Device, ApiError> {
    state
        .store
        .find_device_by_token(&secrets::hash(token))
        .await?
        .ok_or_else(|| ApiError::Unauthorized("unknown or revoked device token".into()))
}

/// Either a merchant or a device; used by the routes both may call.
pub enum Caller {
    Merchant(Merchant),
    Device(Device),
}

impl Caller {
    pub fn scope(&self) -> kassa_store::Scope {
        match self {
            Self::Merchant(m) => kassa_store::Scope::Merchant(m.id),
            Self::Device(d) => kassa_store::Scope::Device(d.id),
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        // Device tokens have their own prefix, so the two kinds never collide.
        match bearer(&parts.headers) {
            Some(token) if token.starts_with("kdt_") => {
                device_for_token(state, &token).await.map(Caller::Device)
            }
            _ => authenticate_merchant(&parts.method, &parts.headers, state)
                .await
                .map(Caller::Merchant),
        }
    }
}

pub use super::params::{page_request, Params};
