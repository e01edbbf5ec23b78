//! What every handler and worker shares.

use crate::clock::Clock;
use crate::config::{Config, ServerMode};
use crate::hub::Hub;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use kassa_core::machine::Policy;
use kassa_store::{Signals, Store};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

/// Registration attempts per client address: enough for a shop pairing a few tills, far too
/// few to guess a 50-bit code.
pub type RegistrationLimiter = DefaultKeyedRateLimiter<IpAddr>;

pub fn registration_limiter() -> RegistrationLimiter {
    let per_minute = NonZeroU32::new(10).expect("non-zero");
    RateLimiter::keyed(Quota::per_minute(per_minute))
}

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    /// The store's after-commit messages: committed changes, and this node's deliveries.
    pub signals: Signals,
    pub config: Arc<Config>,
    pub clock: Arc<dyn Clock>,
    pub metrics: metrics_exporter_prometheus::PrometheusHandle,
    pub registration_limiter: Arc<RegistrationLimiter>,
    /// Merchant request quotas and failed authentications, counted on this node.
    pub rate_limits: Arc<crate::http::limits::RateLimits>,
    pub hub: Arc<Hub>,
    /// APNs/FCM for native POS apps; disabled unless `[push]` is configured.
    pub pusher: crate::push::Pusher,
    /// The card processors: `simulated` in playground mode, `stripe` when configured.
    pub processors: crate::processors::Processors,
}

impl AppState {
    pub fn policy(&self) -> Policy {
        Policy {
            max_attempts: self.config.max_attempts,
        }
    }

    pub fn is_playground(&self) -> bool {
        self.config.mode == ServerMode::Playground
    }

    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }
}
