//! Configuration: defaults, then an optional TOML file, then `KASSA_*` environment variables.
//! Validated once at start-up; durations are written like `500ms`, `10s`, `5m`, `2h`.

use crate::processors::config::{ProcessorsConfig, StripeConfig};
use crate::push::PushConfig;
use anyhow::{bail, Context};
use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};
use std::path::Path;

mod rate;
pub use rate::RateLimit;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServerMode {
    /// Test keys, simulated devices and card taps, `/ipp/v1/dev`.
    Playground,
    /// Live keys and real processors only.
    Live,
}

/// The file and environment form: durations are strings until validated.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Raw {
    database_url: String,
    bind: String,
    mode: ServerMode,
    session_ttl: String,
    webhook_retry_schedule: String,
    webhook_timeout: String,
    /// Webhook requests in flight at once, over all endpoints.
    webhook_concurrency: usize,
    max_attempts: i64,
    log: String,
    idempotency_retention: String,
    /// How long events and their delivery log are kept.
    event_retention: String,
    /// Native push (APNs, FCM); absent means off.
    #[serde(default)]
    push: PushConfig,
    /// Card processors (`[processors.stripe]`); absent means none.
    #[serde(default)]
    processors: ProcessorsConfig,
    /// `KASSA_STRIPE_SECRET_KEY`, `KASSA_STRIPE_WEBHOOK_SECRET`, `KASSA_STRIPE_API_BASE`:
    /// the environment's names for `[processors.stripe]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    stripe_secret_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    stripe_webhook_secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    stripe_api_base: Option<String>,
    /// How long a processor-backed session may sit unchanged before the reconciler asks
    /// the processor where its payment stands (a webhook may have been lost).
    processor_grace: String,
    /// Merchant requests per API key (or portal merchant), `N/s`, `N/m` or `N/h`.
    rate_limit: String,
    /// Requests a key may send at once before the rate applies.
    rate_limit_burst: u32,
    /// Failed merchant authentications per client address, `N/s`, `N/m` or `N/h`.
    auth_failure_limit: String,
    /// Connections served at once, and the deadlines that keep slow clients from holding
    /// them (`ConnectionLimits`).
    max_connections: usize,
    header_timeout: String,
    body_timeout: String,
    idle_timeout: String,
}

impl Default for Raw {
    fn default() -> Self {
        Self {
            database_url: "sqlite://kassa.db?mode=rwc".into(),
            bind: "127.0.0.1:8080".into(),
            mode: ServerMode::Playground,
            session_ttl: "5m".into(),
            webhook_retry_schedule: "0s,5s,5m,30m,2h,5h,10h,10h".into(),
            webhook_timeout: "15s".into(),
            webhook_concurrency: 256,
            max_attempts: 5,
            log: "info".into(),
            idempotency_retention: "24h".into(),
            event_retention: "30d".into(),
            push: PushConfig::default(),
            processors: ProcessorsConfig::default(),
            stripe_secret_key: None,
            stripe_webhook_secret: None,
            stripe_api_base: None,
            processor_grace: "30s".into(),
            rate_limit: "100/s".into(),
            rate_limit_burst: 200,
            auth_failure_limit: "20/m".into(),
            max_connections: 10_000,
            header_timeout: "10s".into(),
            body_timeout: "15s".into(),
            idle_timeout: "75s".into(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: String,
    pub bind: String,
    pub mode: ServerMode,
    pub session_ttl: Duration,
    pub webhook_retry_schedule: Vec<Duration>,
    pub webhook_timeout: Duration,
    pub webhook_concurrency: usize,
    pub max_attempts: i64,
    pub log: String,
    pub idempotency_retention: Duration,
    /// Events and their delivery log older than this are deleted (`retention.rs`).
    pub event_retention: Duration,
    /// Native push services; both off unless `[push.apns]` / `[push.fcm]` are present.
    pub push: PushConfig,
    /// Card processors; Stripe only when a key is configured.
    pub processors: ProcessorsConfig,
    /// Quiet time before the reconciler checks an open processor-backed session.
    pub processor_grace: Duration,
    /// Merchant requests per API key (or the portal's merchant), counted per node.
    pub rate_limit: RateLimit,
    /// Failed merchant authentications per client address, counted per node.
    pub auth_failure_limit: RateLimit,
    /// The listener's connection cap and the timeouts on slow clients.
    pub connections: ConnectionLimits,
}

/// How many connections are served at once and how long a client may take (`listener.rs`,
/// `http/body_timeout.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Connections served at once; lowered at start-up to fit the open-file limit.
    pub max: usize,
    /// From a request's first byte to its last header line; then the connection is closed.
    pub header_timeout: Duration,
    /// From the end of the headers to the body's last byte; then `408`.
    pub body_timeout: Duration,
    /// A connection with no request in flight and none begun is closed after this.
    pub idle_timeout: Duration,
}

impl ConnectionLimits {
    fn parse(raw: &Raw) -> anyhow::Result<Self> {
        let within = |name: &str, text: &str, max: Duration| -> anyhow::Result<Duration> {
            let d = duration(name, text)?;
            if !(Duration::from_millis(100)..=max).contains(&d) {
                bail!(
                    "{name} must be between 100ms and {}",
                    humantime::format_duration(max)
                );
            }
            Ok(d)
        };
        if !(1..=1_000_000).contains(&raw.max_connections) {
            bail!("max_connections must be between 1 and 1000000");
        }
        Ok(Self {
            max: raw.max_connections,
            header_timeout: within(
                "header_timeout",
                &raw.header_timeout,
                Duration::from_secs(300),
            )?,
            // Below the 60 s request timeout, whose answer is a bare 503 (`http::router`).
            body_timeout: within("body_timeout", &raw.body_timeout, Duration::from_secs(50))?,
            idle_timeout: within("idle_timeout", &raw.idle_timeout, Duration::from_secs(3600))?,
        })
    }
}

impl Config {
    /// Loads and validates the configuration.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        let mut figment = Figment::from(Serialized::defaults(Raw::default()));
        if let Some(file) = file {
            if !file.exists() {
                bail!("config file {} does not exist", file.display());
            }
            figment = figment.merge(Toml::file(file));
        }
        let raw: Raw = figment
            .merge(Env::prefixed("KASSA_"))
            .extract()
            .context("invalid configuration")?;
        Self::try_from(raw)
    }

    /// The defaults, for tests and the CLI's database commands.
    pub fn defaults() -> Self {
        Self::try_from(Raw::default()).expect("defaults are valid")
    }
}

impl TryFrom<Raw> for Config {
    type Error = anyhow::Error;
    fn try_from(raw: Raw) -> anyhow::Result<Self> {
        let connections = ConnectionLimits::parse(&raw)?;
        let schedule = raw
            .webhook_retry_schedule
            .split(',')
            .map(|d| duration("webhook_retry_schedule", d))
            .collect::<anyhow::Result<Vec<_>>>()?;
        if !(4..=4096).contains(&raw.webhook_concurrency) {
            bail!("webhook_concurrency must be between 4 and 4096");
        }
        if raw.max_attempts < 1 {
            bail!("max_attempts must be at least 1");
        }
        raw.push.validate()?;
        let stripe = StripeConfig::merge(
            raw.processors.stripe,
            raw.stripe_secret_key,
            raw.stripe_webhook_secret,
            raw.stripe_api_base,
        );
        if let Some(stripe) = &stripe {
            stripe.validate(raw.mode)?;
        }
        let processor_grace = duration("processor_grace", &raw.processor_grace)?;
        if !(Duration::from_millis(100)..=Duration::from_secs(3600)).contains(&processor_grace) {
            bail!("processor_grace must be between 100ms and 1h");
        }
        let event_retention = duration("event_retention", &raw.event_retention)?;
        let retrying: Duration = schedule.iter().sum();
        if event_retention <= retrying + RETENTION_MARGIN {
            bail!(
                "event_retention must exceed the whole webhook_retry_schedule ({}) by a day, \
                 or events would go while their deliveries are still retried",
                humantime::format_duration(retrying)
            );
        }
        let rate_limit = RateLimit::parse("rate_limit", &raw.rate_limit, raw.rate_limit_burst)?;
        // A guesser gets the whole period's failures at once, no more.
        let mut auth_failure_limit =
            RateLimit::parse("auth_failure_limit", &raw.auth_failure_limit, 1)?;
        auth_failure_limit.burst = auth_failure_limit.requests;
        Ok(Self {
            connections,
            rate_limit,
            auth_failure_limit,
            event_retention,
            session_ttl: ttl(&raw.session_ttl)?,
            webhook_timeout: duration("webhook_timeout", &raw.webhook_timeout)?,
            webhook_concurrency: raw.webhook_concurrency,
            idempotency_retention: duration("idempotency_retention", &raw.idempotency_retention)?,
            webhook_retry_schedule: schedule,
            database_url: raw.database_url,
            bind: raw.bind,
            mode: raw.mode,
            max_attempts: raw.max_attempts,
            log: raw.log,
            push: raw.push,
            processors: ProcessorsConfig { stripe },
            processor_grace,
        })
    }
}

/// Events outlive their last retry by at least this much.
const RETENTION_MARGIN: Duration = Duration::from_secs(86_400);

fn duration(name: &str, text: &str) -> anyhow::Result<Duration> {
    humantime::parse_duration(text.trim())
        .with_context(|| format!("{name}: {text:?} is not a duration like 500ms, 10s, 5m or 2h"))
}

fn ttl(text: &str) -> anyhow::Result<Duration> {
    let ttl = duration("session_ttl", text)?;
    if !(Duration::from_secs(10)..=Duration::from_secs(86_400)).contains(&ttl) {
        bail!("session_ttl must be between 10s and 24h");
    }
    Ok(ttl)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_contract() {
        let c = Config::defaults();
        assert_eq!(c.session_ttl, Duration::from_secs(300));
        assert_eq!(c.webhook_retry_schedule.len(), 8);
        assert_eq!(c.webhook_retry_schedule[2], Duration::from_secs(300));
        assert_eq!(c.mode, ServerMode::Playground);
        assert_eq!(c.database_url, "sqlite://kassa.db?mode=rwc");
    }

    #[test]
    fn bad_durations_are_rejected_with_the_setting_name() {
        let raw = Raw {
            webhook_timeout: "soon".into(),
            ..Raw::default()
        };
        let err = Config::try_from(raw).unwrap_err().to_string();
        assert!(err.contains("webhook_timeout"), "{err}");
        let raw = Raw {
            session_ttl: "1s".into(),
            ..Raw::default()
        };
        assert!(Config::try_from(raw).is_err());
    }

    #[test]
    fn rate_limits_are_parsed_and_validated() {
        let c = Config::defaults();
        assert_eq!(c.rate_limit.requests.get(), 100);
        assert_eq!(c.rate_limit.burst.get(), 200);
        assert_eq!(c.rate_limit.interval(), Duration::from_millis(10));
        assert_eq!(c.auth_failure_limit.burst.get(), 20);
        assert_eq!(c.auth_failure_limit.per, Duration::from_secs(60));
        let limit = RateLimit::parse("rate_limit", " 5/m ", 7).unwrap();
        assert_eq!(limit.interval(), Duration::from_secs(12));
        assert_eq!(limit.burst.get(), 7);
        for bad in ["100", "0/s", "x/s", "100/d", "100/", "/s"] {
            let raw = Raw {
                rate_limit: bad.into(),
                ..Raw::default()
            };
            let err = Config::try_from(raw).unwrap_err().to_string();
            assert!(err.contains("rate_limit"), "{bad}: {err}");
        }
        let raw = Raw {
            rate_limit_burst: 0,
            ..Raw::default()
        };
        assert!(Config::try_from(raw).is_err());
    }

    #[test]
    fn connection_limits_have_defaults_and_bounds() {
        let c = Config::defaults().connections;
        assert_eq!(c.max, 10_000);
        assert_eq!(c.header_timeout, Duration::from_secs(10));
        assert_eq!(c.body_timeout, Duration::from_secs(15));
        assert_eq!(c.idle_timeout, Duration::from_secs(75));
        let bad = [
            Raw {
                max_connections: 0,
                ..Raw::default()
            },
            Raw {
                header_timeout: "10ms".into(),
                ..Raw::default()
            },
            Raw {
                body_timeout: "1m".into(),
                ..Raw::default()
            },
            Raw {
                idle_timeout: "later".into(),
                ..Raw::default()
            },
        ];
        for raw in bad {
            assert!(Config::try_from(raw).is_err());
        }
    }

    #[test]
    fn events_must_outlive_their_retries() {
        assert_eq!(
            Config::defaults().event_retention,
            Duration::from_secs(30 * 86_400)
        );
        // The default schedule retries for 32 h 35 min 5 s.
        let raw = Raw {
            event_retention: "2d".into(),
            ..Raw::default()
        };
        let err = Config::try_from(raw).unwrap_err().to_string();
        assert!(err.contains("event_retention"), "{err}");
        let raw = Raw {
            event_retention: "3d".into(),
            ..Raw::default()
        };
        assert!(Config::try_from(raw).is_ok());
    }
}
