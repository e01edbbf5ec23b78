//! The HTTP API. `router` merges one `routes()` per resource and the OpenAPI document is
//! generated from the same handlers, so the contract served at `/openapi.json` cannot drift
//! from the code.

pub mod answered;
pub mod body_timeout;
pub mod dev;
pub mod devices;
pub mod error;
pub mod events;
pub mod extract;
pub mod idempotency;
pub mod keys;
pub mod limits;
pub mod openapi;
pub mod ops;
pub mod orders;
pub mod params;
pub mod places;
pub mod portal;
pub mod pos;
pub mod processor_hooks;
pub mod processors;
pub mod readers;
pub mod sessions;
pub mod ui;
pub mod webhooks;

use crate::state::AppState;
use axum::extract::DefaultBodyLimit;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use std::time::Duration;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::timeout::TimeoutLayer;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::OpenApi as OpenApiDoc;
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

/// Request bodies over 1 MiB are refused with `413`.
pub const BODY_LIMIT: usize = 1024 * 1024;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Kassa",
        description = "In-person payment sessions, wire-compatible with the Kustom In-Person Payments API 1.0.\n\n\
            Decisions where Kustom is silent: amounts are int64 minor units; session create answers 200 (Kustom's); \
            `expires_in` is milliseconds (10 s .. 24 h); a path id that is not a UUID is 404 like any unknown id; \
            merchant calls accept `Idempotency-Key` (24 h window) and replay with `Idempotent-Replayed: true`; \
            a request that took effect but whose answer was lost in a crash is never run again: its key answers \
            409 IDEMPOTENCY_CONFLICT (read the resource for its result); \
            discount, gift_card and store_credit items must be ≤ 0 and all other item types ≥ 0; \
            a finalized session keeps `failure_reason` of its last decline; \
            the enrollment code is returned only on create (stored hashed).",
        license(name = "Apache-2.0")
    ),
    modifiers(&Security),
    tags((name = "sessions"), (name = "pos", description = "Called by the POS app with its device token"),
        (name = "devices"), (name = "locations"), (name = "enrollments"), (name = "orders"),
        (name = "keys", description = "The merchant's API keys: list, create (the key is shown once) and revoke"),
        (name = "playground", description = "Playground mode only; 404 in live mode"),
        (name = "portal", description = "The merchant portal's sign-in. Its `kassa_portal` session cookie is accepted \
            wherever `merchant` is, when there is no `Authorization` header (which always wins), with the API key's tenancy; \
            every POST, PUT, PATCH and DELETE made with it needs `X-CSRF-Token`, and a `viewer` may only read (`403 FORBIDDEN`)"),
        (name = "processors", description = "Card processors' callbacks (Stripe's webhooks), authenticated by the processor's signature"),
        (name = "webhooks", description = "Endpoints, the delivery log, the event feed and replay. Deliveries are signed \
            per Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`)"))
)]
struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut OpenApiDoc) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "merchant",
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some(
                        "API key: `Basic <key>`, `Basic base64(merchant_id:key)` or `Bearer <key>`",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "device",
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("Device token from registration"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "portal",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                portal::session::COOKIE_NAME,
                "The portal's session cookie from `POST /portal/api/login`; changes also need `X-CSRF-Token`",
            ))),
        );
    }
}

/// The API routes and their OpenAPI document.
pub fn api() -> (Router<AppState>, OpenApiDoc) {
    let (router, doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(sessions::routes())
        .merge(pos::routes())
        .merge(devices::routes())
        .merge(readers::routes())
        .merge(processor_hooks::routes())
        .merge(processors::routes())
        .merge(places::routes())
        .merge(orders::routes())
        .merge(dev::routes())
        .merge(webhooks::routes())
        .merge(events::routes())
        .merge(portal::routes())
        .merge(keys::routes())
        .merge(crate::stream::routes())
        .split_for_parts();
    let mut doc = doc;
    openapi::complete(&mut doc);
    (router, doc)
}

pub fn router(state: AppState) -> Router {
    let (api, doc) = api();
    let doc = std::sync::Arc::new(doc);
    let api = api
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            idempotency::idempotency,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            limits::track,
        ));
    Router::new()
        .merge(api)
        .merge(ops::routes())
        .merge(ui::routes())
        .route(
            "/openapi.json",
            get(move || async move { Json(doc.as_ref().clone()) }),
        )
        .fallback(|| async { error::ApiError::not_found("route") })
        // Inside `ops::track`, so a late body is counted as the 408 it is answered with.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            body_timeout::limit,
        ))
        .layer(axum::middleware::from_fn(ops::track))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(CatchPanicLayer::custom(|_| {
            error::ApiError::Internal("handler panicked".into()).into_response()
        }))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            Duration::from_secs(60),
        ))
        .layer(axum::middleware::from_fn(error::correlate))
        .layer(axum::middleware::from_fn(answered::hold_until_sent))
        .with_state(state)
}
