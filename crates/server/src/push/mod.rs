//! Native push: wakes a paired iOS or Android POS app that has no live device stream, so a
//! new session reaches the clerk even when the app is in the background. Owns the APNs and
//! FCM HTTP v1 adapters and the routing between them; the device stream hub decides *when*
//! to push (a session was created for a device with a push token and no open WebSocket).
//!
//! A push only says "session X is waiting"; the app then reads the session over REST, which
//! stays the source of truth. So a lost push costs latency, never correctness.

pub mod apns;
pub mod config;
pub mod fcm;

pub use apns::ApnsClient;
pub use config::{ApnsConfig, ApnsEnvironment, FcmConfig, PushConfig};
pub use fcm::FcmClient;

use crate::clock::Clock;
use async_trait::async_trait;
use kassa_core::session::Platform;
use kassa_core::SessionId;
use kassa_store::{Device, DeviceStore};
use reqwest::header::{HeaderMap, RETRY_AFTER};
use std::sync::Arc;
use std::time::Duration;

/// What became of one notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushOutcome {
    /// The push service accepted it for delivery.
    Delivered,
    /// The service says the token is invalid or no longer registered (app uninstalled,
    /// token rotated, token of another app or project). The caller should forget it
    /// ([`DeviceStore::clear_push_token`]; [`Pusher::notify_and_prune`] does that).
    TokenStale,
    /// Nothing to send: the device has no push token, its platform has no native push
    /// (`TERMINAL`, `WEB`), or that platform's service is not configured.
    NoChannel,
}

/// Why a notification was not accepted. See [`PushError::is_retryable`].
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// Throttled or temporarily down (`429`, `5xx`): try again later.
    #[error("{service} is unavailable ({status} {reason}); retry later")]
    Unavailable {
        service: &'static str,
        status: u16,
        reason: String,
        /// The service's `Retry-After`, when it sent one.
        retry_after: Option<Duration>,
    },
    /// Refused for a reason a retry will not fix (wrong topic, payload, project…).
    #[error("{service} rejected the notification ({status} {reason})")]
    Rejected {
        service: &'static str,
        status: u16,
        reason: String,
    },
    /// Our credentials could not be made or were refused: a configuration problem.
    #[error("{service} credentials: {message}")]
    Auth {
        service: &'static str,
        message: String,
    },
    /// The service could not be reached or answered something unreadable.
    #[error("{service} could not be reached: {source}")]
    Transport {
        service: &'static str,
        #[source]
        source: reqwest::Error,
    },
}

impl PushError {
    /// True when sending the same notification later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable { .. } | Self::Transport { .. })
    }
}

/// One native push service.
#[async_trait]
pub trait NativePush: Send + Sync {
    /// Tells `device` (through its `push_token`) that session `session_id` was created for it.
    async fn notify(
        &self,
        device: &Device,
        session_id: SessionId,
    ) -> Result<PushOutcome, PushError>;
}

/// Routes a device to its platform's push service: `IOS` → APNs, `ANDROID` → FCM, others
/// to none. Cheap to clone; the adapters inside cache their auth tokens and connections.
#[derive(Clone, Default)]
pub struct Pusher {
    apns: Option<Arc<dyn NativePush>>,
    fcm: Option<Arc<dyn NativePush>>,
}

impl Pusher {
    /// No services: every device gets [`PushOutcome::NoChannel`].
    pub fn disabled() -> Self {
        Self::default()
    }

    /// Explicit adapters (tests, or another implementation of a service).
    pub fn new(apns: Option<Arc<dyn NativePush>>, fcm: Option<Arc<dyn NativePush>>) -> Self {
        Self { apns, fcm }
    }

    /// Builds the configured adapters: reads the key files and parses the keys, so a bad
    /// key fails start-up instead of the first push.
    pub fn from_config(config: &PushConfig, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        config.validate()?;
        let apns = match &config.apns {
            Some(c) => Some(Arc::new(ApnsClient::new(c, clock.clone())?) as Arc<dyn NativePush>),
            None => None,
        };
        let fcm = match &config.fcm {
            Some(c) => Some(Arc::new(FcmClient::new(c, clock)?) as Arc<dyn NativePush>),
            None => None,
        };
        Ok(Self { apns, fcm })
    }

    pub fn is_enabled(&self) -> bool {
        self.apns.is_some() || self.fcm.is_some()
    }

    /// True when [`notify`](NativePush::notify) would try to send to this device.
    pub fn reaches(&self, device: &Device) -> bool {
        device.push_token.as_deref().is_some_and(|t| !t.is_empty())
            && self.service(device.platform).is_some()
    }

    fn service(&self, platform: Platform) -> Option<&Arc<dyn NativePush>> {
        match platform {
            Platform::Ios => self.apns.as_ref(),
            Platform::Android => self.fcm.as_ref(),
            Platform::Terminal | Platform::Web => None,
        }
    }

    /// [`notify`](NativePush::notify), then forgets the token if the service called it
    /// stale. A failure to clear it is logged, not returned: the push outcome stands, and the
    /// next push will report the token stale again.
    #[tracing::instrument(skip_all, fields(device.id = %device.id, session.id = %session_id))]
    pub async fn notify_and_prune(
        &self,
        store: &dyn DeviceStore,
        device: &Device,
        session_id: SessionId,
    ) -> Result<PushOutcome, PushError> {
        let outcome = self.notify(device, session_id).await?;
        if outcome == PushOutcome::TokenStale {
            if let Some(token) = &device.push_token {
                if let Err(e) = store.clear_push_token(device.id, token).await {
                    tracing::warn!(error = %e, "could not clear a stale push token");
                }
            }
        }
        Ok(outcome)
    }
}

impl std::fmt::Debug for Pusher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pusher")
            .field("apns", &self.apns.is_some())
            .field("fcm", &self.fcm.is_some())
            .finish()
    }
}

#[async_trait]
impl NativePush for Pusher {
    async fn notify(
        &self,
        device: &Device,
        session_id: SessionId,
    ) -> Result<PushOutcome, PushError> {
        if !self.reaches(device) {
            return Ok(PushOutcome::NoChannel);
        }
        let Some(service) = self.service(device.platform) else {
            return Ok(PushOutcome::NoChannel);
        };
        let result = service.notify(device, session_id).await;
        let outcome = match &result {
            Ok(PushOutcome::Delivered) => "delivered",
            Ok(PushOutcome::TokenStale) => "token_stale",
            Ok(PushOutcome::NoChannel) => "no_channel",
            Err(e) if e.is_retryable() => "retryable_error",
            Err(_) => "error",
        };
        metrics::counter!(
            "kassa_push_notifications_total",
            "platform" => device.platform.as_str(),
            "outcome" => outcome,
        )
        .increment(1);
        if let Err(e) = &result {
            tracing::warn!(device.id = %device.id, error = %e, "native push failed");
        }
        result
    }
}

/// Both services time out the same way: a push is worth little after a few seconds.
fn http_client(builder: reqwest::ClientBuilder) -> anyhow::Result<reqwest::Client> {
    use anyhow::Context;
    builder
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(10))
        .user_agent(concat!("kassa/", env!("CARGO_PKG_VERSION")))
        .build()
        .context("cannot build the push HTTP client")
}

/// `Retry-After` in seconds (the form both services use).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
        .map(Duration::from_secs)
}
