//! Stripe-looking object ids and timestamps.

use rand::distributions::Alphanumeric;
use rand::Rng;
use std::time::{SystemTime, UNIX_EPOCH};

/// `prefix_` followed by 24 random letters and digits, the shape of Stripe's ids (`pi_3Nn…`).
pub(crate) fn new(prefix: &str) -> String {
    format!("{prefix}_{}", random(24))
}

pub(crate) fn random(len: usize) -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// Unix seconds, the unit of every Stripe timestamp (`created`, `canceled_at`, `t=` in
/// signatures).
pub(crate) fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
