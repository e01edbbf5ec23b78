//! The POS (device) API: the device's open sessions, choosing a payment method, finalizing.

use super::error::ApiError;
use super::extract::{DeviceAuth, JsonBody, Params};
use super::payments;
use super::sessions::{command, session_id, statuses};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::Json;
use kassa_api::page::PageBody;
use kassa_api::session::{ChoosePayment, Finalize, FinalizeResponse, Session};
use kassa_api::ErrorBody;
use kassa_core::machine::Command;
use kassa_core::session::{Actor, PaymentMethod, PaymentOutcome, SessionStatus};
use kassa_core::{AttemptId, OrderId, SessionId};
use kassa_store::Scope;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(device_sessions))
        .routes(routes!(choose_payment))
        .routes(routes!(finalize_session))
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
    let content: Vec<Session> = sessions.iter().map(Session::from).collect();
    let total = content.len() as i64;
    Ok(Json(PageBody::new(content, total, 0, total.max(1))))
}

/// Choose the payment method: `CREATED` → `ACTIVE` (`ipp.session.activated`). Repeating it
/// while `ACTIVE` switches the method without a new event.
#[utoipa::path(put, path = "/ipp/v1/sessions/{session_id}/payment", tag = "pos",
    params(("session_id" = Uuid, Path)), request_body = ChoosePayment,
    responses((status = 200, body = Session), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("device" = [])))]
pub async fn choose_payment(
    State(state): State<AppState>,
    DeviceAuth(device): DeviceAuth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ChoosePayment>,
) -> Result<Json<Session>, ApiError> {
    let id = session_id(&id)?;
    let method = payment_method(&body.payment_method)?;
    let activate = Command::Activate {
        method,
        actor: Actor::Device,
    };
    let session = command(&state, Scope::Device(device.id), id, activate).await?;
    Ok(Json(Session::from(&session)))
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
#[utoipa::path(post, path = "/ipp/v1/sessions/{session_id}/finalize", tag = "pos",
    params(("session_id" = Uuid, Path)), request_body = Finalize,
    responses((status = 200, body = FinalizeResponse), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("device" = [])))]
pub async fn finalize_session(
    State(state): State<AppState>,
    DeviceAuth(device): DeviceAuth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Finalize>,
) -> Result<Json<FinalizeResponse>, ApiError> {
    let id = session_id(&id)?;
    let outcome = payments::verify(&body.payment, state.is_playground())?;
    let attempt = AttemptId(body.attempt_id);
    let answer = finalize(
        &state,
        Scope::Device(device.id),
        id,
        attempt,
        outcome,
        Actor::Device,
    )
    .await?;
    Ok(Json(answer))
}

/// Shared by the device's finalize and the playground's simulate-tap.
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
    metrics::counter!("kassa_payment_attempts_total", "outcome" => result.outcome.as_str())
        .increment(1);
    Ok(FinalizeResponse {
        result: if succeeded { "SUCCEEDED" } else { "FAILED" }.into(),
        failure_reason: (!succeeded).then(|| result.outcome.as_str().into()),
        session: Session::from(&result.session),
    })
}
