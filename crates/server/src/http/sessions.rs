//! Merchant session routes: create, get (with long-poll), list, cancel, timeline.

use super::answered::Answered;
use super::error::ApiError;
use super::extract::{Caller, JsonBody, MerchantAuth, Params};
use super::params::page_body;
use super::params::path_id;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use kassa_api::page::PageBody;
use kassa_api::session::{CreateSession, Session, Timeline, TimelineItem};
use kassa_api::ErrorBody;
use kassa_core::cart::{Cart, CartInput};
use kassa_core::limits::MAX_TEXT;
use kassa_core::machine::Command;
use kassa_core::session::{Actor, NewSession, SessionStatus};
use kassa_core::{DeviceId, LocationId, MerchantId, SessionId};
use kassa_store::{Scope, SessionFilter};
use std::time::Duration;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_session, list_sessions))
        .routes(routes!(get_session))
        .routes(routes!(cancel_session))
        .routes(routes!(session_timeline))
}

const MIN_TTL_MS: i64 = 10_000;
const MAX_TTL_MS: i64 = 86_400_000;
const MAX_WAIT_SECS: u64 = super::openapi::MAX_WAIT_SECS as u64;

/// Create a payment session and push it to the device.
///
/// Returns `200` (Kustom's status) with the session in `CREATED`. The device gets it pushed at
/// once and `ipp.session.created` is sent after this response.
///
/// For a processor-driven reader (`POST /ipp/v1/devices/readers`) the payment is created at
/// the processor and put on the reader's screen first; the session is then `ACTIVE`
/// (`CARD_TAP`, actor `DEVICE`). A busy reader is `409 DEVICE_BUSY`, an offline one
/// `409 NOT_ALLOWED` "reader offline", and nothing is stored.
#[utoipa::path(post, path = "/ipp/v1/sessions", tag = "sessions",
    params(("location_id" = Option<Uuid>, Query, description = "The device must be at this location")),
    request_body = CreateSession,
    responses((status = 200, body = Session), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 409, description = "DEVICE_BUSY, or NOT_ALLOWED for an offline reader", body = ErrorBody),
        (status = 502, description = "PROCESSOR_ERROR (reader sessions)", body = ErrorBody)),
    security(("merchant" = [])))]
pub async fn create_session(
    State(state): State<AppState>,
    MerchantAuth(merchant): MerchantAuth,
    params: Params,
    JsonBody(body): JsonBody<CreateSession>,
) -> Result<Response, ApiError> {
    let location = params.parse::<LocationId>("location_id", "a UUID")?;
    super::places::require_location(&state, merchant.id, location).await?;
    let new = new_session(&state, merchant.id, location, body)?;
    let session = match super::readers::reader_for(&state, &new).await? {
        Some(reader) => super::readers::create_on_reader(&state, new, &reader).await?,
        None => state.store.create_session(new, state.now()).await?,
    };
    metrics::counter!("kassa_sessions_created_total").increment(1);
    push_natively(&state, &session);
    let mut response = Json(Session::from(&session)).into_response();
    response
        .extensions_mut()
        .insert(Answered::new(state.signals.clone(), session.id));
    Ok(response)
}

/// Wakes a native POS app through APNs/FCM after the commit, unless the device is listening
/// on this node's stream already. Only the node that committed the create sends it, so
/// several nodes never push twice; the response does not wait for Apple or Google.
fn push_natively(state: &AppState, session: &kassa_core::session::Session) {
    if !state.pusher.is_enabled() || state.hub.is_connected(session.device_id) {
        return;
    }
    let (state, session) = (state.clone(), session.clone());
    tokio::spawn(async move {
        let device = match state
            .store
            .get_device(session.merchant_id, session.device_id)
            .await
        {
            Ok(Some(device)) if state.pusher.reaches(&device) => device,
            Ok(_) => return,
            Err(e) => return tracing::warn!(error = %e, "native push: cannot load the device"),
        };
        let store = state.store.clone();
        if let Err(e) = state
            .pusher
            .notify_and_prune(store.as_ref(), &device, session.id)
            .await
        {
            tracing::warn!(error = %e, session.id = %session.id, "native push failed");
        }
    });
}

/// Turns the request into a valid `NewSession`, reporting every broken rule at once.
fn new_session(
    state: &AppState,
    merchant: MerchantId,
    location: Option<LocationId>,
    body: CreateSession,
) -> Result<NewSession, ApiError> {
    let mut errors = Vec::new();
    let mut items = Vec::with_capacity(body.order_items.len());
    for (i, item) in body.order_items.iter().enumerate() {
        match item.to_line() {
            Ok(line) => items.push(line),
            Err(m) => errors.push(format!("order_items[{i}].type: {m}")),
        }
    }
    for (name, value) in [
        ("merchant_reference1", &body.merchant_reference1),
        ("merchant_reference2", &body.merchant_reference2),
    ] {
        if value.as_ref().is_some_and(|v| v.chars().count() > MAX_TEXT) {
            errors.push(format!("{name}: must be at most {MAX_TEXT} characters"));
        }
    }
    let ttl_ms = body
        .expires_in
        .unwrap_or(state.config.session_ttl.as_millis() as i64);
    if !(MIN_TTL_MS..=MAX_TTL_MS).contains(&ttl_ms) {
        errors.push(format!(
            "expires_in: must be between {MIN_TTL_MS} and {MAX_TTL_MS} milliseconds"
        ));
    }
    let cart = Cart::new(CartInput {
        order_amount: body.order_amount,
        order_tax_amount: body.order_tax_amount,
        purchase_currency: body.purchase_currency,
        items,
    });
    let cart = match cart {
        Ok(cart) if errors.is_empty() => cart,
        Ok(_) => return Err(ApiError::BadValue(errors)),
        Err(fields) => {
            errors.extend(fields.iter().map(ToString::to_string));
            return Err(ApiError::BadValue(errors));
        }
    };
    Ok(NewSession {
        id: SessionId::new(),
        merchant_id: merchant,
        device_id: DeviceId(body.device_id),
        location_id: location,
        cart,
        purchase_started_at: body.purchase_started_at,
        merchant_reference1: body.merchant_reference1,
        merchant_reference2: body.merchant_reference2,
        ttl: chrono::Duration::milliseconds(ttl_ms),
        auto_capture: body.auto_capture.unwrap_or(true),
    })
}

/// Get a session (merchant or its device).
///
/// Kassa extension: `wait=<seconds ≤ 30>&if_status=<STATUS>` long-polls, answering as soon as
/// the status differs from `if_status`, or with the unchanged session at the deadline.
#[utoipa::path(get, path = "/ipp/v1/sessions/{session_id}", tag = "sessions",
    params(("session_id" = Uuid, Path), ("wait" = Option<u64>, Query), ("if_status" = Option<String>, Query)),
    responses((status = 200, body = Session), (status = 404, body = ErrorBody)),
    security(("merchant" = []), ("device" = [])))]
pub async fn get_session(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    params: Params,
) -> Result<Json<Session>, ApiError> {
    let id = path_id::<SessionId>(&id, "session")?;
    let wait = params
        .parse::<u64>("wait", "a number of seconds")?
        .unwrap_or(0);
    if wait > MAX_WAIT_SECS {
        return Err(ApiError::field(
            "wait",
            format!("must be at most {MAX_WAIT_SECS}"),
        ));
    }
    let if_status = params
        .get("if_status")
        .map(|s| {
            SessionStatus::parse(s)
                .ok_or_else(|| ApiError::field("if_status", "must be a session status"))
        })
        .transpose()?;
    let mut notices = state.signals.subscribe();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(wait);
    loop {
        let session = load(&state, caller.scope(), id).await?;
        let changed = if_status.is_none_or(|s| s != session.status);
        if wait == 0 || changed {
            return Ok(Json(view(&caller, &session)));
        }
        let waited = tokio::time::timeout_at(deadline, async {
            while let Ok(n) = notices.recv().await {
                if n.session_id == id {
                    break;
                }
            }
        })
        .await;
        if waited.is_err() {
            return Ok(Json(view(&caller, &session)));
        }
    }
}

/// List sessions, newest first.
#[utoipa::path(get, path = "/ipp/v1/sessions", tag = "sessions",
    params(("status" = Option<String>, Query, description = "One status or a comma list"),
        ("device_id" = Option<Uuid>, Query), ("location_id" = Option<Uuid>, Query),
        ("merchant_reference1" = Option<String>, Query), ("created_after" = Option<String>, Query),
        kassa_api::page::PageQuery),
    responses((status = 200, body = inline(PageBody<Session>))),
    security(("merchant" = [])))]
pub async fn list_sessions(
    State(state): State<AppState>,
    MerchantAuth(merchant): MerchantAuth,
    params: Params,
) -> Result<Json<PageBody<Session>>, ApiError> {
    let filter = SessionFilter {
        statuses: statuses(params.get("status"))?,
        device_id: params.parse("device_id", "a UUID")?,
        location_id: params.parse("location_id", "a UUID")?,
        merchant_reference1: params.get("merchant_reference1").map(str::to_string),
        created_after: params.parse("created_after", "an RFC 3339 timestamp")?,
    };
    let page = params.page()?;
    let found = state
        .store
        .list_sessions(merchant.id, &filter, page)
        .await?;
    Ok(Json(page_body(&found, Session::from)))
}

/// Cancel a session (merchant backend or the clerk's device).
///
/// Cancelling a `CANCELLED` session is a no-op `200`; a `FINALIZED`, `EXPIRED` or `FAILED`
/// one is `409 NOT_ALLOWED` naming its status.
///
/// A session whose payment is at a processor is cancelled there first (and its reader
/// cleared). If the processor says the card was already authorized, the session is
/// `FINALIZED` instead and the cancel answers `409 NOT_ALLOWED` naming that status; if the
/// processor does not answer, `502 PROCESSOR_ERROR` and nothing changed.
#[utoipa::path(put, path = "/ipp/v1/sessions/{session_id}/cancel", tag = "sessions",
    params(("session_id" = Uuid, Path)),
    responses((status = 200, body = Session), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 502, description = "PROCESSOR_ERROR", body = ErrorBody)),
    security(("merchant" = []), ("device" = [])))]
pub async fn cancel_session(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Session>, ApiError> {
    let actor = match caller {
        Caller::Merchant(_) => Actor::Merchant,
        Caller::Device(_) => Actor::Device,
    };
    let id = path_id::<SessionId>(&id, "session")?;
    let ending = crate::processors::settle::Ending::Cancel(actor);
    let session = crate::processors::settle::end(&state, caller.scope(), id, ending).await?;
    Ok(Json(view(&caller, &session)))
}

/// The session as the caller may see it: its own device also gets the payment's secret.
fn view(caller: &Caller, session: &kassa_core::session::Session) -> Session {
    match caller {
        Caller::Merchant(_) => Session::from(session),
        Caller::Device(_) => Session::for_device(session),
    }
}

/// The session's timeline, oldest first: every transition and every payment attempt.
#[utoipa::path(get, path = "/ipp/v1/sessions/{session_id}/events", tag = "sessions",
    params(("session_id" = Uuid, Path)),
    responses((status = 200, body = Timeline), (status = 404, body = ErrorBody)),
    security(("merchant" = []), ("device" = [])))]
pub async fn session_timeline(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Timeline>, ApiError> {
    let id = path_id::<SessionId>(&id, "session")?;
    let entries = state
        .store
        .timeline(caller.scope(), id)
        .await?
        .ok_or_else(|| ApiError::not_found("session"))?;
    Ok(Json(Timeline {
        session_id: id.0,
        events: entries.iter().map(TimelineItem::from).collect(),
    }))
}

pub async fn load(
    state: &AppState,
    scope: Scope,
    id: SessionId,
) -> Result<kassa_core::session::Session, ApiError> {
    state
        .store
        .get_session(scope, id)
        .await?
        .ok_or_else(|| ApiError::not_found("session"))
}

pub async fn command(
    state: &AppState,
    scope: Scope,
    id: SessionId,
    command: Command,
) -> Result<kassa_core::session::Session, ApiError> {
    state
        .store
        .command_session(scope, id, command, state.now(), state.policy())
        .await
        .map_err(ApiError::missing("session"))
}

pub fn statuses(raw: Option<&str>) -> Result<Vec<SessionStatus>, ApiError> {
    raw.map(|list| {
        list.split(',')
            .map(|s| {
                SessionStatus::parse(s.trim())
                    .ok_or_else(|| ApiError::field("status", format!("unknown status {s:?}")))
            })
            .collect()
    })
    .transpose()
    .map(Option::unwrap_or_default)
}
