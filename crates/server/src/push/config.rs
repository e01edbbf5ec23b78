//! The `[push]` section of `kassa.toml`: which native push services Kassa may use and the
//! credentials for them. An absent section (or an absent `apns`/`fcm` table) leaves that
//! service off. Key material is never printed: `Debug` shows only where it comes from.

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// Apple's production and development (sandbox) push hosts.
pub const APNS_PRODUCTION_URL: &str = "https://api.push.apple.com";
pub const APNS_SANDBOX_URL: &str = "https://api.sandbox.push.apple.com";
/// FCM HTTP v1 and Google's OAuth2 token endpoint (service accounts carry their own `token_uri`).
pub const FCM_URL: &str = "https://fcm.googleapis.com";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apns: Option<ApnsConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fcm: Option<FcmConfig>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApnsEnvironment {
    #[default]
    Production,
    /// Development builds of the POS app get tokens that only the sandbox host accepts.
    Sandbox,
}

/// APNs with token-based (`.p8` key) authentication.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApnsConfig {
    /// The `AuthKey_<key id>.p8` file from the Apple developer account…
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_path: Option<PathBuf>,
    /// …or its PEM text inline (e.g. from a secret store). Exactly one of the two.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_pem: Option<String>,
    /// The 10-character key id (the JWT's `kid`).
    pub key_id: String,
    /// The 10-character team id (the JWT's `iss`).
    pub team_id: String,
    /// The POS app's bundle id (`apns-topic`).
    pub topic: String,
    #[serde(default)]
    pub environment: ApnsEnvironment,
    /// Overrides the host chosen by `environment` (tests, proxies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// How long APNs keeps trying an offline device; a session is useless after its TTL.
    #[serde(default = "default_ttl")]
    pub ttl: String,
}

/// FCM HTTP v1 with a Google service account (OAuth2 JWT bearer grant).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FcmConfig {
    /// The service account key JSON as the Firebase console issues it…
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_path: Option<PathBuf>,
    /// …or the same JSON inline. Exactly one of the two.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_json: Option<String>,
    /// Overrides `https://fcm.googleapis.com` (tests, proxies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// Overrides the service account's `token_uri` for fetching tokens. The JWT's `aud`
    /// stays the service account's `token_uri`, as Google requires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_url: Option<String>,
    /// How long FCM keeps trying an offline device (`android.ttl`).
    #[serde(default = "default_ttl")]
    pub ttl: String,
}

fn default_ttl() -> String {
    "5m".into()
}

impl PushConfig {
    /// Checks the shape at start-up; key files are read when the adapters are built.
    pub fn validate(&self) -> anyhow::Result<()> {
        if let Some(apns) = &self.apns {
            if apns.key_path.is_some() == apns.key_pem.is_some() {
                bail!("push.apns: set exactly one of key_path and key_pem");
            }
            for (name, value) in [
                ("key_id", &apns.key_id),
                ("team_id", &apns.team_id),
                ("topic", &apns.topic),
            ] {
                if value.trim().is_empty() {
                    bail!("push.apns.{name} must not be empty");
                }
            }
            apns.ttl()?;
        }
        if let Some(fcm) = &self.fcm {
            if fcm.service_account_path.is_some() == fcm.service_account_json.is_some() {
                bail!("push.fcm: set exactly one of service_account_path and service_account_json");
            }
            fcm.ttl()?;
        }
        Ok(())
    }
}

impl ApnsConfig {
    pub fn base_url(&self) -> &str {
        match (&self.base_url, self.environment) {
            (Some(url), _) => url.trim_end_matches('/'),
            (None, ApnsEnvironment::Production) => APNS_PRODUCTION_URL,
            (None, ApnsEnvironment::Sandbox) => APNS_SANDBOX_URL,
        }
    }

    pub fn ttl(&self) -> anyhow::Result<Duration> {
        ttl("push.apns.ttl", &self.ttl)
    }

    /// The `.p8` PEM text, from the file or inline.
    pub fn key_pem(&self) -> anyhow::Result<String> {
        match (&self.key_pem, &self.key_path) {
            (Some(pem), _) => Ok(pem.clone()),
            (None, Some(path)) => std::fs::read_to_string(path)
                .with_context(|| format!("push.apns.key_path: cannot read {}", path.display())),
            (None, None) => bail!("push.apns: set key_path or key_pem"),
        }
    }
}

impl FcmConfig {
    pub fn base_url(&self) -> &str {
        self.base_url
            .as_deref()
            .map_or(FCM_URL, |u| u.trim_end_matches('/'))
    }

    pub fn ttl(&self) -> anyhow::Result<Duration> {
        ttl("push.fcm.ttl", &self.ttl)
    }

    /// The service account JSON text, from the file or inline.
    pub fn service_account_json(&self) -> anyhow::Result<String> {
        match (&self.service_account_json, &self.service_account_path) {
            (Some(json), _) => Ok(json.clone()),
            (None, Some(path)) => std::fs::read_to_string(path).with_context(|| {
                format!(
                    "push.fcm.service_account_path: cannot read {}",
                    path.display()
                )
            }),
            (None, None) => bail!("push.fcm: set service_account_path or service_account_json"),
        }
    }
}

fn ttl(name: &str, text: &str) -> anyhow::Result<Duration> {
    let ttl = humantime::parse_duration(text.trim())
        .with_context(|| format!("{name}: {text:?} is not a duration like 30s or 5m"))?;
    // APNs and FCM both cap storage at about four weeks.
    if ttl > Duration::from_secs(28 * 86_400) {
        bail!("{name} must be at most 28 days");
    }
    Ok(ttl)
}

impl fmt::Debug for ApnsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApnsConfig")
            .field("key_path", &self.key_path)
            .field("key_pem", &self.key_pem.as_ref().map(|_| "<redacted>"))
            .field("key_id", &self.key_id)
            .field("team_id", &self.team_id)
            .field("topic", &self.topic)
            .field("environment", &self.environment)
            .field("base_url", &self.base_url)
            .field("ttl", &self.ttl)
            .finish()
    }
}

impl fmt::Debug for FcmConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FcmConfig")
            .field("service_account_path", &self.service_account_path)
            .field(
                "service_account_json",
                &self.service_account_json.as_ref().map(|_| "<redacted>"),
            )
            .field("base_url", &self.base_url)
            .field("token_url", &self.token_url)
            .field("ttl", &self.ttl)
            .finish()
    }
}
