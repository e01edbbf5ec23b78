//! Kassa's Stripe adapter checked against Stripe's own OpenAPI description (2023-08-16, read
//! from `../shared/stripe/`, never copied into the repository): every request a whole day of
//! sales sends (path, method, parameter names, enum values, types), every answer the fake
//! gave, and every event it signed. The test fails, naming the path, when the description
//! is missing: a check that passes without its reference proves nothing.

use crate::harness::{new_attempt, text, StripeApp};
use kassa_store::Backend;
use kassa_stripe_fake::spec::StripeSpec;
use kassa_stripe_fake::TapOutcome;
use reqwest::Method;
use serde_json::json;
use std::collections::BTreeSet;

/// A day at the shop: a phone sale with a decline and a refund, an authorized sale
/// captured in part, a cancelled sale, a reader sale with a decline, a dashboard refund,
/// connection tokens.
async fn a_day_of_sales(s: &StripeApp) {
    let token = &s.phone_token;
    let sale = s.sale(&s.phone_id, 12_500, true).await;
    let id = text(&sale, "/session_id");
    let pi = text(&s.choose_card(token, id).await, "/processor/payment_intent").to_string();
    s.fake
        .tap(&pi, TapOutcome::Decline("expired_card"))
        .unwrap();
    s.finalize(token, id, &new_attempt(), &pi).await;
    s.fake.tap(&pi, TapOutcome::Approve).unwrap();
    let (_, paid) = s.finalize(token, id, &new_attempt(), &pi).await;
    let order = text(&paid, "/session/order_id").to_string();
    let refunds = format!("/ordermanagement/v1/orders/{order}/refunds");
    s.call(
        Method::POST,
        &refunds,
        Some(json!({"refunded_amount": 500})),
    )
    .await;
    s.fake.refund_in_dashboard(&pi, 700).unwrap();

    let sale = s.sale(&s.phone_id, 9_000, false).await;
    let id = text(&sale, "/session_id");
    let pi = text(&s.choose_card(token, id).await, "/processor/payment_intent").to_string();
    s.fake.tap(&pi, TapOutcome::Approve).unwrap();
    s.wait_until(id, |x| x["status"] == "FINALIZED").await;
    let order = text(&s.session(id).await, "/order_id").to_string();
    let captures = format!("/ordermanagement/v1/orders/{order}/captures");
    s.call(
        Method::POST,
        &captures,
        Some(json!({"captured_amount": 8_000})),
    )
    .await;

    let sale = s.sale(&s.phone_id, 300, true).await;
    let id = text(&sale, "/session_id");
    s.choose_card(token, id).await;
    s.call(Method::PUT, &format!("/ipp/v1/sessions/{id}/cancel"), None)
        .await;
    s.pos(token, Method::POST, "/ipp/v1/device/connection-token", None)
        .await;

    s.fake.add_registration_code("spec-reader");
    let body = json!({"processor": "stripe", "registration_code": "spec-reader", "location_id": s.location_id});
    let (_, reader) = s
        .call(Method::POST, "/ipp/v1/devices/readers", Some(body))
        .await;
    let tmr = text(&reader, "/processor_reader").to_string();
    let body = json!({"processor": "stripe", "reader_id": tmr, "location_id": s.location_id});
    s.call(Method::POST, "/ipp/v1/devices/readers", Some(body))
        .await; // adopting: a GET
    let sale = s.sale(text(&reader, "/id"), 2_000, true).await;
    let id = text(&sale, "/session_id");
    s.fake
        .present_on_reader(&tmr, TapOutcome::Decline("lost_card"))
        .unwrap();
    s.wait_until(id, |x| x["attempts"] == 1).await;
    s.fake.present_on_reader(&tmr, TapOutcome::Approve).unwrap();
    s.wait_until(id, |x| x["status"] == "FINALIZED").await;
    let sale = s.sale(text(&reader, "/id"), 2_000, true).await;
    s.call(
        Method::PUT,
        &format!("/ipp/v1/sessions/{}/cancel", text(&sale, "/session_id")),
        None,
    )
    .await;
    s.fake.flush_webhooks().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_answer_and_event_matches_stripes_description() {
    let spec = StripeSpec::load().unwrap_or_else(|missing| panic!("{missing}"));
    let s = StripeApp::spawn(Backend::Sqlite).await;
    a_day_of_sales(&s).await;

    let requests = s.fake.requests();
    let mut problems = Vec::new();
    let mut used = BTreeSet::new();
    for r in &requests {
        problems.extend(spec.check_request(&r.method, &r.path, &r.form));
        let answer = spec.check_response(&r.method, &r.path, r.status, &r.response);
        problems.extend(answer.into_iter().map(|p| format!("answer: {p}")));
        // Stripe's ids carry digits; its path words never do.
        let id = |p: &str| p.contains('_') && p.chars().any(|c| c.is_ascii_digit());
        let shape: Vec<&str> = r
            .path
            .split('/')
            .map(|p| if id(p) { "{id}" } else { p })
            .collect();
        used.insert(format!("{} {}", r.method, shape.join("/")));
    }
    for event in s.fake.events() {
        problems.extend(
            spec.check_event(&event)
                .into_iter()
                .map(|p| format!("event: {p}")),
        );
    }
    assert!(
        problems.is_empty(),
        "{} violations:\n{}",
        problems.len(),
        problems.join("\n")
    );
    let unkeyed: Vec<_> = s
        .fake
        .posts_without_idempotency_key()
        .iter()
        .map(|r| r.path.clone())
        .collect();
    assert!(
        unkeyed.is_empty(),
        "every POST carries an Idempotency-Key: {unkeyed:?}"
    );
    assert!(
        requests
            .iter()
            .all(|r| r.header("stripe-version") == Some("2023-08-16")),
        "pinned version"
    );
    let want = [
        "GET /v1/payment_intents/{id}",
        "GET /v1/refunds",
        "GET /v1/terminal/readers/{id}",
        "POST /v1/payment_intents",
        "POST /v1/payment_intents/{id}/cancel",
        "POST /v1/payment_intents/{id}/capture",
        "POST /v1/refunds",
        "POST /v1/terminal/connection_tokens",
        "POST /v1/terminal/locations",
        "POST /v1/terminal/readers",
        "POST /v1/terminal/readers/{id}/cancel_action",
        "POST /v1/terminal/readers/{id}/process_payment_intent",
    ];
    let missing: Vec<_> = want.iter().filter(|w| !used.contains(**w)).collect();
    assert!(
        missing.is_empty(),
        "the day did not exercise {missing:?}; it used {used:?}"
    );
}
