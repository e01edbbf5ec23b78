//! The merchant's event feed (`GET /ipp/v1/events`, long-polling) and event replay.

use super::error::ApiError;
use super::extract::{MerchantAuth, Params};
use crate::state::AppState;
use crate::webhooks::envelope;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use kassa_api::event::EventList;
use kassa_api::webhook::Redelivery;
use kassa_api::ErrorBody;
use kassa_core::event::EventType;
use kassa_core::{EventId, SessionId};
use kassa_store::{EventFilter, StoreError};
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_events))
        .routes(routes!(redeliver_event))
}

const MAX_WAIT_SECS: u64 = super::openapi::MAX_WAIT_SECS as u64;
const DEFAULT_LIMIT: i64 = 100;
pub const MAX_LIMIT: i64 = 1000;

/// The merchant's events, oldest first, after the `after` cursor (an event id).
///
/// `wait=<seconds ≤ 30>` long-polls: with nothing after the cursor the call answers as soon
/// as an event arrives, or empty at the deadline. Pass `next_cursor` as `after` to go on.
/// `kassa listen` is built on this. Events are kept for `KASSA_EVENT_RETENTION` (30 days by
/// default); older ones, with their delivery log, are deleted, and a cursor naming one is
/// `400 BAD_VALUE` ("no such event"): start again without `after`.
#[utoipa::path(get, path = "/ipp/v1/events", tag = "webhooks",
    params(("type" = Option<String>, Query), ("session_id" = Option<Uuid>, Query),
        ("after" = Option<String>, Query, description = "An event id: only events after it"),
        ("wait" = Option<u64>, Query, description = "Seconds to wait for an event, at most 30"),
        ("limit" = Option<i64>, Query, description = "1..1000, default 100")),
    responses((status = 200, body = EventList), (status = 400, body = ErrorBody)), security(("merchant" = [])))]
pub async fn list_events(
    State(state): State<AppState>,
    MerchantAuth(merchant): MerchantAuth,
    params: Params,
) -> Result<Json<EventList>, ApiError> {
    let event_type = params
        .get("type")
        .map(|t| EventType::parse(t).ok_or_else(|| ApiError::field("type", "unknown event type")))
        .transpose()?;
    let after = params
        .get("after")
        .map(|a| EventId::parse(a).ok_or_else(|| ApiError::field("after", "no such event")))
        .transpose()?;
    let wait = params
        .parse::<u64>("wait", "a number of seconds")?
        .unwrap_or(0);
    if wait > MAX_WAIT_SECS {
        return Err(ApiError::field(
            "wait",
            format!("must be at most {MAX_WAIT_SECS}"),
        ));
    }
    let limit = params
        .parse::<i64>("limit", "a number")?
        .unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::field(
            "limit",
            format!("must be between 1 and {MAX_LIMIT}"),
        ));
    }
    let filter = EventFilter {
        event_type,
        session_id: params.parse::<SessionId>("session_id", "a UUID")?,
        after: after.clone(),
        limit,
    };
    // Subscribe before reading, so an event committed in between still wakes us.
    let mut notices = state.signals.subscribe();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(wait);
    loop {
        let events = state
            .store
            .list_events(merchant.id, &filter)
            .await
            .map_err(|e| match e {
                StoreError::NotFound => ApiError::field("after", "no such event"),
                other => other.into(),
            })?;
        if !events.is_empty() || wait == 0 {
            let next_cursor = events
                .last()
                .map(|e| e.id.as_str().to_string())
                .or_else(|| after.as_ref().map(|a| a.as_str().to_string()));
            return Ok(Json(EventList {
                events: events.iter().map(envelope).collect(),
                next_cursor,
            }));
        }
        let woken = tokio::time::timeout_at(deadline, async {
            loop {
                match notices.recv().await {
                    Ok(n) if n.merchant_id == merchant.id && n.has_events => return,
                    Ok(_) => {}
                    Err(RecvError::Lagged(_)) => return,
                    Err(RecvError::Closed) => std::future::pending::<()>().await,
                }
            }
        })
        .await;
        if woken.is_err() {
            return Ok(Json(EventList {
                events: Vec::new(),
                next_cursor: after.as_ref().map(|a| a.as_str().to_string()),
            }));
        }
    }
}

/// Send an event again: a fresh attempt series to every enabled endpoint that wants its type,
/// whether or not earlier deliveries succeeded.
#[utoipa::path(post, path = "/ipp/v1/events/{event_id}/redeliver", tag = "webhooks",
    params(("event_id" = String, Path)),
    responses((status = 202, body = Redelivery), (status = 404, body = ErrorBody)), security(("merchant" = [])))]
pub async fn redeliver_event(
    State(state): State<AppState>,
    MerchantAuth(merchant): MerchantAuth,
    Path(event_id): Path<String>,
) -> Result<(StatusCode, Json<Redelivery>), ApiError> {
    let id = EventId::parse(&event_id).ok_or_else(|| ApiError::not_found("event"))?;
    let endpoints = state
        .store
        .redeliver_event(merchant.id, &id, state.now())
        .await
        .map_err(ApiError::missing("event"))?;
    Ok((
        StatusCode::ACCEPTED,
        Json(Redelivery {
            event_id: id.as_str().to_string(),
            endpoints,
        }),
    ))
}
