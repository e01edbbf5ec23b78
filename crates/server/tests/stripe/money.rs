//! Stripe failing or slow while money moves: `502 PROCESSOR_ERROR` with nothing changed,
//! and a retry that moves the money once.

use crate::both_backends;
use crate::harness::{new_attempt, text, StripeApp};
use kassa_stripe_fake::{Outage, TapOutcome};
use reqwest::Method;
use serde_json::json;
use std::time::Duration;

/// An authorized (not captured) phone sale; returns its PaymentIntent and order id.
async fn authorized(s: &StripeApp, amount: i64) -> (String, String) {
    s.fake.pause_webhooks(true);
    let (id, pi) = s.card_sale(amount, false).await;
    s.fake.tap(&pi, TapOutcome::Approve).unwrap();
    let (status, paid) = s.finalize(&s.phone_token, &id, &new_attempt(), &pi).await;
    assert_eq!(status, 200, "{paid}");
    (pi, text(&paid, "/session/order_id").to_string())
}

both_backends!(
    a_capture_during_an_outage_is_502_and_the_retry_captures_once,
    |s| {
        let (pi, order_id) = authorized(&s, 4_000).await;
        let captures = format!("/ordermanagement/v1/orders/{order_id}/captures");
        let body = Some(json!({"captured_amount": 4_000}));
        // One call and its two retries fail: Kassa gives up and says so.
        s.fake.fail_next(3, "/capture");
        let (status, err) = s.call(Method::POST, &captures, body.clone()).await;
        assert_eq!(
            (status, text(&err, "/error_code")),
            (502, "PROCESSOR_ERROR"),
            "{err}"
        );
        assert!(
            !err.to_string().contains("sk_live"),
            "no secret in errors: {err}"
        );
        assert_eq!(
            text(&s.order(&order_id).await, "/status"),
            "AUTHORIZED",
            "order unchanged"
        );
        assert_eq!(
            text(&s.fake.payment_intent(&pi).unwrap(), "/status"),
            "requires_capture"
        );
        let keys: Vec<_> = s
            .fake
            .requests()
            .into_iter()
            .filter(|r| r.path.ends_with("/capture"))
            .map(|r| r.header("idempotency-key").unwrap().to_string())
            .collect();
        assert!(
            keys.len() == 3 && keys.iter().all(|k| k == &keys[0]),
            "retried with one key: {keys:?}"
        );
        let (status, order) = s.call(Method::POST, &captures, body.clone()).await;
        assert_eq!(status, 201, "{order}");

        assert_eq!(text(&order, "/status"), "CAPTURED");
        assert_eq!(
            text(&s.fake.payment_intent(&pi).unwrap(), "/status"),
            "succeeded"
        );
    }
);

both_backends!(a_refund_that_times_out_is_made_once_by_the_retry, |s| {
    let (_, order_id) = authorized(&s, 3_000).await;
    let captures = format!("/ordermanagement/v1/orders/{order_id}/captures");
    let (status, _) = s
        .call(
            Method::POST,
            &captures,
            Some(json!({"captured_amount": 3_000})),
        )
        .await;
    assert_eq!(status, 201);
    let refunds = format!("/ordermanagement/v1/orders/{order_id}/refunds");
    let body = Some(json!({"refunded_amount": 1_000}));
    // Stripe makes the refund but answers too late: Kassa cannot know, so says 502.
    s.fake.set_outage(Outage::Slow(Duration::from_millis(900)));
    let (status, err) = s.call(Method::POST, &refunds, body.clone()).await;
    assert_eq!(
        (status, text(&err, "/error_code")),
        (502, "PROCESSOR_ERROR"),
        "{err}"
    );
    assert_eq!(
        s.order(&order_id).await["refunded_amount"].as_i64(),
        Some(0),
        "order unchanged"
    );
    s.fake.set_outage(Outage::None);
    let (status, order) = s.call(Method::POST, &refunds, body).await;
    assert_eq!(status, 201, "{order}");
    assert_eq!(order["refunded_amount"].as_i64(), Some(1_000));
    let made: std::collections::BTreeSet<String> = s
        .fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path == "/v1/refunds" && r.status == 200)
        .map(|r| r.response["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        made.len(),
        1,
        "one refund at Stripe, however often it was asked: {made:?}"
    );
    assert_eq!(
        text(&order, "/refunds/0/processor_reference"),
        made.iter().next().unwrap()
    );
});

both_backends!(stripe_down_at_payment_and_cancel_changes_nothing, |s| {
    let sale = s.sale(&s.phone_id, 1_000, true).await;
    let id = text(&sale, "/session_id");
    s.fake.set_outage(Outage::Down);
    let path = format!("/ipp/v1/sessions/{id}/payment");
    let body = Some(json!({"payment_method": "CARD_TAP"}));
    let (status, err) = s.pos(&s.phone_token, Method::PUT, &path, body).await;
    assert_eq!(
        (status, text(&err, "/error_code")),
        (502, "PROCESSOR_ERROR"),
        "{err}"
    );
    assert_eq!(text(&s.session(id).await, "/status"), "CREATED");
    s.fake.set_outage(Outage::None);
    s.choose_card(&s.phone_token, id).await;
    s.fake.set_outage(Outage::Down);
    let (status, err) = s
        .call(Method::PUT, &format!("/ipp/v1/sessions/{id}/cancel"), None)
        .await;
    assert_eq!(
        (status, text(&err, "/error_code")),
        (502, "PROCESSOR_ERROR"),
        "{err}"
    );
    assert_eq!(text(&s.session(id).await, "/status"), "ACTIVE");
    s.fake.set_outage(Outage::None);
    let (status, done) = s
        .call(Method::PUT, &format!("/ipp/v1/sessions/{id}/cancel"), None)
        .await;
    assert_eq!(
        (status, text(&done, "/status")),
        (200, "CANCELLED"),
        "{done}"
    );
});

both_backends!(
    a_retried_refund_is_not_made_again_after_stripes_webhook_recorded_it,
    |s| {
        let (_, order_id) = authorized(&s, 3_000).await;
        let captures = format!("/ordermanagement/v1/orders/{order_id}/captures");
        let (status, _) = s
            .call(
                Method::POST,
                &captures,
                Some(json!({"captured_amount": 3_000})),
            )
            .await;
        assert_eq!(status, 201);
        s.fake.pause_webhooks(false);
        let refunds = format!("/ordermanagement/v1/orders/{order_id}/refunds");
        let refund = || {
            s.app
                .merchant(Method::POST, &refunds)
                .header("Idempotency-Key", "refund-order-42-cup")
                .json(&json!({"refunded_amount": 1_000}))
        };
        s.fake.set_outage(Outage::Slow(Duration::from_millis(900)));
        let (status, err) = crate::api::json_of(refund().send().await.unwrap()).await;
        assert_eq!(status, 502, "{err}");
        s.fake.set_outage(Outage::None);
        // Stripe's charge.refunded arrived meanwhile; once acted on, the order shows the refund.
        s.fake.flush_webhooks().await;
        s.app.clock.advance(chrono::Duration::seconds(10));
        kassa_server::processors::reconciler::Reconciler::default()
            .once(&s.app.state)
            .await
            .unwrap();
        assert_eq!(
            s.order(&order_id).await["refunded_amount"].as_i64(),
            Some(1_000)
        );
        // The merchant retries as told, with the same key: the same refund, not a second one.
        let (status, order) = crate::api::json_of(refund().send().await.unwrap()).await;
        assert_eq!(status, 201, "{order}");
        assert_eq!(order["refunded_amount"].as_i64(), Some(1_000), "{order}");
        let charge = s
            .fake
            .requests()
            .into_iter()
            .filter(|r| r.method == "POST" && r.path == "/v1/refunds" && r.status == 200)
            .map(|r| r.response["id"].as_str().unwrap().to_string())
            .collect::<std::collections::BTreeSet<_>>();
        assert_eq!(charge.len(), 1, "one refund at Stripe: {charge:?}");
    }
);
