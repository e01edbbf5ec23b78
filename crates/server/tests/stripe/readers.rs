//! Smart readers that Kassa drives from the server: registration, a sale through a decline
//! and a retry, busy and offline readers, cancel racing an authorization, expiry.

use crate::both_backends;
use crate::harness::{text, StripeApp};
use kassa_stripe_fake::TapOutcome;
use reqwest::Method;
use serde_json::{json, Value};

/// Registers a reader by the code on its screen; returns (device id, reader id).
async fn reader(s: &StripeApp, code: &str) -> (String, String) {
    s.fake.add_registration_code(code);
    let body = json!({"processor": "stripe", "registration_code": code, "name": "Counter reader",
        "location_id": s.location_id});
    let (status, device) = s
        .call(Method::POST, "/ipp/v1/devices/readers", Some(body))
        .await;
    assert_eq!(status, 201, "{device}");
    assert_eq!(text(&device, "/platform"), "TERMINAL");
    (
        text(&device, "/id").into(),
        text(&device, "/processor_reader").into(),
    )
}

fn attempts(session: &Value) -> i64 {
    session["attempts"].as_i64().unwrap()
}

both_backends!(
    a_reader_sale_declines_then_succeeds_on_the_reader_alone,
    |s| {
        let (device, tmr) = reader(&s, "simulated-wpe-1").await;
        assert!(tmr.starts_with("tmr_"));
        let stripe_reader = s.fake.reader(&tmr).unwrap();
        assert!(
            text(&stripe_reader, "/location").starts_with("tml_"),
            "{stripe_reader}"
        );

        let sale = s.sale(&device, 2_300, true).await;
        let id = text(&sale, "/session_id");
        assert_eq!(
            (text(&sale, "/status"), text(&sale, "/payment_method")),
            ("ACTIVE", "CARD_TAP")
        );
        let pi = text(&sale, "/processor/payment_intent").to_string();
        assert!(
            sale["processor"].get("client_secret").is_none(),
            "no app, no secret: {sale}"
        );
        let on_screen = s.fake.reader(&tmr).unwrap();
        assert_eq!(
            text(&on_screen, "/action/process_payment_intent/payment_intent"),
            pi
        );

        s.fake
            .present_on_reader(&tmr, TapOutcome::Decline("generic_decline"))
            .unwrap();
        let declined = s.wait_until(id, |x| attempts(x) == 1).await;
        assert_eq!(
            (
                text(&declined, "/status"),
                text(&declined, "/failure_reason")
            ),
            ("ACTIVE", "DECLINED_GENERIC")
        );
        let again = s.fake.reader(&tmr).unwrap();
        assert_eq!(
            text(&again, "/action/status"),
            "in_progress",
            "presented again: {again}"
        );

        s.fake.present_on_reader(&tmr, TapOutcome::Approve).unwrap();
        let done = s.wait_until(id, |x| x["status"] == "FINALIZED").await;
        assert_eq!(attempts(&done), 2);
        let want = [
            "CREATED:MERCHANT",
            "ACTIVE:DEVICE",
            "attempt:DECLINED_GENERIC",
            "attempt:SUCCESS",
            "FINALIZED:DEVICE",
        ];
        assert_eq!(s.timeline(id).await, want);
        let order = s.order(text(&done, "/order_id")).await;
        assert_eq!(text(&order, "/status"), "CAPTURED");
        assert_eq!(
            text(&s.fake.payment_intent(&pi).unwrap(), "/status"),
            "succeeded"
        );
        // A redelivered webhook about the decline counts nothing twice.
        for event in s.fake.events() {
            s.fake.deliver_again(text(&event, "/id")).unwrap();
        }
        s.fake.flush_webhooks().await;
        assert_eq!(attempts(&s.session(id).await), 2);
    }
);

both_backends!(busy_and_offline_readers_store_nothing, |s| {
    let (device, tmr) = reader(&s, "simulated-wpe-2").await;
    s.fake.set_reader_online(&tmr, false).unwrap();
    let body = crate::api::cart(&device, 1_000);
    let (status, err) = s
        .call(Method::POST, "/ipp/v1/sessions", Some(body.clone()))
        .await;
    assert_eq!(
        (status, text(&err, "/error_code")),
        (409, "NOT_ALLOWED"),
        "{err}"
    );
    assert!(err.to_string().contains("reader offline"), "{err}");
    s.fake.set_reader_online(&tmr, true).unwrap();
    let first = s.sale(&device, 1_000, true).await;
    // Kassa's own rule answers before Stripe is asked.
    let (status, err) = s.call(Method::POST, "/ipp/v1/sessions", Some(body)).await;
    assert_eq!(
        (status, text(&err, "/error_code")),
        (409, "DEVICE_BUSY"),
        "{err}"
    );
    let (_, list) = s
        .call(
            Method::GET,
            &format!("/ipp/v1/sessions?device_id={device}"),
            None,
        )
        .await;
    assert_eq!(list["total_elements"], 1, "{list}");
    let intents = s.calls_to("POST", "/v1/payment_intents");
    assert_eq!(
        intents, 2,
        "the offline attempt's PaymentIntent and the sale's"
    );
    let offline_pi = s
        .fake
        .requests()
        .into_iter()
        .find(|r| r.method == "POST" && r.path == "/v1/payment_intents")
        .map(|r| r.response["id"].as_str().unwrap().to_string())
        .unwrap();
    assert_eq!(
        text(&s.fake.payment_intent(&offline_pi).unwrap(), "/status"),
        "canceled",
        "undone at Stripe"
    );
    assert_eq!(text(&first, "/status"), "ACTIVE");
});

both_backends!(cancel_racing_an_authorization_ends_finalized, |s| {
    let (device, tmr) = reader(&s, "simulated-wpe-3").await;
    s.fake.pause_webhooks(true); // the authorization's webhook has not arrived yet
    let sale = s.sale(&device, 1_500, true).await;
    let id = text(&sale, "/session_id");
    s.fake.present_on_reader(&tmr, TapOutcome::Approve).unwrap();
    let (status, err) = s
        .call(Method::PUT, &format!("/ipp/v1/sessions/{id}/cancel"), None)
        .await;
    assert_eq!(
        (status, text(&err, "/error_code")),
        (409, "NOT_ALLOWED"),
        "{err}"
    );
    assert!(
        err.to_string().contains("FINALIZED"),
        "the cancel names the status: {err}"
    );
    let done = s.session(id).await;
    assert_eq!(text(&done, "/status"), "FINALIZED");
    assert_eq!(
        text(&s.order(text(&done, "/order_id")).await, "/status"),
        "CAPTURED"
    );
});

both_backends!(
    a_merchant_cancel_clears_the_reader_and_cancels_the_payment,
    |s| {
        let (device, tmr) = reader(&s, "simulated-wpe-4").await;
        let sale = s.sale(&device, 1_500, true).await;
        let id = text(&sale, "/session_id");
        let pi = text(&sale, "/processor/payment_intent").to_string();
        // Stripe's `payment_intent.canceled` for our own cancel arrives after our call
        // returns (held here: a local fake could otherwise beat our commit to it).
        s.fake.pause_webhooks(true);
        let (status, cancelled) = s
            .call(Method::PUT, &format!("/ipp/v1/sessions/{id}/cancel"), None)
            .await;
        assert_eq!(
            (status, text(&cancelled, "/status")),
            (200, "CANCELLED"),
            "{cancelled}"
        );
        s.fake.pause_webhooks(false);
        s.fake.flush_webhooks().await;
        assert_eq!(
            text(&s.fake.payment_intent(&pi).unwrap(), "/status"),
            "canceled"
        );
        assert!(
            s.fake.reader(&tmr).unwrap()["action"].is_null(),
            "nothing left on the reader's screen"
        );
        assert_eq!(s.timeline(id).await.last().unwrap(), "CANCELLED:MERCHANT");
    }
);

both_backends!(
    an_expired_reader_session_is_cancelled_at_stripe_first,
    |s| {
        let (device, tmr) = reader(&s, "simulated-wpe-5").await;
        let mut body = crate::api::cart(&device, 700);
        body["expires_in"] = json!(10_000);
        let (status, sale) = s.call(Method::POST, "/ipp/v1/sessions", Some(body)).await;
        assert_eq!(status, 200, "{sale}");
        let id = text(&sale, "/session_id");
        let pi = text(&sale, "/processor/payment_intent").to_string();
        s.app.clock.advance(chrono::Duration::seconds(11));
        let swept = kassa_server::sweeper::expire_once(&s.app.state)
            .await
            .unwrap();
        assert_eq!(swept, 0, "the plain sweeper leaves it to Stripe");
        s.reconcile_after_grace().await;
        assert_eq!(text(&s.session(id).await, "/status"), "EXPIRED");
        assert_eq!(
            text(&s.fake.payment_intent(&pi).unwrap(), "/status"),
            "canceled"
        );
        assert!(s.fake.reader(&tmr).unwrap()["action"].is_null());
    }
);

both_backends!(reader_registration_refuses_bad_input, |s| {
    let cases = [
        (
            json!({"processor": "adyen", "registration_code": "x", "location_id": s.location_id}),
            "processor",
        ),
        (
            json!({"processor": "stripe", "location_id": s.location_id}),
            "registration_code",
        ),
        (
            json!({"processor": "stripe", "registration_code": "a", "reader_id": "tmr_1", "location_id": s.location_id}),
            "registration_code",
        ),
        (
            json!({"processor": "stripe", "registration_code": "never-issued", "location_id": s.location_id}),
            "registration_code",
        ),
        (
            json!({"processor": "stripe", "reader_id": "not-a-reader", "location_id": s.location_id}),
            "reader_id",
        ),
        (
            json!({"processor": "stripe", "reader_id": "tmr_missing", "location_id": s.location_id}),
            "reader_id",
        ),
        (
            json!({"processor": "stripe", "registration_code": "x", "location_id": uuid::Uuid::new_v4()}),
            "location_id",
        ),
    ];
    for (body, field) in cases {
        let (status, err) = s
            .call(Method::POST, "/ipp/v1/devices/readers", Some(body.clone()))
            .await;
        assert_eq!(
            (status, text(&err, "/error_code")),
            (400, "BAD_VALUE"),
            "{body}: {err}"
        );
        let message = err["error_messages"][0].as_str().unwrap();
        assert!(message.starts_with(&format!("{field}:")), "{body}: {err}");
    }
    let (_, tmr) = reader(&s, "simulated-wpe-6").await;
    let body = json!({"processor": "stripe", "reader_id": tmr, "location_id": s.location_id});
    let (status, err) = s
        .call(Method::POST, "/ipp/v1/devices/readers", Some(body))
        .await;
    assert_eq!(
        (status, text(&err, "/error_code")),
        (409, "NOT_ALLOWED"),
        "registered twice: {err}"
    );
});

both_backends!(a_declined_reader_sale_past_its_deadline_expires, |s| {
    let (device, tmr) = reader(&s, "simulated-wpe-7").await;
    let mut body = crate::api::cart(&device, 700);
    body["expires_in"] = json!(10_000);
    let (status, sale) = s.call(Method::POST, "/ipp/v1/sessions", Some(body)).await;
    assert_eq!(status, 200, "{sale}");
    let id = text(&sale, "/session_id");
    let pi = text(&sale, "/processor/payment_intent").to_string();
    s.fake.pause_webhooks(true); // the decline is learnt by polling
    s.fake
        .present_on_reader(&tmr, TapOutcome::Decline("generic_decline"))
        .unwrap();
    s.app.clock.advance(chrono::Duration::seconds(11));
    s.reconcile_after_grace().await;
    let done = s.session(id).await;
    assert_eq!(
        (text(&done, "/status"), attempts(&done)),
        ("EXPIRED", 1),
        "{done}"
    );
    assert_eq!(
        text(&s.fake.payment_intent(&pi).unwrap(), "/status"),
        "canceled"
    );
    assert!(s.fake.reader(&tmr).unwrap()["action"].is_null());
});
