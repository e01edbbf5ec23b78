//! Terminal: locations, connection tokens, reader registration and the server-driven
//! `process_payment_intent` action, completed through Stripe's test helper route.

use crate::common::Harness;
use kassa_stripe_fake::TapOutcome;

#[tokio::test]
async fn locations_and_connection_tokens() {
    let h = Harness::start().await;
    let location = h
        .post(
            "/v1/terminal/locations",
            &[
                ("display_name", "Café Centraal"),
                ("address[line1]", "Damrak 1"),
                ("address[city]", "Amsterdam"),
                ("address[postal_code]", "1012 LG"),
                ("address[country]", "NL"),
            ],
        )
        .await;
    assert_eq!(location.status, 200, "{}", location.text);
    let tml = location.id();
    assert!(tml.starts_with("tml_"));
    assert_eq!(location.body["object"], "terminal.location");
    assert_eq!(location.body["address"]["line1"], "Damrak 1");
    assert!(location.body["address"]["state"].is_null());

    let no_country = h
        .post_invalid(
            "/v1/terminal/locations",
            &[("display_name", "X"), ("address[line1]", "Y")],
        )
        .await;
    assert_eq!(
        (no_country.status, no_country.code()),
        (400, "parameter_missing")
    );

    let token = h
        .post("/v1/terminal/connection_tokens", &[("location", &tml)])
        .await;
    assert_eq!(token.body["object"], "terminal.connection_token");
    assert!(token.body["secret"]
        .as_str()
        .unwrap()
        .starts_with("pst_test_"));
    assert_eq!(token.body["location"], tml.as_str());
    let plain = h.post("/v1/terminal/connection_tokens", &[]).await;
    assert!(plain.body.get("location").is_none());
    let elsewhere = h
        .post(
            "/v1/terminal/connection_tokens",
            &[("location", "tml_nope")],
        )
        .await;
    assert_eq!(
        (elsewhere.status, elsewhere.code()),
        (404, "resource_missing")
    );
    h.finish().await;
}

#[tokio::test]
async fn readers_register_only_with_a_code_handed_out() {
    let h = Harness::start().await;
    let unknown = h
        .post(
            "/v1/terminal/readers",
            &[("registration_code", "purple-cat-dog")],
        )
        .await;
    assert_eq!(unknown.status, 400);
    assert_eq!(unknown.body["error"]["type"], "invalid_request_error");
    assert_eq!(unknown.body["error"]["param"], "registration_code");

    h.fake.add_registration_code("purple-cat-dog");
    let reader = h
        .post(
            "/v1/terminal/readers",
            &[
                ("registration_code", "purple-cat-dog"),
                ("metadata[till]", "1"),
            ],
        )
        .await;
    assert_eq!(reader.status, 200, "{}", reader.text);
    let tmr = reader.id();
    assert!(tmr.starts_with("tmr_"));
    assert_eq!(
        reader.body["label"], "purple-cat-dog",
        "the code is the default label"
    );
    assert_eq!(reader.body["status"], "online");
    assert!(reader.body["action"].is_null());

    let reused = h
        .post(
            "/v1/terminal/readers",
            &[("registration_code", "purple-cat-dog")],
        )
        .await;
    assert_eq!(reused.status, 400, "a code registers one reader");
    let fetched = h.get(&format!("/v1/terminal/readers/{tmr}")).await;
    assert_eq!(fetched.body, reader.body);
    let missing = h.get("/v1/terminal/readers/tmr_nope").await;
    assert_eq!((missing.status, missing.code()), (404, "resource_missing"));
    h.finish().await;
}

#[tokio::test]
async fn a_card_presented_to_a_busy_reader_completes_its_action() {
    let h = Harness::start().await;
    let tmr = h.reader().await;
    let pi = h.intent("2000").await;
    let process = format!("/v1/terminal/readers/{tmr}/process_payment_intent");
    let started = h.post(&process, &[("payment_intent", &pi)]).await;
    assert_eq!(started.status, 200, "{}", started.text);
    let action = &started.body["action"];
    assert_eq!(action["type"], "process_payment_intent");
    assert_eq!(action["status"], "in_progress");
    assert_eq!(
        action["process_payment_intent"]["payment_intent"],
        pi.as_str()
    );

    let other = h.intent("100").await;
    let busy = h.post(&process, &[("payment_intent", &other)]).await;
    assert_eq!((busy.status, busy.code()), (409, "terminal_reader_busy"));

    let present = format!("/v1/test_helpers/terminal/readers/{tmr}/present_payment_method");
    let done = h
        .post(
            &present,
            &[
                ("type", "card_present"),
                ("card_present[number]", "4242424242424242"),
            ],
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(done.body["action"]["status"], "succeeded");
    assert_eq!(
        h.fake.payment_intent(&pi).unwrap()["status"],
        "requires_capture"
    );
    assert_eq!(
        h.event_types(),
        [
            "terminal.reader.action_succeeded",
            "payment_intent.amount_capturable_updated"
        ]
    );
    let idle = h.post(&present, &[]).await;
    assert_eq!(idle.status, 400, "nothing left to present a card to");
    h.finish().await;
}

#[tokio::test]
async fn a_declined_card_fails_the_action_and_the_reader_can_try_again() {
    let h = Harness::start().await;
    let tmr = h.reader().await;
    let pi = h.intent("2000").await;
    let process = format!("/v1/terminal/readers/{tmr}/process_payment_intent");
    h.post(&process, &[("payment_intent", &pi)]).await;
    let declined = h
        .post(
            &format!("/v1/test_helpers/terminal/readers/{tmr}/present_payment_method"),
            &[("card_present[number]", "4000000000009995")],
        )
        .await;
    let action = &declined.body["action"];
    assert_eq!(action["status"], "failed");
    assert_eq!(action["failure_code"], "card_declined");
    assert_eq!(
        action["failure_message"],
        "Your card has insufficient funds."
    );
    let intent = h.fake.payment_intent(&pi).unwrap();
    assert_eq!(intent["status"], "requires_payment_method");
    assert_eq!(
        intent["last_payment_error"]["decline_code"],
        "insufficient_funds"
    );
    assert_eq!(
        h.event_types(),
        [
            "terminal.reader.action_failed",
            "payment_intent.payment_failed"
        ]
    );

    assert_eq!(
        h.post(&process, &[("payment_intent", &pi)]).await.status,
        200
    );
    let reader = h
        .fake
        .present_on_reader(&tmr, TapOutcome::Decline("generic_decline"))
        .unwrap();
    assert_eq!(
        reader["action"]["failure_message"],
        "Your card was declined."
    );
    h.finish().await;
}

#[tokio::test]
async fn an_offline_reader_refuses_actions() {
    let h = Harness::start().await;
    let tmr = h.reader().await;
    let pi = h.intent("100").await;
    h.fake.set_reader_online(&tmr, false).unwrap();
    assert_eq!(h.fake.reader(&tmr).unwrap()["status"], "offline");
    let refused = h
        .post(
            &format!("/v1/terminal/readers/{tmr}/process_payment_intent"),
            &[("payment_intent", &pi)],
        )
        .await;
    assert_eq!(
        (refused.status, refused.code()),
        (400, "terminal_reader_offline")
    );
    assert!(h.fake.present_on_reader(&tmr, TapOutcome::Approve).is_err());
    assert!(h.fake.set_reader_online("tmr_nope", true).is_err());

    h.fake.set_reader_online(&tmr, true).unwrap();
    let accepted = h
        .post(
            &format!("/v1/terminal/readers/{tmr}/process_payment_intent"),
            &[("payment_intent", &pi)],
        )
        .await;
    assert_eq!(accepted.status, 200);
    h.finish().await;
}

#[tokio::test]
async fn cancel_action_clears_the_reader() {
    let h = Harness::start().await;
    let tmr = h.reader().await;
    let pi = h.intent("100").await;
    let process = format!("/v1/terminal/readers/{tmr}/process_payment_intent");
    h.post(&process, &[("payment_intent", &pi)]).await;
    let canceled = h
        .post(&format!("/v1/terminal/readers/{tmr}/cancel_action"), &[])
        .await;
    assert_eq!(canceled.status, 200, "{}", canceled.text);
    assert!(canceled.body["action"].is_null());
    assert_eq!(
        h.fake.payment_intent(&pi).unwrap()["status"],
        "requires_payment_method"
    );
    assert!(h.fake.present_on_reader(&tmr, TapOutcome::Approve).is_err());
    assert_eq!(
        h.post(&process, &[("payment_intent", &pi)]).await.status,
        200
    );

    // A card presented after the PaymentIntent was canceled fails the action.
    h.post(&format!("/v1/payment_intents/{pi}/cancel"), &[])
        .await;
    let reader = h.fake.present_on_reader(&tmr, TapOutcome::Approve).unwrap();
    assert_eq!(reader["action"]["status"], "failed");
    assert_eq!(reader["action"]["failure_code"], "intent_invalid_state");
    h.finish().await;
}

#[tokio::test]
async fn a_reader_only_takes_card_present_intents_waiting_for_a_card() {
    let h = Harness::start().await;
    let tmr = h.reader().await;
    let online_only = h
        .post(
            "/v1/payment_intents",
            &[("amount", "100"), ("currency", "eur")],
        )
        .await
        .id();
    let process = format!("/v1/terminal/readers/{tmr}/process_payment_intent");
    let card = h.post(&process, &[("payment_intent", &online_only)]).await;
    assert_eq!(
        (card.status, card.body["error"]["param"].as_str()),
        (400, Some("payment_intent"))
    );

    let held = h.intent("100").await;
    h.fake.tap(&held, TapOutcome::Approve).unwrap();
    let state = h.post(&process, &[("payment_intent", &held)]).await;
    assert_eq!((state.status, state.code()), (400, "intent_invalid_state"));
    let missing = h.post(&process, &[("payment_intent", "pi_nope")]).await;
    assert_eq!((missing.status, missing.code()), (404, "resource_missing"));
    h.finish().await;
}
