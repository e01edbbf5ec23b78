//! Client configuration ([`StripeConfig`]) and per-call options ([`Call`]).
//!
//! The secret key lives only here and in the client's prepared `Authorization` header; the
//! `Debug` impl redacts it so a logged config cannot leak it.

use std::fmt;
use std::time::Duration;

/// How to reach Stripe and how hard to try.
#[derive(Clone)]
pub struct StripeConfig {
    /// `sk_test_…`, `sk_live_…` or a restricted `rk_…` key. Never printed.
    pub secret_key: String,
    /// `https://api.stripe.com`, or a local fake such as `http://127.0.0.1:PORT`.
    /// A trailing slash is tolerated.
    pub api_base: String,
    /// Budget for one attempt (connect, send, read the whole answer).
    pub timeout: Duration,
    /// Extra attempts after the first, only where a retry is safe (see [`crate::Client`]).
    pub max_retries: u32,
}

impl StripeConfig {
    /// A config with a 10 s per-attempt timeout and 2 retries: enough to ride out a
    /// connection reset or a brief 5xx without holding a till's request for long.
    pub fn new(secret_key: impl Into<String>, api_base: impl Into<String>) -> Self {
        Self {
            secret_key: secret_key.into(),
            api_base: api_base.into(),
            timeout: Duration::from_secs(10),
            max_retries: 2,
        }
    }
}

impl fmt::Debug for StripeConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StripeConfig")
            .field("secret_key", &redacted_key(&self.secret_key))
            .field("api_base", &self.api_base)
            .field("timeout", &self.timeout)
            .field("max_retries", &self.max_retries)
            .finish()
    }
}

/// Keeps the key's kind (`sk_test_`, `rk_live_`…) because "which mode is this?" is the
/// question operators ask; drops everything that authenticates.
fn redacted_key(key: &str) -> String {
    let kind = ["sk_test_", "sk_live_", "rk_test_", "rk_live_"]
        .into_iter()
        .find(|prefix| key.starts_with(prefix))
        .unwrap_or("");
    format!("{kind}<redacted>")
}

/// Per-call options: the connected account to act on and the idempotency key.
///
/// Every POST should carry an idempotency key: it is what lets Stripe deduplicate a
/// request we send twice, so the client only retries POSTs that have one.
#[derive(Debug, Clone, Default)]
pub struct Call {
    /// `acct_…`, sent as `Stripe-Account` (Connect: act on the merchant's account).
    pub account: Option<String>,
    /// Sent as `Idempotency-Key` on POSTs, unchanged across retries.
    pub idempotency_key: Option<String>,
}

impl Call {
    /// No account, no idempotency key (enough for GETs on the platform account).
    pub fn new() -> Self {
        Self::default()
    }

    /// Act on this connected account (or the platform's own account for `None`).
    pub fn account(mut self, acct: Option<String>) -> Self {
        self.account = acct;
        self
    }

    /// The idempotency key for a POST; derive it from what makes the operation unique
    /// (e.g. the session id and the step) so a repeat after a crash is deduplicated.
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_the_secret_key_but_keeps_its_kind() {
        let config = StripeConfig::new("sk_test_51AbCdEfGhSecretPart", "http://127.0.0.1:1");
        let shown = format!("{config:?}");
        assert!(!shown.contains("51AbCdEfGhSecretPart"), "{shown}");
        assert!(shown.contains("sk_test_<redacted>"), "{shown}");
        assert!(shown.contains("127.0.0.1:1"), "{shown}");

        let odd = StripeConfig::new("whatever-secret", "http://x");
        assert!(!format!("{odd:?}").contains("whatever-secret"));
    }

    #[test]
    fn call_builder_sets_both_options() {
        let call = Call::new().account(Some("acct_1".into())).key("k1");
        assert_eq!(call.account.as_deref(), Some("acct_1"));
        assert_eq!(call.idempotency_key.as_deref(), Some("k1"));
        assert!(Call::new().account(None).account.is_none());
    }
}
