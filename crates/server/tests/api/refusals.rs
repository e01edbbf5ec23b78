//! Bad input beyond sessions and the POS: locations and enrollments, pairing codes, paging
//! and filters, order amounts, and NUL characters in text. Same rule: a 4xx with the
//! contract's error body, never a 500, and nothing written. Bad requests raw; set-up and
//! the checks that nothing changed are typed calls.

use crate::bad_input::*;
use crate::both_backends;
use crate::harness::*;
use kassa_client::api::order::CreateCapture;
use kassa_client::api::session::CreateSession;
use kassa_client::{DeviceFilter, EnrollmentFilter, ErrorCode};
use serde_json::{json, Value};

both_backends!(locations_and_enrollments_reject_bad_values, |app| {
    let long = "x".repeat(256);
    for (body, path) in [
        (json!({"name": ""}), "name"),
        (json!({"name": "  "}), "name"),
        (json!({}), "name"),
        (json!({"name": 7}), "name"),
        (json!({"name": long}), "name"),
        (json!({"name": "Shop", "city": long}), "city"),
        (json!({"name": "Shop", "country": "se"}), "country"),
        (json!({"name": "Shop", "country": "SWE"}), "country"),
        (json!({"name": "Shop", "country": "S1"}), "country"),
    ] {
        let (status, err) = call(&app, "POST /ipp/v1/locations", body).await;
        bad_value(status, &err, path);
    }
    let page = app.client().locations().list().page(0).await.unwrap();
    assert_eq!(page.total_elements, 0, "{page:?}");
    for (body, path) in [
        (json!({"expires_in": 59_999}), "expires_in"),
        (json!({"expires_in": 604_800_001}), "expires_in"),
        (json!({"expires_in": "1h"}), "expires_in"),
        (json!({"location_id": UNKNOWN}), "location_id"),
        (json!({"location_id": "front"}), "location_id"),
    ] {
        let (status, err) = call(&app, "POST /ipp/v1/enrollments", body).await;
        bad_value(status, &err, path);
    }
    let all = EnrollmentFilter {
        include_consumed: true,
        ..Default::default()
    };
    let page = app.client().enrollments().list(&all).page(0).await.unwrap();
    assert_eq!(page.total_elements, 0, "{page:?}");
});

both_backends!(registration_treats_all_bad_codes_alike, |app| {
    let code = |code: &str| json!({"enrollment_code": code, "platform": "WEB"});
    let (status, err) = register(&app, code("ABCDE-FGHJK")).await;
    bad_value(status, &err, "enrollment_code");
    let unknown = err["error_messages"].clone();

    let (_, fresh) = enroll(&app, 7_200_000).await;
    for platform in [json!("PALM"), json!("web"), Value::Null] {
        let body = json!({"enrollment_code": fresh, "platform": platform});
        let (status, err) = register(&app, body).await;
        bad_value(status, &err, "platform");
    }
    let (status, device) = register(&app, code(&fresh)).await;
    assert_eq!(status, 201, "the bad platform used the code: {device}");
    let (status, err) = register(&app, code(&fresh)).await;
    bad_value(status, &err, "enrollment_code");
    assert_eq!(err["error_messages"], unknown, "used code");

    let (_, short) = enroll(&app, 60_000).await;
    app.clock.advance(chrono::Duration::seconds(61));
    let (status, err) = register(&app, code(&short)).await;
    bad_value(status, &err, "enrollment_code");
    assert_eq!(err["error_messages"], unknown, "expired code");

    let (id, cancelled) = enroll(&app, 7_200_000).await;
    let delete = format!("DELETE /ipp/v1/enrollments/{id}");
    assert_eq!(call(&app, &delete, NONE).await.0, 204);
    let (status, err) = register(&app, code(&cancelled)).await;
    bad_value(status, &err, "enrollment_code");
    assert_eq!(err["error_messages"], unknown, "cancelled code");

    let (status, err) = register(&app, json!({"platform": "WEB"})).await;
    bad_value(status, &err, "enrollment_code");
    let page = app.client().devices().list(&DeviceFilter::default());
    let page = page.page(0).await.unwrap();
    assert_eq!(page.total_elements, 2, "the simulated till and one more");
});

both_backends!(paging_and_filters_reject_bad_values, |app| {
    for list in LISTS {
        for (query, path) in [
            ("page_size=0", "page_size"),
            ("page_size=101", "page_size"),
            ("page_size=ten", "page_size"),
            ("page_number=-1", "page_number"),
            ("page_number=1.5", "page_number"),
        ] {
            let (status, err) = app.get(&format!("{list}?{query}")).await;
            assert_eq!(status, 400, "{list}?{query}: {err}");
            bad_value(status, &err, path);
        }
        for ok in ["page_size=1", "page_size=100&page_number=3"] {
            let (status, body) = app.get(&format!("{list}?{ok}")).await;
            assert_eq!(status, 200, "{list}?{ok}: {body}");
        }
    }
    let one = app.open_session(app.till_id()).await.session_id;
    let one = format!("/ipp/v1/sessions/{one}");
    for (path, field) in [
        ("/ipp/v1/sessions?status=DONE".to_string(), "status"),
        ("/ipp/v1/sessions?status=CREATED,NOPE".into(), "status"),
        ("/ipp/v1/sessions?status=created".into(), "status"),
        ("/ipp/v1/sessions?device_id=till-1".into(), "device_id"),
        ("/ipp/v1/sessions?location_id=front".into(), "location_id"),
        ("/ipp/v1/sessions?created_after=2pm".into(), "created_after"),
        ("/ipp/v1/devices?metadata=nocolon".into(), "metadata"),
        ("/ipp/v1/devices?metadata=:v".into(), "metadata"),
        (format!("{one}?wait=31"), "wait"),
        (format!("{one}?wait=-1"), "wait"),
        (format!("{one}?wait=1&if_status=PAID"), "if_status"),
    ] {
        let (status, err) = app.get(&path).await;
        bad_value(status, &err, field);
    }
    let (status, err) = pos(&app, "GET /ipp/v1/device/sessions?status=DONE", NONE).await;
    bad_value(status, &err, "status");
});

both_backends!(orders_refuse_over_capture_and_cancel_after_capture, |app| {
    let client = app.client();
    let cart = CreateSession {
        auto_capture: Some(false),
        ..new_cart(app.till_id(), 12_500)
    };
    let id = client.sessions().create(&cart).await.unwrap().session_id;
    let answer = client.playground().simulate_tap(id, None).await.unwrap();
    let order_id = answer.session.order_id.unwrap();
    let orders = client.orders();
    let order = format!("/ordermanagement/v1/orders/{order_id}");
    let capture = format!("POST {order}/captures");
    let refund = format!("POST {order}/refunds");
    let amounts = [json!(12_501), json!(0), json!(-1), json!("1"), json!(1.5)];
    for amount in amounts.into_iter().chain([Value::Null]) {
        let (status, err) = call(&app, &capture, json!({"captured_amount": amount})).await;
        bad_value(status, &err, "captured_amount");
    }
    let (status, err) = call(&app, &refund, json!({"refunded_amount": 1})).await;
    bad_value(status, &err, "refunded_amount");
    let got = orders.get(order_id).await.unwrap();
    assert_eq!(
        (got.status.as_str(), got.captured_amount),
        ("AUTHORIZED", 0)
    );

    let all = CreateCapture {
        captured_amount: 12_500,
        description: None,
        reference: None,
    };
    let got = orders.capture(order_id, &all).await.unwrap();
    assert_eq!(got.status, "CAPTURED");
    let cancel = orders.cancel(order_id).await;
    assert_api_error(cancel, 409, ErrorCode::NotAllowed);
    let (status, err) = call(&app, &refund, json!({"refunded_amount": 12_501})).await;
    bad_value(status, &err, "refunded_amount");
    let got = orders.get(order_id).await.unwrap();
    assert_eq!((got.status.as_str(), got.refunded_amount), ("CAPTURED", 0));
});

both_backends!(page_number_past_the_offset_range_is_answered, |app| {
    for list in LISTS {
        let path = format!("{list}?page_number=9223372036854775807");
        let (status, body) = app.get(&path).await;
        if status == 200 {
            assert_eq!(body["content"], json!([]), "{list}: {body}");
        } else {
            bad_value(status, &body, "page_number");
        }
    }
});

/// Accepted as sent, or `400 BAD_VALUE` naming `path`; never a 500.
fn stored_or_rejected(status: u16, body: &Value, path: &str) {
    if !(200..300).contains(&status) {
        bad_value(status, body, path);
    }
}

both_backends!(nul_characters_in_text_are_stored_or_rejected, |app| {
    let nul = "a\u{0}b";
    let mut body = cart(&app.device_id, 100);
    body["merchant_reference1"] = json!(nul);
    let (status, err) = json_of(app.create_session(&body).await).await;
    stored_or_rejected(status, &err, "merchant_reference1");
    let device = format!("PUT /ipp/v1/devices/{}", app.device_id);
    for (spec, body, field) in [
        ("POST /ipp/v1/locations", json!({"name": nul}), "name"),
        (
            "POST /ipp/v1/locations",
            json!({"name": "Shop", "city": nul}),
            "city",
        ),
        ("POST /ipp/v1/dev/devices", json!({"name": nul}), "name"),
        (&device, json!({"name": nul}), "name"),
        (
            "GET /ipp/v1/sessions?merchant_reference1=%00",
            NONE,
            "merchant_reference1",
        ),
        ("GET /ipp/v1/devices?metadata=a:%00", NONE, "metadata"),
    ] {
        let (status, err) = call(&app, spec, body).await;
        stored_or_rejected(status, &err, field);
    }
    let (_, code) = enroll(&app, 7_200_000).await;
    let body = json!({"enrollment_code": code, "platform": "WEB", "name": nul});
    let (status, err) = register(&app, body).await;
    stored_or_rejected(status, &err, "name");
});
