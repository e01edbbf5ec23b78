//! Order Management (`/ordermanagement/v1`): read, capture, refund, cancel.

use super::error::ApiError;
use super::extract::{JsonBody, MerchantAuth};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use kassa_api::order::{CreateCapture, CreateRefund, Order};
use kassa_api::ErrorBody;
use kassa_core::order::Operation;
use kassa_core::{OrderId, OrderOperationId};
use kassa_store::OrderChange;
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
    let order = state
        .store
        .get_order(merchant.id, order_id(&id)?)
        .await?
        .ok_or_else(|| ApiError::not_found("order"))?;
    Ok(Json(Order::from(&order)))
}

/// Capture up to the remaining authorized amount (`400 BAD_VALUE` above it).
#[utoipa::path(post, path = "/ordermanagement/v1/orders/{order_id}/captures", tag = "orders",
    params(("order_id" = Uuid, Path)), request_body = CreateCapture,
    responses((status = 201, body = Order), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("merchant" = [])))]
pub async fn capture_order(
    State(state): State<AppState>,
    MerchantAuth(merchant): MerchantAuth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<CreateCapture>,
) -> Result<(StatusCode, Json<Order>), ApiError> {
    let op = operation(
        &state,
        body.captured_amount,
        body.description,
        body.reference,
    );
    let order = change(&state, merchant.id, &id, &move |o| o.capture(op.clone())).await?;
    Ok((StatusCode::CREATED, Json(order)))
}

/// Refund up to what was captured and not yet refunded.
#[utoipa::path(post, path = "/ordermanagement/v1/orders/{order_id}/refunds", tag = "orders",
    params(("order_id" = Uuid, Path)), request_body = CreateRefund,
    responses((status = 201, body = Order), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("merchant" = [])))]
pub async fn refund_order(
    State(state): State<AppState>,
    MerchantAuth(merchant): MerchantAuth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<CreateRefund>,
) -> Result<(StatusCode, Json<Order>), ApiError> {
    let op = operation(
        &state,
        body.refunded_amount,
        body.description,
        body.reference,
    );
    let order = change(&state, merchant.id, &id, &move |o| o.refund(op.clone())).await?;
    Ok((StatusCode::CREATED, Json(order)))
}

/// Release the authorization; only while nothing is captured (`409 NOT_ALLOWED` after).
#[utoipa::path(post, path = "/ordermanagement/v1/orders/{order_id}/cancel", tag = "orders",
    params(("order_id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("merchant" = [])))]
pub async fn cancel_order(
    State(state): State<AppState>,
    MerchantAuth(merchant): MerchantAuth,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    change(&state, merchant.id, &id, &|o| o.cancel()).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn operation(
    state: &AppState,
    amount: i64,
    description: Option<String>,
    reference: Option<String>,
) -> Operation {
    Operation {
        id: OrderOperationId::new(),
        amount,
        description,
        reference,
        created_at: state.now(),
    }
}

async fn change(
    state: &AppState,
    merchant: kassa_core::MerchantId,
    id: &str,
    f: &OrderChange,
) -> Result<Order, ApiError> {
    let order = state
        .store
        .update_order(merchant, order_id(id)?, f)
        .await
        .map_err(ApiError::missing("order"))?;
    Ok(Order::from(&order))
}

fn order_id(raw: &str) -> Result<OrderId, ApiError> {
    raw.parse().map_err(|_| ApiError::not_found("order"))
}
