//! A phone's set-up around the sale: the SDK's connection token, the web POS that cannot
//! take cards in live mode, and a merchant bound to a Stripe connected account.

use crate::both_backends;
use crate::harness::{new_attempt, text};
use kassa_stripe_fake::TapOutcome;
use reqwest::Method;
use serde_json::{json, Value};

both_backends!(connection_tokens_come_from_the_devices_location, |s| {
    let token = "/ipp/v1/device/connection-token";
    for _ in 0..2 {
        let (status, body) = s.pos(&s.phone_token, Method::POST, token, None).await;
        assert_eq!(status, 200, "{body}");
        assert!(text(&body, "/secret").starts_with("pst_"), "{body}");
        assert!(text(&body, "/location").starts_with("tml_"), "{body}");
    }
    assert_eq!(
        s.calls_to("POST", "/v1/terminal/locations"),
        1,
        "the mirror is made once"
    );
    let tokens: Vec<_> = s
        .fake
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/connection_tokens"))
        .collect();
    let location = tokens[0]
        .form
        .iter()
        .find(|(k, _)| k == "location")
        .map(|(_, v)| v.clone());
    assert!(
        location.is_some_and(|l| l.starts_with("tml_")),
        "{:?}",
        tokens[0].form
    );
    let (status, err) = s.call(Method::POST, token, None).await;
    assert_eq!(status, 401, "a merchant key is not a device: {err}");
});

both_backends!(the_web_pos_cannot_take_cards_in_live_mode, |s| {
    let (status, enrollment) = s
        .call(Method::POST, "/ipp/v1/enrollments", Some(json!({})))
        .await;
    assert_eq!(status, 201);
    let body = json!({"enrollment_code": enrollment["enrollment_code"], "platform": "WEB"});
    let web = s
        .app
        .http
        .post(s.app.url("/ipp/v1/devices"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let web: Value = web.json().await.unwrap();
    let sale = s.sale(text(&web, "/id"), 1_000, true).await;
    let path = format!("/ipp/v1/sessions/{}/payment", text(&sale, "/session_id"));
    let token = text(&web, "/credentials/bearer_token");
    let (status, err) = s
        .pos(
            token,
            Method::PUT,
            &path,
            Some(json!({"payment_method": "CARD_TAP"})),
        )
        .await;
    assert_eq!(
        (status, text(&err, "/error_code")),
        (409, "NOT_ALLOWED"),
        "{err}"
    );
    assert!(
        err.to_string().contains("web POS cannot collect cards"),
        "{err}"
    );
    let page = s
        .app
        .http
        .get(s.app.url("/pos"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(r#"<meta name="kassa-mode" content="live">"#),
        "the POS is told it is live"
    );
});

both_backends!(a_merchant_bound_to_a_connected_account_pays_into_it, |s| {
    let merchant = s.app.merchant_id.parse().unwrap();
    let store = s.app.state.store.clone();
    let now = s.app.state.now();
    store
        .set_processor_account(merchant, "stripe", Some("acct_1Shop"), now)
        .await
        .unwrap();
    s.fake.pause_webhooks(true);
    let (id, pi) = s.card_sale(2_000, true).await;
    let id = id.as_str();
    s.fake.tap(&pi, TapOutcome::Approve).unwrap();
    let (status, paid) = s.finalize(&s.phone_token, id, &new_attempt(), &pi).await;
    assert_eq!(
        (status, text(&paid, "/result")),
        (200, "SUCCEEDED"),
        "{paid}"
    );
    let requests = s.fake.requests();
    assert!(!requests.is_empty());
    for r in &requests {
        assert_eq!(
            r.header("stripe-account"),
            Some("acct_1Shop"),
            "{} {}",
            r.method,
            r.path
        );
    }
    // Unbound again, the platform account cannot see the connected account's payment.
    store
        .set_processor_account(merchant, "stripe", None, now)
        .await
        .unwrap();
    let (status, err) = s.finalize(&s.phone_token, id, &new_attempt(), &pi).await;
    assert_eq!(status, 400, "{err}");
});

both_backends!(
    a_late_method_choice_expires_the_session_through_stripe,
    |s| {
        let mut body = crate::api::cart(&s.phone_id, 900);
        body["expires_in"] = json!(10_000);
        let (status, sale) = s.call(Method::POST, "/ipp/v1/sessions", Some(body)).await;
        assert_eq!(status, 200, "{sale}");
        let id = text(&sale, "/session_id");
        let pi = text(
            &s.choose_card(&s.phone_token, id).await,
            "/processor/payment_intent",
        )
        .to_string();
        s.app.clock.advance(chrono::Duration::seconds(11));
        let path = format!("/ipp/v1/sessions/{id}/payment");
        let body = Some(json!({"payment_method": "SWISH"}));
        let (status, err) = s.pos(&s.phone_token, Method::PUT, &path, body).await;
        assert_eq!(
            (status, text(&err, "/error_code")),
            (409, "NOT_ALLOWED"),
            "{err}"
        );
        assert_eq!(text(&s.session(id).await, "/status"), "EXPIRED");
        assert_eq!(
            text(&s.fake.payment_intent(&pi).unwrap(), "/status"),
            "canceled"
        );
    }
);

both_backends!(the_processor_status_names_stripe_and_never_a_secret, |s| {
    let (status, body) = s.call(Method::GET, "/ipp/v1/processors", None).await;
    assert_eq!(status, 200, "{body}");
    let want = json!({"processors": [{"name": "stripe", "mode": "live",
        "devices": "native POS apps (Tap to Pay, mobile readers) and registered readers",
        "api_version": "2023-08-16", "webhooks": true}]});
    assert_eq!(body, want, "live mode has no simulated processor");
    let merchant = s.app.merchant_id.parse().unwrap();
    let now = s.app.state.now();
    s.app
        .state
        .store
        .set_processor_account(merchant, "stripe", Some("acct_1Shop"), now)
        .await
        .unwrap();
    let (_, body) = s.call(Method::GET, "/ipp/v1/processors", None).await;
    assert_eq!(body["processors"][0]["account"], "acct_1Shop");
    let text = body.to_string();
    assert!(
        !text.contains("sk_live") && !text.contains("whsec_"),
        "{text}"
    );
});
