//! The web POS (`/pos`), embedded in the binary so that one file is the whole service.

use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;

use super::error::ApiError;
use crate::state::AppState;

const POS: &[(&str, &str, &str)] = &[
    (
        "index.html",
        "text/html; charset=utf-8",
        include_str!("../../../../web/pos/index.html"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../../web/pos/app.js"),
    ),
    (
        "api.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../../web/pos/api.js"),
    ),
    (
        "stream.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../../web/pos/stream.js"),
    ),
    (
        "screens.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../../web/pos/screens.js"),
    ),
    (
        "format.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../../web/pos/format.js"),
    ),
    (
        "qr.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../../web/pos/qr.js"),
    ),
    (
        "style.css",
        "text/css; charset=utf-8",
        include_str!("../../../../web/pos/style.css"),
    ),
];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::temporary("/pos") }))
        .route("/pos", get(index))
        .route("/pos/", get(index))
        .route(
            "/pos/{file}",
            get(|Path(file): Path<String>| async move { asset(&file) }),
        )
}

/// The POS page, told whether this server is live: a live POS offers no simulated card
/// and no card tap (a browser cannot read a card; the native app or a reader does).
async fn index(State(state): State<AppState>) -> Response {
    let mode = if state.is_playground() {
        "playground"
    } else {
        "live"
    };
    let (_, mime, body) = POS[0];
    let page = body.replace("{{KASSA_MODE}}", mode);
    ([(CONTENT_TYPE, mime), (CACHE_CONTROL, "no-cache")], page).into_response()
}

fn asset(name: &str) -> Response {
    match POS.iter().find(|(file, _, _)| *file == name) {
        Some((_, mime, body)) => {
            ([(CONTENT_TYPE, *mime), (CACHE_CONTROL, "no-cache")], *body).into_response()
        }
        None => ApiError::not_found("file").into_response(),
    }
}
