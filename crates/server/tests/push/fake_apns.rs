//! A fake APNs provider API: checks each request against Apple's "Sending notification
//! requests to APNs" and "Establishing a token-based connection to APNs", answers with
//! Apple's status codes and `{"reason": …}` bodies, and records what it accepted.

use crate::{parse_jws, serve, KEYS, KEY_ID, TEAM_ID, TOPIC};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Version};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use kassa_server::clock::{Clock, ManualClock};
use p256::ecdsa::signature::Verifier;
use std::sync::{Arc, Mutex};

/// Tokens the fake treats specially.
pub const UNREGISTERED_TOKEN: &str = "dead0000";
pub const BAD_TOKEN: &str = "bad00000";

/// One accepted notification.
#[derive(Debug, Clone)]
pub struct Accepted {
    pub device_token: String,
    pub jwt: String,
    pub jwt_claims: serde_json::Value,
    pub headers: HeaderMap,
    pub payload: serde_json::Value,
}

#[derive(Default)]
pub struct Script {
    /// Answer this many otherwise valid requests with `403 ExpiredProviderToken`.
    pub expire_next: u32,
    /// Answer the next request with this status and reason.
    pub fail_next: Option<(StatusCode, &'static str)>,
}

#[derive(Clone)]
pub struct FakeApns {
    pub url: String,
    pub accepted: Arc<Mutex<Vec<Accepted>>>,
    /// Every request that reached the fake, valid or not.
    pub requests: Arc<Mutex<u32>>,
    pub script: Arc<Mutex<Script>>,
    /// JWTs answered with `ExpiredProviderToken`; Apple would not accept them again.
    pub expired: Arc<Mutex<Vec<String>>>,
}

#[derive(Clone)]
struct Ctx {
    fake: FakeApns,
    clock: Arc<ManualClock>,
}

impl FakeApns {
    pub async fn start(clock: Arc<ManualClock>) -> Self {
        let mut fake = FakeApns {
            url: String::new(),
            accepted: Arc::default(),
            requests: Arc::default(),
            script: Arc::default(),
            expired: Arc::default(),
        };
        let router = Router::new()
            .route("/3/device/{token}", post(notify))
            .with_state(Ctx {
                fake: fake.clone(),
                clock,
            });
        fake.url = serve(router).await;
        fake
    }

    pub fn accepted(&self) -> Vec<Accepted> {
        self.accepted.lock().unwrap().clone()
    }

    pub fn requests(&self) -> u32 {
        *self.requests.lock().unwrap()
    }
}

fn apple(status: StatusCode, reason: &str) -> Response {
    (status, Json(serde_json::json!({ "reason": reason }))).into_response()
}

async fn notify(
    State(ctx): State<Ctx>,
    Path(token): Path<String>,
    version: Version,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    *ctx.fake.requests.lock().unwrap() += 1;
    match check(&ctx, &token, version, &headers, &body) {
        Ok(accepted) => {
            let scripted = {
                let mut script = ctx.fake.script.lock().unwrap();
                if script.expire_next > 0 {
                    script.expire_next -= 1;
                    Some((StatusCode::FORBIDDEN, "ExpiredProviderToken"))
                } else {
                    script.fail_next.take()
                }
            };
            if let Some((status, reason)) = scripted {
                if reason == "ExpiredProviderToken" {
                    ctx.fake.expired.lock().unwrap().push(accepted.jwt);
                }
                return apple(status, reason);
            }
            match token.as_str() {
                UNREGISTERED_TOKEN => (
                    StatusCode::GONE,
                    Json(serde_json::json!({
                        "reason": "Unregistered",
                        "timestamp": ctx.clock.now().timestamp_millis(),
                    })),
                )
                    .into_response(),
                BAD_TOKEN => apple(StatusCode::BAD_REQUEST, "BadDeviceToken"),
                _ => {
                    ctx.fake.accepted.lock().unwrap().push(accepted);
                    (
                        StatusCode::OK,
                        [("apns-id", "EC1BF194-B3B2-424A-89A9-5A918A6E6B5D")],
                    )
                        .into_response()
                }
            }
        }
        Err((status, reason)) => apple(status, reason),
    }
}

type Refusal = (StatusCode, &'static str);

fn check(
    ctx: &Ctx,
    token: &str,
    version: Version,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Accepted, Refusal> {
    let bad = |reason| (StatusCode::BAD_REQUEST, reason);
    let forbidden = |reason| (StatusCode::FORBIDDEN, reason);
    if version != Version::HTTP_2 {
        return Err(bad("BadPath")); // Apple's endpoint only speaks HTTP/2.
    }
    if token.is_empty() || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad("BadDeviceToken"));
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());

    let auth = header("authorization").ok_or(forbidden("MissingProviderToken"))?;
    let jwt = auth
        .strip_prefix("bearer ")
        .ok_or(forbidden("InvalidProviderToken"))?;
    let claims = check_provider_token(ctx, jwt)?;

    match header("apns-topic") {
        None => return Err(bad("MissingTopic")),
        Some(TOPIC) => {}
        Some(_) => return Err(bad("DeviceTokenNotForTopic")),
    }
    if header("apns-push-type") != Some("alert") {
        return Err(bad("InvalidPushType"));
    }
    // An alert may be sent at priority 10 (immediately) or 5.
    if !matches!(header("apns-priority"), Some("10" | "5")) {
        return Err(bad("BadPriority"));
    }
    let expiration: i64 = header("apns-expiration")
        .and_then(|v| v.parse().ok())
        .ok_or(bad("BadExpirationDate"))?;
    if expiration != 0 && expiration < ctx.clock.now().timestamp() {
        return Err(bad("BadExpirationDate"));
    }
    if body.is_empty() {
        return Err(bad("PayloadEmpty"));
    }
    if body.len() > 4096 {
        return Err((StatusCode::PAYLOAD_TOO_LARGE, "PayloadTooLarge"));
    }
    let payload: serde_json::Value = serde_json::from_slice(body).map_err(|_| bad("BadPayload"))?;
    // An alert push carries `aps.alert` (a string or a dictionary with a title or body).
    let alert = &payload["aps"]["alert"];
    if !(alert.is_string() || alert["title"].is_string() || alert["body"].is_string()) {
        return Err(bad("BadPayload"));
    }
    Ok(Accepted {
        device_token: token.to_owned(),
        jwt: jwt.to_owned(),
        jwt_claims: claims,
        headers: headers.clone(),
        payload,
    })
}

/// Apple: header exactly `{alg: ES256, kid}`, claims `{iss: team id, iat}` no older than an
/// hour, an ES256 signature (raw r‖s, 64 bytes) by the key named by `kid`.
fn check_provider_token(ctx: &Ctx, jwt: &str) -> Result<serde_json::Value, Refusal> {
    let invalid = (StatusCode::FORBIDDEN, "InvalidProviderToken");
    let jws = parse_jws(jwt).map_err(|_| invalid)?;
    if jws.header != serde_json::json!({ "alg": "ES256", "kid": KEY_ID }) {
        return Err(invalid);
    }
    let signature = p256::ecdsa::Signature::from_slice(&jws.signature).map_err(|_| invalid)?;
    KEYS.apns_public
        .verify(jws.signing_input.as_bytes(), &signature)
        .map_err(|_| invalid)?;
    let claims = jws.claims;
    let mut keys: Vec<&String> = claims.as_object().ok_or(invalid)?.keys().collect();
    keys.sort();
    if keys != ["iat", "iss"] || claims["iss"] != TEAM_ID {
        return Err(invalid);
    }
    let iat = claims["iat"].as_i64().ok_or(invalid)?;
    let now = ctx.clock.now().timestamp();
    if iat > now + 60 {
        return Err(invalid);
    }
    if now - iat > 3600 || ctx.fake.expired.lock().unwrap().iter().any(|e| e == jwt) {
        return Err((StatusCode::FORBIDDEN, "ExpiredProviderToken"));
    }
    Ok(claims)
}
