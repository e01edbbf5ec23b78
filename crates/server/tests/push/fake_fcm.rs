//! A fake Google: the OAuth2 token endpoint for service accounts ("Using OAuth 2.0 for
//! Server to Server Applications") and FCM HTTP v1 `messages:send`, with Google's error
//! bodies. It records the assertions and messages it accepted.

use crate::{parse_jws, serve, CLIENT_EMAIL, KEYS, PRIVATE_KEY_ID, PROJECT_ID};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Form, Json, Router};
use kassa_server::clock::{Clock, ManualClock};
use rsa::signature::Verifier;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub const SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";
pub const UNREGISTERED_TOKEN: &str = "android-token-unregistered";
pub const MALFORMED_TOKEN: &str = "android-token-malformed";

#[derive(Default)]
pub struct Google {
    /// Access tokens issued and still honoured.
    pub live_tokens: Vec<String>,
    /// Verified assertion claims, one per token request.
    pub assertions: Vec<serde_json::Value>,
    /// Accepted `message` objects.
    pub messages: Vec<serde_json::Value>,
    /// Refuse the next send with 401 and forget all issued access tokens.
    pub revoke_next: bool,
    /// Answer the next send with this status, `status` and FCM error code.
    pub fail_next: Option<(StatusCode, &'static str, &'static str)>,
}

#[derive(Clone)]
pub struct FakeFcm {
    pub url: String,
    pub google: Arc<Mutex<Google>>,
}

#[derive(Clone)]
struct Ctx {
    google: Arc<Mutex<Google>>,
    clock: Arc<ManualClock>,
    token_uri: Arc<Mutex<String>>,
}

impl FakeFcm {
    pub async fn start(clock: Arc<ManualClock>) -> Self {
        let google = Arc::new(Mutex::new(Google::default()));
        let token_uri = Arc::new(Mutex::new(String::new()));
        let router = Router::new()
            .route("/token", post(token))
            .route("/v1/projects/{project}/messages:send", post(send))
            .with_state(Ctx {
                google: google.clone(),
                clock,
                token_uri: token_uri.clone(),
            });
        let url = serve(router).await;
        *token_uri.lock().unwrap() = format!("{url}/token");
        Self { url, google }
    }

    pub fn token_uri(&self) -> String {
        format!("{}/token", self.url)
    }

    /// The service account key JSON as the Firebase console issues it.
    pub fn service_account_json(&self, client_email: &str) -> String {
        serde_json::json!({
            "type": "service_account",
            "project_id": PROJECT_ID,
            "private_key_id": PRIVATE_KEY_ID,
            "private_key": KEYS.fcm_pem,
            "client_email": client_email,
            "client_id": "103654484443000000000",
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": self.token_uri(),
            "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
            "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/x",
            "universe_domain": "googleapis.com",
        })
        .to_string()
    }

    pub fn token_requests(&self) -> usize {
        self.google.lock().unwrap().assertions.len()
    }

    pub fn messages(&self) -> Vec<serde_json::Value> {
        self.google.lock().unwrap().messages.clone()
    }
}

fn oauth_error(description: &str) -> Response {
    let body = serde_json::json!({ "error": "invalid_grant", "error_description": description });
    (StatusCode::BAD_REQUEST, Json(body)).into_response()
}

async fn token(State(ctx): State<Ctx>, Form(form): Form<HashMap<String, String>>) -> Response {
    if form.get("grant_type").map(String::as_str)
        != Some("urn:ietf:params:oauth:grant-type:jwt-bearer")
    {
        let body = serde_json::json!({ "error": "unsupported_grant_type" });
        return (StatusCode::BAD_REQUEST, Json(body)).into_response();
    }
    let Some(assertion) = form.get("assertion") else {
        return oauth_error("missing assertion");
    };
    let claims = match check_assertion(&ctx, assertion) {
        Ok(claims) => claims,
        Err(description) => return oauth_error(description),
    };
    let mut google = ctx.google.lock().unwrap();
    google.assertions.push(claims);
    let access_token = format!("ya29.fake-{}", google.assertions.len());
    google.live_tokens.push(access_token.clone());
    Json(serde_json::json!({
        "access_token": access_token,
        "expires_in": 3599,
        "token_type": "Bearer",
    }))
    .into_response()
}

/// RS256 over the signing input with the service account's key; `iss` the account's email,
/// `scope` FCM's, `aud` the token URI, `exp` one hour after `iat`.
fn check_assertion(ctx: &Ctx, assertion: &str) -> Result<serde_json::Value, &'static str> {
    let jws = parse_jws(assertion).map_err(|_| "malformed JWT")?;
    if jws.header["alg"] != "RS256" || jws.header["typ"] != "JWT" {
        return Err("unsupported JWT header");
    }
    if jws.header["kid"] != PRIVATE_KEY_ID {
        return Err("Invalid JWT Signature.");
    }
    let key = rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(KEYS.fcm_public.clone());
    let signature = rsa::pkcs1v15::Signature::try_from(jws.signature.as_slice())
        .map_err(|_| "Invalid JWT Signature.")?;
    key.verify(jws.signing_input.as_bytes(), &signature)
        .map_err(|_| "Invalid JWT Signature.")?;
    let c = &jws.claims;
    if c["iss"] != CLIENT_EMAIL {
        return Err("Invalid grant: account not found");
    }
    if c["scope"] != SCOPE {
        return Err("Invalid OAuth scope or ID token audience provided.");
    }
    if c["aud"] != *ctx.token_uri.lock().unwrap() {
        return Err("Invalid JWT: Failed audience check.");
    }
    let (Some(iat), Some(exp)) = (c["iat"].as_i64(), c["exp"].as_i64()) else {
        return Err("Invalid JWT: missing iat or exp");
    };
    let now = ctx.clock.now().timestamp();
    if exp - iat > 3600 || exp <= now || iat > now + 60 {
        return Err("Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.");
    }
    Ok(jws.claims)
}

fn google_error(
    status: StatusCode,
    text: &str,
    fcm_code: &str,
    extra: Option<serde_json::Value>,
) -> Response {
    let mut details = vec![serde_json::json!({
        "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
        "errorCode": fcm_code,
    })];
    details.extend(extra);
    let body = serde_json::json!({
        "error": {
            "code": status.as_u16(),
            "message": text,
            "status": text,
            "details": details,
        }
    });
    (status, Json(body)).into_response()
}

async fn send(
    State(ctx): State<Ctx>,
    Path(project): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let mut google = ctx.google.lock().unwrap();
    let unauthenticated = || {
        let body = serde_json::json!({ "error": {
            "code": 401,
            "message": "Request had invalid authentication credentials.",
            "status": "UNAUTHENTICATED",
        }});
        (StatusCode::UNAUTHORIZED, Json(body)).into_response()
    };
    if !bearer.is_some_and(|b| google.live_tokens.iter().any(|t| t == b)) {
        return unauthenticated();
    }
    if std::mem::take(&mut google.revoke_next) {
        google.live_tokens.clear();
        return unauthenticated();
    }
    if project != PROJECT_ID {
        return google_error(
            StatusCode::FORBIDDEN,
            "PERMISSION_DENIED",
            "SENDER_ID_MISMATCH",
            None,
        );
    }
    // What Google says for a malformed request that is not about the token.
    let invalid = |why: &str| {
        let body = serde_json::json!({ "error": {
            "code": 400,
            "message": format!("Invalid JSON payload received: {why}"),
            "status": "INVALID_ARGUMENT",
        }});
        (StatusCode::BAD_REQUEST, Json(body)).into_response()
    };
    if headers.get("content-type").and_then(|v| v.to_str().ok()) != Some("application/json") {
        return invalid("content type");
    }
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return invalid("JSON");
    };
    let message = &body["message"];
    let obj = |v: &serde_json::Value| v.as_object().cloned().unwrap_or_default();
    let data = obj(&message["data"]);
    // HTTP v1: exactly one target; `data` values must all be strings.
    let well_formed = body.as_object().is_some_and(|b| b.len() == 1)
        && message["token"].is_string()
        && message.get("topic").is_none()
        && message.get("condition").is_none()
        && !data.is_empty()
        && data.values().all(|v| v.is_string())
        && message["android"]["priority"] == "high";
    if !well_formed {
        return invalid("message shape");
    }
    if let Some((status, text, code)) = google.fail_next.take() {
        return google_error(status, text, code, None);
    }
    match message["token"].as_str() {
        Some(UNREGISTERED_TOKEN) => {
            google_error(StatusCode::NOT_FOUND, "NOT_FOUND", "UNREGISTERED", None)
        }
        Some(MALFORMED_TOKEN) => google_error(
            StatusCode::BAD_REQUEST,
            "INVALID_ARGUMENT",
            "INVALID_ARGUMENT",
            Some(serde_json::json!({
                "@type": "type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations": [{
                    "field": "message.token",
                    "description": "The registration token is not a valid FCM registration token",
                }],
            })),
        ),
        _ => {
            google.messages.push(message.clone());
            let id = google.messages.len();
            Json(serde_json::json!({ "name": format!("projects/{PROJECT_ID}/messages/0:{id}") }))
                .into_response()
        }
    }
}
