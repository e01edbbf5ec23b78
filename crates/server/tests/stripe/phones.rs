//! Phones (Tap to Pay): the app collects the card with the PaymentIntent Kassa prepared,
//! Kassa verifies it with Stripe. Declines, retries, captures, refunds, a lying device, and
//! the app that dies after the tap (the webhook, or the reconciler, finalizes).

use crate::both_backends;
use crate::harness::{new_attempt, text};
use kassa_stripe_fake::TapOutcome;
use reqwest::Method;
use serde_json::{json, Value};

fn refund(amount: i64) -> Option<Value> {
    Some(json!({"refunded_amount": amount, "description": "returned cup"}))
}

both_backends!(a_phone_sale_goes_from_decline_to_full_refund, |s| {
    s.fake.pause_webhooks(true); // the device's word, verified, is what finalizes here
    let sale = s.sale(&s.phone_id, 12_500, true).await;
    let id = text(&sale, "/session_id");
    let active = s.choose_card(&s.phone_token, id).await;
    assert_eq!(text(&active, "/status"), "ACTIVE");
    let pi = text(&active, "/processor/payment_intent").to_string();
    let secret = text(&active, "/processor/client_secret");
    assert!(
        pi.starts_with("pi_") && secret.starts_with(&format!("{pi}_secret")),
        "{active}"
    );
    let seen = s.session(id).await;
    assert_eq!(
        seen["processor"],
        json!({"name": "stripe", "payment_intent": pi}),
        "merchants never see the secret"
    );
    let intent = s.fake.payment_intent(&pi).unwrap();
    assert_eq!(
        (intent["amount"].as_i64(), text(&intent, "/currency")),
        (Some(12_500), "sek")
    );
    assert_eq!(text(&intent, "/capture_method"), "manual");
    assert_eq!(intent["payment_method_types"], json!(["card_present"]));
    assert_eq!(text(&intent, "/metadata/kassa_session_id"), id);
    assert_eq!(text(&intent, "/metadata/merchant_reference1"), "order-42");
    let again = s.choose_card(&s.phone_token, id).await;
    assert_eq!(
        text(&again, "/processor/payment_intent"),
        pi,
        "one PaymentIntent per session"
    );

    s.fake
        .tap(&pi, TapOutcome::Decline("insufficient_funds"))
        .unwrap();
    let (status, declined) = s.finalize(&s.phone_token, id, &new_attempt(), &pi).await;
    assert_eq!(status, 200, "{declined}");
    assert_eq!(
        (
            text(&declined, "/result"),
            text(&declined, "/failure_reason")
        ),
        ("FAILED", "INSUFFICIENT_FUNDS")
    );
    assert_eq!(
        (
            text(&declined, "/session/status"),
            declined["session"]["attempts"].as_i64()
        ),
        ("ACTIVE", Some(1))
    );

    s.fake.tap(&pi, TapOutcome::Approve).unwrap();
    let attempt = new_attempt();
    let (status, paid) = s.finalize(&s.phone_token, id, &attempt, &pi).await;
    assert_eq!(status, 200, "{paid}");
    assert_eq!(
        (text(&paid, "/result"), text(&paid, "/session/status")),
        ("SUCCEEDED", "FINALIZED")
    );
    let (status, replay) = s.finalize(&s.phone_token, id, &attempt, &pi).await;
    assert_eq!(
        (status, &replay),
        (200, &paid),
        "the same attempt_id answers the same"
    );
    assert_eq!(
        s.calls_to("POST", "/capture"),
        1,
        "captured once, whatever the retries"
    );
    let intent = s.fake.payment_intent(&pi).unwrap();
    assert_eq!(
        (text(&intent, "/status"), intent["amount_received"].as_i64()),
        ("succeeded", Some(12_500))
    );

    let order_id = text(&paid, "/session/order_id").to_string();
    let order = s.order(&order_id).await;
    assert_eq!(
        (text(&order, "/status"), order["captured_amount"].as_i64()),
        ("CAPTURED", Some(12_500))
    );
    assert_eq!(text(&order, "/captures/0/processor_reference"), pi);
    let want = [
        "CREATED:MERCHANT",
        "ACTIVE:DEVICE",
        "attempt:INSUFFICIENT_FUNDS",
        "attempt:SUCCESS",
        "FINALIZED:DEVICE",
    ];
    assert_eq!(s.timeline(id).await, want);

    let refunds = format!("/ordermanagement/v1/orders/{order_id}/refunds");
    let (status, part) = s.call(Method::POST, &refunds, refund(2_500)).await;
    assert_eq!(status, 201, "{part}");
    assert_eq!(text(&part, "/status"), "PART_REFUNDED");
    assert!(
        text(&part, "/refunds/0/processor_reference").starts_with("re_"),
        "{part}"
    );
    let charge = s
        .fake
        .charge(text(&s.fake.payment_intent(&pi).unwrap(), "/latest_charge"))
        .unwrap();
    assert_eq!(charge["amount_refunded"].as_i64(), Some(2_500));
    let (status, full) = s.call(Method::POST, &refunds, refund(10_000)).await;
    assert_eq!(
        (status, text(&full, "/status")),
        (201, "REFUNDED"),
        "{full}"
    );
    let (status, over) = s.call(Method::POST, &refunds, refund(1)).await;
    assert_eq!(
        (status, text(&over, "/error_code")),
        (400, "BAD_VALUE"),
        "{over}"
    );
    assert_eq!(
        s.calls_to("POST", "/v1/refunds"),
        2,
        "a refused refund never reaches Stripe"
    );
    let events = s.app.events(id).await;
    let want = [
        "ipp.session.created",
        "ipp.session.activated",
        "ipp.payment.failed",
        "ipp.session.finalized",
    ];
    assert_eq!(events, want);
});

both_backends!(without_auto_capture_the_merchant_captures_once, |s| {
    s.fake.pause_webhooks(true);
    let (id, pi) = s.card_sale(8_000, false).await;
    let id = id.as_str();
    s.fake.tap(&pi, TapOutcome::Approve).unwrap();
    let (_, paid) = s.finalize(&s.phone_token, id, &new_attempt(), &pi).await;
    let order_id = text(&paid, "/session/order_id").to_string();
    assert_eq!(text(&s.order(&order_id).await, "/status"), "AUTHORIZED");
    assert_eq!(
        text(&s.fake.payment_intent(&pi).unwrap(), "/status"),
        "requires_capture"
    );
    let captures = format!("/ordermanagement/v1/orders/{order_id}/captures");
    let (status, order) = s
        .call(
            Method::POST,
            &captures,
            Some(json!({"captured_amount": 6_000})),
        )
        .await;
    assert_eq!(status, 201, "{order}");
    assert_eq!(
        (
            text(&order, "/status"),
            order["remaining_authorized_amount"].as_i64()
        ),
        ("CAPTURED", Some(0))
    );
    assert_eq!(text(&order, "/captures/0/processor_reference"), pi);
    let intent = s.fake.payment_intent(&pi).unwrap();
    assert_eq!(
        intent["amount_received"].as_i64(),
        Some(6_000),
        "the rest is released"
    );
    let (status, again) = s
        .call(
            Method::POST,
            &captures,
            Some(json!({"captured_amount": 1_000})),
        )
        .await;
    assert_eq!(
        (status, text(&again, "/error_code")),
        (409, "NOT_ALLOWED"),
        "{again}"
    );
    assert_eq!(s.calls_to("POST", "/capture"), 1);
});

both_backends!(
    an_uncaptured_order_cancelled_releases_the_authorization,
    |s| {
        s.fake.pause_webhooks(true);
        let (id, pi) = s.card_sale(3_000, false).await;
        let id = id.as_str();
        s.fake.tap(&pi, TapOutcome::Approve).unwrap();
        let (_, paid) = s.finalize(&s.phone_token, id, &new_attempt(), &pi).await;
        let order_id = text(&paid, "/session/order_id").to_string();
        let cancel = format!("/ordermanagement/v1/orders/{order_id}/cancel");
        let (status, body) = s.call(Method::POST, &cancel, None).await;
        assert_eq!(status, 204, "{body}");
        assert_eq!(
            text(&s.fake.payment_intent(&pi).unwrap(), "/status"),
            "canceled"
        );
        assert_eq!(text(&s.order(&order_id).await, "/status"), "CANCELLED");
    }
);

both_backends!(a_lying_device_is_refused_and_nothing_is_recorded, |s| {
    s.fake.pause_webhooks(true);
    let (other_phone, other_token) = s.phone("iPhone at till 2").await;
    let mine = s.sale(&s.phone_id, 5_000, true).await;
    let theirs = s.sale(&other_phone, 5_000, true).await;
    let (mine, theirs) = (text(&mine, "/session_id"), text(&theirs, "/session_id"));
    let my_pi = text(
        &s.choose_card(&s.phone_token, mine).await,
        "/processor/payment_intent",
    )
    .to_string();
    let their_pi = text(
        &s.choose_card(&other_token, theirs).await,
        "/processor/payment_intent",
    )
    .to_string();
    s.fake.tap(&their_pi, TapOutcome::Approve).unwrap();

    let (status, err) = s
        .finalize(&s.phone_token, mine, &new_attempt(), &their_pi)
        .await;
    assert_eq!(
        (status, text(&err, "/error_code")),
        (400, "BAD_VALUE"),
        "{err}"
    );
    assert!(
        err["error_messages"][0]
            .as_str()
            .unwrap()
            .starts_with("payment.reference:"),
        "{err}"
    );
    let (status, err) = s
        .finalize(&s.phone_token, mine, &new_attempt(), &my_pi)
        .await;
    assert_eq!(
        (status, text(&err, "/error_code")),
        (409, "NOT_ALLOWED"),
        "an unpaid intent: {err}"
    );
    for bad in ["ch_3MmlLrLkdIwHu7ix0snN0B15", "pi_", "pi_unknown"] {
        let (status, err) = s.finalize(&s.phone_token, mine, &new_attempt(), bad).await;
        assert_eq!(
            (status, text(&err, "/error_code")),
            (400, "BAD_VALUE"),
            "{bad}: {err}"
        );
    }
    let path = format!("/ipp/v1/sessions/{mine}/finalize");
    let adyen =
        json!({"attempt_id": new_attempt(), "payment": {"processor": "adyen", "reference": "x"}});
    let (status, err) = s
        .pos(&s.phone_token, Method::POST, &path, Some(adyen))
        .await;
    assert_eq!(
        (status, text(&err, "/error_code")),
        (400, "BAD_VALUE"),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("payment.processor: unknown processor"),
        "{err}"
    );
    let simulated = json!({"attempt_id": new_attempt(), "payment": {"processor": "simulated", "outcome": "SUCCESS"}});
    let (status, err) = s
        .pos(&s.phone_token, Method::POST, &path, Some(simulated))
        .await;
    assert_eq!(
        (status, text(&err, "/error_code")),
        (400, "BAD_VALUE"),
        "live mode has no simulated card: {err}"
    );
    let session = s.session(mine).await;
    assert_eq!(
        (text(&session, "/status"), session["attempts"].as_i64()),
        ("ACTIVE", Some(0))
    );
    assert_eq!(
        s.timeline(mine).await,
        ["CREATED:MERCHANT", "ACTIVE:DEVICE"]
    );
    assert_eq!(s.calls_to("POST", "/capture"), 0);
    assert_eq!(
        text(&s.session(theirs).await, "/status"),
        "ACTIVE",
        "the other sale is untouched"
    );
});

both_backends!(
    one_decline_counts_once_and_the_attempt_limit_cancels_the_payment,
    |s| {
        s.fake.pause_webhooks(true);
        let (id, pi) = s.card_sale(1_700, true).await;
        let id = id.as_str();
        s.fake.tap(&pi, TapOutcome::Decline("lost_card")).unwrap();
        for _ in 0..2 {
            // The app asks twice about the same decline, with a new attempt_id each time.
            let (status, answer) = s.finalize(&s.phone_token, id, &new_attempt(), &pi).await;
            assert_eq!(
                (status, text(&answer, "/failure_reason")),
                (200, "LOST_CARD"),
                "{answer}"
            );
            assert_eq!(
                answer["session"]["attempts"].as_i64(),
                Some(1),
                "one decline, one attempt"
            );
        }
        for n in 2..=5 {
            s.fake
                .tap(&pi, TapOutcome::Decline("insufficient_funds"))
                .unwrap();
            let (_, answer) = s.finalize(&s.phone_token, id, &new_attempt(), &pi).await;
            assert_eq!(answer["session"]["attempts"].as_i64(), Some(n), "{answer}");
        }
        assert_eq!(text(&s.session(id).await, "/status"), "FAILED");
        let intent = s.fake.payment_intent(&pi).unwrap();
        assert_eq!(
            text(&intent, "/status"),
            "canceled",
            "nothing left open to take money later"
        );
    }
);
