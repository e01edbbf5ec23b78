//! The retry policy: which failed attempts may be repeated, and how long to wait first.
//! Pure functions, so the policy is tested without a server or a clock.
//!
//! A repeat is only safe when Stripe cannot apply the request twice: a GET, or a POST
//! carrying an `Idempotency-Key` (Stripe replays the first answer for a repeated key).
//! Stripe's `Stripe-Should-Retry` header overrides our guess either way, as Stripe's own
//! libraries do: `true` means nothing happened and a repeat is safe (e.g. a lock timeout),
//! `false` means a repeat cannot succeed or was already answered.

use std::time::Duration;

use crate::error::Error;

/// First delay; Stripe's libraries start at 500 ms, we wait less because a till is
/// waiting on the answer and most transient failures clear fast.
const BASE_DELAY: Duration = Duration::from_millis(200);
/// Longest single delay, so `max_retries` bounds the total wait.
const MAX_DELAY: Duration = Duration::from_secs(2);

/// Whether the request may be sent again if an attempt fails without a definite answer.
pub(crate) fn is_idempotent(is_get: bool, has_idempotency_key: bool) -> bool {
    is_get || has_idempotency_key
}

/// Whether to send the request again after `err`. `idempotent` comes from [`is_idempotent`].
pub(crate) fn should_retry(err: &Error, idempotent: bool) -> bool {
    match err {
        Error::Timeout | Error::Network(_) => idempotent,
        Error::Api {
            should_retry: Some(stripe_says),
            ..
        } => *stripe_says,
        Error::Api { status, error, .. } => {
            let lock_timeout = *status == 409 && error.code.as_deref() == Some("lock_timeout");
            idempotent && (lock_timeout || *status == 429 || *status >= 500)
        }
        // A 2xx we could not read already took effect; a config error will not heal.
        Error::Decode(_) | Error::Config(_) => false,
    }
}

/// Delay before retry number `retry` (1-based): exponential from [`BASE_DELAY`], capped at
/// [`MAX_DELAY`], with "equal jitter" (half fixed, half random from `jitter` in `[0, 1)`)
/// so clients that failed together do not retry in lockstep.
pub(crate) fn backoff(retry: u32, jitter: f64) -> Duration {
    let exponent = retry.saturating_sub(1).min(16);
    let full = BASE_DELAY.saturating_mul(1 << exponent).min(MAX_DELAY);
    let half = full / 2;
    half + half.mul_f64(jitter.clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ApiErrorObject;

    fn api(status: u16, code: Option<&str>, should_retry: Option<bool>) -> Error {
        Error::Api {
            status,
            error: ApiErrorObject {
                code: code.map(str::to_owned),
                ..ApiErrorObject::default()
            },
            request_id: None,
            should_retry,
        }
    }

    #[test]
    fn transient_failures_are_retried_only_when_idempotent() {
        for err in [
            Error::Timeout,
            Error::Network("reset".into()),
            api(500, None, None),
            api(503, None, None),
            api(429, Some("rate_limit"), None),
            api(409, Some("lock_timeout"), None),
        ] {
            assert!(should_retry(&err, true), "{err}");
            assert!(!should_retry(&err, false), "{err}");
        }
    }

    #[test]
    fn definite_refusals_are_never_retried() {
        for err in [
            api(402, Some("card_declined"), None),
            api(400, Some("parameter_missing"), None),
            api(404, Some("resource_missing"), None),
            api(409, Some("idempotency_key_in_use"), None),
            Error::Decode("x".into()),
            Error::Config("x".into()),
        ] {
            assert!(!should_retry(&err, true), "{err}");
        }
    }

    #[test]
    fn the_stripe_should_retry_header_overrides_the_guess() {
        assert!(!should_retry(&api(500, None, Some(false)), true));
        assert!(should_retry(&api(400, None, Some(true)), true));
        assert!(should_retry(&api(409, None, Some(true)), false));
    }

    #[test]
    fn only_gets_and_keyed_posts_are_idempotent() {
        assert!(is_idempotent(true, false));
        assert!(is_idempotent(false, true));
        assert!(!is_idempotent(false, false));
    }

    #[test]
    fn backoff_grows_exponentially_within_jitter_bounds_and_is_capped() {
        let ms = |d: Duration| d.as_millis();
        assert_eq!((ms(backoff(1, 0.0)), ms(backoff(1, 0.999_999))), (100, 199));
        assert_eq!((ms(backoff(2, 0.0)), ms(backoff(2, 0.5))), (200, 300));
        assert_eq!(ms(backoff(3, 0.0)), 400);
        assert_eq!(ms(backoff(4, 0.0)), 800);
        assert_eq!((ms(backoff(5, 0.0)), ms(backoff(5, 1.0))), (1000, 2000));
        assert_eq!(ms(backoff(40, 1.0)), 2000);
        assert_eq!(ms(backoff(0, 0.0)), 100);
    }
}
