//! The client against a scripted local server: headers, form bodies, the retry policy,
//! timeouts and error parsing, as seen on the wire.

mod support;

use std::time::Duration;

use kassa_stripe::{
    Call, CreatePaymentIntent, Error, PaymentIntentStatus, StripeConfig, STRIPE_VERSION,
};
use serde_json::json;
use support::{payment_intent, FakeStripe, Reply, TEST_KEY};

fn keyed() -> Call {
    Call::new().key("idem-1")
}

fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[tokio::test]
async fn create_payment_intent_sends_stripe_headers_and_a_bracketed_form() {
    let fake = FakeStripe::start(vec![Reply::json(
        200,
        payment_intent("pi_1", "requires_payment_method"),
    )])
    .await;
    let client = fake.client(|_| {});
    let call = Call::new()
        .account(Some("acct_123".into()))
        .key("ses_1:create");
    let params = CreatePaymentIntent {
        amount: 1099,
        currency: "EUR".into(),
        metadata: vec![("kassa_session_id".into(), "ses_1".into())],
        description: Some("Table 4".into()),
    };

    let pi = client.create_payment_intent(&call, &params).await.unwrap();
    assert_eq!(pi.id, "pi_1");
    assert_eq!(pi.status, PaymentIntentStatus::RequiresPaymentMethod);

    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    let req = &requests[0];
    assert_eq!(
        (req.method.as_str(), req.path.as_str()),
        ("POST", "/v1/payment_intents")
    );
    assert_eq!(
        req.header("authorization"),
        Some(format!("Bearer {TEST_KEY}").as_str())
    );
    assert_eq!(req.header("stripe-version"), Some(STRIPE_VERSION));
    assert_eq!(req.header("stripe-account"), Some("acct_123"));
    assert_eq!(req.header("idempotency-key"), Some("ses_1:create"));
    assert_eq!(
        req.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert!(req.header("user-agent").unwrap().starts_with("kassa/"));
    assert_eq!(
        req.form(),
        owned(&[
            ("amount", "1099"),
            ("currency", "eur"),
            ("payment_method_types[]", "card_present"),
            ("capture_method", "manual"),
            ("metadata[kassa_session_id]", "ses_1"),
            ("description", "Table 4"),
        ])
    );
}

#[tokio::test]
async fn gets_carry_no_account_or_key_unless_asked_and_ids_stay_in_their_segment() {
    let fake = FakeStripe::start(vec![Reply::json(200, payment_intent("pi_1", "succeeded"))]).await;
    let client = fake.client(|_| {});

    client
        .retrieve_payment_intent(&keyed(), "pi_1/../../refunds")
        .await
        .unwrap();

    let req = &fake.requests()[0];
    assert_eq!(req.method.as_str(), "GET");
    assert_eq!(
        req.path,
        "/v1/payment_intents/pi_1%2F%2E%2E%2F%2E%2E%2Frefunds"
    );
    assert_eq!(req.header("stripe-account"), None);
    assert_eq!(req.header("idempotency-key"), None, "keys only go on POSTs");
    assert_eq!(
        req.header("authorization"),
        Some(format!("Bearer {TEST_KEY}").as_str())
    );
}

#[tokio::test]
async fn a_500_is_retried_with_the_same_idempotency_key_then_succeeds() {
    let fake = FakeStripe::start(vec![
        Reply::error(500, "api_error", "internal"),
        Reply::json(200, payment_intent("pi_1", "requires_capture")),
    ])
    .await;
    let client = fake.client(|_| {});

    let pi = client
        .capture_payment_intent(&keyed(), "pi_1", Some(500))
        .await
        .unwrap();
    assert_eq!(pi.status, PaymentIntentStatus::RequiresCapture);

    let requests = fake.requests();
    assert_eq!(requests.len(), 2);
    for req in &requests {
        assert_eq!(req.path, "/v1/payment_intents/pi_1/capture");
        assert_eq!(req.header("idempotency-key"), Some("idem-1"));
        assert_eq!(req.form(), owned(&[("amount_to_capture", "500")]));
    }
}

#[tokio::test]
async fn retries_stop_after_max_retries() {
    let fake = FakeStripe::start(vec![Reply::error(503, "api_error", "a"); 4]).await;
    let client = fake.client(|c| c.max_retries = 2);

    let err = client
        .retrieve_reader(&Call::new(), "tmr_1")
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert!(err.is_unavailable());
    assert_eq!(fake.requests().len(), 3);
}

#[tokio::test]
async fn a_card_decline_is_parsed_and_not_retried() {
    let decline = json!({"error": {"type": "card_error", "code": "card_declined",
        "decline_code": "insufficient_funds", "message": "Your card has insufficient funds."}});
    let fake = FakeStripe::start(vec![
        Reply::json(402, decline).header("request-id", "req_abc"),
        Reply::json(200, payment_intent("pi_1", "succeeded")),
    ])
    .await;
    let client = fake.client(|_| {});

    let err = client
        .capture_payment_intent(&keyed(), "pi_1", None)
        .await
        .unwrap_err();
    assert!(err.is_card_error());
    assert_eq!(err.status(), Some(402));
    assert_eq!(err.code(), Some("card_declined"));
    assert_eq!(err.decline_code(), Some("insufficient_funds"));
    assert!(!err.is_unavailable());
    assert!(matches!(&err, Error::Api { request_id: Some(id), .. } if id == "req_abc"));
    assert_eq!(fake.requests().len(), 1);
    assert_eq!(
        fake.requests()[0].body,
        "",
        "no amount means capture everything"
    );
}

#[tokio::test]
async fn stripe_should_retry_false_on_a_500_is_obeyed() {
    let fake = FakeStripe::start(vec![
        Reply::error(500, "api_error", "x").header("stripe-should-retry", "false"),
        Reply::json(200, payment_intent("pi_1", "canceled")),
    ])
    .await;
    let client = fake.client(|_| {});

    let err = client
        .cancel_payment_intent(&keyed(), "pi_1")
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Api {
                status: 500,
                should_retry: Some(false),
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_unavailable());
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn lock_timeouts_429s_and_should_retry_true_are_retried() {
    let fake = FakeStripe::start(vec![
        Reply::error(409, "invalid_request_error", "lock_timeout"),
        Reply::error(429, "invalid_request_error", "rate_limit"),
        Reply::error(400, "invalid_request_error", "odd").header("stripe-should-retry", "true"),
        Reply::json(
            200,
            json!({"id": "re_1", "object": "refund", "amount": 300, "status": "pending",
            "payment_intent": "pi_1", "charge": "ch_1"}),
        ),
    ])
    .await;
    let client = fake.client(|c| c.max_retries = 3);

    let refund = client
        .create_refund(&keyed(), "pi_1", 300, &[("kassa_refund_id", "rf_1")])
        .await
        .unwrap();
    assert_eq!((refund.id.as_str(), refund.amount), ("re_1", 300));
    assert_eq!(refund.status.as_deref(), Some("pending"));
    let requests = fake.requests();
    assert_eq!(requests.len(), 4);
    assert!(requests
        .iter()
        .all(|r| r.header("idempotency-key") == Some("idem-1")));
    assert_eq!(
        requests[3].form(),
        owned(&[
            ("payment_intent", "pi_1"),
            ("amount", "300"),
            ("metadata[kassa_refund_id]", "rf_1")
        ])
    );
}

#[tokio::test]
async fn a_post_without_an_idempotency_key_is_not_retried() {
    let fake = FakeStripe::start(vec![
        Reply::error(500, "api_error", "x"),
        Reply::json(
            200,
            json!({"object": "terminal.connection_token", "secret": "pst_test_1"}),
        ),
    ])
    .await;
    let client = fake.client(|_| {});

    let err = client
        .create_connection_token(&Call::new(), None)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(500));
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn a_slow_answer_is_a_timeout_after_retries() {
    let slow = Reply::json(200, payment_intent("pi_1", "succeeded")).delay(Duration::from_secs(1));
    let fake = FakeStripe::start(vec![slow.clone(), slow]).await;
    let client = fake.client(|c| {
        c.timeout = Duration::from_millis(200);
        c.max_retries = 1;
    });

    let err = client
        .retrieve_payment_intent(&Call::new(), "pi_1")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Timeout), "{err:?}");
    assert!(err.is_unavailable());
    assert_eq!(fake.requests().len(), 2, "a GET is retried after a timeout");
}

#[tokio::test]
async fn nothing_listening_is_a_network_error_without_the_key() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let mut config = StripeConfig::new(TEST_KEY, base);
    config.max_retries = 0;
    let client = kassa_stripe::Client::new(config).unwrap();

    let err = client
        .retrieve_reader(&Call::new(), "tmr_1")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Network(_)), "{err:?}");
    assert!(err.is_unavailable());
    assert!(!err.to_string().contains(TEST_KEY));
}

#[tokio::test]
async fn a_non_json_error_body_still_gives_an_api_error() {
    let fake = FakeStripe::start(vec![
        Reply::raw(502, "<html>bad gateway</html>").header("request-id", "req_502")
    ])
    .await;
    let client = fake.client(|c| c.max_retries = 0);

    let err = client
        .retrieve_reader(&Call::new(), "tmr_1")
        .await
        .unwrap_err();
    match &err {
        Error::Api {
            status,
            error,
            request_id,
            ..
        } => {
            assert_eq!(*status, 502);
            assert!(error.message.as_deref().unwrap().contains("502"));
            assert_eq!(request_id.as_deref(), Some("req_502"));
        }
        other => panic!("expected Error::Api, got {other:?}"),
    }
}

#[tokio::test]
async fn a_2xx_that_is_not_the_object_is_a_decode_error_without_secrets() {
    let fake = FakeStripe::start(vec![Reply::json(
        200,
        json!({"secret": 42, "location": "pst_live_SHHH"}),
    )])
    .await;
    let client = fake.client(|_| {});

    let err = client
        .create_connection_token(&keyed(), Some("tml_1"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Decode(_)), "{err:?}");
    assert!(!err.to_string().contains("SHHH"), "{err}");
    assert_eq!(fake.requests()[0].form(), owned(&[("location", "tml_1")]));
}

#[tokio::test]
async fn reader_calls_send_their_documented_forms_and_parse_the_action() {
    let reader = json!({"id": "tmr_1", "object": "terminal.reader", "label": "Till", "location": "tml_1",
        "status": "online", "device_type": "simulated_wisepos_e",
        "action": {"type": "process_payment_intent", "status": "in_progress", "failure_code": null,
            "failure_message": null, "process_payment_intent": {"payment_intent": "pi_1"}}});
    let fake = FakeStripe::start(vec![Reply::json(200, reader.clone()); 2]).await;
    let client = fake.client(|_| {});

    let reader = client
        .process_payment_intent(&keyed(), "tmr_1", "pi_1")
        .await
        .unwrap();
    let action = reader.action.unwrap();
    assert_eq!(action.status, "in_progress");
    assert_eq!(
        action.process_payment_intent.unwrap().payment_intent,
        "pi_1"
    );
    client
        .create_reader(&keyed(), "simulated-wpe", Some("Till"), "tml_1")
        .await
        .unwrap();

    let requests = fake.requests();
    assert_eq!(
        requests[0].path,
        "/v1/terminal/readers/tmr_1/process_payment_intent"
    );
    assert_eq!(requests[0].form(), owned(&[("payment_intent", "pi_1")]));
    assert_eq!(requests[1].path, "/v1/terminal/readers");
    assert_eq!(
        requests[1].form(),
        owned(&[
            ("registration_code", "simulated-wpe"),
            ("label", "Till"),
            ("location", "tml_1")
        ])
    );
}
