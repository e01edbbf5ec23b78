//! The playground testing API (`/ipp/v1/dev`): simulated devices and card taps. Every route
//! answers `404` in live mode, as if it did not exist.

use super::devices::{device_response, issue_token};
use super::error::ApiError;
use super::extract::{JsonBody, MerchantAuth, Params};
use super::params::path_id;
use super::sessions::load;
use crate::processors::settle::finalize;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use kassa_api::device::{CreateSimulatedDevice, Device};
use kassa_api::session::FinalizeResponse;
use kassa_api::ErrorBody;
use kassa_core::limits::MAX_TEXT;
use kassa_core::machine::Command;
use kassa_core::session::{Actor, PaymentMethod, Platform, SessionStatus};
use kassa_core::{AttemptId, DeviceId, LocationId};
use kassa_store::Scope;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_simulated_device))
        .routes(routes!(simulate_tap))
}

fn playground_only(state: &AppState) -> Result<(), ApiError> {
    if state.is_playground() {
        Ok(())
    } else {
        Err(ApiError::not_found("route"))
    }
}

/// Create a simulated device (playground only); its metadata gets `simulated: "true"`.
#[utoipa::path(post, path = "/ipp/v1/dev/devices", tag = "playground",
    request_body = CreateSimulatedDevice,
    responses((status = 201, body = Device), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("merchant" = [])))]
pub async fn create_simulated_device(
    State(state): State<AppState>,
    MerchantAuth(merchant): MerchantAuth,
    JsonBody(body): JsonBody<CreateSimulatedDevice>,
) -> Result<(StatusCode, Json<Device>), ApiError> {
    playground_only(&state)?;
    if body.name.trim().is_empty() || body.name.chars().count() > MAX_TEXT {
        return Err(ApiError::field(
            "name",
            format!("must be 1 to {MAX_TEXT} characters"),
        ));
    }
    // Checked with the added key: the device must fit the limits its own update would apply.
    let mut metadata = body.metadata.unwrap_or_default();
    metadata.insert("simulated".into(), "true".into());
    super::devices::check_metadata(Some(&metadata))?;
    let location = body.location_id.map(LocationId);
    super::places::require_location(&state, merchant.id, location).await?;
    let device = kassa_store::Device {
        id: DeviceId::new(),
        merchant_id: merchant.id,
        location_id: location,
        name: Some(body.name),
        platform: Platform::Terminal,
        hardware_id: None,
        metadata,
        push_token: None,
        created_at: state.now(),
        last_seen_at: None,
        processor_reader: None,
    };
    let (token, credentials) = issue_token(&state);
    state
        .store
        .create_device(&device, &crate::secrets::hash(&token))
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(device_response(&state, &device, Some(credentials))),
    ))
}

/// Act as the device: activate with `CARD_TAP` if `CREATED`, then finalize with `outcome`.
#[utoipa::path(post, path = "/ipp/v1/dev/sessions/{sessionId}/simulate-tap", tag = "playground",
    params(("sessionId" = Uuid, Path), ("outcome" = Option<String>, Query, description = "SUCCESS (default) or a decline name")),
    responses((status = 200, body = FinalizeResponse), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("merchant" = [])))]
pub async fn simulate_tap(
    State(state): State<AppState>,
    MerchantAuth(merchant): MerchantAuth,
    Path(id): Path<String>,
    params: Params,
) -> Result<Json<FinalizeResponse>, ApiError> {
    playground_only(&state)?;
    let id = path_id::<kassa_core::SessionId>(&id, "session")?;
    let outcome = params.get("outcome").unwrap_or("SUCCESS");
    let outcome = crate::processors::simulated::parse_outcome("outcome", outcome)?;
    let scope = Scope::Merchant(merchant.id);
    let session = load(&state, scope, id).await?;
    if let Some(processor) = session.processor() {
        return Err(ApiError::NotAllowed(format!(
            "this session's payment is with {processor}: collect the card on the device"
        )));
    }
    if session.status == SessionStatus::Created {
        let activate = Command::Activate {
            method: PaymentMethod::CardTap,
            actor: Actor::Simulator,
        };
        super::sessions::command(&state, scope, id, activate).await?;
    }
    let answer = finalize(
        &state,
        scope,
        id,
        AttemptId::new(),
        outcome,
        Actor::Simulator,
    )
    .await?;
    Ok(Json(answer))
}
