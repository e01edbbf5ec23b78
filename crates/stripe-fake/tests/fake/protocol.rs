//! The wire protocol around every call: keys, 404s, idempotency, accounts, outages and the
//! request record.

use crate::common::{key, Harness, DELIBERATE, KEY};
use kassa_stripe_fake::{Outage, TapOutcome};
use std::time::Duration;

#[tokio::test]
async fn a_wrong_or_missing_key_is_401_in_stripes_shape() {
    let h = Harness::start().await;
    let url = format!("{}/v1/payment_intents/pi_x", h.fake.base_url());
    let wrong = h
        .http
        .get(&url)
        .bearer_auth("sk_test_51SomebodyElsesKey1234")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert!(wrong.headers().contains_key("request-id"));
    let body: serde_json::Value = wrong.json().await.unwrap();
    assert_eq!(body["error"]["type"], "invalid_request_error");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("Invalid API Key provided: sk_test_"),
        "{message}"
    );
    assert!(
        message.ends_with("1234") && !message.contains("SomebodyElses"),
        "the key is masked: {message}"
    );
    let missing = h.http.get(&url).send().await.unwrap();
    assert_eq!(missing.status(), 401);
    h.finish().await;
}

#[tokio::test]
async fn unknown_ids_are_resource_missing() {
    let h = Harness::start().await;
    let pi = h.get("/v1/payment_intents/pi_doesnotexist").await;
    assert_eq!((pi.status, pi.code()), (404, "resource_missing"));
    assert_eq!(pi.body["error"]["param"], "intent");
    assert_eq!(
        pi.body["error"]["message"],
        "No such payment_intent: 'pi_doesnotexist'"
    );
    let capture = h
        .post("/v1/payment_intents/pi_doesnotexist/capture", &[])
        .await;
    assert_eq!(capture.status, 404);
    h.finish().await;
}

#[tokio::test]
async fn unknown_urls_are_refused_like_stripe() {
    // Not `finish`ed: these paths are, by design, not in the description.
    let h = Harness::start().await;
    let nowhere = h.post("/v1/teleport", &[]).await;
    assert_eq!(nowhere.status, 404);
    assert!(nowhere.body["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("Unrecognized request URL (POST: /v1/teleport)"));
    let wrong_method = h.get("/v1/terminal/connection_tokens").await;
    assert_eq!(wrong_method.status, 404);
}

#[tokio::test]
async fn unknown_parameters_and_expansion_are_refused() {
    let h = Harness::start().await;
    let pi = h.intent("100").await;
    h.fake.tap(&pi, TapOutcome::Approve).unwrap();
    let typo = h
        .post_invalid(
            &format!("/v1/payment_intents/{pi}/capture"),
            &[("amount_to_captur", "50")],
        )
        .await;
    assert_eq!((typo.status, typo.code()), (400, "parameter_unknown"));
    assert_eq!(typo.body["error"]["param"], "amount_to_captur");
    let expand = h
        .get(&format!("/v1/payment_intents/{pi}?expand[]=latest_charge"))
        .await;
    assert_eq!((expand.status, expand.code()), (400, "parameter_unknown"));
    assert_eq!(
        h.fake.payment_intent(&pi).unwrap()["status"],
        "requires_capture"
    );
    h.finish().await;
}

#[tokio::test]
async fn an_idempotency_key_replays_the_first_answer_byte_for_byte() {
    let h = Harness::start().await;
    let form = [
        ("amount", "100"),
        ("currency", "eur"),
        ("payment_method_types[]", "card_present"),
    ];
    let k = key();
    let first = h
        .post_with("/v1/payment_intents", &form, &[("idempotency-key", &k)])
        .await;
    let second = h
        .post_with("/v1/payment_intents", &form, &[("idempotency-key", &k)])
        .await;
    assert_eq!(first.text, second.text);
    assert_eq!(first.header("idempotent-replayed"), None);
    assert_eq!(second.header("idempotent-replayed"), Some("true"));
    assert_eq!(
        second.header("original-request"),
        first.header("request-id")
    );
    assert_ne!(second.header("request-id"), first.header("request-id"));

    let changed = [
        ("amount", "200"),
        ("currency", "eur"),
        ("payment_method_types[]", "card_present"),
    ];
    let misuse = h
        .post_with("/v1/payment_intents", &changed, &[("idempotency-key", &k)])
        .await;
    assert_eq!(misuse.status, 400);
    assert_eq!(misuse.body["error"]["type"], "idempotency_error");

    // A request refused for its parameters kept nothing: the corrected one runs.
    let k2 = key();
    let typo = [("amount", "1O0"), ("currency", "eur")];
    let refused = h
        .post_with(
            "/v1/payment_intents",
            &typo,
            &[("idempotency-key", &k2), (DELIBERATE, "1")],
        )
        .await;
    assert_eq!(refused.code(), "parameter_invalid_integer");
    let fixed = h
        .post_with("/v1/payment_intents", &form, &[("idempotency-key", &k2)])
        .await;
    assert_eq!(
        (fixed.status, fixed.header("idempotent-replayed")),
        (200, None)
    );

    // Keys are scoped per account: the same key elsewhere is a new request.
    let other = h
        .post_with(
            "/v1/payment_intents",
            &form,
            &[("idempotency-key", &k), ("stripe-account", "acct_1Other")],
        )
        .await;
    assert_eq!(other.status, 200);
    assert_ne!(other.id(), first.id());
    h.finish().await;
}

#[tokio::test]
async fn a_replayed_capture_does_not_capture_twice() {
    let h = Harness::start().await;
    let pi = h.intent("100").await;
    h.fake.tap(&pi, TapOutcome::Approve).unwrap();
    let k = key();
    let path = format!("/v1/payment_intents/{pi}/capture");
    let first = h.post_with(&path, &[], &[("idempotency-key", &k)]).await;
    let again = h.post_with(&path, &[], &[("idempotency-key", &k)]).await;
    assert_eq!((first.status, again.status), (200, 200));
    let fresh = h.post(&path, &[]).await;
    assert_eq!(
        fresh.code(),
        "payment_intent_unexpected_state",
        "only a new key runs again"
    );
    assert_eq!(
        h.event_types()
            .iter()
            .filter(|t| *t == "payment_intent.succeeded")
            .count(),
        1
    );
    h.finish().await;
}

#[tokio::test]
async fn objects_belong_to_the_account_that_created_them() {
    let h = Harness::start().await;
    let acct = [
        ("stripe-account", "acct_1Connected"),
        ("idempotency-key", "k-acct"),
    ];
    let created = h
        .post_with(
            "/v1/payment_intents",
            &[
                ("amount", "100"),
                ("currency", "eur"),
                ("payment_method_types[]", "card_present"),
                ("capture_method", "manual"),
            ],
            &acct,
        )
        .await;
    let pi = created.id();
    let path = format!("/v1/payment_intents/{pi}");
    assert_eq!(
        h.get(&path).await.status,
        404,
        "the platform does not see it"
    );
    assert_eq!(
        h.get_with(&path, &[("stripe-account", "acct_1Connected")])
            .await
            .status,
        200
    );
    h.fake.tap(&pi, TapOutcome::Approve).unwrap();
    assert_eq!(h.fake.events()[0]["account"], "acct_1Connected");
    h.finish().await;
}

#[tokio::test]
async fn an_outage_answers_500_and_a_retry_after_it_runs() {
    let h = Harness::start().await;
    let form = [("amount", "100"), ("currency", "eur")];
    let k = key();
    h.fake.set_outage(Outage::Down);
    let down = h
        .post_with("/v1/payment_intents", &form, &[("idempotency-key", &k)])
        .await;
    assert_eq!(down.status, 500);
    assert_eq!(down.body["error"]["type"], "api_error");
    h.fake.set_outage(Outage::None);
    let up = h
        .post_with("/v1/payment_intents", &form, &[("idempotency-key", &k)])
        .await;
    assert_eq!(
        up.status, 200,
        "the failed attempt kept nothing under the key"
    );
    assert_eq!(up.header("idempotent-replayed"), None);
    h.finish().await;
}

#[tokio::test]
async fn fail_next_fails_only_matching_calls() {
    let h = Harness::start().await;
    let pi = h.intent("100").await;
    h.fake.tap(&pi, TapOutcome::Approve).unwrap();
    h.fake.fail_next(1, "/capture");
    assert_eq!(
        h.get(&format!("/v1/payment_intents/{pi}")).await.status,
        200
    );
    let capture = format!("/v1/payment_intents/{pi}/capture");
    assert_eq!(h.post(&capture, &[]).await.status, 500);
    assert_eq!(
        h.fake.payment_intent(&pi).unwrap()["status"],
        "requires_capture"
    );
    assert_eq!(h.post(&capture, &[]).await.status, 200);
    h.finish().await;
}

#[tokio::test]
async fn a_slow_stripe_makes_the_change_before_the_client_gives_up() {
    let h = Harness::start().await;
    let pi = h.intent("100").await;
    h.fake.tap(&pi, TapOutcome::Approve).unwrap();
    h.fake.set_outage(Outage::Slow(Duration::from_millis(400)));
    let url = format!("{}/v1/payment_intents/{pi}/capture", h.fake.base_url());
    let k = key();
    let impatient = h
        .http
        .post(&url)
        .bearer_auth(KEY)
        .header("idempotency-key", &k)
        .timeout(Duration::from_millis(100))
        .send()
        .await;
    assert!(impatient.is_err_and(|e| e.is_timeout()));
    assert_eq!(h.fake.payment_intent(&pi).unwrap()["status"], "succeeded");
    h.fake.set_outage(Outage::None);
    let retry = h
        .post_with(
            &format!("/v1/payment_intents/{pi}/capture"),
            &[],
            &[("idempotency-key", &k)],
        )
        .await;
    assert_eq!(
        (retry.status, retry.header("idempotent-replayed")),
        (200, Some("true"))
    );
    h.finish().await;
}

#[tokio::test]
async fn every_request_is_recorded_with_its_answer() {
    let h = Harness::start().await;
    let pi = h.intent("100").await;
    let unkeyed = h
        .post_with(&format!("/v1/payment_intents/{pi}/cancel"), &[], &[])
        .await;
    assert_eq!(unkeyed.status, 200);
    let requests = h.fake.requests();
    assert_eq!(requests.len(), 2);
    let create = &requests[0];
    assert_eq!(
        (create.method.as_str(), create.path.as_str(), create.status),
        ("POST", "/v1/payment_intents", 200)
    );
    assert!(create
        .form
        .contains(&("metadata[kassa_session_id]".into(), "ses_1".into())));
    assert_eq!(create.header("Stripe-Version"), Some("2023-08-16"));
    assert_eq!(create.response["id"], pi.as_str());
    let without = h.fake.posts_without_idempotency_key();
    assert_eq!(without.len(), 1);
    assert_eq!(without[0].path, format!("/v1/payment_intents/{pi}/cancel"));
    h.finish().await;
}
