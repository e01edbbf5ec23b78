//! Rate limits on merchant calls: a quota per API key (or per portal merchant), answered
//! with the IETF draft's `RateLimit-*` headers on every merchant answer and `429
//! RATE_LIMITED` with `Retry-After` once used up; and a quota of failed authentications per
//! client address, after which that address gets `429` before its key is even looked up.
//!
//! Counted in memory on each node (governor's GCRA): a check costs no database round trip,
//! and a limit exists to keep one caller from starving a node, which a per-node count does.
//! Behind a load balancer over `n` nodes a key may get up to `n` times the rate.
//!
//! `track` wraps the API routes and keeps one `Slot` per request in a task-local, so the
//! merchant authentication (which runs twice for an idempotent change: in the idempotency
//! layer and in the handler) counts a request once and the answer gets its headers.

use super::error::ApiError;
use crate::config::RateLimit;
use crate::state::AppState;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

type Limiter<K> =
    RateLimiter<K, DefaultKeyedStateStore<K>, DefaultClock, StateInformationMiddleware>;

/// Keys (and addresses) remembered before those with a full quota again are forgotten;
/// bounds the memory a stream of new addresses can take.
const KEPT: usize = 10_000;

/// Who a merchant request is counted against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Subject {
    /// An API key, by id: each key of a merchant has its own quota.
    Key(uuid::Uuid),
    /// The portal's session cookie, by merchant: all its users share one quota.
    Merchant(uuid::Uuid),
}

pub struct RateLimits {
    by_subject: Limiter<Subject>,
    failures: Limiter<IpAddr>,
    failure_interval: Duration,
    /// Addresses that used up their failures, until when.
    blocked: Mutex<HashMap<IpAddr, Instant>>,
    clock: DefaultClock,
}

impl RateLimits {
    pub fn new(requests: RateLimit, failures: RateLimit) -> Self {
        Self {
            by_subject: keyed(requests),
            failures: keyed(failures),
            failure_interval: failures.interval(),
            blocked: Mutex::default(),
            clock: DefaultClock::default(),
        }
    }

    /// Counts one request of `subject`.
    fn admit(&self, subject: Subject) -> Decision {
        if self.by_subject.len() > KEPT {
            self.by_subject.retain_recent();
        }
        match self.by_subject.check_key(&subject) {
            Ok(snapshot) => {
                let quota = snapshot.quota();
                let remaining = snapshot.remaining_burst_capacity();
                let spent = quota.burst_size().get().saturating_sub(remaining);
                Decision {
                    limit: quota.burst_size().get(),
                    remaining,
                    reset: quota.replenish_interval() * spent,
                    refused: false,
                }
            }
            Err(not_until) => Decision {
                limit: not_until.quota().burst_size().get(),
                remaining: 0,
                reset: not_until.wait_time_from(self.clock.now()),
                refused: true,
            },
        }
    }

    /// How long `address` must still wait, if it used up its failed authentications.
    fn blocked_for(&self, address: IpAddr) -> Option<Duration> {
        let blocked = self.blocked.lock().unwrap_or_else(|e| e.into_inner());
        let until = *blocked.get(&address)?;
        until.checked_duration_since(Instant::now())
    }

    /// Counts a failed authentication from `address`; the last one allowed blocks it until
    /// one more is earned back.
    fn failed(&self, address: IpAddr) {
        if self.failures.len() > KEPT {
            self.failures.retain_recent();
        }
        let wait = match self.failures.check_key(&address) {
            Ok(snapshot) if snapshot.remaining_burst_capacity() > 0 => return,
            Ok(_) => self.failure_interval,
            Err(not_until) => not_until.wait_time_from(self.clock.now()),
        };
        let now = Instant::now();
        let mut blocked = self.blocked.lock().unwrap_or_else(|e| e.into_inner());
        if blocked.len() > KEPT {
            blocked.retain(|_, until| *until > now);
        }
        blocked.insert(address, now + wait);
    }
}

fn keyed<K: Hash + Eq + Clone>(limit: RateLimit) -> Limiter<K> {
    let quota = Quota::with_period(limit.interval())
        .unwrap_or_else(|| Quota::per_second(limit.requests))
        .allow_burst(limit.burst);
    RateLimiter::keyed(quota).with_middleware::<StateInformationMiddleware>()
}

/// The outcome of counting a request against its subject's quota.
#[derive(Debug, Clone, Copy)]
struct Decision {
    limit: u32,
    remaining: u32,
    reset: Duration,
    refused: bool,
}

impl Decision {
    fn result(&self) -> Result<(), ApiError> {
        if self.refused {
            return Err(ApiError::RateLimited {
                retry_after_secs: seconds(self.reset).max(1),
            });
        }
        Ok(())
    }
}

fn seconds(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// What one request's merchant authentication decided.
#[derive(Default)]
struct Slot {
    peer: Option<IpAddr>,
    decision: Option<Decision>,
    auth_failed: bool,
}

tokio::task_local! {
    static SLOT: Arc<Mutex<Slot>>;
}

fn with_slot<T>(f: impl FnOnce(&mut Slot) -> T) -> Option<T> {
    SLOT.try_with(|slot| f(&mut slot.lock().unwrap_or_else(|e| e.into_inner())))
        .ok()
}

/// Before a merchant's credentials are checked: `429` if the client's address used up its
/// failed authentications.
pub fn before_auth(state: &AppState) -> Result<(), ApiError> {
    let Some(Some(peer)) = with_slot(|s| s.peer) else {
        return Ok(());
    };
    match state.rate_limits.blocked_for(peer) {
        Some(wait) => Err(ApiError::RateLimited {
            retry_after_secs: seconds(wait).max(1),
        }),
        None => Ok(()),
    }
}

/// After the credentials named `subject`: counts the request once, however often it is
/// authenticated. Outside `track` (no request) nothing is counted.
pub fn admit(state: &AppState, subject: Subject) -> Result<(), ApiError> {
    let decision = with_slot(|s| {
        *s.decision
            .get_or_insert_with(|| state.rate_limits.admit(subject))
    });
    decision.map_or(Ok(()), |d| d.result())
}

/// The credentials were refused (`401`); counted against the address when the answer is one.
pub fn failed() {
    with_slot(|s| s.auth_failed = true);
}

/// Keeps the request's slot, then puts the `RateLimit-*` headers on a merchant's answer and
/// counts a failed merchant authentication. A device call made with an `Idempotency-Key`
/// fails the idempotency layer's merchant check too; only a `401` answer makes it a failure.
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let slot = Arc::new(Mutex::new(Slot {
        peer,
        ..Slot::default()
    }));
    let mut response = SLOT.scope(slot.clone(), next.run(request)).await;
    let (decision, failed) = {
        let slot = slot.lock().unwrap_or_else(|e| e.into_inner());
        (slot.decision, slot.auth_failed)
    };
    if let (true, StatusCode::UNAUTHORIZED, Some(peer)) = (failed, response.status(), peer) {
        state.rate_limits.failed(peer);
    }
    if let Some(d) = decision {
        let headers = response.headers_mut();
        headers.insert("ratelimit-limit", HeaderValue::from(d.limit));
        headers.insert("ratelimit-remaining", HeaderValue::from(d.remaining));
        headers.insert("ratelimit-reset", HeaderValue::from(seconds(d.reset)));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(burst: u32) -> RateLimits {
        let rate = RateLimit::parse("rate_limit", "1/m", burst).unwrap();
        RateLimits::new(rate, rate)
    }

    #[test]
    fn a_key_gets_its_burst_then_a_retry_after() {
        let limits = limits(2);
        let key = Subject::Key(uuid::Uuid::new_v4());
        let first = limits.admit(key);
        assert_eq!((first.limit, first.remaining, first.refused), (2, 1, false));
        assert_eq!(seconds(first.reset), 60);
        assert!(!limits.admit(key).refused);
        let third = limits.admit(key);
        assert!(third.refused);
        assert!(
            matches!(third.result(), Err(ApiError::RateLimited { retry_after_secs }) if retry_after_secs > 50)
        );
        assert!(!limits.admit(Subject::Key(uuid::Uuid::new_v4())).refused);
    }

    #[test]
    fn an_address_is_blocked_after_its_last_allowed_failure() {
        let limits = limits(2);
        let address = IpAddr::from([10, 0, 0, 1]);
        limits.failed(address);
        assert!(limits.blocked_for(address).is_none());
        limits.failed(address);
        assert!(limits.blocked_for(address).is_some());
        assert!(limits.blocked_for(IpAddr::from([10, 0, 0, 2])).is_none());
    }
}
