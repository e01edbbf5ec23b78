//! The reconciler: a lost webhook must never leave money taken and a session open. Every
//! node runs one. Each tick it retries processor events that were stored but not acted on,
//! then asks the processor about open processor-backed sessions that have been quiet for
//! `processor_grace` (or whose deadline has passed, which only the processor may settle:
//! the payment is cancelled first, and if the card was charged the session is finalized).

use super::{inbox, settle};
use crate::state::AppState;
use kassa_core::SessionId;
use std::collections::HashMap;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const TICK: Duration = Duration::from_millis(500);
const BATCH: i64 = 100;
/// An event still pending this long after it arrived is tried again.
const EVENT_RETRY: Duration = Duration::from_secs(5);

/// What this node asked the processor about recently, so a session waiting for its card is
/// polled once per grace period, not once per tick.
#[derive(Default)]
pub struct Reconciler {
    checked: HashMap<SessionId, chrono::DateTime<chrono::Utc>>,
}

pub async fn run(state: AppState, stop: CancellationToken) {
    if state.processors.stripe.is_none() {
        return;
    }
    let mut reconciler = Reconciler::default();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        if let Err(e) = reconciler.once(&state).await {
            tracing::warn!(error = %e, "reconciliation failed");
        }
    }
}

impl Reconciler {
    /// One pass; tests call it directly. Returns how many sessions were checked.
    pub async fn once(&mut self, state: &AppState) -> anyhow::Result<usize> {
        let retry = chrono::Duration::from_std(EVENT_RETRY)?;
        inbox::retry_pending(state, retry).await?;
        let now = state.now();
        let grace = chrono::Duration::from_std(state.config.processor_grace)?;
        let sessions = state
            .store
            .processor_sessions_to_check(now - grace, now, BATCH)
            .await?;
        let mut checked = 0;
        let mut seen = HashMap::new();
        for session in sessions {
            let recently = self.checked.get(&session.id).copied();
            if let Some(at) = recently.filter(|at| now - *at < grace && !session.is_due(now)) {
                seen.insert(session.id, at);
                continue;
            }
            seen.insert(session.id, now);
            checked += 1;
            metrics::counter!("kassa_reconciled_sessions_total").increment(1);
            if let Err(e) = settle::reconcile(state, &session).await {
                tracing::warn!(session.id = %session.id, error = %e, "cannot reconcile the session");
            }
        }
        // Forget sessions that are no longer open or quiet.
        self.checked = seen;
        Ok(checked)
    }
}
