//! Devices: registration by the POS app with a pairing code, and the merchant's device admin.

use super::error::ApiError;
use super::extract::{JsonBody, MerchantAuth, Params};
use super::params::page_body;
use super::params::path_id;
use crate::secrets;
use crate::state::AppState;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::StatusCode;
use axum::Json;
use kassa_api::device::{Credentials, Device, RegisterDevice, UpdateDevice};
use kassa_api::page::PageBody;
use kassa_api::ErrorBody;
use kassa_core::entities::Metadata;
use kassa_core::limits::{self, MAX_PUSH_TOKEN, MAX_TEXT};
use kassa_core::session::Platform;
use kassa_core::{DeviceId, DomainError, LocationId};
use kassa_store::{DeviceFilter, DevicePatch, DeviceRegistration, StoreError};
use std::net::SocketAddr;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register_device, list_devices))
        .routes(routes!(get_device, update_device, delete_device))
}

pub fn issue_token(state: &AppState) -> (String, Credentials) {
    let token = secrets::new_device_token();
    let credentials = Credentials {
        bearer_token: token.clone(),
        issued_at: state.now(),
    };
    (token, credentials)
}

pub fn device_response(
    state: &AppState,
    d: &kassa_store::Device,
    credentials: Option<Credentials>,
) -> Device {
    let (online, last_seen) = state.hub.online(d, state.now());
    let mut d = d.clone();
    d.last_seen_at = last_seen;
    Device::new(&d, online, credentials)
}

/// Pair a POS device with a one-time code (called by the POS app, no merchant credentials).
///
/// Returns the device with its bearer token, shown once. An unknown, expired or used code is
/// `400` with the same message for all three, so the answer leaks nothing.
#[utoipa::path(post, path = "/ipp/v1/devices", tag = "devices", request_body = RegisterDevice,
    responses((status = 201, body = Device), (status = 400, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn register_device(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    JsonBody(body): JsonBody<RegisterDevice>,
) -> Result<(StatusCode, Json<Device>), ApiError> {
    if let Err(not_until) = state.registration_limiter.check_key(&peer.ip()) {
        let wait = not_until.wait_time_from(governor::clock::Clock::now(
            &governor::clock::DefaultClock::default(),
        ));
        return Err(ApiError::RateLimited {
            retry_after_secs: wait.as_secs().max(1),
        });
    }
    let platform = Platform::parse(&body.platform)
        .ok_or_else(|| ApiError::field("platform", "must be one of IOS, ANDROID, TERMINAL, WEB"))?;
    check_len("name", body.name.as_deref(), MAX_TEXT)?;
    check_len("hardware_id", body.hardware_id.as_deref(), MAX_TEXT)?;
    check_len("push_token", body.push_token.as_deref(), MAX_PUSH_TOKEN)?;
    let (token, credentials) = issue_token(&state);
    let registration = DeviceRegistration {
        id: DeviceId::new(),
        code_hash: secrets::hash(&secrets::normalize_code(&body.enrollment_code)),
        token_hash: secrets::hash(&token),
        platform,
        name: body.name,
        hardware_id: body.hardware_id,
        push_token: body.push_token,
    };
    let device = state
        .store
        .register_device(&registration, state.now())
        .await
        .map_err(|e| match e {
            StoreError::NotFound => {
                ApiError::field("enrollment_code", "is invalid, expired or already used")
            }
            other => other.into(),
        })?;
    Ok((
        StatusCode::CREATED,
        Json(device_response(&state, &device, Some(credentials))),
    ))
}

/// `400 BAD_VALUE` naming `field` when `value` is longer than `max` characters.
pub fn check_len(field: &str, value: Option<&str>, max: usize) -> Result<(), ApiError> {
    limits::check_len(field, value, max).map_err(|e| DomainError::Invalid(vec![e]).into())
}

/// The §2 metadata limits for every route that accepts a `metadata` map: `400 BAD_VALUE`
/// with one message per broken rule, each naming its path (`metadata.<key>`).
pub fn check_metadata(metadata: Option<&Metadata>) -> Result<(), ApiError> {
    let errors = metadata.map_or_else(Vec::new, |m| limits::check_metadata("metadata", m));
    match errors.is_empty() {
        true => Ok(()),
        false => Err(DomainError::Invalid(errors).into()),
    }
}

/// List the merchant's devices, newest first.
#[utoipa::path(get, path = "/ipp/v1/devices", tag = "devices",
    params(("location_id" = Option<Uuid>, Query), ("metadata" = Option<String>, Query, description = "key:value, up to 5, ANDed"),
        kassa_api::page::PageQuery),
    responses((status = 200, body = inline(PageBody<Device>))), security(("merchant" = [])))]
pub async fn list_devices(
    State(state): State<AppState>,
    MerchantAuth(merchant): MerchantAuth,
    params: Params,
) -> Result<Json<PageBody<Device>>, ApiError> {
    let filter = DeviceFilter {
        location_id: params.parse("location_id", "a UUID")?,
        metadata: params.metadata()?,
    };
    let page = params.page()?;
    let found = state.store.list_devices(merchant.id, &filter, page).await?;
    Ok(Json(page_body(&found, |d| {
        device_response(&state, d, None)
    })))
}

#[utoipa::path(get, path = "/ipp/v1/devices/{id}", tag = "devices", params(("id" = Uuid, Path)),
    responses((status = 200, body = Device), (status = 404, body = ErrorBody)), security(("merchant" = [])))]
pub async fn get_device(
    State(state): State<AppState>,
    MerchantAuth(merchant): MerchantAuth,
    Path(id): Path<String>,
) -> Result<Json<Device>, ApiError> {
    let id = path_id::<DeviceId>(&id, "device")?;
    let device = state
        .store
        .get_device(merchant.id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("device"))?;
    Ok(Json(device_response(&state, &device, None)))
}

/// Rename, re-tag or move a device; only the fields sent change.
#[utoipa::path(put, path = "/ipp/v1/devices/{id}", tag = "devices", params(("id" = Uuid, Path)),
    request_body = UpdateDevice,
    responses((status = 200, body = Device), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("merchant" = [])))]
pub async fn update_device(
    State(state): State<AppState>,
    MerchantAuth(merchant): MerchantAuth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<UpdateDevice>,
) -> Result<Json<Device>, ApiError> {
    let id = path_id::<DeviceId>(&id, "device")?;
    check_len("name", body.name.as_deref(), MAX_TEXT)?;
    check_metadata(body.metadata.as_ref())?;
    let location = body.location_id.map(LocationId);
    super::places::require_location(&state, merchant.id, location).await?;
    let patch = DevicePatch {
        name: body.name,
        metadata: body.metadata,
        location_id: location,
    };
    let device = state
        .store
        .update_device(merchant.id, id, &patch)
        .await
        .map_err(ApiError::missing("device"))?;
    Ok(Json(device_response(&state, &device, None)))
}

/// Unpair a device and revoke its token; `409 NOT_ALLOWED` while it has an open session.
#[utoipa::path(delete, path = "/ipp/v1/devices/{id}", tag = "devices", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("merchant" = [])))]
pub async fn delete_device(
    State(state): State<AppState>,
    MerchantAuth(merchant): MerchantAuth,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = path_id::<DeviceId>(&id, "device")?;
    state
        .store
        .delete_device(merchant.id, id, state.now())
        .await
        .map_err(ApiError::missing("device"))?;
    Ok(StatusCode::NO_CONTENT)
}
