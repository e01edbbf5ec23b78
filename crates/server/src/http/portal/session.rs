//! The portal's sign-in session as a credential: the `kassa_portal` cookie, its server-side
//! record, idle expiry and the CSRF token. `extract.rs` asks `merchant_for_cookie` when a
//! request has no `Authorization` header, so the public API accepts the portal's cookie with
//! the tenancy of an API key.
//!
//! Why the cookie is safe to accept on the public API: it is `SameSite=Strict` (a cross-site
//! page cannot make the browser send it), every change also needs `X-CSRF-Token`, which
//! only the portal's own pages can read (from the login and `me` answers), and JSON bodies
//! need `Content-Type: application/json`, which a cross-origin form cannot send.

use crate::http::error::ApiError;
use crate::secrets;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::header::COOKIE;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method};
use kassa_store::{Merchant, Mode, PortalAuth, PortalRole, PortalSession, PortalUser};

pub const COOKIE_NAME: &str = "kassa_portal";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// A session unused this long is refused and deleted (§10).
pub fn idle_limit() -> chrono::Duration {
    chrono::Duration::hours(12)
}

/// A session ends a week after sign-in however busy it is, so a page left open on a shop's
/// back-office screen (whose live updates keep the session fresh) signs in again weekly.
pub fn lifetime() -> chrono::Duration {
    chrono::Duration::days(7)
}

/// `last_seen_at` is written at most this often: idle expiry is measured in hours, and on
/// SQLite every write queues behind the one writer.
fn touch_every() -> chrono::Duration {
    chrono::Duration::seconds(60)
}

/// The session token from the request's cookies, if it has the shape we issue (43 base64url
/// characters); anything else is treated as no cookie at all.
pub fn cookie_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value.trim())
        .filter(|t| t.len() == 43 && t.bytes().all(is_base64url))
}

fn is_base64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// `Set-Cookie` for a new session. No `Max-Age`: the browser forgets it when it closes and
/// the server forgets it after `idle_limit`. `Secure` only in live mode, because the
/// playground is served over plain HTTP on localhost.
pub fn set_cookie(token: &str, secure: bool) -> HeaderValue {
    cookie_header(&format!("{COOKIE_NAME}={token}"), secure)
}

/// `Set-Cookie` that makes the browser drop the cookie (sign-out).
pub fn clear_cookie(secure: bool) -> HeaderValue {
    cookie_header(&format!("{COOKIE_NAME}=; Max-Age=0"), secure)
}

fn cookie_header(start: &str, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let value = format!("{start}; HttpOnly; SameSite=Strict; Path=/{secure}");
    // Only base64url characters and our own literals: always a valid header value.
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// A new session for `user`: the record to store, and the token for the cookie (never
/// stored, never logged).
pub fn new_session(user: &PortalUser, now: kassa_core::Timestamp) -> (PortalSession, String) {
    let token = secrets::new_portal_token();
    let session = PortalSession {
        token_hash: secrets::hash(&token),
        user_id: user.id,
        csrf_token: secrets::new_portal_token(),
        created_at: now,
        last_seen_at: now,
        expires_at: Some(now + lifetime()),
    };
    (session, token)
}

fn signed_out() -> ApiError {
    ApiError::Unauthorized("not signed in, or the portal session has expired".into())
}

/// The live session behind `token`. An idle one is deleted and refused; a used one is
/// touched (at most once a minute).
pub async fn open(state: &AppState, token: &str) -> Result<PortalAuth, ApiError> {
    let hash = secrets::hash(token);
    let now = state.now();
    let auth = state
        .store
        .find_portal_session(&hash, now)
        .await?
        .ok_or_else(signed_out)?;
    let idle = now - auth.session.last_seen_at;
    if idle >= idle_limit() {
        state.store.delete_portal_session(&hash).await?;
        return Err(signed_out());
    }
    if idle >= touch_every() {
        state.store.touch_portal_session(&hash, now).await?;
    }
    Ok(auth)
}

/// The mode a merchant must have to be served here: test merchants on a playground server,
/// live ones on a live server.
pub fn server_mode(state: &AppState) -> Mode {
    if state.is_playground() {
        Mode::Test
    } else {
        Mode::Live
    }
}

/// Refuses a user whose merchant belongs to the other kind of server.
pub fn check_mode(state: &AppState, merchant: &Merchant) -> Result<(), ApiError> {
    if merchant.mode == server_mode(state) {
        return Ok(());
    }
    Err(ApiError::Forbidden(format!(
        "this user's merchant is a {} merchant; sign in on a {} server",
        merchant.mode.as_str(),
        if merchant.mode == Mode::Live {
            "live"
        } else {
            "playground"
        }
    )))
}

/// Whether a method may change something, and so needs the CSRF token. Anything but the
/// safe methods counts, so that an unusual method is refused rather than let through.
pub fn is_change(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The request's `X-CSRF-Token` must equal the session's, compared in constant time.
pub fn check_csrf(headers: &HeaderMap, session: &PortalSession) -> Result<(), ApiError> {
    let sent = headers.get(CSRF_HEADER).map(HeaderValue::as_bytes);
    match sent {
        Some(sent) if constant_time_eq(sent, session.csrf_token.as_bytes()) => Ok(()),
        _ => Err(ApiError::Forbidden("missing or wrong CSRF token".into())),
    }
}

/// Equal-length inputs take the same time whatever their content; the length is public
/// (every token has 43 characters).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The merchant a cookie signs in, for the public API: a change needs the CSRF token and
/// an `admin`.
pub async fn merchant_for_cookie(
    state: &AppState,
    method: &Method,
    headers: &HeaderMap,
    token: &str,
) -> Result<Merchant, ApiError> {
    let auth = open(state, token).await?;
    check_mode(state, &auth.merchant)?;
    if is_change(method) {
        check_csrf(headers, &auth.session)?;
        if auth.user.role == PortalRole::Viewer {
            return Err(ApiError::Forbidden("viewers cannot change anything".into()));
        }
    }
    Ok(auth.merchant)
}

/// A signed-in portal user, for the portal's own routes (`me`, `logout`): the cookie, and
/// for a change the CSRF token. Viewers may sign themselves out.
pub struct PortalCaller(pub PortalAuth);

impl FromRequestParts<AppState> for PortalCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = cookie_token(&parts.headers).ok_or_else(signed_out)?;
        let auth = open(state, token).await?;
        check_mode(state, &auth.merchant)?;
        if is_change(&parts.method) {
            check_csrf(&parts.headers, &auth.session)?;
        }
        Ok(Self(auth))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(cookies: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for c in cookies {
            h.append(COOKIE, HeaderValue::from_str(c).unwrap());
        }
        h
    }

    #[test]
    fn the_token_is_found_among_other_cookies_and_headers() {
        let token = secrets::new_portal_token();
        let both = format!("theme=dark; {COOKIE_NAME}={token}; lang=sv");
        assert_eq!(cookie_token(&headers(&[&both])), Some(token.as_str()));
        let apart = format!("{COOKIE_NAME}={token}");
        assert_eq!(
            cookie_token(&headers(&["a=b", &apart])),
            Some(token.as_str())
        );
        assert_eq!(cookie_token(&headers(&["kassa_portal_x=1"])), None);
        assert_eq!(cookie_token(&headers(&["kassa_portal=short"])), None);
        let odd = format!("{COOKIE_NAME}={}", "%".repeat(43));
        assert_eq!(cookie_token(&headers(&[&odd])), None);
    }

    #[test]
    fn cookies_are_http_only_strict_and_secure_when_asked() {
        let set = set_cookie("tok", false);
        assert_eq!(set, "kassa_portal=tok; HttpOnly; SameSite=Strict; Path=/");
        let live = set_cookie("tok", true);
        assert!(live.to_str().unwrap().ends_with("; Secure"));
        let clear = clear_cookie(false);
        assert!(clear
            .to_str()
            .unwrap()
            .starts_with("kassa_portal=; Max-Age=0; HttpOnly"));
    }

    #[test]
    fn only_safe_methods_skip_the_csrf_check() {
        for m in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            assert!(is_change(&m), "{m}");
        }
        assert!(!is_change(&Method::GET) && !is_change(&Method::HEAD));
    }

    #[test]
    fn equal_tokens_only() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}
