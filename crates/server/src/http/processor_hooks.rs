//! `POST /processors/stripe/webhook`: Stripe's webhooks. No Kassa credentials: the
//! `Stripe-Signature` (HMAC-SHA256 with the endpoint's `whsec_…` secret, several `v1`
//! allowed, 300 s tolerance) is the authentication. A bad or missing signature is `400` and
//! changes nothing; a verified event is stored before the `2xx` and acted on once.

use super::error::ApiError;
use crate::processors::{inbox, stripe};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use kassa_api::ErrorBody;
use kassa_store::ProcessorEvent;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(stripe_webhook))
}

/// What Kassa answers Stripe.
#[derive(Debug, Serialize, ToSchema)]
pub struct Received {
    pub received: bool,
    /// True when this event id was received before (nothing was done again).
    pub duplicate: bool,
}

/// Stripe's webhooks (register this URL in Stripe's dashboard with the events
/// `payment_intent.*`, `terminal.reader.action_succeeded|failed` and `charge.refunded`).
///
/// The event is verified, deduplicated by its id and stored, then drives the session of its
/// PaymentIntent (finalized from Stripe's word, actor `PROCESSOR`, when the app died after
/// the tap; a reader's result) or the refunds of its order, in one transaction with the
/// session's own events, so merchants still get `ipp.session.finalized` and the rest.
#[utoipa::path(post, path = "/processors/stripe/webhook", tag = "processors",
    request_body(content = String, description = "Stripe's event, as Stripe signed it", content_type = "application/json"),
    params(("Stripe-Signature" = String, Header, description = "t=<unix>,v1=<hex HMAC-SHA256>")),
    responses((status = 200, body = Received), (status = 400, description = "bad or missing signature", body = ErrorBody),
        (status = 404, description = "Stripe is not configured", body = ErrorBody)))]
pub async fn stripe_webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Received>, ApiError> {
    let Some(processor) = &state.processors.stripe else {
        return Err(ApiError::not_found("route"));
    };
    let secret = processor.webhook_secret().ok_or_else(|| {
        ApiError::field(
            "Stripe-Signature",
            "cannot be verified: KASSA_STRIPE_WEBHOOK_SECRET is not configured",
        )
    })?;
    let header = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok());
    let now = state.now().timestamp();
    let (event, _) = stripe::parse_event(secret, header, &body, now).map_err(|e| {
        metrics::counter!("kassa_processor_events_total", "result" => "refused").increment(1);
        ApiError::field("Stripe-Signature", format!("refused: {e}"))
    })?;
    let record = ProcessorEvent {
        processor: stripe::NAME.into(),
        event_id: event.id,
        event_type: event.r#type,
        payload: String::from_utf8_lossy(&body).into_owned(),
        received_at: state.now(),
        attempts: 0,
    };
    let fresh = inbox::receive(&state, record).await?;
    Ok(Json(Received {
        received: true,
        duplicate: !fresh,
    }))
}
