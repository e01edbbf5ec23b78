//! Smart readers that a processor drives from the server (Stripe Terminal's server-driven
//! integration): registering one as a `TERMINAL` device, and creating a session on it,
//! which puts the payment on the reader's screen at once.

use super::devices::{check_len, check_metadata, device_response};
use super::error::ApiError;
use super::extract::{JsonBody, MerchantAuth};
use crate::processors::{settle, Processor, ProcessorError, ReaderClaim};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use kassa_api::device::{Device, RegisterReader};
use kassa_api::ErrorBody;
use kassa_core::entities::Device as DomainDevice;
use kassa_core::limits::MAX_TEXT;
use kassa_core::machine::{self, Command};
use kassa_core::session::{Actor, NewSession, PaymentMethod, Platform, Session, SessionStatus};
use kassa_core::{DeviceId, LocationId};
use kassa_store::{Duplicate, StoreError};
use std::sync::Arc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(register_reader))
}

/// Register a processor-driven card reader as a `TERMINAL` device.
///
/// Kassa registers the reader with the processor (`registration_code`, the code the reader
/// shows) or adopts one registered there already (`reader_id`), at the processor's mirror of
/// the Kassa location (created on first use from the location's name and address, which
/// needs a `country`). Sessions created for the device go straight to the reader.
#[utoipa::path(post, path = "/ipp/v1/devices/readers", tag = "devices", request_body = RegisterReader,
    responses((status = 201, body = Device), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 409, description = "NOT_ALLOWED: the reader is registered already", body = ErrorBody),
        (status = 502, description = "PROCESSOR_ERROR", body = ErrorBody)),
    security(("merchant" = [])))]
pub async fn register_reader(
    State(state): State<AppState>,
    MerchantAuth(merchant): MerchantAuth,
    JsonBody(body): JsonBody<RegisterReader>,
) -> Result<(StatusCode, Json<Device>), ApiError> {
    check_len("name", body.name.as_deref(), MAX_TEXT)?;
    check_metadata(body.metadata.as_ref())?;
    let processor = reader_processor(&state, &body.processor)?;
    let claim = claim(&body)?;
    let location = state
        .store
        .get_location(merchant.id, LocationId(body.location_id))
        .await?
        .ok_or_else(|| {
            ApiError::field("location_id", format!("no location {}", body.location_id))
        })?;
    let acct = settle::account(&state, merchant.id, processor.as_ref()).await?;
    let reader = processor
        .register_reader(&acct, &location, &claim, body.name.as_deref())
        .await?;
    let device = DomainDevice {
        id: DeviceId::new(),
        merchant_id: merchant.id,
        location_id: Some(location.id),
        name: body.name.or(reader.label),
        platform: Platform::Terminal,
        hardware_id: Some(reader.id.clone()),
        metadata: body.metadata.unwrap_or_default(),
        push_token: None,
        created_at: state.now(),
        last_seen_at: None,
        processor_reader: Some(reader.id.clone()),
    };
    // Nobody holds a reader's token: the processor drives it, not an app.
    let unusable = crate::secrets::hash(&crate::secrets::new_device_token());
    state
        .store
        .create_device(&device, &unusable)
        .await
        .map_err(|e| match e {
            StoreError::Duplicate(Duplicate::Reader) => ApiError::NotAllowed(format!(
                "reader {} is registered already; delete its device first",
                reader.id
            )),
            other => other.into(),
        })?;
    Ok((
        StatusCode::CREATED,
        Json(device_response(&state, &device, None)),
    ))
}

fn reader_processor(state: &AppState, name: &str) -> Result<Arc<dyn Processor>, ApiError> {
    match (name, &state.processors.stripe) {
        ("stripe", Some(stripe)) => Ok(stripe.clone()),
        ("stripe", None) => Err(ApiError::field(
            "processor",
            "stripe is not configured on this server (KASSA_STRIPE_SECRET_KEY)",
        )),
        (other, _) => Err(ApiError::field(
            "processor",
            format!("unknown processor {other:?}; readers are registered with \"stripe\""),
        )),
    }
}

fn claim(body: &RegisterReader) -> Result<ReaderClaim, ApiError> {
    let code = body.registration_code.as_deref().map(str::trim);
    let id = body.reader_id.as_deref().map(str::trim);
    match (code, id) {
        (Some(code), None) if fits(code) => Ok(ReaderClaim::Code(code.to_string())),
        (None, Some(id)) if fits(id) => Ok(ReaderClaim::Existing(id.to_string())),
        (Some(_), Some(_)) | (None, None) => Err(ApiError::field(
            "registration_code",
            "send exactly one of registration_code and reader_id",
        )),
        (Some(_), None) => Err(ApiError::field(
            "registration_code",
            format!("must be 1 to {MAX_TEXT} characters"),
        )),
        (None, Some(_)) => Err(ApiError::field(
            "reader_id",
            format!("must be 1 to {MAX_TEXT} characters"),
        )),
    }
}

fn fits(text: &str) -> bool {
    !text.is_empty() && text.chars().count() <= MAX_TEXT
}

/// The reader a session for this device goes to, if the device is a processor's reader.
/// Reads the device only when a processor with readers is configured, so the create path
/// of every other server keeps its single statement.
pub async fn reader_for(state: &AppState, new: &NewSession) -> Result<Option<String>, ApiError> {
    if state.processors.stripe.is_none() {
        return Ok(None);
    }
    let device = state
        .store
        .get_device(new.merchant_id, new.device_id)
        .await?;
    Ok(device.and_then(|d| d.processor_reader))
}

/// Creates a session on a reader: the payment first, then the reader is asked to collect it,
/// and only when the processor accepted does Kassa store the session, with its payment and
/// already `ACTIVE` (`CARD_TAP`), in one transaction.
/// Anything that fails on the way is undone at the processor, best effort: a PaymentIntent
/// that nobody collects cannot take money.
pub async fn create_on_reader(
    state: &AppState,
    new: NewSession,
    reader: &str,
) -> Result<Session, ApiError> {
    let open = [SessionStatus::Created, SessionStatus::Active];
    if !state
        .store
        .device_sessions(new.device_id, &open)
        .await?
        .is_empty()
    {
        return Err(ApiError::DeviceBusy);
    }
    let stripe = state
        .processors
        .stripe
        .clone()
        .expect("reader_for found a processor");
    let processor: Arc<dyn Processor> = stripe;
    let acct = settle::account(state, new.merchant_id, processor.as_ref()).await?;
    let now = state.now();
    let (draft, _) = machine::create(new.clone(), now);
    let prepared = processor
        .prepare(&acct, &draft)
        .await?
        .ok_or_else(|| ApiError::Internal("the processor prepared no payment".into()))?;
    let payment = prepared.payment;
    let undo = |why: &'static str| {
        let (processor, acct, payment, id) =
            (processor.clone(), acct.clone(), payment.clone(), draft.id);
        async move {
            let key = format!("kassa-cancel-{id}");
            let release = crate::processors::CancelMode::Release;
            if let Err(e) = processor.cancel(&acct, &payment, &key, release).await {
                tracing::warn!(session.id = %id, error = %e, why, "cannot cancel the reader's payment");
            }
        }
    };
    let key = format!("kassa-present-{}-0", draft.id);
    if let Err(e) = processor.present(&acct, reader, &payment, &key).await {
        undo("the reader refused it").await;
        return Err(match e {
            ProcessorError::ReaderBusy => ApiError::DeviceBusy,
            other => other.into(),
        });
    }
    let id = new.id;
    let activate = Command::Activate {
        method: PaymentMethod::CardTap,
        actor: Actor::Device,
    };
    let stored = state
        .store
        .create_paid_session(new, &payment, activate, now, state.policy())
        .await;
    match stored {
        Ok(session) => Ok(session),
        Err(e) => {
            let _ = processor
                .clear_reader(&acct, reader, &format!("kassa-clear-{id}-0"))
                .await;
            undo("the session was not stored").await;
            Err(e.into())
        }
    }
}
