//! Webhook delivery: Stripe's envelope, signatures checked by the receiver's own code, order,
//! lost and duplicated deliveries.

use crate::common::{verify, Harness, Receiver, WHSEC};
use kassa_stripe_fake::{sign_payload, TapOutcome};

#[tokio::test]
async fn events_arrive_signed_in_the_order_they_happened() {
    let h = Harness::start().await;
    let pi = h.intent("1000").await;
    h.fake
        .tap(&pi, TapOutcome::Decline("generic_decline"))
        .unwrap();
    h.fake.tap(&pi, TapOutcome::Approve).unwrap();
    let k = "capture-key-1";
    h.post_with(
        &format!("/v1/payment_intents/{pi}/capture"),
        &[],
        &[("idempotency-key", k)],
    )
    .await;
    h.post("/v1/refunds", &[("payment_intent", &pi), ("amount", "100")])
        .await;
    h.fake.flush_webhooks().await;

    let emitted = h.fake.events();
    assert_eq!(
        h.hooks.events(),
        emitted,
        "every event delivered once, in order"
    );
    let types: Vec<&str> = emitted
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "payment_intent.payment_failed",
            "payment_intent.amount_capturable_updated",
            "payment_intent.succeeded",
            "charge.refunded"
        ]
    );
    let succeeded = &emitted[2];
    assert!(succeeded["id"].as_str().unwrap().starts_with("evt_"));
    assert_eq!(succeeded["object"], "event");
    assert_eq!(succeeded["api_version"], "2023-08-16");
    assert_eq!(succeeded["livemode"], false);
    assert_eq!(succeeded["pending_webhooks"], 1);
    assert_eq!(succeeded["request"]["idempotency_key"], k);
    assert!(succeeded["request"]["id"]
        .as_str()
        .unwrap()
        .starts_with("req_"));
    assert!(
        emitted[0]["request"]["id"].is_null(),
        "a tap is not an API request"
    );
    assert!(emitted[0].get("account").is_none());
    assert_eq!(succeeded["data"]["object"]["id"], pi.as_str());

    let deliveries = h.fake.deliveries();
    assert_eq!(deliveries.len(), 4);
    assert!(
        deliveries.iter().all(|d| d.status == Some(200)),
        "{deliveries:?}"
    );
    h.finish().await;
}

#[tokio::test]
async fn paused_events_are_lost_until_delivered_again() {
    let h = Harness::start().await;
    let pi = h.intent("100").await;
    h.fake.pause_webhooks(true);
    h.fake.tap(&pi, TapOutcome::Approve).unwrap();
    h.fake.pause_webhooks(false);
    h.fake.flush_webhooks().await;
    assert!(
        h.hooks.events().is_empty(),
        "a paused event is never sent by itself"
    );
    let lost = h.fake.events();
    assert_eq!(lost.len(), 1);
    assert_eq!(lost[0]["pending_webhooks"], 0);

    let id = lost[0]["id"].as_str().unwrap();
    h.fake.deliver_again(id).unwrap();
    h.fake.deliver_again(id).unwrap();
    h.fake.flush_webhooks().await;
    let got = h.hooks.events();
    assert_eq!(got.len(), 2, "a duplicate is the same event twice");
    assert_eq!(
        (got[0]["id"].as_str(), got[1]["id"].as_str()),
        (Some(id), Some(id))
    );
    assert!(h.fake.deliver_again("evt_nope").is_err());
    h.finish().await;
}

#[tokio::test]
async fn the_receivers_answer_is_recorded_and_not_retried() {
    let h = Harness::start().await;
    h.hooks.answer_with(500);
    let pi = h.intent("100").await;
    h.fake.tap(&pi, TapOutcome::Approve).unwrap();
    h.fake.flush_webhooks().await;
    let deliveries = h.fake.deliveries();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].status, Some(500));
    assert_eq!(
        deliveries[0].event_type,
        "payment_intent.amount_capturable_updated"
    );
    h.finish().await;
}

#[tokio::test]
async fn without_a_url_events_are_only_logged() {
    let h = Harness::start().await;
    h.fake.set_webhook_url(None);
    let pi = h.intent("100").await;
    h.fake.tap(&pi, TapOutcome::Approve).unwrap();
    h.fake.flush_webhooks().await;
    assert_eq!(h.fake.events().len(), 1);
    assert!(h.fake.deliveries().is_empty());
    assert!(h.hooks.events().is_empty());

    let elsewhere = Receiver::start().await;
    h.fake.set_webhook_url(Some(elsewhere.url.clone()));
    h.fake.tap(&pi, TapOutcome::Approve).unwrap_err();
    h.post(&format!("/v1/payment_intents/{pi}/capture"), &[])
        .await;
    h.fake.flush_webhooks().await;
    assert_eq!(elsewhere.events().len(), 1, "the new URL gets what follows");
    h.finish().await;
}

#[tokio::test]
async fn the_receivers_check_rejects_a_forged_signature() {
    // Shows the receiver's verification can fail, so its silence in `finish` means something.
    let body = r#"{"id":"evt_1","object":"event"}"#;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!(verify(
        WHSEC,
        &sign_payload(WHSEC, now, body),
        body.as_bytes()
    ));
    assert!(!verify(
        WHSEC,
        &sign_payload("whsec_wrong", now, body),
        body.as_bytes()
    ));
    assert!(!verify(
        WHSEC,
        &sign_payload(WHSEC, now - 3600, body),
        body.as_bytes()
    ));
    assert!(!verify(WHSEC, &sign_payload(WHSEC, now, body), b"{}"));
}
