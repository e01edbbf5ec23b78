//! Tenancy and scope: another merchant, or another device of the same merchant, gets `404`
//! for everything that is not its own, and never sees it in a list.

use crate::auth::{as_device, as_key, attempt, id_of, other_merchant, SESSIONS};
use crate::bad_input::{call, pick, pos, send, send_json, NONE, UNKNOWN};
use crate::both_backends;
use crate::harness::*;
use serde_json::json;

both_backends!(another_merchant_gets_404_for_everything, |app| {
    let (_, location) = call(&app, "POST /ipp/v1/locations", json!({"name": "Shop"})).await;
    let location = id_of(&location, "id");
    let (_, enrollment) = call(&app, "POST /ipp/v1/enrollments", json!({})).await;
    let enrollment = id_of(&enrollment, "enrollment_id");
    let paid = app.session_on(&app.device_id).await;
    let paid = id_of(&paid, "session_id");
    let tap = format!("POST /ipp/v1/dev/sessions/{paid}/simulate-tap");
    let (_, tapped) = call(&app, &tap, NONE).await;
    let order = id_of(&tapped["session"], "order_id");
    let order = format!("/ordermanagement/v1/orders/{order}");
    let open = app.session_on(&app.device_id).await;
    let open = format!("/ipp/v1/sessions/{}", id_of(&open, "session_id"));
    let device = format!("/ipp/v1/devices/{}", app.device_id);

    let (their_key, _) = other_merchant(&app).await;
    let request = as_key(&app, &their_key, "POST /ipp/v1/dev/devices");
    let (_, theirs) = send_json(request, json!({"name": "Theirs"})).await;
    let their_token = theirs["credentials"]["bearer_token"].as_str().unwrap();
    let open_tap = open.replace("/ipp/v1/sessions", "/ipp/v1/dev/sessions");
    let calls = [
        (format!("GET {open}"), NONE),
        (format!("GET /ipp/v1/sessions/{paid}/events"), NONE),
        (format!("PUT {open}/cancel"), NONE),
        (format!("POST {open_tap}/simulate-tap"), NONE),
        (format!("GET {device}"), NONE),
        (format!("PUT {device}"), json!({"name": "Mine now"})),
        (format!("DELETE {device}"), NONE),
        (format!("GET /ipp/v1/locations/{location}"), NONE),
        (format!("DELETE /ipp/v1/enrollments/{enrollment}"), NONE),
        (format!("GET {order}"), NONE),
        (
            format!("POST {order}/refunds"),
            json!({"refunded_amount": 1}),
        ),
        (format!("POST {order}/cancel"), NONE),
    ];
    for (spec, body) in calls {
        let (status, err) = send_json(as_key(&app, &their_key, &spec), body).await;
        assert_eq!(status, 404, "{spec}: {err}");
        assert_error(status, &err, 404, "NOT_FOUND");
    }
    let (_, unknown) = app.get(&format!("/ipp/v1/sessions/{UNKNOWN}")).await;
    let (_, err) = send(as_key(&app, &their_key, &format!("GET {open}"))).await;
    assert_eq!(err["error_messages"], unknown["error_messages"]);
    let by_their_device = [
        (format!("GET {open}"), NONE),
        (format!("PUT {open}/cancel"), NONE),
        (
            format!("PUT {open}/payment"),
            json!({"payment_method": "SWISH"}),
        ),
    ];
    for (spec, body) in by_their_device {
        let (status, err) = send_json(as_device(&app, their_token, &spec), body).await;
        assert_error(status, &err, 404, "NOT_FOUND");
    }

    let (_, got) = app.get(&open).await;
    assert_eq!(pick(&got, &["status", "payment_method"]), "CREATED null");
    let (_, got) = app.get(&device).await;
    assert_eq!(pick(&got, &["name"]), "Till 1");
    let (_, got) = app.get(&order).await;
    assert_eq!(pick(&got, &["status", "refunded_amount"]), "CAPTURED 0");
    let (status, _) = app.get(&format!("/ipp/v1/locations/{location}")).await;
    assert_eq!(status, 200);
    let (_, page) = app.get("/ipp/v1/enrollments").await;
    assert_eq!(page["total_elements"], 1, "{page}");
});

both_backends!(another_merchants_lists_never_show_ours, |app| {
    call(&app, "POST /ipp/v1/locations", json!({"name": "Shop"})).await;
    call(&app, "POST /ipp/v1/enrollments", json!({})).await;
    app.simulated_device("Till 2").await;
    app.session_on(&app.device_id).await;
    let (key, their_id) = other_merchant(&app).await;
    let request = as_key(&app, &key, "POST /ipp/v1/dev/devices");
    let (_, theirs) = send_json(request, json!({"name": "Theirs"})).await;
    let their_token = theirs["credentials"]["bearer_token"].as_str().unwrap();
    let (_, devices) = send(as_key(&app, &key, "GET /ipp/v1/devices?page_size=100")).await;
    let devices = devices["content"].as_array().unwrap();
    let ids: Vec<_> = devices.iter().map(|d| d["id"].clone()).collect();
    assert_eq!(ids, vec![theirs["id"].clone()], "{devices:?}");
    let all_theirs = devices
        .iter()
        .all(|d| d["merchant_id"] == their_id.as_str());
    assert!(all_theirs, "{devices:?}");
    let lists = [
        SESSIONS.to_string(),
        format!("GET /ipp/v1/sessions?device_id={}", app.device_id),
        "GET /ipp/v1/locations".into(),
        "GET /ipp/v1/enrollments?include_consumed=true".into(),
    ];
    for spec in lists {
        let (status, page) = send(as_key(&app, &key, &spec)).await;
        assert_eq!(status, 200, "{spec}: {page}");
        assert_eq!(page["total_elements"], 0, "{spec}: {page}");
    }
    let catch_up = as_device(&app, their_token, "GET /ipp/v1/device/sessions");
    let (_, page) = send(catch_up).await;
    assert_eq!(page["content"], json!([]), "{page}");
    let (_, mine) = app.get("/ipp/v1/devices").await;
    assert_eq!(mine["total_elements"], 2, "{mine}");
});

both_backends!(another_device_of_the_merchant_gets_404, |app| {
    let (_, other) = app.simulated_device("Till 2").await;
    let session = app.session_on(&app.device_id).await;
    let one = format!("/ipp/v1/sessions/{}", id_of(&session, "session_id"));
    let pay = format!("PUT {one}/payment");
    let intrusions = [
        (format!("GET {one}"), NONE),
        (format!("GET {one}/events"), NONE),
        (pay.clone(), json!({"payment_method": "KLARNA"})),
        (format!("POST {one}/finalize"), attempt()),
        (format!("PUT {one}/cancel"), NONE),
    ];
    for (spec, body) in intrusions.iter().cloned() {
        let (status, err) = send_json(as_device(&app, &other, &spec), body).await;
        assert_error(status, &err, 404, "NOT_FOUND");
    }
    let (_, page) = send(as_device(&app, &other, "GET /ipp/v1/device/sessions")).await;
    assert_eq!(page["content"], json!([]), "{page}");
    let (status, _) = pos(&app, &pay, json!({"payment_method": "CARD_TAP"})).await;
    assert_eq!(status, 200);
    for (spec, body) in intrusions {
        let (status, err) = send_json(as_device(&app, &other, &spec), body).await;
        assert_error(status, &err, 404, "NOT_FOUND");
    }
    let (_, got) = app.get(&one).await;
    let fields = ["status", "payment_method", "attempts"];
    assert_eq!(pick(&got, &fields), "ACTIVE CARD_TAP 0");
});
