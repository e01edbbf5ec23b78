//! Processor webhook events: stored before they are answered, acted on once, and retried
//! by the reconciler until acting succeeds. Storing first is what makes a `2xx` safe to
//! send: Stripe stops retrying once answered, so an event Kassa answered must not be lost.
//! The store's insert decides which node acts (the one whose insert made the row); acting
//! is idempotent anyway (deterministic attempt ids, refunds by their Stripe id), so a retry
//! after a crash between acting and marking the event done changes nothing twice.

use super::settle;
use super::stripe::{self, StripeFact};
use crate::http::error::ApiError;
use crate::state::AppState;
use kassa_core::order::Operation;
use kassa_core::session::PaymentRef;
use kassa_core::OrderOperationId;
use kassa_store::ProcessorEvent;

/// Stores a verified event; acts on it if this call stored it. Returns false for a
/// duplicate. A failure to act leaves the event pending for the reconciler.
pub async fn receive(state: &AppState, event: ProcessorEvent) -> Result<bool, ApiError> {
    if !state.store.record_processor_event(&event).await? {
        metrics::counter!("kassa_processor_events_total", "result" => "duplicate").increment(1);
        return Ok(false);
    }
    match act(state, &event).await {
        Ok(()) => {
            state
                .store
                .finish_processor_event(&event.processor, &event.event_id, state.now())
                .await?;
            metrics::counter!("kassa_processor_events_total", "result" => "acted").increment(1);
        }
        Err(e) => {
            metrics::counter!("kassa_processor_events_total", "result" => "retry").increment(1);
            tracing::warn!(event.id = %event.event_id, error = %e, "processor event left for retry");
        }
    }
    Ok(true)
}

/// Retries events that were stored but not acted on; returns how many were settled.
pub async fn retry_pending(
    state: &AppState,
    older_than: chrono::Duration,
) -> Result<usize, ApiError> {
    let now = state.now();
    let pending = state
        .store
        .pending_processor_events(now - older_than, 100)
        .await?;
    let mut settled = 0;
    for event in pending {
        if !state
            .store
            .claim_processor_event(&event, now + backoff(event.attempts))
            .await?
        {
            continue;
        }
        match act(state, &event).await {
            Ok(()) => {
                let (processor, id) = (&event.processor, &event.event_id);
                state
                    .store
                    .finish_processor_event(processor, id, now)
                    .await?;
                settled += 1;
            }
            Err(e) => tracing::warn!(event.id = %event.event_id, attempts = event.attempts + 1,
                error = %e, "processor event failed again"),
        }
    }
    Ok(settled)
}

/// How much longer each failed try waits: doubling from nothing to an hour, so an outage
/// of Stripe or the database is ridden out without a storm of retries. Events past the
/// retention are deleted with the rest (`retention.rs`).
fn backoff(attempts: i64) -> chrono::Duration {
    let secs = 5i64.saturating_mul(1 << attempts.clamp(0, 10)).min(3600);
    chrono::Duration::seconds(secs - 5)
}

/// What the event means for Kassa: the session of its payment is brought in line with the
/// processor's word, or its order gets the refunds made at the processor.
async fn act(state: &AppState, event: &ProcessorEvent) -> Result<(), ApiError> {
    if event.processor != stripe::NAME {
        return Ok(());
    }
    let payload: serde_json::Value = serde_json::from_str(&event.payload)
        .map_err(|e| ApiError::Internal(format!("stored event is not JSON: {e}")))?;
    let kind = payload.get("type").and_then(|t| t.as_str()).unwrap_or("");
    let object = payload.pointer("/data/object").cloned().unwrap_or_default();
    let (pi, refunds) = match stripe::fact_of(kind, &object) {
        StripeFact::Payment(pi) => (pi, false),
        StripeFact::Refunded(pi) => (pi, true),
        StripeFact::Ignored => return Ok(()),
    };
    let payment = PaymentRef {
        processor: stripe::NAME.into(),
        reference: pi,
    };
    let Some(session) = state.store.session_by_payment(&payment).await? else {
        // Not a Kassa session's payment (another integration on the same account).
        tracing::info!(event.id = %event.event_id, "processor event for an unknown payment");
        return Ok(());
    };
    if refunds {
        return sync_refunds(state, &session, &payment).await;
    }
    settle::reconcile(state, &session).await
}

/// Adds to the order every refund Stripe has for the payment that the order lacks.
async fn sync_refunds(
    state: &AppState,
    session: &kassa_core::session::Session,
    payment: &PaymentRef,
) -> Result<(), ApiError> {
    let (Some(order_id), Some(stripe)) = (session.order_id, &state.processors.stripe) else {
        return Ok(());
    };
    let acct = settle::account(state, session.merchant_id, stripe.as_ref()).await?;
    let refunds = stripe.refunds_of(&acct, payment).await?;
    let now = state.now();
    state
        .store
        .update_order(session.merchant_id, order_id, &move |order| {
            for (id, amount) in &refunds {
                if order.has_processor_operation(id) {
                    continue;
                }
                order.refund(Operation {
                    id: OrderOperationId::new(),
                    amount: *amount,
                    description: Some("refunded in Stripe".into()),
                    reference: None,
                    created_at: now,
                    processor_reference: Some(id.clone()),
                })?;
            }
            Ok(())
        })
        .await?;
    Ok(())
}
