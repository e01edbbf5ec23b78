//! The POS (device) API: the device's open sessions, choosing a payment method, finalizing.

use super::error::ApiError;
use super::extract::{DeviceAuth, JsonBody, Params};
use super::params::path_id;
use super::sessions::{command, load, statuses};
use crate::processors::{settle, Verdict};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::Json;
use kassa_api::device::ConnectionToken;
use kassa_api::page::PageBody;
use kassa_api::session::{ChoosePayment, Finalize, FinalizeResponse, Session};
use kassa_api::ErrorBody;
use kassa_core::entities::Device;
use kassa_core::machine::Command;
use kassa_core::session::{Actor, PaymentMethod, SessionStatus};
use kassa_core::AttemptId;
use kassa_store::Scope;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(device_sessions))
        .routes(routes!(choose_payment))
        .routes(routes!(finalize_session))
        .routes(routes!(connection_token))
}

/// The device's sessions, newest first (default: the open ones), to catch up after reconnecting.
#[utoipa::path(get, path = "/ipp/v1/device/sessions", tag = "pos",
    params(("status" = Option<String>, Query, description = "Comma list; default CREATED,ACTIVE")),
    responses((status = 200, body = inline(PageBody<Session>)), (status = 401, body = ErrorBody)),
    security(("device" = [])))]
pub async fn device_sessions(
    State(state): State<AppState>,
    DeviceAuth(device): DeviceAuth,
    params: Params,
) -> Result<Json<PageBody<Session>>, ApiError> {
    let mut wanted = statuses(params.get("status"))?;
    if wanted.is_empty() {
        wanted = vec![SessionStatus::Created, SessionStatus::Active];
    }
    let sessions = state.store.device_sessions(device.id, &wanted).await?;
    let content: Vec<Session> = sessions.iter().map(Session::for_device).collect();
    let total = content.len() as i64;
    Ok(Json(PageBody::new(content, total, 0, total.max(1))))
}

/// Choose the payment method: `CREATED` → `ACTIVE` (`ipp.session.activated`). Repeating it
/// while `ACTIVE` switches the method without a new event.
///
/// With `CARD_TAP` on a server with a real card processor, Kassa creates (or reuses) the
/// session's one payment there first, and the answer carries `processor` with the
/// `client_secret` the app's SDK collects it with. A server with no processor for this
/// device answers `409 NOT_ALLOWED` (live mode: no processor configured, or the web POS,
/// which cannot collect cards); a processor that fails answers `502 PROCESSOR_ERROR`.
#[utoipa::path(put, path = "/ipp/v1/sessions/{session_id}/payment", tag = "pos",
    params(("session_id" = Uuid, Path)), request_body = ChoosePayment,
    responses((status = 200, body = Session), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 502, description = "PROCESSOR_ERROR", body = ErrorBody)),
    security(("device" = [])))]
pub async fn choose_payment(
    State(state): State<AppState>,
    DeviceAuth(device): DeviceAuth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ChoosePayment>,
) -> Result<Json<Session>, ApiError> {
    let id = path_id::<kassa_core::SessionId>(&id, "session")?;
    let method = payment_method(&body.payment_method)?;
    let scope = Scope::Device(device.id);
    let activate = Command::Activate {
        method,
        actor: Actor::Device,
    };
    let session = load(&state, scope, id).await?;
    if session.payment.is_some() && session.is_due(state.now()) {
        // Past its deadline, a session whose payment is at a processor expires through the
        // processor (its payment cancelled first), never by the clock alone.
        settle::end(&state, scope, id, settle::Ending::Expire).await?;
    }
    if method != PaymentMethod::CardTap || session.is_due(state.now()) || !session.status.is_open()
    {
        let session = command(&state, scope, id, activate).await?;
        return Ok(Json(Session::for_device(&session)));
    }
    let processor = state
        .processors
        .for_device(&device)
        .map_err(ApiError::NotAllowed)?;
    let acct = settle::account(&state, device.merchant_id, processor.as_ref()).await?;
    let session = match processor.prepare(&acct, &session).await? {
        Some(prepared) => state
            .store
            .attach_payment(
                scope,
                id,
                &prepared.payment,
                prepared.client_secret.as_deref(),
                Some(activate),
                state.now(),
                state.policy(),
            )
            .await
            .map_err(ApiError::missing("session"))?,
        None => command(&state, scope, id, activate).await?,
    };
    Ok(Json(Session::for_device(&session)))
}

pub fn payment_method(raw: &str) -> Result<PaymentMethod, ApiError> {
    PaymentMethod::parse(raw).ok_or_else(|| {
        ApiError::field(
            "payment_method",
            "must be one of CARD_TAP, KLARNA, SWISH, VIPPS",
        )
    })
}

/// Record a payment attempt verified with its processor.
///
/// Success: `FINALIZED` with an order. Decline: stays `ACTIVE` (`ipp.payment.failed`); at the
/// attempt limit `FAILED`. The same `attempt_id` again returns the first answer.
///
/// With a real processor (`{"processor":"stripe","reference":"pi_…"}`) Kassa reads the
/// payment from the processor: only this session's own payment, for its amount and
/// currency, counts (`400 BAD_VALUE` on `payment.reference` otherwise); an authorized payment
/// succeeds (captured first when `auto_capture`), a declined one is a declined attempt
/// named by the decline code, and one that is not complete is `409 NOT_ALLOWED` with no
/// attempt recorded. If the processor already finalized the session (its webhook came
/// first), the answer is the same success.
#[utoipa::path(post, path = "/ipp/v1/sessions/{session_id}/finalize", tag = "pos",
    params(("session_id" = Uuid, Path)), request_body = Finalize,
    responses((status = 200, body = FinalizeResponse), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 502, description = "PROCESSOR_ERROR", body = ErrorBody)),
    security(("device" = [])))]
pub async fn finalize_session(
    State(state): State<AppState>,
    DeviceAuth(device): DeviceAuth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Finalize>,
) -> Result<Json<FinalizeResponse>, ApiError> {
    let id = path_id::<kassa_core::SessionId>(&id, "session")?;
    let processor = settle::processor_named(&state, &body.payment.processor)?;
    let scope = Scope::Device(device.id);
    let session = load(&state, scope, id).await?;
    let own = session.processor().unwrap_or("simulated");
    if own != processor.name() && session.status.is_open() {
        return Err(ApiError::field(
            "payment.processor",
            format!("this session's payment is with {own:?}"),
        ));
    }
    let acct = settle::account(&state, device.merchant_id, processor.as_ref()).await?;
    let attempt = AttemptId(body.attempt_id);
    let answer = match processor.verify(&acct, &session, &body.payment).await? {
        Verdict::Authorized { captured } => {
            settle::finalize_authorized(&state, &session, captured, attempt, Actor::Device).await?
        }
        Verdict::Declined {
            outcome,
            attempt: failed,
        } => {
            // One decline is one attempt: the processor's failed charge names it, so a
            // finalize repeated before the next tap (a new attempt_id, the same decline)
            // answers as the first instead of counting it again.
            let attempt = failed.map_or(attempt, |f| settle::attempt_for(processor.name(), &f));
            let answer =
                settle::finalize(&state, scope, id, attempt, outcome, Actor::Device).await?;
            if answer.session.status == "FAILED" {
                settle::release(&state, &session).await;
            }
            answer
        }
        Verdict::Pending(status) => {
            return Err(ApiError::NotAllowed(format!(
                "the payment is not complete ({} status {status}): collect the card first",
                processor.name()
            )))
        }
        Verdict::Cancelled => {
            return Err(ApiError::NotAllowed(format!(
                "the payment was cancelled at {}",
                processor.name()
            )))
        }
    };
    Ok(Json(answer))
}

/// A connection token for the POS app's card SDK (Stripe Terminal), from the processor
/// that collects this device's cards, scoped to the device's location; `location` is the
/// processor's id of that location (`tml_…`), which the SDK connects Tap to Pay with.
#[utoipa::path(post, path = "/ipp/v1/device/connection-token", tag = "pos",
    responses((status = 200, body = ConnectionToken), (status = 401, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 502, description = "PROCESSOR_ERROR", body = ErrorBody)),
    security(("device" = [])))]
pub async fn connection_token(
    State(state): State<AppState>,
    DeviceAuth(device): DeviceAuth,
) -> Result<Json<ConnectionToken>, ApiError> {
    let processor = state
        .processors
        .for_device(&device)
        .map_err(ApiError::NotAllowed)?;
    let location = device_location(&state, &device).await?;
    let acct = settle::account(&state, device.merchant_id, processor.as_ref()).await?;
    let (secret, location) = processor.connection_token(&acct, location.as_ref()).await?;
    Ok(Json(ConnectionToken { secret, location }))
}

async fn device_location(
    state: &AppState,
    device: &Device,
) -> Result<Option<kassa_core::entities::Location>, ApiError> {
    let Some(location) = device.location_id else {
        return Ok(None);
    };
    Ok(state
        .store
        .get_location(device.merchant_id, location)
        .await?)
}
