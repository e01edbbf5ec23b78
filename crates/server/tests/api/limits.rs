//! The input limits of API §2, on every route they apply to: metadata maps, free text,
//! descriptions, push tokens; currencies that are not money; an empty event filter; a blank
//! or malformed `x-merchant-id`; and a replayed answer's `Correlation-Id`. Over the limits
//! raw (bad input, and headers); at the limits typed calls.

use crate::bad_input::{bad_value, call, register, send, split, UNKNOWN};
use crate::both_backends;
use crate::harness::*;
use kassa_client::api::device::{CreateEnrollment, CreateSimulatedDevice, UpdateDevice};
use kassa_client::api::order::CreateRefund;
use kassa_client::api::webhook::{CreateWebhookEndpoint, WebhookEndpoint};
use kassa_client::{Client, SessionFilter};
use kassa_core::limits::{
    MAX_DESCRIPTION, MAX_METADATA_KEY, MAX_METADATA_KEYS, MAX_METADATA_VALUE, MAX_PUSH_TOKEN,
    MAX_TEXT,
};
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeMap;

fn metadata(keys: usize, key_len: usize, value_len: usize) -> BTreeMap<String, String> {
    (0..keys)
        .map(|i| {
            let key = format!("{i:0>width$}", width = key_len);
            (key, "v".repeat(value_len))
        })
        .collect()
}

/// A webhook endpoint to a port nothing listens on, with this description.
async fn endpoint(app: &TestApp, description: Option<String>) -> WebhookEndpoint {
    let req = CreateWebhookEndpoint {
        url: "http://127.0.0.1:9/hook".into(),
        events: None,
        description,
    };
    app.client().webhook_endpoints().create(&req).await.unwrap()
}

/// Every route that takes `metadata`, with the rest of its body valid enough to reach it.
fn metadata_routes(app: &TestApp) -> Vec<(String, Value)> {
    vec![
        ("POST /ipp/v1/enrollments".into(), json!({})),
        (format!("PUT /ipp/v1/devices/{}", app.device_id), json!({})),
        ("POST /ipp/v1/dev/devices".into(), json!({"name": "Till"})),
        (
            "POST /ipp/v1/devices/readers".into(),
            json!({"processor": "stripe", "registration_code": "x", "location_id": UNKNOWN}),
        ),
    ]
}

both_backends!(metadata_limits_hold_on_every_route, |app| {
    let too_many = json!(metadata(MAX_METADATA_KEYS + 1, 3, 1));
    let long_key = json!({"k".repeat(MAX_METADATA_KEY + 1): "v"});
    let long_value = json!({"note": "v".repeat(MAX_METADATA_VALUE + 1)});
    for (spec, base) in metadata_routes(&app) {
        for (meta, path) in [
            (&too_many, "metadata"),
            (&long_key, "metadata"),
            (&json!({"": "v"}), "metadata"),
            (&long_value, "metadata.note"),
        ] {
            let mut body = base.clone();
            body["metadata"] = meta.clone();
            let (status, err) = call(&app, &spec, body).await;
            bad_value(status, &err, path);
        }
    }
    // At the limits it is accepted (49 keys on a simulated device: Kassa adds `simulated`).
    let client = app.client();
    let full = metadata(MAX_METADATA_KEYS, MAX_METADATA_KEY, MAX_METADATA_VALUE);
    let e = CreateEnrollment {
        metadata: Some(full.clone()),
        ..Default::default()
    };
    let e = client.enrollments().create(&e).await.unwrap();
    assert_eq!(e.metadata, full);
    let d = UpdateDevice {
        metadata: Some(full),
        ..Default::default()
    };
    client.devices().update(app.till_id(), &d).await.unwrap();
    let d = CreateSimulatedDevice {
        name: "Till".into(),
        metadata: Some(metadata(MAX_METADATA_KEYS - 1, 2, 1)),
        location_id: None,
    };
    client.playground().create_device(&d).await.unwrap();
});

both_backends!(text_limits_name_the_field, |app| {
    let (status, err) = register(
        &app,
        json!({"enrollment_code": "ABCDE-FGHJK", "platform": "WEB",
            "push_token": "t".repeat(MAX_PUSH_TOKEN + 1)}),
    )
    .await;
    bad_value(status, &err, "push_token");

    let create = "POST /ipp/v1/webhook-endpoints";
    let url = "http://127.0.0.1:9/hook";
    let long = "d".repeat(MAX_DESCRIPTION + 1);
    let (status, err) = call(&app, create, json!({"url": url, "description": long})).await;
    bad_value(status, &err, "description");
    let ep = endpoint(&app, Some("d".repeat(MAX_DESCRIPTION))).await;
    let spec = format!("PUT /ipp/v1/webhook-endpoints/{}", ep.id);
    let (status, err) = call(&app, &spec, json!({"description": long})).await;
    bad_value(status, &err, "description");

    let reader = json!({"processor": "stripe", "reader_id": "r".repeat(MAX_TEXT + 1),
        "location_id": UNKNOWN, "name": "n".repeat(MAX_TEXT + 1)});
    let (status, err) = call(&app, "POST /ipp/v1/devices/readers", reader).await;
    bad_value(status, &err, "name");
});

both_backends!(currencies_that_are_not_money_are_refused, |app| {
    for code in ["XXX", "XTS"] {
        let mut body = cart(&app.device_id, 1000);
        body["purchase_currency"] = json!(code);
        let (status, err) = json_of(app.create_session(&body).await).await;
        let msg = bad_value(status, &err, "purchase_currency");
        assert!(msg.contains(code), "{msg}");
    }
});

both_backends!(an_empty_event_filter_is_refused, |app| {
    let create = "POST /ipp/v1/webhook-endpoints";
    let url = "http://127.0.0.1:9/hook";
    let (status, err) = call(&app, create, json!({"url": url, "events": []})).await;
    bad_value(status, &err, "events");
    let ep = endpoint(&app, None).await;
    let spec = format!("PUT /ipp/v1/webhook-endpoints/{}", ep.id);
    let (status, err) = call(&app, &spec, json!({"events": []})).await;
    bad_value(status, &err, "events");
    let unchanged = app.client().webhook_endpoints().get(ep.id).await.unwrap();
    assert_eq!(unchanged.events, ep.events);
});

both_backends!(a_blank_or_malformed_claimed_merchant_is_forbidden, |app| {
    for claimed in ["", " ", "not-a-uuid", UNKNOWN] {
        let request = app
            .merchant(Method::GET, "/ipp/v1/sessions")
            .header("x-merchant-id", claimed);
        let (status, err) = send(request).await;
        let msg = assert_error(status, &err, 403, "FORBIDDEN");
        assert!(msg.contains("x-merchant-id"), "{claimed:?}: {msg}");
    }
    // A write is refused before its body is read or its Idempotency-Key is claimed.
    let request = app
        .merchant(Method::POST, "/ipp/v1/locations")
        .header("x-merchant-id", "")
        .header("Idempotency-Key", "blank-claim")
        .json(&json!({"name": "Shop"}));
    let (status, err) = send(request).await;
    assert_error(status, &err, 403, "FORBIDDEN");
    let list = app.client().locations().list().page(0).await.unwrap();
    assert_eq!(list.total_elements, 0, "{list:?}");
    let me = app.merchant_id.parse().unwrap();
    let claimed = Client::builder(&app.base, &app.api_key).merchant_id(me);
    let sessions = claimed.build().unwrap().sessions();
    sessions
        .list(&SessionFilter::default())
        .page(0)
        .await
        .unwrap();
});

/// Sends `spec` with `key` and returns the status, the `Correlation-Id` header, whether it was
/// a replay, and the body as text.
async fn keyed(app: &TestApp, spec: &str, key: &str, body: &Value) -> (u16, String, bool, String) {
    let (method, path) = split(spec);
    let r = app
        .merchant(method, path)
        .header("Idempotency-Key", key)
        .json(body)
        .send()
        .await
        .unwrap();
    let header = |name: &str| {
        r.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    };
    let id = header("correlation-id").expect("every answer has a Correlation-Id");
    let replayed = header("idempotent-replayed").is_some_and(|v| v == "true");
    (r.status().as_u16(), id, replayed, r.text().await.unwrap())
}

both_backends!(a_replayed_answer_keeps_its_correlation_id, |app| {
    let spec = "POST /ipp/v1/locations";
    let bad = json!({"name": ""});
    let (status, first_id, replayed, first_body) = keyed(&app, spec, "bad-location", &bad).await;
    assert_eq!((status, replayed), (400, false), "{first_body}");
    let body: Value = serde_json::from_str(&first_body).unwrap();
    assert_eq!(body["correlation_id"], first_id.as_str());
    let (status, id, replayed, again) = keyed(&app, spec, "bad-location", &bad).await;
    assert_eq!((status, replayed), (400, true), "{again}");
    assert_eq!(again, first_body, "replayed byte for byte");
    assert_eq!(id, first_id, "the header matches the replayed body");

    let good = json!({"name": "Shop"});
    let (status, first_id, _, created) = keyed(&app, spec, "good-location", &good).await;
    assert_eq!(status, 201, "{created}");
    let (status, id, replayed, again) = keyed(&app, spec, "good-location", &good).await;
    assert_eq!((status, replayed), (201, true));
    assert_eq!((id, again), (first_id, created));
});

both_backends!(the_openapi_schemas_state_the_limits, |app| {
    let (status, doc) = app.get("/openapi.json").await;
    assert_eq!(status, 200);
    let schema = |name: &str, field: &str, rule: &str| {
        doc["components"]["schemas"][name]["properties"][field][rule].as_u64()
    };
    let want = |n: usize| Some(n as u64);
    assert_eq!(
        schema("RegisterDevice", "push_token", "maxLength"),
        want(MAX_PUSH_TOKEN)
    );
    assert_eq!(
        schema("RegisterDevice", "name", "maxLength"),
        want(MAX_TEXT)
    );
    let description = schema("CreateWebhookEndpoint", "description", "maxLength");
    assert_eq!(description, want(MAX_DESCRIPTION));
    assert_eq!(
        schema("UpdateWebhookEndpoint", "events", "minItems"),
        want(1)
    );
    assert_eq!(
        schema("CreateLocation", "city", "maxLength"),
        want(MAX_TEXT)
    );
    assert_eq!(
        schema("CreateSession", "merchant_reference1", "maxLength"),
        want(MAX_TEXT)
    );
});

both_backends!(order_operations_limit_their_texts, |app| {
    let client = app.client();
    let id = app.open_session(app.till_id()).await.session_id;
    let paid = client.playground().simulate_tap(id, Some("SUCCESS")).await;
    let order = paid.unwrap().session.order_id.unwrap();
    let refunds = format!("POST /ordermanagement/v1/orders/{order}/refunds");
    let long = json!({"refunded_amount": 100, "description": "d".repeat(1001)});
    let (status, err) = call(&app, &refunds, long).await;
    bad_value(status, &err, "description");
    let long = json!({"refunded_amount": 100, "reference": "r".repeat(256)});
    let (status, err) = call(&app, &refunds, long).await;
    bad_value(status, &err, "reference");
    let fine = CreateRefund {
        refunded_amount: 100,
        description: Some("d".repeat(1000)),
        reference: Some("r".repeat(255)),
    };
    client.orders().refund(order, &fine).await.unwrap();
});
