//! Stripe's wire protocol around every call, as one axum middleware: simulated outages, API
//! key check, idempotency keys, `Request-Id`, and the record of every request and answer.
//!
//! Order, as on Stripe: an outage fails a call before anything else (and its answer is not
//! kept for the idempotency key, so a retry after the outage runs the call); then the key;
//! then the idempotency key decides between running the handler and replaying.
//!
//! As Stripe documents, a result is kept under an idempotency key only once the call ran:
//! every answer a handler gives after its parameter checks (a 400 for a wrong state
//! included) is replayed, while refused parameters, outages and failed key checks leave the
//! key free. Keys are per account; GETs ignore them.

use crate::control::{Outage, RecordedRequest};
use crate::error::{StripeError, UNEXECUTED};
use crate::form::Params;
use crate::ids;
use crate::state::{lock, Origin, Shared};
use crate::API_VERSION;
use axum::body::{to_bytes, Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// What a handler learns from the protocol layer about its call.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    /// `Stripe-Account`: the connected account the call acts for.
    pub account: Option<String>,
    pub params: Params,
    pub origin: Origin,
}

/// Method, path and parameters (sorted by name, list order kept): what must match for an
/// idempotency key to replay.
type Fingerprint = (Method, String, Vec<(String, String)>);

/// Idempotency keys are scoped to the account, as on Stripe.
type Slot = (Option<String>, String);

#[derive(Debug, Clone)]
struct Answer {
    status: StatusCode,
    body: Bytes,
    /// False when the handler refused the parameters before running the call.
    executed: bool,
    /// The first request's id when this answer is a replay.
    replay_of: Option<String>,
}

enum Kept {
    Running,
    Done(Fingerprint, Answer, String),
}

/// Protocol-level state: outages, idempotency results, and the request log.
#[derive(Default)]
pub(crate) struct Protocol {
    pub outage: Outage,
    /// `(calls still to fail, path fragment)`, consumed first to last.
    pub failures: Vec<(usize, String)>,
    pub requests: Vec<RecordedRequest>,
    kept: HashMap<Slot, Kept>,
}

impl Protocol {
    fn injected_failure(&mut self, path: &str) -> bool {
        if self.outage == Outage::Down {
            return true;
        }
        let Some(rule) = self
            .failures
            .iter_mut()
            .find(|(_, p)| path.contains(p.as_str()))
        else {
            return false;
        };
        rule.0 -= 1;
        self.failures.retain(|(left, _)| *left > 0);
        true
    }
}

pub(crate) async fn protocol(
    State(app): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    let request_id = ids::new("req");
    let (mut parts, body) = request.into_parts();
    let headers = lower_case(&parts.headers);
    let Ok(raw) = to_bytes(body, 1 << 20).await else {
        let refused = StripeError::bad_request("The request body could not be read (over 1 MiB?).");
        return respond(error(refused), &request_id, &headers, None);
    };
    let params = match parts.method {
        Method::GET => Params::parse(parts.uri.query().unwrap_or_default().as_bytes()),
        _ => Params::parse(&raw),
    };
    let path = parts.uri.path().to_owned();
    let method = parts.method.clone();
    let key = (parts.method == Method::POST)
        .then(|| headers.get("idempotency-key").cloned())
        .flatten();
    let call = Call {
        account: headers.get("stripe-account").cloned(),
        params: params.clone(),
        origin: Origin {
            request_id: Some(request_id.clone()),
            idempotency_key: key.clone(),
        },
    };
    let fingerprint = fingerprint(&parts.method, &path, &params);
    let slot = key.clone().map(|k| (call.account.clone(), k));
    let failed = lock(&app.protocol).injected_failure(&path);
    let answer = if failed {
        error(StripeError::api_error())
    } else if let Err(e) = authorize(&app.secret_key, headers.get("authorization")) {
        error(e)
    } else {
        parts.extensions.insert(call);
        let request = Request::from_parts(parts, Body::from(raw));
        match slot {
            None => run(next, request).await,
            Some(slot) => idempotent(&app, slot, fingerprint, &request_id, next, request).await,
        }
    };
    let record = RecordedRequest {
        method: method.to_string(),
        path: path.clone(),
        headers: headers.clone(),
        form: params.0,
        status: answer.status.as_u16(),
        response: serde_json::from_slice(&answer.body).unwrap_or_default(),
    };
    let slow = {
        let mut protocol = lock(&app.protocol);
        protocol.requests.push(record);
        match protocol.outage {
            Outage::Slow(delay) => Some(delay),
            Outage::None | Outage::Down => None,
        }
    };
    // The change is made before the delay: a client that gives up waiting cannot tell
    // whether it happened, which is exactly what a slow Stripe does to it.
    if let Some(delay) = slow {
        tokio::time::sleep(delay).await;
    }
    respond(answer, &request_id, &headers, key.as_deref())
}

fn fingerprint(method: &Method, path: &str, params: &Params) -> Fingerprint {
    let mut pairs = params.0.clone();
    // Stable: values of one list parameter keep their order.
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    (method.clone(), path.to_owned(), pairs)
}

fn lower_case(headers: &HeaderMap) -> BTreeMap<String, String> {
    headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect()
}

/// Checks `Authorization: Bearer <secret key>` with Stripe's two messages.
fn authorize(secret_key: &str, header: Option<&String>) -> Result<(), StripeError> {
    match header.and_then(|h| h.strip_prefix("Bearer ")) {
        Some(key) if key == secret_key => Ok(()),
        Some(key) => Err(StripeError::unauthorized(format!(
            "Invalid API Key provided: {}",
            mask(key)
        ))),
        None => Err(StripeError::unauthorized(
            "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.",
        )),
    }
}

/// Stripe shows a wrong key's prefix and last four characters only.
fn mask(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() <= 12 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..8].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 12))
}

fn error(e: StripeError) -> Answer {
    Answer {
        status: e.status,
        body: Bytes::from(e.body().to_string()),
        executed: false,
        replay_of: None,
    }
}

async fn run(next: Next, request: Request) -> Answer {
    let mut response = next.run(request).await;
    let executed = response.headers_mut().remove(UNEXECUTED).is_none();
    let status = response.status();
    match to_bytes(response.into_body(), usize::MAX).await {
        Ok(body) => Answer {
            status,
            body,
            executed,
            replay_of: None,
        },
        Err(_) => error(StripeError::api_error()),
    }
}

/// Runs the call once per idempotency key; later calls with the key replay its answer
/// byte for byte, or fail if their parameters differ.
async fn idempotent(
    app: &Shared,
    slot: Slot,
    fingerprint: Fingerprint,
    request_id: &str,
    next: Next,
    request: Request,
) -> Answer {
    let refused = |message: String, status| error(StripeError::idempotency(status, message));
    {
        let mut protocol = lock(&app.protocol);
        match protocol.kept.get(&slot) {
            Some(Kept::Done(first, answer, first_id)) if *first == fingerprint => {
                return Answer { replay_of: Some(first_id.clone()), ..answer.clone() };
            }
            Some(Kept::Done(..)) => return refused(format!(
                "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '{}' if you meant to execute a different request.",
                slot.1
            ), StatusCode::BAD_REQUEST),
            Some(Kept::Running) => return refused(format!(
                "There is currently another in-progress request using this Idempotent Key (that probably means you submitted twice, and the other request is still going through): {}. Please try again later.",
                slot.1
            ), StatusCode::CONFLICT),
            None => {
                protocol.kept.insert(slot.clone(), Kept::Running);
            }
        }
    }
    let mut claim = Claim {
        app,
        slot: Some(slot),
    };
    let answer = run(next, request).await;
    // An unexecuted refusal leaves the key free: `claim` releases it when dropped.
    if let Some(slot) = claim.slot.take_if(|_| answer.executed) {
        let kept = Kept::Done(fingerprint, answer.clone(), request_id.to_owned());
        lock(&app.protocol).kept.insert(slot, kept);
    }
    answer
}

/// Frees an idempotency key whose call never finished (the client hung up mid-call), so a
/// retry runs instead of being refused as in progress forever.
struct Claim<'a> {
    app: &'a Shared,
    slot: Option<Slot>,
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        if let Some(slot) = self.slot.take() {
            lock(&self.app.protocol).kept.remove(&slot);
        }
    }
}

fn respond(
    answer: Answer,
    request_id: &str,
    headers: &BTreeMap<String, String>,
    key: Option<&str>,
) -> Response {
    let mut response = (answer.status, answer.body).into_response();
    let out = response.headers_mut();
    let mut set = |name: &'static str, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            out.insert(name, value);
        }
    };
    set("content-type", "application/json");
    set("request-id", request_id);
    set(
        "stripe-version",
        headers
            .get("stripe-version")
            .map_or(API_VERSION, String::as_str),
    );
    if let Some(key) = key {
        set("idempotency-key", key);
    }
    if let Some(first) = &answer.replay_of {
        set("idempotent-replayed", "true");
        set("original-request", first);
    }
    if answer.status == StatusCode::UNAUTHORIZED {
        set("www-authenticate", "Bearer realm=\"Stripe\"");
    }
    response
}
