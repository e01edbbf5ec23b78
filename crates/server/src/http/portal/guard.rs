//! What stands between a password guesser and the password hashes: sign-in attempts are
//! limited per client address and per email, and argon2 runs on blocking threads, a few at
//! a time, so a flood of sign-ins can neither starve the API's async workers nor take
//! 19 MiB per request without bound.

use super::password;
use crate::http::error::ApiError;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, NotUntil, Quota, RateLimiter};
use std::net::IpAddr;
use std::num::NonZeroU32;
use tokio::sync::Semaphore;

/// Attempts per client address per minute: a shop's staff behind one address signing in
/// (and mistyping) together stay under it; a guesser gets 30 tries a minute at most.
const PER_ADDRESS: u32 = 30;
/// Attempts per email per minute, from anywhere: someone mistyping a few times is not
/// blocked, a distributed guesser gets 10 tries a minute at one account.
const PER_EMAIL: u32 = 10;
/// Hashes computed at once (each takes 19 MiB and a core for tens of milliseconds).
const HASHING: usize = 4;
/// Emails remembered before forgetting those with a full quota again; bounds the memory a
/// stream of made-up emails can take.
const EMAILS_KEPT: usize = 10_000;

pub struct LoginGuard {
    by_address: DefaultKeyedRateLimiter<IpAddr>,
    by_email: DefaultKeyedRateLimiter<String>,
    hashing: Semaphore,
}

impl Default for LoginGuard {
    fn default() -> Self {
        Self {
            by_address: RateLimiter::keyed(per_minute(PER_ADDRESS)),
            by_email: RateLimiter::keyed(per_minute(PER_EMAIL)),
            hashing: Semaphore::new(HASHING),
        }
    }
}

fn per_minute(n: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN))
}

impl LoginGuard {
    /// Counts an attempt from `address` at `email` (normalized); `429` with `Retry-After`
    /// once either has used its quota. The address is checked first, so a blocked address
    /// does not use up the email's quota for the account's real owner.
    pub fn admit(&self, address: IpAddr, email: &str) -> Result<(), ApiError> {
        self.by_address.check_key(&address).map_err(limited)?;
        if self.by_email.len() > EMAILS_KEPT {
            self.by_email.retain_recent();
        }
        self.by_email
            .check_key(&email.to_string())
            .map_err(limited)?;
        Ok(())
    }

    /// `password::verify_or_dummy` on a blocking thread, one of at most `HASHING`.
    pub async fn verify(&self, password: String, phc: Option<String>) -> Result<bool, ApiError> {
        let _permit = self
            .hashing
            .acquire()
            .await
            .map_err(|e| ApiError::Internal(format!("hashing semaphore: {e}")))?;
        tokio::task::spawn_blocking(move || password::verify_or_dummy(&password, phc.as_deref()))
            .await
            .map_err(|e| ApiError::Internal(format!("password check: {e}")))
    }
}

fn limited(not_until: NotUntil<<DefaultClock as Clock>::Instant>) -> ApiError {
    let wait = not_until.wait_time_from(DefaultClock::default().now());
    ApiError::RateLimited {
        retry_after_secs: wait.as_secs().max(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_email_is_limited_from_any_address() {
        let guard = LoginGuard::default();
        let email = "ann@shop.example";
        for i in 0..PER_EMAIL {
            let address = IpAddr::from([10, 0, 0, i as u8]);
            assert!(guard.admit(address, email).is_ok(), "attempt {i}");
        }
        let refused = guard.admit(IpAddr::from([10, 0, 1, 1]), email);
        assert!(
            matches!(refused, Err(ApiError::RateLimited { retry_after_secs }) if retry_after_secs >= 1)
        );
        assert!(guard
            .admit(IpAddr::from([10, 0, 1, 1]), "bob@shop.example")
            .is_ok());
    }

    #[test]
    fn an_address_is_limited_across_emails() {
        let guard = LoginGuard::default();
        let address = IpAddr::from([10, 0, 0, 1]);
        for i in 0..PER_ADDRESS {
            assert!(guard.admit(address, &format!("u{i}@shop.example")).is_ok());
        }
        assert!(guard.admit(address, "new@shop.example").is_err());
    }
}
