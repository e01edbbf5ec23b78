//! Order Management (`/ordermanagement/v1`): read, capture, refund, cancel.

use super::devices::check_len;
use super::error::ApiError;
use super::extract::{JsonBody, MerchantAuth};
use super::params::path_id;
use crate::processors::{settle, Account, CancelMode, Processor, Verdict};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use kassa_api::order::{CreateCapture, CreateRefund, Order};
use kassa_api::ErrorBody;
use kassa_core::limits;
use kassa_core::order::{Operation, Order as DomainOrder};
use kassa_core::session::PaymentRef;
use kassa_core::{MerchantId, OrderId, OrderOperationId};
use kassa_store::OrderChange;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_order))
        .routes(routes!(capture_order))
        .routes(routes!(refund_order))
        .routes(routes!(cancel_order))
}

#[utoipa::path(get, path = "/ordermanagement/v1/orders/{order_id}", tag = "orders",
    params(("order_id" = Uuid, Path)),
    responses((status = 200, body = Order), (status = 404, body = ErrorBody)), security(("merchant" = [])))]
pub async fn get_order(
    State(state): State<AppState>,
    MerchantAuth(merchant): MerchantAuth,
    Path(id): Path<String>,
) -> Result<Json<Order>, ApiError> {
    let order = load(&state, merchant.id, &id).await?;
    Ok(Json(Order::from(&order)))
}

/// Capture up to the remaining authorized amount (`400 BAD_VALUE` above it).
///
/// On a processor-paid order the processor captures first and the order changes only when
/// it confirmed; the capture's `processor_reference` is the processor's payment (`pi_…`).
/// Stripe captures a payment once and releases what a capture leaves: a second capture is
/// `409 NOT_ALLOWED`. A processor failure is `502 PROCESSOR_ERROR`, the order unchanged.
#[utoipa::path(post, path = "/ordermanagement/v1/orders/{order_id}/captures", tag = "orders",
    params(("order_id" = Uuid, Path)), request_body = CreateCapture,
    responses((status = 201, body = Order), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 502, description = "PROCESSOR_ERROR", body = ErrorBody)),
    security(("merchant" = [])))]
pub async fn capture_order(
    State(state): State<AppState>,
    MerchantAuth(merchant): MerchantAuth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<CreateCapture>,
) -> Result<(StatusCode, Json<Order>), ApiError> {
    let order = load(&state, merchant.id, &id).await?;
    let mut op = operation(
        &state,
        body.captured_amount,
        body.description,
        body.reference,
    )?;
    check(&order, &op, DomainOrder::capture)?;
    if let Some((processor, acct, payment)) = processor_of(&state, &order).await? {
        let key = settle::capture_key(order.session_id);
        op.processor_reference = processor.capture(&acct, &payment, op.amount, &key).await?;
    }
    let order = change(&state, merchant.id, order.id, &move |o| {
        apply(o, &op, DomainOrder::capture)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(order)))
}

/// Refund up to what was captured and not yet refunded.
///
/// On a processor-paid order the processor refunds first (`processor_reference`: `re_…`).
/// After a `502 PROCESSOR_ERROR`, retry with the same `Idempotency-Key`: the processor gets
/// the same key of its own, so a refund it made but could not confirm is not made again.
#[utoipa::path(post, path = "/ordermanagement/v1/orders/{order_id}/refunds", tag = "orders",
    params(("order_id" = Uuid, Path)), request_body = CreateRefund,
    responses((status = 201, body = Order), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 502, description = "PROCESSOR_ERROR", body = ErrorBody)),
    security(("merchant" = [])))]
pub async fn refund_order(
    State(state): State<AppState>,
    MerchantAuth(merchant): MerchantAuth,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<CreateRefund>,
) -> Result<(StatusCode, Json<Order>), ApiError> {
    let order = load(&state, merchant.id, &id).await?;
    let mut op = operation(
        &state,
        body.refunded_amount,
        body.description,
        body.reference,
    )?;
    check(&order, &op, DomainOrder::refund)?;
    if let Some((processor, acct, payment)) = processor_of(&state, &order).await? {
        let key = refund_key(&order, &headers);
        op.processor_reference = processor.refund(&acct, &payment, op.amount, &key).await?;
    }
    let order = change(&state, merchant.id, order.id, &move |o| {
        apply(o, &op, DomainOrder::refund)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(order)))
}

/// Release the authorization; only while nothing is captured (`409 NOT_ALLOWED` after).
/// On a processor-paid order the processor cancels the payment first.
#[utoipa::path(post, path = "/ordermanagement/v1/orders/{order_id}/cancel", tag = "orders",
    params(("order_id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 502, description = "PROCESSOR_ERROR", body = ErrorBody)),
    security(("merchant" = [])))]
pub async fn cancel_order(
    State(state): State<AppState>,
    MerchantAuth(merchant): MerchantAuth,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let order = load(&state, merchant.id, &id).await?;
    let mut probe = order.clone();
    probe.cancel()?;
    if let (false, Some((processor, acct, payment))) =
        (order.cancelled, processor_of(&state, &order).await?)
    {
        let key = format!("kassa-cancel-order-{}", order.id);
        match processor
            .cancel(&acct, &payment, &key, CancelMode::Release)
            .await?
        {
            Verdict::Cancelled => {}
            Verdict::Authorized { captured: true } => {
                return Err(ApiError::NotAllowed(format!(
                    "{} has captured payment {}: refund the order instead",
                    payment.processor, payment.reference
                )))
            }
            _ => {
                return Err(ApiError::NotAllowed(format!(
                    "{} did not cancel payment {}; retry",
                    payment.processor, payment.reference
                )))
            }
        }
    }
    change(&state, merchant.id, order.id, &|o| o.cancel()).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn operation(
    state: &AppState,
    amount: i64,
    description: Option<String>,
    reference: Option<String>,
) -> Result<Operation, ApiError> {
    check_len(
        "description",
        description.as_deref(),
        limits::MAX_DESCRIPTION,
    )?;
    check_len("reference", reference.as_deref(), limits::MAX_TEXT)?;
    Ok(Operation {
        id: OrderOperationId::new(),
        amount,
        description,
        reference,
        created_at: state.now(),
        processor_reference: None,
    })
}

/// The processor's idempotency key for a refund. From the merchant's `Idempotency-Key`
/// when it sent one, so its retry after a `502` is the same refund at the processor even if
/// the processor's webhook recorded that refund on the order meanwhile. Without one, the
/// order's next refund number: the same until a refund is recorded, a new one after.
fn refund_key(order: &DomainOrder, headers: &HeaderMap) -> String {
    match headers.get("idempotency-key").map(|k| k.as_bytes()) {
        Some(key) => {
            let digest = hex::encode(Sha256::digest(key));
            format!("kassa-refund-{}-k{}", order.id, &digest[..32])
        }
        None => format!("kassa-refund-{}-{}", order.id, order.refunds.len() + 1),
    }
}

type Step = fn(&mut DomainOrder, Operation) -> Result<(), kassa_core::DomainError>;

/// The domain's verdict before any money moves: an amount or state the order forbids is
/// refused without calling the processor.
fn check(order: &DomainOrder, op: &Operation, step: Step) -> Result<(), ApiError> {
    let mut probe = order.clone();
    step(&mut probe, op.clone())?;
    Ok(())
}

/// Applies a confirmed operation, once: the processor's id is recorded at most once (a
/// retried call, or the processor's webhook about this refund, got there first).
fn apply(
    order: &mut DomainOrder,
    op: &Operation,
    step: Step,
) -> Result<(), kassa_core::DomainError> {
    if let Some(reference) = &op.processor_reference {
        if order.has_processor_operation(reference) {
            return Ok(());
        }
    }
    step(order, op.clone())
}

/// The processor that moves this order's money, the merchant's account there and the
/// payment; `None` for a simulated order.
async fn processor_of(
    state: &AppState,
    order: &DomainOrder,
) -> Result<Option<(Arc<dyn Processor>, Account, PaymentRef)>, ApiError> {
    let Some(payment) = order.payment.clone() else {
        return Ok(None);
    };
    let processor = state.processors.named(&payment.processor).ok_or_else(|| {
        ApiError::Processor(format!(
            "the order was paid with {}, which this server is not configured for",
            payment.processor
        ))
    })?;
    let acct = settle::account(state, order.merchant_id, processor.as_ref()).await?;
    Ok(Some((processor, acct, payment)))
}

async fn load(state: &AppState, merchant: MerchantId, id: &str) -> Result<DomainOrder, ApiError> {
    state
        .store
        .get_order(merchant, path_id::<OrderId>(id, "order")?)
        .await?
        .ok_or_else(|| ApiError::not_found("order"))
}

async fn change(
    state: &AppState,
    merchant: MerchantId,
    id: OrderId,
    f: &OrderChange,
) -> Result<Order, ApiError> {
    let order = state
        .store
        .update_order(merchant, id, f)
        .await
        .map_err(ApiError::missing("order"))?;
    Ok(Order::from(&order))
}
