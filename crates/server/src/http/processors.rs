//! `GET /ipp/v1/processors`: the card processors this server takes payments with, for the
//! merchant's status page (the portal's account page reads it). Configuration, never secrets.

use super::error::ApiError;
use super::extract::MerchantAuth;
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use kassa_api::processor::{ProcessorStatus, Processors};
use kassa_api::ErrorBody;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_processors))
}

/// The card processors of this server: `simulated` (playground only: no money moves) and
/// `stripe` when configured, with whether its webhooks can be verified and the connected
/// account this merchant is bound to. An empty list on a live server means no card can be
/// taken (`PUT …/payment` with `CARD_TAP` answers `409`).
#[utoipa::path(get, path = "/ipp/v1/processors", tag = "processors",
    responses((status = 200, body = Processors), (status = 401, body = ErrorBody)),
    security(("merchant" = [])))]
pub async fn list_processors(
    State(state): State<AppState>,
    MerchantAuth(merchant): MerchantAuth,
) -> Result<Json<Processors>, ApiError> {
    let mut processors = Vec::new();
    if state.processors.simulated.is_some() {
        processors.push(ProcessorStatus {
            name: "simulated".into(),
            mode: "test".into(),
            devices: "the web POS and simulated devices (and every device when no other \
                      processor is configured)"
                .into(),
            api_version: None,
            webhooks: None,
            account: None,
        });
    }
    if let Some(stripe) = &state.processors.stripe {
        let account = state.store.processor_account(merchant.id, "stripe").await?;
        processors.push(ProcessorStatus {
            name: "stripe".into(),
            mode: if state.is_playground() {
                "test"
            } else {
                "live"
            }
            .into(),
            devices: "native POS apps (Tap to Pay, mobile readers) and registered readers".into(),
            api_version: Some(kassa_stripe::STRIPE_VERSION.into()),
            webhooks: Some(stripe.webhook_secret().is_some()),
            account,
        });
    }
    Ok(Json(Processors { processors }))
}
