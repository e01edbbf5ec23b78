//! The `[processors]` section of `kassa.toml` and its `KASSA_STRIPE_*` environment names.
//! Keys are never printed: `Debug` shows only whether one is set and of which kind.

use crate::config::ServerMode;
use anyhow::bail;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;

/// Stripe's API host; tests point `api_base` at a local fake.
pub const STRIPE_API_BASE: &str = "https://api.stripe.com";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessorsConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stripe: Option<StripeConfig>,
}

/// `[processors.stripe]`, or `KASSA_STRIPE_SECRET_KEY`, `KASSA_STRIPE_WEBHOOK_SECRET` and
/// `KASSA_STRIPE_API_BASE`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StripeConfig {
    /// `sk_live_…` / `sk_test_…` (or a restricted `rk_…` key).
    pub secret_key: String,
    /// `whsec_…`: verifies `POST /processors/stripe/webhook`. Without it Kassa still takes
    /// payments and learns reader results by polling, but refuses Stripe's webhooks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_secret: Option<String>,
    #[serde(default = "default_api_base")]
    pub api_base: String,
    /// Each request to Stripe (retries included in their own budget).
    #[serde(default = "default_timeout", with = "humantime_serde_compat")]
    pub timeout: Duration,
}

fn default_api_base() -> String {
    STRIPE_API_BASE.into()
}

fn default_timeout() -> Duration {
    Duration::from_secs(10)
}

/// `timeout = "10s"` in TOML.
mod humantime_serde_compat {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(*d).to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_duration(text.trim()).map_err(serde::de::Error::custom)
    }
}

impl fmt::Debug for StripeConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StripeConfig")
            .field("secret_key", &key_kind(&self.secret_key))
            .field(
                "webhook_secret",
                &self.webhook_secret.as_ref().map(|_| "[set]"),
            )
            .field("api_base", &self.api_base)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// The key's kind without the key: `sk_live_…`.
fn key_kind(key: &str) -> String {
    let kind: String = key.chars().take_while(|c| *c != '_').collect();
    let mode = if key.contains("_live_") {
        "live"
    } else {
        "test"
    };
    format!("{kind}_{mode}_…")
}

impl StripeConfig {
    /// Overlays the `KASSA_STRIPE_*` environment names on the file's section.
    pub fn merge(
        file: Option<StripeConfig>,
        secret_key: Option<String>,
        webhook_secret: Option<String>,
        api_base: Option<String>,
    ) -> Option<StripeConfig> {
        let mut config = match (file, secret_key) {
            (Some(mut c), Some(key)) => {
                c.secret_key = key;
                c
            }
            (Some(c), None) => c,
            (None, Some(key)) => StripeConfig {
                secret_key: key,
                webhook_secret: None,
                api_base: default_api_base(),
                timeout: default_timeout(),
            },
            (None, None) => return None,
        };
        if webhook_secret.is_some() {
            config.webhook_secret = webhook_secret;
        }
        if let Some(base) = api_base {
            config.api_base = base;
        }
        Some(config)
    }

    /// §9's rules: a test key only on a playground server, a live key only on a live one.
    pub fn validate(&self, mode: ServerMode) -> anyhow::Result<()> {
        let key = self.secret_key.trim();
        let live = ["sk_live_", "rk_live_"].iter().any(|p| key.starts_with(p));
        let test = ["sk_test_", "rk_test_"].iter().any(|p| key.starts_with(p));
        match (live, test, mode) {
            (false, false, _) => {
                bail!("stripe secret_key must be an sk_live_/sk_test_ (or rk_) key")
            }
            (true, _, ServerMode::Playground) => {
                bail!("a live Stripe key (sk_live_) only runs on a live server (KASSA_MODE=live)")
            }
            (_, true, ServerMode::Live) => {
                bail!("a test Stripe key (sk_test_) only runs on a playground server")
            }
            _ => {}
        }
        if let Some(secret) = &self.webhook_secret {
            if !secret.starts_with("whsec_") {
                bail!("stripe webhook_secret must be the whsec_… signing secret of the endpoint");
            }
        }
        if !(self.api_base.starts_with("https://") || self.api_base.starts_with("http://")) {
            bail!("stripe api_base must be an http(s) URL");
        }
        if self.timeout < Duration::from_millis(100) || self.timeout > Duration::from_secs(60) {
            bail!("stripe timeout must be between 100ms and 60s");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(key: &str) -> StripeConfig {
        StripeConfig::merge(None, Some(key.into()), None, None).unwrap()
    }

    #[test]
    fn keys_match_the_server_mode() {
        let test = config("sk_test_abc");
        assert!(test.validate(ServerMode::Playground).is_ok());
        let err = test.validate(ServerMode::Live).unwrap_err().to_string();
        assert!(err.contains("sk_test_"), "{err}");
        let live = config("sk_live_abc");
        assert!(live.validate(ServerMode::Live).is_ok());
        assert!(live.validate(ServerMode::Playground).is_err());
        assert!(config("pk_live_abc").validate(ServerMode::Live).is_err());
    }

    #[test]
    fn the_environment_overrides_the_file_and_debug_hides_the_keys() {
        let file = config("sk_test_file");
        let merged = StripeConfig::merge(
            Some(file),
            Some("sk_test_env_secret".into()),
            Some("whsec_envsecret".into()),
            Some("http://127.0.0.1:9".into()),
        )
        .unwrap();
        assert_eq!(merged.secret_key, "sk_test_env_secret");
        assert_eq!(merged.api_base, "http://127.0.0.1:9");
        let shown = format!("{merged:?}");
        assert!(
            !shown.contains("env_secret") && !shown.contains("envsecret"),
            "{shown}"
        );
        assert!(shown.contains("sk_test_…"), "{shown}");
        let bad = StripeConfig {
            webhook_secret: Some("nope".into()),
            ..merged
        };
        assert!(bad.validate(ServerMode::Playground).is_err());
    }
}
