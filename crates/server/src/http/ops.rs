//! Operations: liveness, readiness, Prometheus metrics, and request metrics.

use crate::state::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::time::Instant;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(state): State<AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => "ready".into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "database not reachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
        }
    }
}

async fn metrics_text(State(state): State<AppState>) -> String {
    crate::gauges::refresh(&state).await;
    state.metrics.render()
}

/// Counts requests and times them per method, route template (not the raw path: ids would
/// explode the label space) and status class (`2xx` .. `5xx`, few enough to keep series cheap).
pub async fn track(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let method = request.method().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = format!("{}xx", response.status().as_u16() / 100);
    let labels = [
        ("method", method),
        ("route", route),
        ("status_class", status),
    ];
    metrics::counter!("kassa_http_requests_total", &labels).increment(1);
    metrics::histogram!("kassa_http_request_duration_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
    response
}
