//! The HTTP surface: one handler per Stripe call the fake answers. Each handler refuses
//! parameters it does not understand, reads the ones it does (with Stripe's messages), and
//! hands the change to the state machine in `payments.rs` or `terminal.rs`.
//!
//! Chosen: `expand[]` is refused as an unknown parameter, because the fake does not expand
//! objects and a test relying on expansion must fail loudly rather than read ids as objects.

use crate::cards;
use crate::error::StripeError;
use crate::payments::{NewIntent, RefundOf};
use crate::protocol::{protocol, Call};
use crate::state::{Scope, Shared};
use crate::terminal::{NewLocation, NewReader};
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode, Uri};
use axum::routing::{get, post};
use axum::{middleware, Extension, Json, Router};
use serde_json::Value;
use std::sync::Arc;

type App = State<Arc<Shared>>;
type Answer = Result<Json<Value>, StripeError>;

pub(crate) fn router(app: Arc<Shared>) -> Router {
    let reader = "/v1/terminal/readers/{reader}";
    Router::new()
        .route(
            "/v1/terminal/connection_tokens",
            post(create_connection_token),
        )
        .route("/v1/terminal/locations", post(create_location))
        .route("/v1/terminal/readers", post(create_reader))
        .route(reader, get(retrieve_reader))
        .route(
            &format!("{reader}/process_payment_intent"),
            post(process_payment_intent),
        )
        .route(&format!("{reader}/cancel_action"), post(cancel_action))
        .route(
            "/v1/test_helpers/terminal/readers/{reader}/present_payment_method",
            post(present_payment_method),
        )
        .route("/v1/payment_intents", post(create_payment_intent))
        .route("/v1/payment_intents/{intent}", get(retrieve_payment_intent))
        .route(
            "/v1/payment_intents/{intent}/capture",
            post(capture_payment_intent),
        )
        .route(
            "/v1/payment_intents/{intent}/cancel",
            post(cancel_payment_intent),
        )
        .route("/v1/refunds", post(create_refund).get(list_refunds))
        .fallback(unrecognized)
        .method_not_allowed_fallback(unrecognized)
        .layer(middleware::from_fn_with_state(app.clone(), protocol))
        .with_state(app)
}

impl Call {
    fn scope(&self) -> Scope<'_> {
        Scope::Account(self.account.as_deref())
    }
}

/// Refuses a value outside `allowed` with Stripe's wording.
fn one_of<'a>(
    call: &'a Call,
    name: &str,
    allowed: &[&str],
) -> Result<Option<&'a str>, StripeError> {
    match call.params.get(name) {
        Some(v) if !allowed.contains(&v) => Err(StripeError::param_invalid(
            format!("Invalid {name}: must be one of {}", allowed.join(", ")),
            name,
        )),
        other => Ok(other),
    }
}

async fn unrecognized(method: Method, uri: Uri) -> StripeError {
    StripeError::bad_request(format!(
        "Unrecognized request URL ({method}: {}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.",
        uri.path()
    ))
    .status(StatusCode::NOT_FOUND)
    .unexecuted()
}

async fn create_connection_token(State(app): App, Extension(call): Extension<Call>) -> Answer {
    call.params.only(&["location"])?;
    let location = call.params.get("location");
    app.apply(&call.origin, |o| o.connection_token(call.scope(), location))
        .map(Json)
}

async fn create_location(State(app): App, Extension(call): Extension<Call>) -> Answer {
    let p = &call.params;
    p.only(&[
        "display_name",
        "address[line1]",
        "address[line2]",
        "address[city]",
        "address[state]",
        "address[postal_code]",
        "address[country]",
        "metadata[*]",
    ])?;
    let new = NewLocation {
        display_name: p.required("display_name")?.to_owned(),
        address: p.map("address"),
        metadata: p.map("metadata"),
    };
    p.required("address[country]")?;
    app.apply(&call.origin, |o| {
        o.create_location(call.account.as_deref(), new)
    })
    .map(Json)
}

async fn create_reader(State(app): App, Extension(call): Extension<Call>) -> Answer {
    let p = &call.params;
    p.only(&["registration_code", "label", "location", "metadata[*]"])?;
    let new = NewReader {
        registration_code: p.required("registration_code")?.to_owned(),
        label: p.get("label").map(str::to_owned),
        location: p.get("location").map(str::to_owned),
        metadata: p.map("metadata"),
    };
    app.apply(&call.origin, |o| {
        o.register_reader(call.account.as_deref(), new)
    })
    .map(Json)
}

async fn retrieve_reader(
    State(app): App,
    Path(id): Path<String>,
    Extension(call): Extension<Call>,
) -> Answer {
    call.params.only(&[])?;
    app.with(|o| o.reader_json(call.scope(), &id)).map(Json)
}

async fn process_payment_intent(
    State(app): App,
    Path(id): Path<String>,
    Extension(call): Extension<Call>,
) -> Answer {
    let p = &call.params;
    // Tipping is never configured on the fake's readers, so skipping it changes nothing.
    p.only(&["payment_intent", "process_config[skip_tipping]"])?;
    let intent = p.required("payment_intent")?;
    app.apply(&call.origin, |o| {
        o.process_payment_intent(call.scope(), &id, intent)
    })
    .map(Json)
}

async fn cancel_action(
    State(app): App,
    Path(id): Path<String>,
    Extension(call): Extension<Call>,
) -> Answer {
    call.params.only(&[])?;
    app.apply(&call.origin, |o| o.cancel_action(call.scope(), &id))
        .map(Json)
}

async fn present_payment_method(
    State(app): App,
    Path(id): Path<String>,
    Extension(call): Extension<Call>,
) -> Answer {
    call.params.only(&["type", "card_present[number]"])?;
    one_of(&call, "type", &["card_present"])?;
    let outcome = cards::outcome_of(call.params.get("card_present[number]"));
    app.apply(&call.origin, |o| o.present(call.scope(), &id, outcome))
        .map(Json)
}

async fn create_payment_intent(State(app): App, Extension(call): Extension<Call>) -> Answer {
    let p = &call.params;
    p.only(&[
        "amount",
        "currency",
        "payment_method_types[]",
        "capture_method",
        "metadata[*]",
        "description",
    ])?;
    let amount = p
        .positive("amount")?
        .ok_or_else(|| StripeError::missing_param("amount"))?;
    let currency = p.required("currency")?;
    if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_lowercase()) {
        return Err(StripeError::param_invalid(format!("Invalid currency: {currency}. Stripe currently supports these currencies: three-letter ISO codes in lower case."), "currency"));
    }
    let mut types = p.list("payment_method_types");
    if types.is_empty() {
        types.push("card".into());
    }
    if let Some(bad) = types
        .iter()
        .find(|t| !["card", "card_present", "interac_present"].contains(&t.as_str()))
    {
        return Err(StripeError::param_invalid(
            format!("The payment method type provided: {bad} is invalid."),
            "payment_method_types",
        ));
    }
    let new = NewIntent {
        amount,
        currency: currency.to_owned(),
        capture_method: one_of(
            &call,
            "capture_method",
            &["automatic", "automatic_async", "manual"],
        )?
        .unwrap_or("automatic")
        .to_owned(),
        payment_method_types: types,
        metadata: p.map("metadata"),
        description: p.get("description").map(str::to_owned),
    };
    app.apply(&call.origin, |o| {
        o.create_intent(call.account.as_deref(), new)
    })
    .map(Json)
}

async fn retrieve_payment_intent(
    State(app): App,
    Path(id): Path<String>,
    Extension(call): Extension<Call>,
) -> Answer {
    call.params.only(&[])?;
    app.with(|o| o.intent_mut(call.scope(), &id).map(|pi| pi.to_json()))
        .map(Json)
}

/// `GET /v1/refunds?payment_intent=…&limit=…`: the intent's refunds, newest first, in
/// Stripe's list envelope. Chosen: one page (`has_more` false) up to `limit` (default 10).
async fn list_refunds(State(app): App, Extension(call): Extension<Call>) -> Answer {
    call.params.only(&["payment_intent", "limit"])?;
    let limit = call.params.positive("limit")?.unwrap_or(10).min(100) as usize;
    let intent = call.params.required("payment_intent")?;
    app.with(|o| {
        o.intent_mut(call.scope(), intent)?;
        let mut refunds: Vec<_> = o
            .refunds
            .values()
            .filter(|r| r.payment_intent == intent)
            .collect();
        refunds.sort_by(|a, b| b.created.cmp(&a.created).then(b.id.cmp(&a.id)));
        let data: Vec<Value> = refunds.iter().take(limit).map(|r| r.to_json()).collect();
        Ok(serde_json::json!({
            "object": "list",
            "data": data,
            "has_more": refunds.len() > limit,
            "url": "/v1/refunds",
        }))
    })
    .map(Json)
}

async fn capture_payment_intent(
    State(app): App,
    Path(id): Path<String>,
    Extension(call): Extension<Call>,
) -> Answer {
    call.params.only(&["amount_to_capture"])?;
    let amount = call.params.positive("amount_to_capture")?;
    app.apply(&call.origin, |o| o.capture(call.scope(), &id, amount))
        .map(Json)
}

async fn cancel_payment_intent(
    State(app): App,
    Path(id): Path<String>,
    Extension(call): Extension<Call>,
) -> Answer {
    call.params.only(&["cancellation_reason"])?;
    let reason = one_of(
        &call,
        "cancellation_reason",
        &[
            "abandoned",
            "duplicate",
            "fraudulent",
            "requested_by_customer",
        ],
    )?
    .map(str::to_owned);
    app.apply(&call.origin, |o| o.cancel(call.scope(), &id, reason))
        .map(Json)
}

async fn create_refund(State(app): App, Extension(call): Extension<Call>) -> Answer {
    let p = &call.params;
    p.only(&[
        "payment_intent",
        "charge",
        "amount",
        "metadata[*]",
        "reason",
    ])?;
    let of = match (p.get("payment_intent"), p.get("charge")) {
        (Some(pi), None) => RefundOf::PaymentIntent(pi),
        (None, Some(charge)) => RefundOf::Charge(charge),
        _ => {
            return Err(StripeError::bad_request(
                "Provide exactly one of payment_intent or charge to refund.",
            )
            .unexecuted())
        }
    };
    let amount = p.positive("amount")?;
    let reason = one_of(
        &call,
        "reason",
        &["duplicate", "fraudulent", "requested_by_customer"],
    )?
    .map(str::to_owned);
    let metadata = p.map("metadata");
    app.apply(&call.origin, |o| {
        o.refund(call.scope(), of, amount, metadata, reason)
    })
    .map(Json)
}
