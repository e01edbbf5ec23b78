//! Turning what a processor says into session changes, for every route that hears it: the
//! device's finalize, a merchant's or clerk's cancel, the processor's webhooks, the
//! reconciler and the expiry of processor-backed sessions. The processor is asked first and
//! the session changes only on its word, in one transaction with the session's events.

use super::{Account, CancelMode, Processor, ProcessorError, Verdict};
use crate::http::error::ApiError;
use crate::state::AppState;
use kassa_api::session::FinalizeResponse;
use kassa_core::machine::Command;
use kassa_core::order::Operation;
use kassa_core::session::{Actor, PaymentOutcome, PaymentRef, Session, SessionStatus};
use kassa_core::{AttemptId, MerchantId, OrderId, OrderOperationId, SessionId};
use kassa_store::{Scope, StoreError};
use sha2::{Digest, Sha256};
use std::sync::Arc;

impl From<ProcessorError> for ApiError {
    fn from(e: ProcessorError) -> Self {
        match e {
            ProcessorError::Unavailable(m) => ApiError::Processor(m),
            ProcessorError::BadValue { field, message } => ApiError::field(&field, message),
            ProcessorError::NotAllowed(m) | ProcessorError::Unsupported(m) => {
                ApiError::NotAllowed(m)
            }
            ProcessorError::ReaderBusy => ApiError::DeviceBusy,
        }
    }
}

/// The merchant's account at `processor` (its connected account, if bound).
pub async fn account(
    state: &AppState,
    merchant: MerchantId,
    processor: &dyn Processor,
) -> Result<Account, ApiError> {
    let account = state
        .store
        .processor_account(merchant, processor.name())
        .await?;
    Ok(Account { merchant, account })
}

/// An attempt id that is the same every time Kassa hears of the same processor result (a
/// webhook, a poll, a retried webhook), so the attempt is recorded once.
pub fn attempt_for(processor: &str, what: &str) -> AttemptId {
    let digest = Sha256::digest(format!("kassa-attempt:{processor}:{what}"));
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    AttemptId(uuid::Builder::from_custom_bytes(bytes).into_uuid())
}

/// The idempotency key of the session's one capture: Kassa captures a payment at most once.
pub fn capture_key(session: SessionId) -> String {
    format!("kassa-capture-{session}")
}

/// Records a successful attempt for a payment the processor holds: captures it first when
/// the session asked for that, so the answer (and the order) says what really happened.
pub async fn finalize_authorized(
    state: &AppState,
    session: &Session,
    captured: bool,
    attempt_id: AttemptId,
    actor: Actor,
) -> Result<FinalizeResponse, ApiError> {
    let processor = state.processors.of_session(session);
    if let (Some(processor), Some(payment)) = (&processor, &session.payment) {
        if session.auto_capture && !captured {
            let acct = account(state, session.merchant_id, processor.as_ref()).await?;
            let amount = session.cart.order_amount();
            let key = capture_key(session.id);
            // The order's auto capture names the payment itself (`Order::from_session`).
            processor.capture(&acct, payment, amount, &key).await?;
        }
    }
    let scope = Scope::Merchant(session.merchant_id);
    let answer = finalize(
        state,
        scope,
        session.id,
        attempt_id,
        PaymentOutcome::Success,
        actor,
    );
    let answer = match answer.await {
        Err(ApiError::NotAllowed(m)) => return already_finalized(state, session, m).await,
        other => other?,
    };
    if captured && !session.auto_capture {
        record_outside_capture(state, session, &answer).await?;
    }
    Ok(answer)
}

/// A finalize that finds the session already `FINALIZED` with this very payment (the
/// processor's webhook got there first) answers as the finalize that did it.
async fn already_finalized(
    state: &AppState,
    session: &Session,
    refusal: String,
) -> Result<FinalizeResponse, ApiError> {
    let scope = Scope::Merchant(session.merchant_id);
    let now = crate::http::sessions::load(state, scope, session.id).await?;
    if now.status == SessionStatus::Finalized
        && now.payment.is_some()
        && now.payment == session.payment
    {
        return Ok(FinalizeResponse {
            result: "SUCCEEDED".into(),
            failure_reason: None,
            session: kassa_api::session::Session::from(&now),
        });
    }
    Err(ApiError::NotAllowed(refusal))
}

/// The processor reports the payment captured though the session did not ask for it (a
/// capture in the processor's dashboard): the order shows it.
async fn record_outside_capture(
    state: &AppState,
    session: &Session,
    answer: &FinalizeResponse,
) -> Result<(), ApiError> {
    let (Some(order), Some(payment)) = (answer.session.order_id, &session.payment) else {
        return Ok(());
    };
    let reference = payment.reference.clone();
    let op = Operation {
        id: OrderOperationId::new(),
        amount: session.cart.order_amount(),
        description: Some(format!("captured at {}", payment.processor)),
        reference: None,
        created_at: state.now(),
        processor_reference: Some(reference.clone()),
    };
    state
        .store
        .update_order(session.merchant_id, OrderId(order), &move |o| {
            if o.has_processor_operation(&reference) {
                return Ok(());
            }
            o.capture(op.clone())
        })
        .await?;
    Ok(())
}

/// Records one attempt through the state machine. Shared by the device's finalize, the
/// playground's simulate-tap and the processor's results.
pub async fn finalize(
    state: &AppState,
    scope: Scope,
    id: SessionId,
    attempt_id: AttemptId,
    outcome: PaymentOutcome,
    actor: Actor,
) -> Result<FinalizeResponse, ApiError> {
    let cmd = Command::Finalize {
        attempt_id,
        outcome,
        order_id: OrderId::new(),
        actor,
    };
    let result = state
        .store
        .finalize_session(scope, id, attempt_id, cmd, state.now(), state.policy())
        .await
        .map_err(ApiError::missing("session"))?;
    let succeeded = result.outcome.is_success();
    if !result.replayed {
        metrics::counter!("kassa_payment_attempts_total", "outcome" => result.outcome.as_str())
            .increment(1);
    }
    Ok(FinalizeResponse {
        result: if succeeded { "SUCCEEDED" } else { "FAILED" }.into(),
        failure_reason: (!succeeded).then(|| result.outcome.as_str().into()),
        session: kassa_api::session::Session::from(&result.session),
    })
}

/// Why a session ends: cancelled by someone, or expired.
#[derive(Debug, Clone, Copy)]
pub enum Ending {
    Cancel(Actor),
    Expire,
}

/// Cancels or expires a session, asking its processor first when it holds a payment: the
/// reader's screen is cleared and the payment cancelled. If the processor says the card
/// was already charged, the session is `FINALIZED` instead and the cancel is refused with
/// `409 NOT_ALLOWED` naming that status.
pub async fn end(
    state: &AppState,
    scope: Scope,
    id: SessionId,
    ending: Ending,
) -> Result<Session, ApiError> {
    let session = crate::http::sessions::load(state, scope, id).await?;
    let command = match ending {
        Ending::Cancel(actor) => Command::Cancel { actor },
        Ending::Expire => Command::Expire,
    };
    let (Some(processor), Some(payment)) =
        (state.processors.of_session(&session), &session.payment)
    else {
        return crate::http::sessions::command(state, scope, id, command).await;
    };
    if !session.status.is_open() {
        return crate::http::sessions::command(state, scope, id, command).await;
    }
    let acct = account(state, session.merchant_id, processor.as_ref()).await?;
    if let Some(reader) = reader_of(state, &session).await? {
        let key = format!("kassa-clear-{}-{}", session.id, session.attempts);
        processor.clear_reader(&acct, &reader, &key).await?;
    }
    let key = format!("kassa-cancel-{}", session.id);
    match processor
        .cancel(&acct, payment, &key, CancelMode::UnlessAuthorized)
        .await?
    {
        Verdict::Cancelled => crate::http::sessions::command(state, scope, id, command).await,
        Verdict::Authorized { captured } => {
            let attempt = attempt_for(
                processor.name(),
                &format!("{}:authorized", payment.reference),
            );
            let actor = result_actor(state, &session).await?;
            let answer = finalize_authorized(state, &session, captured, attempt, actor).await?;
            Err(ApiError::NotAllowed(format!(
                "cannot cancel a session that is {}: {} had already authorized the payment {}",
                answer.session.status, payment.processor, payment.reference
            )))
        }
        Verdict::Declined { .. } | Verdict::Pending(_) => Err(ApiError::NotAllowed(format!(
            "{} did not cancel payment {}; retry",
            payment.processor, payment.reference
        ))),
    }
}

/// The reader a processor drives for this session's device, if it is one.
pub async fn reader_of(state: &AppState, session: &Session) -> Result<Option<String>, ApiError> {
    let device = state
        .store
        .get_device(session.merchant_id, session.device_id)
        .await?;
    Ok(device.and_then(|d| d.processor_reader))
}

/// Who the timeline names for a result the processor reported: the reader (the session's
/// device) for a reader's payment, else the processor (the app died after the tap).
async fn result_actor(state: &AppState, session: &Session) -> Result<Actor, ApiError> {
    Ok(match reader_of(state, session).await? {
        Some(_) => Actor::Device,
        None => Actor::Processor,
    })
}

/// Brings an open processor-backed session in line with what its processor says now:
/// finalizes a payment the processor holds, records a reader's decline and presents the
/// payment again, ends a session whose payment was cancelled, and expires a due one.
/// Webhooks and the reconciler both call this; it is idempotent.
pub async fn reconcile(state: &AppState, session: &Session) -> Result<(), ApiError> {
    let (Some(processor), Some(payment)) = (state.processors.of_session(session), &session.payment)
    else {
        return Ok(());
    };
    if !session.status.is_open() {
        return Ok(());
    }
    let acct = account(state, session.merchant_id, processor.as_ref()).await?;
    let scope = Scope::Merchant(session.merchant_id);
    match processor.status(&acct, session).await? {
        Verdict::Authorized { captured } => {
            let attempt = attempt_for(
                processor.name(),
                &format!("{}:authorized", payment.reference),
            );
            let actor = result_actor(state, session).await?;
            finalize_authorized(state, session, captured, attempt, actor).await?;
        }
        Verdict::Declined { outcome, attempt } => {
            if let Some(reader) = reader_of(state, session).await? {
                let what = attempt
                    .unwrap_or_else(|| format!("{}:{}", payment.reference, session.attempts));
                let attempt_id = attempt_for(processor.name(), &what);
                let answer =
                    finalize(state, scope, session.id, attempt_id, outcome, Actor::Device).await;
                match answer {
                    Ok(a) if a.session.status == "ACTIVE" && !session.is_due(state.now()) => {
                        let again = crate::http::sessions::load(state, scope, session.id).await?;
                        present(processor.as_ref(), &acct, &again, &reader, payment).await?;
                    }
                    Ok(a) if a.session.status == "FAILED" => release(state, session).await,
                    Ok(_) | Err(ApiError::NotAllowed(_)) => {}
                    Err(e) => return Err(e),
                }
            }
            // A declined payment past the deadline: nobody will pay it now.
            if session.is_due(state.now()) {
                match end(state, scope, session.id, Ending::Expire).await {
                    Ok(_) | Err(ApiError::NotAllowed(_)) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Verdict::Cancelled => {
            let cancel = Command::Cancel {
                actor: Actor::Processor,
            };
            let _ = crate::http::sessions::command(state, scope, session.id, cancel).await;
        }
        Verdict::Pending(_) => {
            if session.is_due(state.now()) {
                match end(state, scope, session.id, Ending::Expire).await {
                    Ok(_) | Err(ApiError::NotAllowed(_)) => {}
                    Err(e) => return Err(e),
                }
            }
        }
    }
    Ok(())
}

/// A session that ended `FAILED` (the attempt limit) leaves nothing open at its processor:
/// its reader is cleared and its payment cancelled, so no later tap can hold money for a
/// closed session. Best effort: such a payment holds no money yet, and a failure is logged.
pub async fn release(state: &AppState, session: &Session) {
    let (Some(processor), Some(payment)) = (state.processors.of_session(session), &session.payment)
    else {
        return;
    };
    let result = async {
        let acct = account(state, session.merchant_id, processor.as_ref()).await?;
        if let Some(reader) = reader_of(state, session).await? {
            let key = format!("kassa-clear-{}-failed", session.id);
            processor.clear_reader(&acct, &reader, &key).await?;
        }
        let key = format!("kassa-cancel-{}", session.id);
        let mode = CancelMode::UnlessAuthorized;
        Ok::<_, ApiError>(processor.cancel(&acct, payment, &key, mode).await?)
    };
    match result.await {
        Ok(Verdict::Cancelled) => {}
        Ok(other) => tracing::warn!(session.id = %session.id, verdict = ?other,
            "a FAILED session's payment was not cancelled"),
        Err(e) => tracing::warn!(session.id = %session.id, error = %e,
            "cannot cancel a FAILED session's payment"),
    }
}

/// Puts the session's payment on its reader: the `n`th presentation after `n` declines.
pub async fn present(
    processor: &dyn Processor,
    acct: &Account,
    session: &Session,
    reader: &str,
    payment: &PaymentRef,
) -> Result<(), ApiError> {
    let key = format!("kassa-present-{}-{}", session.id, session.attempts);
    processor.present(acct, reader, payment, &key).await?;
    Ok(())
}

/// The processor a device's finalize names, or `400` on `payment.processor`.
pub fn processor_named(state: &AppState, name: &str) -> Result<Arc<dyn Processor>, ApiError> {
    state.processors.named(name).ok_or_else(|| {
        let names = state.processors.names();
        let accepted = names
            .iter()
            .map(|n| format!("{n:?}"))
            .collect::<Vec<_>>()
            .join(", ");
        if name == "simulated" {
            ApiError::field(
                "payment.processor",
                "the simulated processor is available in playground mode only",
            )
        } else {
            ApiError::field(
                "payment.processor",
                format!("unknown processor {name:?}; this server accepts {accepted}"),
            )
        }
    })
}

impl From<StoreError> for ProcessorError {
    fn from(e: StoreError) -> Self {
        ProcessorError::Unavailable(format!("storage: {e}"))
    }
}
