//! Firebase Cloud Messaging HTTP v1, authenticated as a Google service account.
//!
//! OAuth2 JWT bearer grant: a JWT signed RS256 with the service account's key, claims
//! `{iss: client_email, scope: firebase.messaging, aud: token_uri, iat, exp: iat + 1 h}`, is
//! POSTed to `token_uri` for an access token, which is cached until a minute before it
//! expires. Messages are *data* messages with `android.priority: high`: the app wakes, reads
//! `sessionId` and shows its own screen; a high-priority data message may start an activity
//! or a foreground notification, a notification message would only sit in the tray.

use super::{http_client, retry_after, FcmConfig, NativePush, PushError, PushOutcome};
use crate::clock::Clock;
use anyhow::{bail, Context};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use kassa_core::SessionId;
use kassa_store::Device;
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const SERVICE: &str = "FCM";
pub const SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";
pub const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// Renew an access token this long before Google says it expires.
const EARLY_RENEWAL: chrono::Duration = chrono::Duration::seconds(60);

/// The fields Kassa uses from a service account key file.
#[derive(Clone, Deserialize)]
pub struct ServiceAccount {
    #[serde(rename = "type")]
    pub kind: String,
    pub project_id: String,
    #[serde(default)]
    pub private_key_id: Option<String>,
    pub private_key: String,
    pub client_email: String,
    #[serde(default = "default_token_uri")]
    pub token_uri: String,
}

fn default_token_uri() -> String {
    "https://oauth2.googleapis.com/token".into()
}

impl fmt::Debug for ServiceAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceAccount")
            .field("project_id", &self.project_id)
            .field("client_email", &self.client_email)
            .field("token_uri", &self.token_uri)
            .finish_non_exhaustive()
    }
}

/// Sends data messages to Android devices. Build one per process and share it.
pub struct FcmClient {
    http: reqwest::Client,
    send_url: String,
    token_url: String,
    ttl: Duration,
    account: ServiceAccount,
    key: EncodingKey,
    clock: Arc<dyn Clock>,
    cached: Mutex<Option<AccessToken>>,
}

#[derive(Clone)]
struct AccessToken {
    token: String,
    renew_at: DateTime<Utc>,
}

#[derive(Serialize)]
struct Assertion<'a> {
    iss: &'a str,
    scope: &'a str,
    aud: &'a str,
    iat: i64,
    exp: i64,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: i64,
}

/// Google's error body: `{"error": {"code", "message", "status", "details": [...]}}`.
#[derive(Deserialize, Default)]
struct GoogleError {
    #[serde(default)]
    error: GoogleErrorBody,
}

#[derive(Deserialize, Default)]
struct GoogleErrorBody {
    #[serde(default)]
    message: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    details: Vec<serde_json::Value>,
}

impl FcmClient {
    /// Parses the service account and its key now, so a bad file fails start-up.
    pub fn new(config: &FcmConfig, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let account: ServiceAccount = serde_json::from_str(&config.service_account_json()?)
            .context("push.fcm: the service account is not a Google service account key JSON")?;
        if account.kind != "service_account" {
            bail!(
                "push.fcm: the JSON has type {:?}, not \"service_account\"",
                account.kind
            );
        }
        let key = EncodingKey::from_rsa_pem(account.private_key.as_bytes())
            .context("push.fcm: the service account's private_key is not an RSA PEM key")?;
        Ok(Self {
            http: http_client(reqwest::Client::builder())?,
            send_url: format!(
                "{}/v1/projects/{}/messages:send",
                config.base_url(),
                account.project_id
            ),
            token_url: config
                .token_url
                .clone()
                .unwrap_or_else(|| account.token_uri.clone()),
            ttl: config.ttl()?,
            account,
            key,
            clock,
            cached: Mutex::new(None),
        })
    }

    /// The cached access token, or a new one when it is about to expire or was `rejected`.
    /// The lock is never held across the token request; two callers that both find no
    /// token both fetch one, which Google allows.
    async fn access_token(&self, rejected: Option<&str>) -> Result<String, PushError> {
        let now = self.clock.now();
        {
            let cached = self.cached.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(t) = cached.as_ref() {
                if now < t.renew_at && rejected != Some(t.token.as_str()) {
                    return Ok(t.token.clone());
                }
            }
        }
        let fresh = self.fetch_access_token(now).await?;
        *self.cached.lock().unwrap_or_else(|e| e.into_inner()) = Some(fresh.clone());
        Ok(fresh.token)
    }

    async fn fetch_access_token(&self, now: DateTime<Utc>) -> Result<AccessToken, PushError> {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = self.account.private_key_id.clone();
        let claims = Assertion {
            iss: &self.account.client_email,
            scope: SCOPE,
            aud: &self.account.token_uri,
            iat: now.timestamp(),
            exp: now.timestamp() + 3600,
        };
        let assertion =
            jsonwebtoken::encode(&header, &claims, &self.key).map_err(|e| PushError::Auth {
                service: SERVICE,
                message: format!("cannot sign the token request: {e}"),
            })?;
        let response = self
            .http
            .post(&self.token_url)
            .form(&[("grant_type", JWT_BEARER_GRANT), ("assertion", &assertion)])
            .send()
            .await
            .map_err(transport)?;
        let status = response.status();
        if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
            return Err(PushError::Unavailable {
                service: SERVICE,
                status: status.as_u16(),
                reason: "token endpoint".into(),
                retry_after: retry_after(response.headers()),
            });
        }
        if !status.is_success() {
            // `{"error": "invalid_grant", "error_description": …}`: nothing secret in it.
            let body = response.text().await.unwrap_or_default();
            return Err(PushError::Auth {
                service: SERVICE,
                message: format!("the token endpoint answered {status}: {body}"),
            });
        }
        let token: TokenResponse = response.json().await.map_err(transport)?;
        let lifetime = chrono::Duration::seconds(token.expires_in.max(0));
        Ok(AccessToken {
            token: token.access_token,
            renew_at: now + lifetime - EARLY_RENEWAL,
        })
    }

    /// One send; `Ok(None)` means the access token was refused (`401`).
    async fn send(
        &self,
        device_token: &str,
        session_id: SessionId,
        access_token: &str,
    ) -> Result<Option<PushOutcome>, PushError> {
        let body = serde_json::json!({
            "message": {
                "token": device_token,
                "data": {
                    "type": "session.created",
                    "sessionId": session_id.to_string(),
                },
                "android": {
                    "priority": "high",
                    "ttl": format!("{}s", self.ttl.as_secs()),
                },
            }
        });
        let response = self
            .http
            .post(&self.send_url)
            .bearer_auth(access_token)
            .json(&body)
            .send()
            .await
            .map_err(transport)?;
        let status = response.status();
        if status.is_success() {
            return Ok(Some(PushOutcome::Delivered));
        }
        let retry_after = retry_after(response.headers());
        let body = response.bytes().await.map_err(transport)?;
        let error = serde_json::from_slice::<GoogleError>(&body)
            .unwrap_or_default()
            .error;
        classify(status, &error, retry_after)
    }
}

/// FCM's documented error codes (`details[].errorCode` of the `FcmError` detail).
fn classify(
    status: StatusCode,
    error: &GoogleErrorBody,
    retry_after: Option<Duration>,
) -> Result<Option<PushOutcome>, PushError> {
    let code = error_code(error);
    let reason = code.unwrap_or(error.status.as_str()).to_owned();
    match status.as_u16() {
        401 => Ok(None),
        // Not `SENDER_ID_MISMATCH`: every token reports it when the service account belongs
        // to the wrong project, and forgetting them all would be the wrong cure.
        _ if code == Some("UNREGISTERED") => Ok(Some(PushOutcome::TokenStale)),
        400 if is_token_argument(error) => Ok(Some(PushOutcome::TokenStale)),
        429 | 500..=599 => Err(PushError::Unavailable {
            service: SERVICE,
            status: status.as_u16(),
            reason,
            retry_after,
        }),
        403 => Err(PushError::Auth {
            service: SERVICE,
            message: format!("403 {reason}: {}", error.message),
        }),
        _ => Err(PushError::Rejected {
            service: SERVICE,
            status: status.as_u16(),
            reason,
        }),
    }
}

fn error_code(error: &GoogleErrorBody) -> Option<&str> {
    error
        .details
        .iter()
        .find(|d| {
            d["@type"]
                .as_str()
                .is_some_and(|t| t.ends_with(".FcmError"))
        })
        .and_then(|d| d["errorCode"].as_str())
}

/// `INVALID_ARGUMENT` covers any bad field; only a bad `message.token` makes the token stale.
fn is_token_argument(error: &GoogleErrorBody) -> bool {
    let field_is_token = error.details.iter().any(|d| {
        d["fieldViolations"]
            .as_array()
            .is_some_and(|v| v.iter().any(|f| f["field"] == "message.token"))
    });
    field_is_token || error.message.contains("registration token")
}

fn transport(source: reqwest::Error) -> PushError {
    PushError::Transport {
        service: SERVICE,
        source,
    }
}

#[async_trait]
impl NativePush for FcmClient {
    #[tracing::instrument(skip_all, fields(device.id = %device.id, session.id = %session_id))]
    async fn notify(
        &self,
        device: &Device,
        session_id: SessionId,
    ) -> Result<PushOutcome, PushError> {
        let Some(device_token) = device.push_token.as_deref() else {
            return Ok(PushOutcome::NoChannel);
        };
        let access_token = self.access_token(None).await?;
        if let Some(outcome) = self.send(device_token, session_id, &access_token).await? {
            return Ok(outcome);
        }
        tracing::info!("FCM refused the access token; fetching a new one");
        let access_token = self.access_token(Some(&access_token)).await?;
        match self.send(device_token, session_id, &access_token).await? {
            Some(outcome) => Ok(outcome),
            None => Err(PushError::Auth {
                service: SERVICE,
                message: "a fresh access token was refused (401)".into(),
            }),
        }
    }
}
