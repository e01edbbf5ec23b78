//! The web front-ends, embedded in the binary so that one file is the whole service: the web
//! POS (`/pos`), the merchant portal (`/portal`) and the modules both import (`/shared`).
//! Plain ES modules, no build step: what is in `web/` is what the browser runs.

use axum::extract::{Path, State};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;

use super::error::ApiError;
use crate::state::AppState;

type Asset = (&'static str, &'static str, &'static str);

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// `(file name, content type, content)`, the content compiled in from `web/<dir>/<file>`.
macro_rules! asset {
    ($dir:literal, $file:literal, $mime:expr) => {
        (
            $file,
            $mime,
            include_str!(concat!("../../../../web/", $dir, "/", $file)),
        )
    };
}

const POS: &[Asset] = &[
    asset!("pos", "index.html", HTML),
    asset!("pos", "app.js", JS),
    asset!("pos", "api.js", JS),
    asset!("pos", "stream.js", JS),
    asset!("pos", "pairing.js", JS),
    asset!("pos", "screens.js", JS),
    asset!("pos", "style.css", CSS),
];

const PORTAL: &[Asset] = &[
    asset!("portal", "index.html", HTML),
    asset!("portal", "app.js", JS),
    asset!("portal", "api.js", JS),
    asset!("portal", "feed.js", JS),
    asset!("portal", "ui.js", JS),
    asset!("portal", "routes.js", JS),
    asset!("portal", "login.js", JS),
    asset!("portal", "sessions.js", JS),
    asset!("portal", "session.js", JS),
    asset!("portal", "order.js", JS),
    asset!("portal", "devices.js", JS),
    asset!("portal", "locations.js", JS),
    asset!("portal", "webhooks.js", JS),
    asset!("portal", "events.js", JS),
    asset!("portal", "keys.js", JS),
    asset!("portal", "account.js", JS),
    asset!("portal", "style.css", CSS),
];

const SHARED: &[Asset] = &[
    asset!("shared", "format.js", JS),
    asset!("shared", "qr.js", JS),
    asset!("shared", "dom.js", JS),
    asset!("shared", "http.js", JS),
];

/// The portal runs only its own files: no inline script, no third-party origin, no framing
/// (its buttons move money), so a name that slipped through as markup still could not run.
const PORTAL_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
    form-action 'self'; frame-ancestors 'none'";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::temporary("/pos") }))
        .route("/pos", get(pos_index))
        .route("/pos/", get(pos_index))
        .route(
            "/pos/{file}",
            get(|Path(file): Path<String>| async move { asset(POS, &file, false) }),
        )
        .route("/portal", get(portal_index))
        .route("/portal/", get(portal_index))
        .route(
            "/portal/{file}",
            get(|Path(file): Path<String>| async move { asset(PORTAL, &file, true) }),
        )
        .route(
            "/shared/{file}",
            get(|Path(file): Path<String>| async move { asset(SHARED, &file, false) }),
        )
}

fn mode(state: &AppState) -> &'static str {
    if state.is_playground() {
        "playground"
    } else {
        "live"
    }
}

/// The POS page, told whether this server is live: a live POS offers no simulated card
/// and no card tap (a browser cannot read a card; the native app or a reader does).
async fn pos_index(State(state): State<AppState>) -> Response {
    page(POS, mode(&state), false)
}

/// The portal page, told the mode so the sign-in page can say where it is before anyone
/// has signed in (after that the session's own answer says it).
async fn portal_index(State(state): State<AppState>) -> Response {
    page(PORTAL, mode(&state), true)
}

fn page(files: &[Asset], mode: &str, portal: bool) -> Response {
    let (_, mime, body) = files[0];
    let html = body.replace("{{KASSA_MODE}}", mode);
    let mut response = ([(CONTENT_TYPE, mime), (CACHE_CONTROL, "no-cache")], html).into_response();
    if portal {
        harden(&mut response);
    }
    response
}

fn asset(files: &[Asset], name: &str, portal: bool) -> Response {
    match files.iter().find(|(file, _, _)| *file == name) {
        Some((_, mime, body)) => {
            let mut response =
                ([(CONTENT_TYPE, *mime), (CACHE_CONTROL, "no-cache")], *body).into_response();
            if portal {
                harden(&mut response);
            }
            response
        }
        None => ApiError::not_found("file").into_response(),
    }
}

fn harden(response: &mut Response) {
    use axum::http::HeaderValue;
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PORTAL_CSP),
    );
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every module a page imports must be served: a missing entry is a blank page in the
    /// browser and nothing at compile time.
    #[test]
    fn every_imported_module_is_served() {
        for (dir, files) in [("pos", POS), ("portal", PORTAL), ("shared", SHARED)] {
            for (name, _, body) in files {
                for spec in imports(body) {
                    let (target_dir, file) = resolve(dir, &spec);
                    let table = match target_dir.as_str() {
                        "pos" => POS,
                        "portal" => PORTAL,
                        "shared" => SHARED,
                        other => panic!("{dir}/{name} imports {spec} from unknown dir {other}"),
                    };
                    assert!(
                        table.iter().any(|(f, _, _)| *f == file),
                        "{dir}/{name} imports {spec}, which ui.rs does not serve"
                    );
                }
            }
        }
    }

    /// A file added to `web/` and not to the tables above would be missing in the binary.
    #[test]
    fn every_web_file_is_served() {
        let web = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web");
        for (dir, files) in [("pos", POS), ("portal", PORTAL), ("shared", SHARED)] {
            for entry in std::fs::read_dir(web.join(dir)).unwrap() {
                let name = entry.unwrap().file_name().into_string().unwrap();
                if name.ends_with(".test.mjs") {
                    continue; // node's unit tests, not for the browser
                }
                assert!(
                    files.iter().any(|(f, _, _)| *f == name),
                    "web/{dir}/{name} is not served: add it to ui.rs"
                );
            }
        }
    }

    /// The `from '…'` and `import('…')` specifiers of a module (our own code only uses these).
    fn imports(body: &str) -> Vec<String> {
        let mut found = Vec::new();
        for marker in ["from '", "import('", "href=\"/", "src=\"/"] {
            let mut rest = body;
            while let Some(i) = rest.find(marker) {
                rest = &rest[i + marker.len()..];
                let end = rest.find(['\'', '"']).unwrap_or(0);
                let spec = &rest[..end];
                if marker.ends_with('/') {
                    if spec.ends_with(".js") || spec.ends_with(".css") {
                        found.push(format!("/{spec}"));
                    }
                } else if spec.starts_with('.') {
                    found.push(spec.to_string());
                }
            }
        }
        found
    }

    fn resolve(dir: &str, spec: &str) -> (String, String) {
        let path = if let Some(abs) = spec.strip_prefix('/') {
            abs.to_string()
        } else if let Some(up) = spec.strip_prefix("../") {
            up.to_string()
        } else {
            format!("{dir}/{}", spec.trim_start_matches("./"))
        };
        let (d, f) = path.split_once('/').expect("dir/file");
        (d.to_string(), f.to_string())
    }
}
