//! Request rates: `KASSA_RATE_LIMIT` and `KASSA_AUTH_FAILURE_LIMIT` (`http/limits.rs`).

use anyhow::bail;
use std::num::NonZeroU32;
use std::time::Duration;

/// A rate of `requests` per `per` with room for `burst` at once (GCRA, as governor counts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub requests: NonZeroU32,
    pub per: Duration,
    pub burst: NonZeroU32,
}

impl RateLimit {
    /// Parses `N/s`, `N/m` or `N/h` (e.g. `100/s`) with the given burst; `name` is the
    /// setting's name for the error.
    pub fn parse(name: &str, text: &str, burst: u32) -> anyhow::Result<Self> {
        let bad = || anyhow::anyhow!("{name}: {text:?} is not a rate like 100/s, 20/m or 500/h");
        let (count, unit) = text.trim().split_once('/').ok_or_else(bad)?;
        let requests = count.trim().parse::<NonZeroU32>().map_err(|_| bad())?;
        let per = match unit.trim() {
            "s" => Duration::from_secs(1),
            "m" => Duration::from_secs(60),
            "h" => Duration::from_secs(3600),
            _ => return Err(bad()),
        };
        if requests.get() > 1_000_000 {
            bail!("{name}: at most 1000000 requests per unit");
        }
        let burst = NonZeroU32::new(burst)
            .ok_or_else(|| anyhow::anyhow!("{name}: the burst must be at least 1"))?;
        Ok(Self {
            requests,
            per,
            burst,
        })
    }

    /// The time it takes to earn one request back.
    pub fn interval(&self) -> Duration {
        self.per / self.requests.get()
    }
}
