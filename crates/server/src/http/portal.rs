//! The merchant portal's sign-in API (`/portal/api`): login, logout and `me`. Everything
//! else the portal shows comes from the public API, which accepts the session cookie as
//! merchant authentication (`session::merchant_for_cookie`); there is no private back door.

pub mod guard;
pub mod password;
pub mod session;

use super::error::ApiError;
use super::extract::JsonBody;
use crate::state::AppState;
use axum::extract::{ConnectInfo, State};
use axum::http::header::{CACHE_CONTROL, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use guard::LoginGuard;
use kassa_api::portal::{Login, PortalMode, PortalRole, PortalUser, SignedIn};
use kassa_api::ErrorBody;
use kassa_store::{normalize_email, PortalAuth, PortalLogin};
use session::PortalCaller;
use std::net::SocketAddr;
use std::sync::Arc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The routes, with their own sign-in guard: each router built (each server, each test's
/// server) counts attempts afresh.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(me))
        .layer(Extension(Arc::new(LoginGuard::default())))
}

/// Sign in with email and password.
///
/// Sets the `kassa_portal` session cookie (`HttpOnly; SameSite=Strict; Path=/`, `Secure` in
/// live mode) and returns the CSRF token to send as `X-CSRF-Token` on every change. A wrong
/// password and an unknown email get the same `401`. Limited per client address and per
/// email (`429` with `Retry-After`).
#[utoipa::path(post, path = "/portal/api/login", tag = "portal", request_body = Login,
    responses((status = 200, body = SignedIn, headers(("set-cookie" = String, description = "The session cookie"))),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody, description = "Wrong email or password"),
        (status = 403, body = ErrorBody, description = "The user's merchant is for the other kind of server"),
        (status = 429, body = ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    Extension(guard): Extension<Arc<LoginGuard>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<Login>,
) -> Result<Response, ApiError> {
    check_input(&body)?;
    let email = normalize_email(&body.email);
    guard.admit(peer.ip(), &email)?;
    let found = state.store.find_portal_user(&email).await?;
    // An unknown email is checked against a dummy hash: both answers take as long.
    let phc = found.as_ref().map(|f| f.password_hash.clone());
    let matched = guard.verify(body.password, phc).await?;
    let found = match found {
        Some(found) if matched => found,
        _ => return Err(wrong_credentials()),
    };
    // Only now, so that the mode tells nothing to someone without the password.
    session::check_mode(&state, &found.merchant)?;
    start_session(&state, &headers, found).await
}

fn wrong_credentials() -> ApiError {
    ApiError::Unauthorized("wrong email or password".into())
}

/// Missing fields are `400` from the body parser; empty or oversized ones here.
fn check_input(body: &Login) -> Result<(), ApiError> {
    if body.email.trim().is_empty() {
        return Err(ApiError::field("email", "must not be empty"));
    }
    if body.email.len() > 254 {
        return Err(ApiError::field("email", "must be at most 254 characters"));
    }
    if body.password.is_empty() {
        return Err(ApiError::field("password", "must not be empty"));
    }
    if body.password.len() > password::MAX_BYTES {
        let most = password::MAX_BYTES;
        return Err(ApiError::field(
            "password",
            format!("must be at most {most} bytes"),
        ));
    }
    Ok(())
}

/// Stores a new session, ends the one the browser had (if any) and sweeps sessions idle
/// past the limit: sign-ins are rare, so the sweep's cost goes unnoticed and the table
/// stays as small as the sessions in use.
async fn start_session(
    state: &AppState,
    headers: &HeaderMap,
    found: PortalLogin,
) -> Result<Response, ApiError> {
    let now = state.now();
    if let Some(old) = session::cookie_token(headers) {
        state
            .store
            .delete_portal_session(&crate::secrets::hash(old))
            .await?;
    }
    let (record, token) = session::new_session(&found.user, now);
    state.store.create_portal_session(&record).await?;
    let swept = state
        .store
        .delete_idle_portal_sessions(now - session::idle_limit(), now)
        .await;
    if let Err(e) = swept {
        tracing::warn!(error = %e, "could not sweep idle portal sessions");
    }
    tracing::info!(portal_user.id = %found.user.id, merchant.id = %found.merchant.id, "portal sign-in");
    let auth = PortalAuth {
        session: record,
        user: found.user,
        merchant: found.merchant,
    };
    let cookie = session::set_cookie(&token, !state.is_playground());
    let mut response = answer(state, &auth);
    response.headers_mut().insert(SET_COOKIE, cookie);
    Ok(response)
}

/// End the session: the cookie is refused from now on and cleared in the browser.
#[utoipa::path(post, path = "/portal/api/logout", tag = "portal",
    params(("X-CSRF-Token" = String, Header, description = "From the login or `me` answer")),
    responses((status = 204, description = "Signed out; the cookie is cleared"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody, description = "Missing or wrong CSRF token")),
    security(("portal" = [])))]
pub async fn logout(
    State(state): State<AppState>,
    PortalCaller(auth): PortalCaller,
) -> Result<Response, ApiError> {
    state
        .store
        .delete_portal_session(&auth.session.token_hash)
        .await?;
    tracing::info!(portal_user.id = %auth.user.id, "portal sign-out");
    let clear = session::clear_cookie(!state.is_playground());
    Ok((StatusCode::NO_CONTENT, [(SET_COOKIE, clear)]).into_response())
}

/// Who is signed in, with the CSRF token (a reloaded page reads it here).
#[utoipa::path(get, path = "/portal/api/me", tag = "portal",
    responses((status = 200, body = SignedIn), (status = 401, body = ErrorBody)),
    security(("portal" = [])))]
pub async fn me(State(state): State<AppState>, PortalCaller(auth): PortalCaller) -> Response {
    answer(&state, &auth)
}

/// The login and `me` body. Never cached: it carries the CSRF token.
fn answer(state: &AppState, auth: &PortalAuth) -> Response {
    let role = match auth.user.role {
        kassa_store::PortalRole::Admin => PortalRole::Admin,
        kassa_store::PortalRole::Viewer => PortalRole::Viewer,
    };
    let body = SignedIn {
        user: PortalUser {
            id: auth.user.id.0,
            email: auth.user.email.clone(),
            role,
            merchant_id: auth.merchant.id.0,
            merchant_name: auth.merchant.name.clone(),
        },
        csrf_token: auth.session.csrf_token.clone(),
        mode: if state.is_playground() {
            PortalMode::Playground
        } else {
            PortalMode::Live
        },
    };
    let no_store = [(CACHE_CONTROL, HeaderValue::from_static("no-store"))];
    (no_store, Json(body)).into_response()
}
