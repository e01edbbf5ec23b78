//! PaymentIntents, captures, cancels and refunds: the state machine as Kassa drives it.

use crate::common::Harness;
use kassa_stripe_fake::TapOutcome;

#[tokio::test]
async fn a_tapped_card_is_held_then_captured_in_full() {
    let h = Harness::start().await;
    let created = h
        .post(
            "/v1/payment_intents",
            &[
                ("amount", "1250"),
                ("currency", "eur"),
                ("payment_method_types[]", "card_present"),
                ("capture_method", "manual"),
                ("metadata[kassa_session_id]", "ses_42"),
                ("description", "Table 4"),
            ],
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.text);
    let pi = created.id();
    let b = &created.body;
    assert!(pi.starts_with("pi_"));
    assert_eq!(b["object"], "payment_intent");
    assert_eq!(b["status"], "requires_payment_method");
    assert_eq!(b["livemode"], false);
    assert_eq!(b["metadata"]["kassa_session_id"], "ses_42");
    assert_eq!(b["payment_method_types"][0], "card_present");
    assert!(b["client_secret"]
        .as_str()
        .unwrap()
        .starts_with(&format!("{pi}_secret_")));
    assert!(b["latest_charge"].is_null());

    h.fake.tap(&pi, TapOutcome::Approve).unwrap();
    let held = h.get(&format!("/v1/payment_intents/{pi}")).await;
    assert_eq!(held.body["status"], "requires_capture");
    assert_eq!(held.body["amount_capturable"], 1250);
    let charge = held.body["latest_charge"].as_str().unwrap().to_owned();
    assert!(charge.starts_with("ch_"));

    let captured = h
        .post(&format!("/v1/payment_intents/{pi}/capture"), &[])
        .await;
    assert_eq!(captured.status, 200, "{}", captured.text);
    assert_eq!(captured.body["status"], "succeeded");
    assert_eq!(captured.body["amount_received"], 1250);
    assert_eq!(captured.body["amount_capturable"], 0);
    assert_eq!(h.fake.charge(&charge).unwrap()["amount_captured"], 1250);
    assert_eq!(
        h.event_types(),
        [
            "payment_intent.amount_capturable_updated",
            "payment_intent.succeeded"
        ]
    );
    h.finish().await;
}

#[tokio::test]
async fn a_partial_capture_releases_the_rest_and_bounds_refunds() {
    let h = Harness::start().await;
    let pi = h.intent("1000").await;
    h.fake.tap(&pi, TapOutcome::Approve).unwrap();
    let captured = h
        .post(
            &format!("/v1/payment_intents/{pi}/capture"),
            &[("amount_to_capture", "600")],
        )
        .await;
    assert_eq!(captured.body["status"], "succeeded");
    assert_eq!(captured.body["amount_received"], 600);
    assert_eq!(captured.body["amount_capturable"], 0);

    let refund = |amount: &'static str| {
        let pi = pi.clone();
        let h = &h;
        async move {
            let mut form = vec![
                ("payment_intent", pi.as_str()),
                ("metadata[kassa_refund_id]", "rf_1"),
            ];
            if !amount.is_empty() {
                form.push(("amount", amount));
            }
            h.post("/v1/refunds", &form).await
        }
    };
    let first = refund("400").await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert!(first.id().starts_with("re_"));
    assert_eq!(first.body["status"], "succeeded");
    assert_eq!(first.body["amount"], 400);
    assert_eq!(first.body["payment_intent"], pi.as_str());

    let too_much = refund("300").await;
    assert_eq!(
        (too_much.status, too_much.code()),
        (400, "amount_too_large")
    );
    assert_eq!(too_much.body["error"]["type"], "invalid_request_error");
    assert_eq!(too_much.body["error"]["param"], "amount");

    let rest = refund("").await;
    assert_eq!(
        rest.body["amount"], 200,
        "no amount refunds what is left: {}",
        rest.text
    );
    let again = refund("").await;
    assert_eq!(
        (again.status, again.code()),
        (400, "charge_already_refunded")
    );

    let refunded: Vec<_> = h
        .fake
        .events()
        .into_iter()
        .filter(|e| e["type"] == "charge.refunded")
        .collect();
    assert_eq!(refunded.len(), 2);
    let charge = &refunded[1]["data"]["object"];
    assert_eq!(charge["object"], "charge");
    assert_eq!(charge["amount_refunded"], 600);
    assert_eq!(charge["refunded"], true);
    assert_eq!(charge["refunds"]["data"].as_array().unwrap().len(), 2);
    h.finish().await;
}

#[tokio::test]
async fn capture_is_refused_outside_requires_capture() {
    let h = Harness::start().await;
    let pi = h.intent("500").await;
    let capture = format!("/v1/payment_intents/{pi}/capture");
    let early = h.post(&capture, &[]).await;
    assert_eq!(
        (early.status, early.code()),
        (400, "payment_intent_unexpected_state")
    );
    assert_eq!(early.body["error"]["payment_intent"]["id"], pi.as_str());

    h.fake.tap(&pi, TapOutcome::Approve).unwrap();
    let over = h.post(&capture, &[("amount_to_capture", "501")]).await;
    assert_eq!((over.status, over.code()), (400, "amount_too_large"));
    assert_eq!(h.post(&capture, &[]).await.status, 200);
    let twice = h.post(&capture, &[]).await;
    assert_eq!(
        (twice.status, twice.code()),
        (400, "payment_intent_unexpected_state")
    );
    h.finish().await;
}

#[tokio::test]
async fn cancel_works_until_the_payment_succeeds() {
    let h = Harness::start().await;
    let waiting = h.intent("700").await;
    let canceled = h
        .post(
            &format!("/v1/payment_intents/{waiting}/cancel"),
            &[("cancellation_reason", "abandoned")],
        )
        .await;
    assert_eq!(canceled.body["status"], "canceled", "{}", canceled.text);
    assert_eq!(canceled.body["cancellation_reason"], "abandoned");
    assert!(canceled.body["canceled_at"].is_i64());
    let again = h
        .post(&format!("/v1/payment_intents/{waiting}/cancel"), &[])
        .await;
    assert_eq!(
        (again.status, again.code()),
        (400, "payment_intent_unexpected_state")
    );
    assert!(h.fake.tap(&waiting, TapOutcome::Approve).is_err());

    let held = h.intent("700").await;
    h.fake.tap(&held, TapOutcome::Approve).unwrap();
    let released = h
        .post(&format!("/v1/payment_intents/{held}/cancel"), &[])
        .await;
    assert_eq!(released.body["status"], "canceled");
    assert_eq!(released.body["amount_capturable"], 0);

    let paid = h.intent("700").await;
    h.fake.tap(&paid, TapOutcome::Approve).unwrap();
    h.post(&format!("/v1/payment_intents/{paid}/capture"), &[])
        .await;
    let late = h
        .post(&format!("/v1/payment_intents/{paid}/cancel"), &[])
        .await;
    assert_eq!(
        (late.status, late.code()),
        (400, "payment_intent_unexpected_state")
    );
    let canceled_events = h
        .event_types()
        .iter()
        .filter(|t| *t == "payment_intent.canceled")
        .count();
    assert_eq!(canceled_events, 2);
    h.finish().await;
}

#[tokio::test]
async fn a_declined_tap_records_the_error_and_can_be_retried() {
    let h = Harness::start().await;
    let pi = h.intent("900").await;
    h.fake
        .tap(&pi, TapOutcome::Decline("insufficient_funds"))
        .unwrap();
    let pi_now = h.fake.payment_intent(&pi).unwrap();
    assert_eq!(pi_now["status"], "requires_payment_method");
    let error = &pi_now["last_payment_error"];
    assert_eq!(error["type"], "card_error");
    assert_eq!(error["code"], "card_declined");
    assert_eq!(error["decline_code"], "insufficient_funds");
    assert_eq!(error["message"], "Your card has insufficient funds.");
    let failed = h
        .fake
        .charge(pi_now["latest_charge"].as_str().unwrap())
        .unwrap();
    assert_eq!(
        (failed["status"].as_str(), failed["paid"].as_bool()),
        (Some("failed"), Some(false))
    );
    assert_eq!(failed["failure_code"], "card_declined");

    h.fake
        .tap(&pi, TapOutcome::Decline("expired_card"))
        .unwrap();
    let expired = h.fake.payment_intent(&pi).unwrap();
    assert_eq!(expired["last_payment_error"]["code"], "expired_card");

    h.fake.tap(&pi, TapOutcome::Approve).unwrap();
    let approved = h.fake.payment_intent(&pi).unwrap();
    assert_eq!(approved["status"], "requires_capture");
    assert!(approved["last_payment_error"].is_null());
    assert_ne!(
        approved["latest_charge"], pi_now["latest_charge"],
        "each attempt is a charge"
    );
    assert_eq!(
        h.event_types(),
        [
            "payment_intent.payment_failed",
            "payment_intent.payment_failed",
            "payment_intent.amount_capturable_updated"
        ]
    );
    assert!(h.fake.tap("pi_unknown", TapOutcome::Approve).is_err());
    h.finish().await;
}

#[tokio::test]
async fn automatic_capture_succeeds_on_the_tap() {
    let h = Harness::start().await;
    let created = h
        .post(
            "/v1/payment_intents",
            &[
                ("amount", "300"),
                ("currency", "eur"),
                ("payment_method_types[]", "card_present"),
            ],
        )
        .await;
    assert_eq!(created.body["capture_method"], "automatic");
    h.fake.tap(&created.id(), TapOutcome::Approve).unwrap();
    let pi = h.fake.payment_intent(&created.id()).unwrap();
    assert_eq!(
        (pi["status"].as_str(), pi["amount_received"].as_i64()),
        (Some("succeeded"), Some(300))
    );
    assert_eq!(h.event_types(), ["payment_intent.succeeded"]);
    h.finish().await;
}

#[tokio::test]
async fn refunds_need_a_succeeded_payment_and_a_known_id() {
    let h = Harness::start().await;
    let pi = h.intent("800").await;
    h.fake.tap(&pi, TapOutcome::Approve).unwrap();
    let uncaptured = h.post("/v1/refunds", &[("payment_intent", &pi)]).await;
    assert_eq!(
        (uncaptured.status, uncaptured.code()),
        (400, "payment_intent_unexpected_state")
    );
    let unknown = h
        .post("/v1/refunds", &[("payment_intent", "pi_nope")])
        .await;
    assert_eq!((unknown.status, unknown.code()), (404, "resource_missing"));
    assert_eq!(unknown.body["error"]["param"], "payment_intent");

    h.post(&format!("/v1/payment_intents/{pi}/capture"), &[])
        .await;
    let charge = h.fake.payment_intent(&pi).unwrap()["latest_charge"]
        .as_str()
        .unwrap()
        .to_owned();
    let by_charge = h
        .post("/v1/refunds", &[("charge", &charge), ("amount", "100")])
        .await;
    assert_eq!(by_charge.status, 200, "{}", by_charge.text);
    assert_eq!(by_charge.body["charge"], charge.as_str());

    let outside = h.fake.refund_in_dashboard(&pi, 50).unwrap();
    assert!(outside.starts_with("re_"));
    assert!(h.fake.refund_in_dashboard(&pi, 10_000).is_err());
    let last = h.fake.events().pop().unwrap();
    assert_eq!(last["type"], "charge.refunded");
    assert!(
        last["request"]["id"].is_null(),
        "a Dashboard refund comes from no API request"
    );
    assert_eq!(last["data"]["object"]["amount_refunded"], 150);
    h.finish().await;
}

#[tokio::test]
async fn create_refuses_bad_parameters_as_stripe_does() {
    let h = Harness::start().await;
    let no_amount = h
        .post_invalid("/v1/payment_intents", &[("currency", "eur")])
        .await;
    assert_eq!(
        (no_amount.status, no_amount.code()),
        (400, "parameter_missing")
    );
    assert_eq!(no_amount.body["error"]["param"], "amount");
    let zero = h
        .post(
            "/v1/payment_intents",
            &[("amount", "0"), ("currency", "eur")],
        )
        .await;
    assert_eq!(zero.status, 400);

    let words = h
        .post_invalid(
            "/v1/payment_intents",
            &[("amount", "ten"), ("currency", "eur")],
        )
        .await;
    assert_eq!(
        (words.status, words.code()),
        (400, "parameter_invalid_integer")
    );
    let sometimes = h
        .post_invalid(
            "/v1/payment_intents",
            &[
                ("amount", "10"),
                ("currency", "eur"),
                ("capture_method", "sometimes"),
            ],
        )
        .await;
    assert_eq!(
        (sometimes.status, sometimes.body["error"]["param"].as_str()),
        (400, Some("capture_method"))
    );
    h.finish().await;
}
