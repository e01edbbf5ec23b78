//! Stripe's error answer: the `{"error": {...}}` body every failure carries, with its status.
//!
//! One constructor per kind of failure, so messages and codes read like Stripe's and each
//! rule about them lives here once.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

/// A failed call, rendered exactly as Stripe renders errors (the `api_errors` schema).
#[derive(Debug, Clone)]
pub(crate) struct StripeError {
    pub status: StatusCode,
    /// `type`: invalid_request_error, card_error, api_error or idempotency_error.
    pub kind: &'static str,
    pub code: Option<&'static str>,
    pub message: String,
    pub param: Option<String>,
    pub decline_code: Option<String>,
    /// Stripe attaches the PaymentIntent to errors about one (e.g. an unexpected state).
    pub payment_intent: Option<Box<Value>>,
    /// Refused while checking parameters, before the call ran: Stripe keeps no result for
    /// the idempotency key then, so a corrected retry with the same key runs.
    pub unexecuted: bool,
}

/// The header by which a handler tells the protocol layer its refusal was `unexecuted`;
/// removed before the answer leaves the fake.
pub(crate) const UNEXECUTED: &str = "x-fake-stripe-unexecuted";

impl StripeError {
    fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            kind,
            code: None,
            message: message.into(),
            param: None,
            decline_code: None,
            payment_intent: None,
            unexecuted: false,
        }
    }

    /// 400 invalid_request_error about one parameter.
    pub fn invalid(message: impl Into<String>, param: &str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request_error", message).param(param)
    }

    /// 400 invalid_request_error that is about no single parameter.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request_error", message)
    }

    /// 404 resource_missing, as Stripe answers for an id it does not know (or that belongs to
    /// another account: Stripe does not reveal that it exists).
    pub fn missing(what: &str, id: &str, param: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            format!("No such {what}: '{id}'"),
        )
        .code("resource_missing")
        .param(param)
    }

    /// 400 about a parameter's value, found before the call runs.
    pub fn param_invalid(message: impl Into<String>, param: &str) -> Self {
        Self::invalid(message, param).unexecuted()
    }

    pub fn missing_param(name: &str) -> Self {
        Self::param_invalid(format!("Missing required param: {name}."), name)
            .code("parameter_missing")
    }

    pub fn unknown_param(name: &str) -> Self {
        Self::param_invalid(format!("Received unknown parameter: {name}"), name)
            .code("parameter_unknown")
    }

    /// 401 with Stripe's wording; the key itself is never echoed in full.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "invalid_request_error", message)
    }

    pub fn idempotency(status: StatusCode, message: impl Into<String>) -> Self {
        Self::new(status, "idempotency_error", message)
    }

    /// 500 api_error: what an outage looks like from the outside.
    pub fn api_error() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "api_error",
            "An unknown error occurred (simulated outage of the fake Stripe).",
        )
    }

    pub fn card_error(code: &'static str, message: &str, decline_code: &str) -> Self {
        let mut e = Self::new(StatusCode::PAYMENT_REQUIRED, "card_error", message).code(code);
        e.decline_code = Some(decline_code.to_owned());
        e
    }

    pub fn code(mut self, code: &'static str) -> Self {
        self.code = Some(code);
        self
    }

    pub fn param(mut self, param: &str) -> Self {
        self.param = Some(param.to_owned());
        self
    }

    pub fn status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    pub fn unexecuted(mut self) -> Self {
        self.unexecuted = true;
        self
    }

    pub fn with_intent(mut self, intent: Value) -> Self {
        self.payment_intent = Some(Box::new(intent));
        self
    }

    /// The inner object alone: it is also what a PaymentIntent's `last_payment_error` holds.
    pub fn inner(&self) -> Value {
        let mut e = Map::new();
        e.insert("type".into(), json!(self.kind));
        e.insert("message".into(), json!(self.message));
        if let Some(code) = self.code {
            e.insert("code".into(), json!(code));
            let doc = format!(
                "https://stripe.com/docs/error-codes/{}",
                code.replace('_', "-")
            );
            e.insert("doc_url".into(), json!(doc));
        }
        if let Some(param) = &self.param {
            e.insert("param".into(), json!(param));
        }
        if let Some(decline) = &self.decline_code {
            e.insert("decline_code".into(), json!(decline));
        }
        if let Some(pi) = &self.payment_intent {
            e.insert("payment_intent".into(), (**pi).clone());
        }
        Value::Object(e)
    }

    pub fn body(&self) -> Value {
        json!({ "error": self.inner() })
    }
}

impl IntoResponse for StripeError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body())).into_response();
        if self.unexecuted {
            response
                .headers_mut()
                .insert(UNEXECUTED, axum::http::HeaderValue::from_static("1"));
        }
        response
    }
}
