//! Webhook endpoints: create, list, read, update, delete, rotate the secret, delivery log.

use super::error::ApiError;
use super::extract::{JsonBody, MerchantAuth, Params};
use super::params::page_body;
use super::params::path_id;
use crate::state::AppState;
use crate::webhooks::{guard, new_secret};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use kassa_api::page::PageBody;
use kassa_api::webhook::{
    CreateWebhookEndpoint, DeliveryAttempt, UpdateWebhookEndpoint, WebhookEndpoint,
};
use kassa_api::ErrorBody;
use kassa_core::event::EventType;
use kassa_core::limits::MAX_DESCRIPTION;
use kassa_core::WebhookEndpointId;
use kassa_store::WebhookEndpointPatch;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_webhook_endpoint, list_webhook_endpoints))
        .routes(routes!(
            get_webhook_endpoint,
            update_webhook_endpoint,
            delete_webhook_endpoint
        ))
        .routes(routes!(rotate_webhook_secret))
        .routes(routes!(list_webhook_deliveries))
}

/// How long the old secret keeps signing after a rotation.
const ROTATION_GRACE: chrono::Duration = chrono::Duration::minutes(10);
const MAX_URL_LEN: usize = 2048;

/// Create a webhook endpoint.
///
/// The `whsec_` secret is in this response only (and in rotate-secret's). Live mode accepts
/// `https://` URLs on public addresses only; host names are resolved now and again at every
/// delivery. Playground mode accepts any `http(s)` URL, loopback included.
#[utoipa::path(post, path = "/ipp/v1/webhook-endpoints", tag = "webhooks", request_body = CreateWebhookEndpoint,
    responses((status = 201, body = WebhookEndpoint), (status = 400, body = ErrorBody)), security(("merchant" = [])))]
pub async fn create_webhook_endpoint(
    State(state): State<AppState>,
    MerchantAuth(merchant): MerchantAuth,
    JsonBody(body): JsonBody<CreateWebhookEndpoint>,
) -> Result<(StatusCode, Json<WebhookEndpoint>), ApiError> {
    let url = check_url(&state, &body.url).await?;
    let event_types = event_types(body.events.as_deref())?;
    let description = description(body.description)?;
    let now = state.now();
    let endpoint = kassa_store::WebhookEndpoint {
        id: WebhookEndpointId::new(),
        merchant_id: merchant.id,
        url,
        event_types,
        description,
        enabled: true,
        disabled_reason: None,
        secret: new_secret(),
        previous_secret: None,
        previous_secret_expires_at: None,
        created_at: now,
        updated_at: now,
    };
    state.store.create_webhook_endpoint(&endpoint).await?;
    Ok((StatusCode::CREATED, Json(wire(&endpoint, true))))
}

/// List webhook endpoints, newest first.
#[utoipa::path(get, path = "/ipp/v1/webhook-endpoints", tag = "webhooks", params(kassa_api::page::PageQuery),
    responses((status = 200, body = inline(PageBody<WebhookEndpoint>))), security(("merchant" = [])))]
pub async fn list_webhook_endpoints(
    State(state): State<AppState>,
    MerchantAuth(merchant): MerchantAuth,
    params: Params,
) -> Result<Json<PageBody<WebhookEndpoint>>, ApiError> {
    let page = params.page()?;
    let found = state
        .store
        .list_webhook_endpoints(merchant.id, page)
        .await?;
    Ok(Json(page_body(&found, |e| wire(e, false))))
}

#[utoipa::path(get, path = "/ipp/v1/webhook-endpoints/{id}", tag = "webhooks", params(("id" = Uuid, Path)),
    responses((status = 200, body = WebhookEndpoint), (status = 404, body = ErrorBody)), security(("merchant" = [])))]
pub async fn get_webhook_endpoint(
    State(state): State<AppState>,
    MerchantAuth(merchant): MerchantAuth,
    Path(id): Path<String>,
) -> Result<Json<WebhookEndpoint>, ApiError> {
    let endpoint = state
        .store
        .get_webhook_endpoint(
            merchant.id,
            path_id::<WebhookEndpointId>(&id, "webhook endpoint")?,
        )
        .await?
        .ok_or_else(|| ApiError::not_found("webhook endpoint"))?;
    Ok(Json(wire(&endpoint, false)))
}

/// Update a webhook endpoint. `enabled: true` re-enables one that Kassa disabled after a
/// `410 Gone`; events from while it was disabled are not sent (redeliver them by id).
#[utoipa::path(put, path = "/ipp/v1/webhook-endpoints/{id}", tag = "webhooks", params(("id" = Uuid, Path)),
    request_body = UpdateWebhookEndpoint,
    responses((status = 200, body = WebhookEndpoint), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("merchant" = [])))]
pub async fn update_webhook_endpoint(
    State(state): State<AppState>,
    MerchantAuth(merchant): MerchantAuth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<UpdateWebhookEndpoint>,
) -> Result<Json<WebhookEndpoint>, ApiError> {
    let id = path_id::<WebhookEndpointId>(&id, "webhook endpoint")?;
    let url = match &body.url {
        Some(u) => Some(check_url(&state, u).await?),
        None => None,
    };
    let patch = WebhookEndpointPatch {
        url,
        event_types: body
            .events
            .as_deref()
            .map(|e| event_types(Some(e)))
            .transpose()?,
        description: body.description.map(|d| description(Some(d))).transpose()?,
        enabled: body.enabled,
    };
    let endpoint = state
        .store
        .update_webhook_endpoint(merchant.id, id, &patch, state.now())
        .await
        .map_err(ApiError::missing("webhook endpoint"))?;
    Ok(Json(wire(&endpoint, false)))
}

/// Delete a webhook endpoint with its pending deliveries and its log.
#[utoipa::path(delete, path = "/ipp/v1/webhook-endpoints/{id}", tag = "webhooks", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("merchant" = [])))]
pub async fn delete_webhook_endpoint(
    State(state): State<AppState>,
    MerchantAuth(merchant): MerchantAuth,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if state
        .store
        .delete_webhook_endpoint(
            merchant.id,
            path_id::<WebhookEndpointId>(&id, "webhook endpoint")?,
        )
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("webhook endpoint"))
    }
}

/// Replace the signing secret. For 10 minutes deliveries carry signatures with both the old
/// and the new secret, so the receiver can switch without rejecting anything.
#[utoipa::path(post, path = "/ipp/v1/webhook-endpoints/{id}/rotate-secret", tag = "webhooks", params(("id" = Uuid, Path)),
    responses((status = 200, body = WebhookEndpoint), (status = 404, body = ErrorBody)), security(("merchant" = [])))]
pub async fn rotate_webhook_secret(
    State(state): State<AppState>,
    MerchantAuth(merchant): MerchantAuth,
    Path(id): Path<String>,
) -> Result<Json<WebhookEndpoint>, ApiError> {
    let now = state.now();
    let endpoint = state
        .store
        .rotate_webhook_secret(
            merchant.id,
            path_id::<WebhookEndpointId>(&id, "webhook endpoint")?,
            &new_secret(),
            now + ROTATION_GRACE,
            now,
        )
        .await
        .map_err(ApiError::missing("webhook endpoint"))?;
    Ok(Json(wire(&endpoint, true)))
}

/// The endpoint's delivery attempts, newest first.
#[utoipa::path(get, path = "/ipp/v1/webhook-endpoints/{id}/deliveries", tag = "webhooks",
    params(("id" = Uuid, Path), kassa_api::page::PageQuery),
    responses((status = 200, body = inline(PageBody<DeliveryAttempt>)), (status = 404, body = ErrorBody)),
    security(("merchant" = [])))]
pub async fn list_webhook_deliveries(
    State(state): State<AppState>,
    MerchantAuth(merchant): MerchantAuth,
    Path(id): Path<String>,
    params: Params,
) -> Result<Json<PageBody<DeliveryAttempt>>, ApiError> {
    let page = params.page()?;
    let found = state
        .store
        .list_delivery_attempts(
            merchant.id,
            path_id::<WebhookEndpointId>(&id, "webhook endpoint")?,
            page,
        )
        .await
        .map_err(ApiError::missing("webhook endpoint"))?;
    Ok(Json(page_body(&found, |a| DeliveryAttempt {
        attempt_id: a.attempt_id,
        event_id: a.event_id.as_str().to_string(),
        event_type: a.event_type.as_str().to_string(),
        attempted_at: a.attempted_at,
        status_code: a.status_code,
        latency_ms: a.latency_ms,
        error: a.error.clone(),
        response_snippet: a.response_snippet.clone(),
        next_attempt_at: a.next_attempt_at,
    })))
}

fn wire(e: &kassa_store::WebhookEndpoint, with_secret: bool) -> WebhookEndpoint {
    let types: &[EventType] = if e.event_types.is_empty() {
        &EventType::ALL
    } else {
        &e.event_types
    };
    WebhookEndpoint {
        id: e.id.0,
        url: e.url.clone(),
        events: types.iter().map(|t| t.as_str().to_string()).collect(),
        description: e.description.clone(),
        enabled: e.enabled,
        disabled_reason: e.disabled_reason.clone(),
        secret: with_secret.then(|| e.secret.clone()),
        created_at: e.created_at,
        updated_at: e.updated_at,
    }
}

/// The form checks of both modes and, in live mode, the address checks (host names resolved).
async fn check_url(state: &AppState, raw: &str) -> Result<String, ApiError> {
    if raw.len() > MAX_URL_LEN {
        return Err(ApiError::field(
            "url",
            format!("must be at most {MAX_URL_LEN} characters"),
        ));
    }
    let live = !state.is_playground();
    let url = guard::check_url(raw, live).map_err(|r| ApiError::field("url", r))?;
    if live {
        guard::resolve_public(&url)
            .await
            .map_err(|r| ApiError::field("url", r))?;
    }
    Ok(url.to_string())
}

/// Absent means every type (stored as no filter, as is a list of all of them). An empty list
/// is refused: taken literally it would receive nothing, and reading it as "all" would turn
/// a merchant's emptied filter into the opposite of what they chose.
fn event_types(names: Option<&[String]>) -> Result<Vec<EventType>, ApiError> {
    if names.is_some_and(<[String]>::is_empty) {
        return Err(ApiError::field(
            "events",
            "must list at least one event type; omit it to receive every type",
        ));
    }
    let mut types = Vec::new();
    for (i, name) in names.unwrap_or_default().iter().enumerate() {
        let t = EventType::parse(name).ok_or_else(|| {
            ApiError::field(
                &format!("events[{i}]"),
                format!("unknown event type {name:?}"),
            )
        })?;
        if !types.contains(&t) {
            types.push(t);
        }
    }
    if types.len() == EventType::ALL.len() {
        types.clear();
    }
    Ok(types)
}

fn description(d: Option<String>) -> Result<Option<String>, ApiError> {
    super::devices::check_len("description", d.as_deref(), MAX_DESCRIPTION)?;
    Ok(d.filter(|d| !d.is_empty()))
}
