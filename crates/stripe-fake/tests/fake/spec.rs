//! The checker itself: it must find Stripe's description (or fail saying where it looked), and
//! it must catch what breaks it. Every other test in this binary ends in `finish`, which runs
//! all its traffic through the same checker.

use crate::common::{spec, Harness};
use kassa_stripe_fake::spec::{StripeSpec, SPEC_FILE};
use kassa_stripe_fake::TapOutcome;
use serde_json::{json, Value};

fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The one violation `check_request` finds, which must mention `needle`.
fn one_request_violation(method: &str, path: &str, pairs: &[(&str, &str)], needle: &str) {
    let found = spec().check_request(method, path, &form(pairs));
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].contains(needle),
        "{found:?} should mention {needle}"
    );
}

#[test]
fn a_missing_description_is_an_error_naming_the_path() {
    let dir = std::env::temp_dir().join("kassa-stripe-spec-absent");
    let error = StripeSpec::load_from_dir(&dir)
        .err()
        .expect("nothing to load there");
    assert!(
        error.contains(&dir.join(SPEC_FILE).display().to_string()),
        "{error}"
    );
    assert!(error.contains("NOT AVAILABLE"), "{error}");
}

#[test]
fn the_description_is_where_the_checks_look_for_it() {
    // Panics with `load`'s message when it is not: these checks never skip silently.
    spec();
}

#[test]
fn requests_kassa_sends_are_clean() {
    let s = spec();
    let clean = [
        (
            "POST",
            "/v1/payment_intents",
            form(&[
                ("amount", "1250"),
                ("currency", "eur"),
                ("payment_method_types[]", "card_present"),
                ("payment_method_types[]", "card"),
                ("capture_method", "manual"),
                ("metadata[kassa_session_id]", "ses_1"),
            ]),
        ),
        (
            "POST",
            "/v1/terminal/locations",
            form(&[
                ("display_name", "Till"),
                ("address[line1]", "Damrak 1"),
                ("address[country]", "NL"),
            ]),
        ),
        (
            "POST",
            "/v1/terminal/readers/tmr_1/process_payment_intent",
            form(&[
                ("payment_intent", "pi_1"),
                ("process_config[skip_tipping]", "true"),
            ]),
        ),
        (
            "POST",
            "/v1/payment_intents/pi_1/capture",
            form(&[("amount_to_capture", "600")]),
        ),
        (
            "GET",
            "/v1/payment_intents/pi_1?expand[]=latest_charge",
            vec![],
        ),
    ];
    for (method, path, pairs) in clean {
        assert_eq!(
            s.check_request(method, path, &pairs),
            Vec::<String>::new(),
            "{method} {path}"
        );
    }
}

#[test]
fn request_checks_catch_what_stripe_would_refuse() {
    let capture = "/v1/payment_intents/pi_123/capture";
    one_request_violation(
        "POST",
        capture,
        &[("amount_to_captur", "5")],
        "unknown parameter `amount_to_captur`",
    );
    one_request_violation(
        "POST",
        capture,
        &[("amount_to_capture", "5.50")],
        "not an integer",
    );
    one_request_violation(
        "POST",
        "/v1/payment_intents",
        &[
            ("amount", "5"),
            ("currency", "eur"),
            ("capture_method", "sometimes"),
        ],
        "`capture_method` = \"sometimes\" is not one of: automatic, automatic_async, manual",
    );
    one_request_violation(
        "POST",
        "/v1/terminal/locations",
        &[
            ("display_name", "X"),
            ("address[lin1]", "Y"),
            ("address[country]", "NL"),
        ],
        "unknown parameter `address[lin1]`",
    );
    one_request_violation(
        "POST",
        "/v1/terminal/locations",
        &[("display_name", "X"), ("address[line1]", "Y")],
        "`address[country]` is missing",
    );
    one_request_violation(
        "POST",
        "/v1/terminal/readers/tmr_1/process_payment_intent",
        &[
            ("payment_intent", "pi_1"),
            ("process_config[skip_tipping]", "maybe"),
        ],
        "not a boolean",
    );
    one_request_violation(
        "POST",
        "/v1/terminal/readers",
        &[("label", "x")],
        "`registration_code` is missing",
    );
    one_request_violation(
        "POST",
        "/v1/payment_intents",
        &[
            ("amount", "5"),
            ("currency", "eur"),
            ("metadata[a][b]", "c"),
        ],
        "metadata[a]",
    );
    one_request_violation(
        "POST",
        "/v1/payment_intents",
        &[("amount", "5"), ("currency", "eur"), ("currency", "usd")],
        "more than once",
    );
    one_request_violation(
        "POST",
        "/v1/payment_intents",
        &[
            ("amount", "5"),
            ("currency", "eur"),
            ("payment_method_types", "card"),
        ],
        "not an array",
    );
    one_request_violation("POST", "/v1/teleport", &[], "no path");
    one_request_violation("DELETE", "/v1/payment_intents/pi_1", &[], "has no DELETE");
    one_request_violation(
        "GET",
        "/v1/payment_intents/pi_1?expnd[]=x",
        &[],
        "unknown parameter `expnd`",
    );
}

#[tokio::test]
async fn response_checks_catch_a_broken_object() {
    let h = Harness::start().await;
    let pi = h.intent("100").await;
    h.fake.tap(&pi, TapOutcome::Approve).unwrap();
    let good = h.fake.payment_intent(&pi).unwrap();
    let path = format!("/v1/payment_intents/{pi}");
    let check = |body: &Value| spec().check_response("GET", &path, 200, body);
    assert_eq!(check(&good), Vec::<String>::new());

    let broken = |change: &dyn Fn(&mut Value)| {
        let mut body = good.clone();
        change(&mut body);
        check(&body)
    };
    let missing = broken(&|b| {
        b.as_object_mut().unwrap().remove("status");
    });
    assert!(
        missing
            .iter()
            .any(|v| v.contains("`status` is required but missing")),
        "{missing:?}"
    );
    let typed = broken(&|b| b["amount"] = json!("100"));
    assert!(
        typed
            .iter()
            .any(|v| v.contains("`amount` is a string, the description says integer")),
        "{typed:?}"
    );
    let status = broken(&|b| b["status"] = json!("done"));
    assert!(
        status
            .iter()
            .any(|v| v.contains("`status` = \"done\" is not one of")),
        "{status:?}"
    );
    let null = broken(&|b| b["amount"] = Value::Null);
    assert!(
        null.iter().any(|v| v.contains("`amount` is null")),
        "{null:?}"
    );
    let extra = broken(&|b| b["surprise"] = json!(1));
    assert!(
        extra
            .iter()
            .any(|v| v.contains("`surprise` is not a field")),
        "{extra:?}"
    );
    let expanded = broken(&|b| b["latest_charge"] = json!({ "object": "charge", "id": "ch_1" }));
    assert!(
        expanded
            .iter()
            .any(|v| v.contains("latest_charge.amount` is required")),
        "{expanded:?}"
    );
    let neither = broken(&|b| b["latest_charge"] = json!(42));
    assert!(
        neither.iter().any(|v| v.contains("none of its anyOf")),
        "{neither:?}"
    );
    let nested = broken(&|b| b["metadata"]["n"] = json!(5));
    assert!(
        nested.iter().any(|v| v.contains("metadata.n")),
        "{nested:?}"
    );
    let undescribed = spec().check_response("GET", &path, 201, &good);
    assert!(undescribed[0].contains("not described"), "{undescribed:?}");

    let error = json!({ "error": { "type": "invalid_request_error", "message": "No such payment_intent" } });
    assert!(spec().check_response("GET", &path, 404, &error).is_empty());
    let untyped = json!({ "error": { "message": "oops" } });
    let found = spec().check_response("GET", &path, 404, &untyped);
    assert!(
        found.iter().any(|v| v.contains("error.type` is required")),
        "{found:?}"
    );
    let odd_type = json!({ "error": { "type": "oops_error" } });
    assert_eq!(
        spec()
            .check_response("POST", "/v1/refunds", 500, &odd_type)
            .len(),
        1
    );
    h.finish().await;
}

#[tokio::test]
async fn event_checks_catch_a_wrong_envelope_or_object() {
    let h = Harness::start().await;
    let pi = h.intent("100").await;
    h.fake.tap(&pi, TapOutcome::Approve).unwrap();
    let event = h.fake.events().pop().unwrap();
    assert_eq!(spec().check_event(&event), Vec::<String>::new());

    let mut unknown = event.clone();
    unknown["type"] = json!("payment_intent.teleported");
    assert!(spec().check_event(&unknown)[0].contains("not an event type"));
    let mut mismatched = event.clone();
    mismatched["type"] = json!("charge.refunded");
    assert!(spec().check_event(&mismatched)[0].contains("not the resource its type is about"));
    let mut no_pending = event.clone();
    no_pending
        .as_object_mut()
        .unwrap()
        .remove("pending_webhooks");
    assert!(spec().check_event(&no_pending)[0].contains("pending_webhooks"));
    let mut bad_object = event;
    bad_object["data"]["object"]["amount_capturable"] = json!(true);
    assert!(spec().check_event(&bad_object)[0].contains("data.object: `amount_capturable`"));
    h.finish().await;
}
