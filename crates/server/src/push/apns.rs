//! Apple Push Notification service over HTTP/2 with token-based authentication.
//!
//! Every request carries `authorization: bearer <JWT>`, the JWT signed ES256 with the team's
//! `.p8` key, header `{alg, kid}`, claims `{iss: team id, iat}`. Apple rejects tokens older than
//! an hour and answers `429 TooManyProviderTokenUpdates` to a provider that makes new ones
//! more often than every 20 minutes, so one token is shared by all requests and replaced
//! after [`TOKEN_REFRESH_AFTER`], or at once when Apple says `ExpiredProviderToken`.
//!
//! The notification is an *alert* push (`apns-push-type: alert`, priority 10), not a
//! background one: iOS delays and throttles background pushes (priority 5, "a few per hour")
//! and drops them for an app the user swiped away, while a clerk waiting at a till needs the
//! session now. The alert also tells the clerk to look at the screen. The app finds the
//! session id in the custom `sessionId` key, beside `aps`.

use super::{http_client, retry_after, ApnsConfig, NativePush, PushError, PushOutcome};
use crate::clock::Clock;
use anyhow::Context;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use kassa_core::SessionId;
use kassa_store::Device;
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const SERVICE: &str = "APNs";

/// Replace the provider token after 40 minutes: inside Apple's one-hour validity, outside
/// its 20-minute minimum between refreshes.
pub const TOKEN_REFRESH_AFTER: chrono::Duration = chrono::Duration::minutes(40);

/// Sends alert pushes to iOS devices. Build one per process and share it: it keeps one
/// HTTP/2 connection and one provider token for all requests.
pub struct ApnsClient {
    http: reqwest::Client,
    base_url: String,
    topic: String,
    ttl: Duration,
    token: ProviderToken,
    clock: Arc<dyn Clock>,
}

/// The signed JWT and the key that signs it.
struct ProviderToken {
    key: EncodingKey,
    key_id: String,
    team_id: String,
    cached: Mutex<Option<(String, DateTime<Utc>)>>,
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    iat: i64,
}

#[derive(Deserialize)]
struct ErrorBody {
    reason: String,
}

impl ApnsClient {
    /// Parses the `.p8` key now, so a bad key fails start-up.
    pub fn new(config: &ApnsConfig, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let pem = config.key_pem()?;
        let key = EncodingKey::from_ec_pem(pem.as_bytes())
            .context("push.apns: the key is not a PKCS#8 P-256 private key (.p8)")?;
        // APNs speaks only HTTP/2; prior knowledge also makes a cleartext test server work.
        let http = http_client(reqwest::Client::builder().http2_prior_knowledge())?;
        Ok(Self {
            http,
            base_url: config.base_url().to_owned(),
            topic: config.topic.clone(),
            ttl: config.ttl()?,
            token: ProviderToken {
                key,
                key_id: config.key_id.clone(),
                team_id: config.team_id.clone(),
                cached: Mutex::new(None),
            },
            clock,
        })
    }

    /// One POST; `Ok(None)` means Apple refused our provider token as expired.
    async fn send(
        &self,
        device_token: &str,
        session_id: SessionId,
        jwt: &str,
    ) -> Result<Option<PushOutcome>, PushError> {
        let now = self.clock.now();
        let expiration = now + chrono::Duration::from_std(self.ttl).unwrap_or_default();
        let payload = serde_json::json!({
            "aps": {
                "alert": {
                    "title": "New payment",
                    "body": "A payment session is waiting on this till.",
                },
                "sound": "default",
            },
            "type": "session.created",
            "sessionId": session_id.to_string(),
        });
        let response = self
            .http
            .post(format!("{}/3/device/{device_token}", self.base_url))
            .header("authorization", format!("bearer {jwt}"))
            .header("apns-topic", &self.topic)
            .header("apns-push-type", "alert")
            .header("apns-priority", "10")
            .header("apns-expiration", expiration.timestamp().to_string())
            .json(&payload)
            .send()
            .await
            .map_err(transport)?;
        let status = response.status();
        if status == StatusCode::OK {
            let apns_id = response
                .headers()
                .get("apns-id")
                .and_then(|v| v.to_str().ok());
            tracing::debug!(apns.id = apns_id, "APNs accepted the notification");
            return Ok(Some(PushOutcome::Delivered));
        }
        let retry_after = retry_after(response.headers());
        let body = response.bytes().await.map_err(transport)?;
        let reason = serde_json::from_slice::<ErrorBody>(&body)
            .map(|b| b.reason)
            .unwrap_or_default();
        classify(status, reason, retry_after)
    }
}

/// Apple's documented status and reason pairs.
fn classify(
    status: StatusCode,
    reason: String,
    retry_after: Option<Duration>,
) -> Result<Option<PushOutcome>, PushError> {
    match (status.as_u16(), reason.as_str()) {
        (403, "ExpiredProviderToken") => Ok(None),
        // Not `DeviceTokenNotForTopic`: every token reports it when `topic` is misconfigured,
        // and forgetting them all would be the wrong cure.
        (400, "BadDeviceToken") | (410, _) => Ok(Some(PushOutcome::TokenStale)),
        (403, _) => Err(PushError::Auth {
            service: SERVICE,
            message: format!("403 {reason}"),
        }),
        (429, _) | (500..=599, _) => Err(PushError::Unavailable {
            service: SERVICE,
            status: status.as_u16(),
            reason,
            retry_after,
        }),
        _ => Err(PushError::Rejected {
            service: SERVICE,
            status: status.as_u16(),
            reason,
        }),
    }
}

fn transport(source: reqwest::Error) -> PushError {
    PushError::Transport {
        service: SERVICE,
        source,
    }
}

impl ProviderToken {
    /// The shared token, made anew when it is older than [`TOKEN_REFRESH_AFTER`] or when it
    /// is `rejected` (unless another request already replaced it).
    fn get(&self, now: DateTime<Utc>, rejected: Option<&str>) -> Result<String, PushError> {
        let mut cached = self.cached.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((jwt, issued)) = cached.as_ref() {
            if now - *issued < TOKEN_REFRESH_AFTER && rejected != Some(jwt.as_str()) {
                return Ok(jwt.clone());
            }
        }
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.key_id.clone());
        // Apple documents a header of exactly `alg` and `kid`.
        header.typ = None;
        let claims = Claims {
            iss: &self.team_id,
            iat: now.timestamp(),
        };
        let jwt =
            jsonwebtoken::encode(&header, &claims, &self.key).map_err(|e| PushError::Auth {
                service: SERVICE,
                message: format!("cannot sign the provider token: {e}"),
            })?;
        *cached = Some((jwt.clone(), now));
        Ok(jwt)
    }
}

#[async_trait]
impl NativePush for ApnsClient {
    #[tracing::instrument(skip_all, fields(device.id = %device.id, session.id = %session_id))]
    async fn notify(
        &self,
        device: &Device,
        session_id: SessionId,
    ) -> Result<PushOutcome, PushError> {
        let Some(device_token) = device.push_token.as_deref() else {
            return Ok(PushOutcome::NoChannel);
        };
        // A device token is hex; anything else cannot be one, and must not reach the URL path.
        if device_token.is_empty() || !device_token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(PushOutcome::TokenStale);
        }
        let jwt = self.token.get(self.clock.now(), None)?;
        if let Some(outcome) = self.send(device_token, session_id, &jwt).await? {
            return Ok(outcome);
        }
        tracing::info!("APNs provider token expired; signing a new one");
        let jwt = self.token.get(self.clock.now(), Some(&jwt))?;
        match self.send(device_token, session_id, &jwt).await? {
            Some(outcome) => Ok(outcome),
            None => Err(PushError::Auth {
                service: SERVICE,
                message: "a freshly signed provider token was refused as expired \
                          (is the server clock right?)"
                    .into(),
            }),
        }
    }
}
