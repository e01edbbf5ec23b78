//! Stripe's webhooks: the app that dies after the tap (the webhook, or the reconciler when
//! the webhook is lost, finalizes), signatures, duplicates, refunds made in Stripe's
//! dashboard, and two Kassa nodes receiving the same event.

use crate::both_backends;
use crate::harness::{new_attempt, text, StripeApp, WEBHOOK_SECRET};
use kassa_store::Backend;
use kassa_stripe_fake::{sign_payload, TapOutcome};
use reqwest::Method;
use serde_json::{json, Value};

/// A phone sale paid and finalized (webhooks paused while it happens); returns the session
/// id, its PaymentIntent and its order id.
async fn paid_sale(s: &StripeApp, amount: i64) -> (String, String, String) {
    s.fake.pause_webhooks(true);
    let (id, pi) = s.card_sale(amount, true).await;
    s.fake.tap(&pi, TapOutcome::Approve).unwrap();
    let (status, paid) = s.finalize(&s.phone_token, &id, &new_attempt(), &pi).await;
    assert_eq!(status, 200, "{paid}");
    s.fake.pause_webhooks(false);
    s.fake.flush_webhooks().await;
    (id, pi, text(&paid, "/session/order_id").to_string())
}

fn event(id: &str, kind: &str, object: Value) -> String {
    json!({"id": id, "object": "event", "type": kind, "created": chrono::Utc::now().timestamp(),
        "livemode": true, "api_version": "2023-08-16", "data": {"object": object}})
    .to_string()
}

async fn post(base: &str, body: &str, signature: Option<String>) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{base}/processors/stripe/webhook"))
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(signature) = signature {
        request = request.header("Stripe-Signature", signature);
    }
    crate::api::json_of(request.send().await.unwrap()).await
}

both_backends!(bad_signatures_change_nothing, |s| {
    s.fake.pause_webhooks(true);
    let (id, pi) = s.card_sale(600, true).await;
    let id = id.as_str();
    s.fake.tap(&pi, TapOutcome::Approve).unwrap();
    let body = event(
        "evt_forged",
        "payment_intent.amount_capturable_updated",
        json!({"id": pi, "object": "payment_intent"}),
    );
    let now = chrono::Utc::now().timestamp();
    let forged = [
        None,
        Some("garbage".to_string()),
        Some(sign_payload("whsec_someone_else", now, &body)),
        Some(sign_payload(WEBHOOK_SECRET, now - 400, &body)),
        Some(sign_payload(
            WEBHOOK_SECRET,
            now,
            &body.replace("evt_forged", "evt_other"),
        )),
    ];
    for signature in forged {
        let (status, err) = post(&s.app.base, &body, signature.clone()).await;
        assert_eq!(
            (status, text(&err, "/error_code")),
            (400, "BAD_VALUE"),
            "{signature:?}: {err}"
        );
        assert!(
            text(&err, "/error_messages/0").starts_with("Stripe-Signature:"),
            "{err}"
        );
    }
    assert_eq!(
        text(&s.session(id).await, "/status"),
        "ACTIVE",
        "nothing acted on a forged event"
    );
    // Two signatures, the second one right (Stripe sends several while a secret rolls).
    let good = sign_payload(WEBHOOK_SECRET, now, &body);
    let v1 = good.split_once(",v1=").unwrap().1;
    let rolled = format!("t={now},v1={},v1={v1}", "0".repeat(64));
    let (status, answer) = post(&s.app.base, &body, Some(rolled)).await;
    assert_eq!(
        (status, &answer),
        (200, &json!({"received": true, "duplicate": false}))
    );
    assert_eq!(text(&s.session(id).await, "/status"), "FINALIZED");
    let (status, answer) = post(&s.app.base, &body, Some(good)).await;
    assert_eq!((status, &answer["duplicate"]), (200, &json!(true)));
    let unknown = event(
        "evt_unknown_pi",
        "payment_intent.succeeded",
        json!({"id": "pi_not_ours", "object": "payment_intent"}),
    );
    let (status, answer) = post(
        &s.app.base,
        &unknown,
        Some(sign_payload(WEBHOOK_SECRET, now, &unknown)),
    )
    .await;
    assert_eq!(
        status, 200,
        "another integration's payment is acknowledged and ignored: {answer}"
    );
});

both_backends!(a_duplicate_webhook_counts_once, |s| {
    let (id, pi) = s.card_sale(1_200, true).await;
    let id = id.as_str();
    s.fake.tap(&pi, TapOutcome::Approve).unwrap();
    s.wait_until(id, |x| x["status"] == "FINALIZED").await;
    let before = (s.timeline(id).await, s.app.events(id).await);
    for e in s.fake.events() {
        s.fake.deliver_again(text(&e, "/id")).unwrap();
    }
    s.fake.flush_webhooks().await;
    assert!(
        s.fake.deliveries().iter().all(|d| d.status == Some(200)),
        "{:?}",
        s.fake.deliveries()
    );
    assert_eq!((s.timeline(id).await, s.app.events(id).await), before);
    assert_eq!(s.calls_to("POST", "/capture"), 1);
});

both_backends!(a_refund_made_in_stripes_dashboard_shows_on_the_order, |s| {
    let (_, pi, order_id) = paid_sale(&s, 5_000).await;
    let refund = s.fake.refund_in_dashboard(&pi, 1_000).unwrap();
    s.fake.flush_webhooks().await;
    let order = s.order(&order_id).await;
    assert_eq!(
        (text(&order, "/status"), order["refunded_amount"].as_i64()),
        ("PART_REFUNDED", Some(1_000)),
        "{order}"
    );
    assert_eq!(text(&order, "/refunds/0/processor_reference"), refund);
    // Kassa's own refund, and Stripe's webhook about it, count once.
    let path = format!("/ordermanagement/v1/orders/{order_id}/refunds");
    let (status, order) = s
        .call(Method::POST, &path, Some(json!({"refunded_amount": 500})))
        .await;
    assert_eq!(status, 201, "{order}");
    s.fake.flush_webhooks().await;
    let order = s.order(&order_id).await;
    assert_eq!(order["refunded_amount"].as_i64(), Some(1_500), "{order}");
    assert_eq!(order["refunds"].as_array().unwrap().len(), 2);
});

both_backends!(the_webhook_finalizes_when_the_app_dies_after_the_tap, |s| {
    let (id, pi) = s.card_sale(4_200, true).await;
    let id = id.as_str();
    s.fake.tap(&pi, TapOutcome::Approve).unwrap();
    let done = s.wait_until(id, |x| x["status"] == "FINALIZED").await;
    assert_eq!(s.timeline(id).await.last().unwrap(), "FINALIZED:PROCESSOR");
    let order = s.order(text(&done, "/order_id")).await;
    assert_eq!(text(&order, "/status"), "CAPTURED");
    // The app comes back and reports the same payment: the same success, nothing twice.
    let (status, late) = s.finalize(&s.phone_token, id, &new_attempt(), &pi).await;
    assert_eq!(
        (status, text(&late, "/result")),
        (200, "SUCCEEDED"),
        "{late}"
    );
    assert_eq!(late["session"]["order_id"], done["order_id"]);
    assert_eq!(s.calls_to("POST", "/capture"), 1);
    let finalized = s
        .app
        .events(id)
        .await
        .iter()
        .filter(|e| *e == "ipp.session.finalized")
        .count();
    assert_eq!(finalized, 1);
});

both_backends!(the_reconciler_finalizes_after_a_lost_webhook, |s| {
    s.fake.pause_webhooks(true); // Stripe's webhook never arrives
    let (id, pi) = s.card_sale(990, true).await;
    let id = id.as_str();
    s.fake.tap(&pi, TapOutcome::Approve).unwrap();
    assert_eq!(text(&s.session(id).await, "/status"), "ACTIVE");
    assert!(s.reconcile_after_grace().await >= 1);
    let done = s.session(id).await;
    assert_eq!(text(&done, "/status"), "FINALIZED", "{done}");
    assert_eq!(s.timeline(id).await.last().unwrap(), "FINALIZED:PROCESSOR");
    assert_eq!(
        text(&s.fake.payment_intent(&pi).unwrap(), "/status"),
        "succeeded"
    );
});

/// Two nodes on one PostgreSQL database get the same event at once: one acts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_receiving_the_same_webhook_act_once() {
    let s = StripeApp::spawn(Backend::Postgres).await;
    let config = (*s.app.state.config).clone();
    let other = kassa_server::App::build_with_clock(config, s.app.clock.clone())
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let other_base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(other.serve(listener));

    s.fake.pause_webhooks(true);
    let (id, pi) = s.card_sale(2_000, true).await;
    let id = id.as_str();
    s.fake.tap(&pi, TapOutcome::Approve).unwrap();
    let body = event(
        "evt_twice",
        "payment_intent.amount_capturable_updated",
        json!({"id": pi, "object": "payment_intent"}),
    );
    let signature = sign_payload(WEBHOOK_SECRET, chrono::Utc::now().timestamp(), &body);
    let (a, b) = tokio::join!(
        post(&s.app.base, &body, Some(signature.clone())),
        post(&other_base, &body, Some(signature.clone())),
    );
    assert_eq!((a.0, b.0), (200, 200), "{a:?} {b:?}");
    let fresh = [&a.1, &b.1]
        .iter()
        .filter(|r| r["duplicate"] == json!(false))
        .count();
    assert_eq!(fresh, 1, "exactly one node acts: {a:?} {b:?}");
    let done = s.wait_until(id, |x| x["status"] == "FINALIZED").await;
    assert_eq!(done["attempts"].as_i64(), Some(1));
    assert_eq!(s.calls_to("POST", "/capture"), 1);
}
