//! Locations over HTTP: replace one (`PUT`), delete one (`DELETE`), and the refusals of both.
//! Typed calls, but for the bodies and ids no typed call can send.

use crate::auth::other_merchant;
use crate::bad_input::{bad_value, call, send, UNKNOWN_ID};
use crate::both_backends;
use crate::harness::*;
use kassa_client::api::device::{
    CreateEnrollment, CreateLocation, CreateSimulatedDevice, Location,
};
use kassa_client::ErrorCode;
use reqwest::Method;
use serde_json::json;

async fn new_location(app: &TestApp) -> Location {
    let req = CreateLocation {
        street_address: Some("Storgatan 1".into()),
        city: Some("Malmö".into()),
        country: Some("SE".into()),
        ..location_named("Main St")
    };
    app.client().locations().create(&req).await.unwrap()
}

fn at(id: &str) -> String {
    format!("/ipp/v1/locations/{id}")
}

both_backends!(a_put_replaces_the_location_and_moves_updated_at, |app| {
    let locations = app.client().locations();
    let created = new_location(&app).await;
    app.clock.advance(chrono::Duration::seconds(5));
    let req = CreateLocation {
        postal_code: Some("211 20".into()),
        country: Some("SE".into()),
        ..location_named("Harbour kiosk")
    };
    let updated = locations.update(created.id, &req).await.unwrap();
    assert_eq!(
        (updated.id, updated.merchant_id, updated.created_at),
        (created.id, created.merchant_id, created.created_at)
    );
    assert_eq!(updated.name, "Harbour kiosk");
    assert_eq!(updated.postal_code.as_deref(), Some("211 20"));
    assert_eq!(
        (&updated.street_address, &updated.city),
        (&None, &None),
        "a field left out is cleared"
    );
    assert_ne!(updated.updated_at, created.updated_at);
    let read = locations.get(created.id).await.unwrap();
    assert_same(&read, &updated, "read back as answered");
});

// Raw on purpose: each body breaks a rule (or the JSON) in a way no typed request can.
both_backends!(a_put_checks_the_body_like_a_create, |app| {
    let id = new_location(&app).await.id;
    let put = format!("PUT {}", at(&id.to_string()));
    let cases = [
        (json!({"name": " "}), "name"),
        (json!({"name": "x", "city": "c".repeat(256)}), "city"),
        (json!({"name": "x", "country": "se"}), "country"),
        (json!({"city": "Malmö"}), "name"),
        (json!({"name": 7}), "name"),
    ];
    for (body, field) in cases {
        let (status, err) = call(&app, &put, body).await;
        bad_value(status, &err, field);
    }
    let malformed = app.merchant(Method::PUT, &at(&id.to_string())).body("{");
    let (status, err) = send(malformed).await;
    assert_error(status, &err, 400, "INVALID_JSON");
    let read = app.client().locations().get(id).await.unwrap();
    assert_eq!(read.name, "Main St", "nothing changed");
});

both_backends!(only_the_merchants_own_location_can_be_changed, |app| {
    let id = new_location(&app).await.id;
    let (their_key, _) = other_merchant(&app).await;
    let theirs = app.client_with_key(&their_key).locations();
    let ours = app.client().locations();
    let req = location_named("Taken over");
    for (locations, id) in [(&theirs, id), (&ours, UNKNOWN_ID)] {
        let put = locations.update(id, &req).await;
        assert_api_error(put, 404, ErrorCode::NotFound);
        let delete = locations.delete(id).await;
        assert_api_error(delete, 404, ErrorCode::NotFound);
    }
    // An id that is no UUID at all: only a raw request can send it.
    for method in ["PUT", "DELETE"] {
        let spec = format!("{method} {}", at("not-a-uuid"));
        let (status, err) = call(&app, &spec, json!({"name": "Taken over"})).await;
        assert_error(status, &err, 404, "NOT_FOUND");
    }
    assert_eq!(ours.get(id).await.unwrap().name, "Main St");
});

both_backends!(a_delete_waits_for_devices_and_pending_codes, |app| {
    let client = app.client();
    let locations = client.locations();
    let id = new_location(&app).await.id;
    let device = CreateSimulatedDevice {
        name: "Till 2".into(),
        location_id: Some(id),
        metadata: None,
    };
    let device = client.playground().create_device(&device).await.unwrap();
    let here = CreateEnrollment {
        location_id: Some(id),
        ..Default::default()
    };
    let code = client.enrollments().create(&here).await.unwrap();

    let refused = locations.delete(id).await;
    let msg = assert_api_error(refused, 409, ErrorCode::NotAllowed);
    assert!(msg.contains("1 device and 1 pending enrollment"), "{msg}");
    client.devices().delete(device.id).await.unwrap();
    let refused = locations.delete(id).await;
    let msg = assert_api_error(refused, 409, ErrorCode::NotAllowed);
    assert!(msg.contains("0 devices and 1 pending enrollment"), "{msg}");
    client
        .enrollments()
        .delete(code.enrollment_id)
        .await
        .unwrap();

    locations.delete(id).await.unwrap();
    assert_api_error(locations.get(id).await, 404, ErrorCode::NotFound);
    assert_api_error(locations.delete(id).await, 404, ErrorCode::NotFound);
    let page = locations.list().page(0).await.unwrap();
    assert_eq!(page.total_elements, 0);
    // The location is gone for new references too.
    let gone = client.enrollments().create(&here).await;
    assert_bad_value(gone, "location_id");
});

// Raw: the OpenAPI document itself.
both_backends!(openapi_describes_put_and_delete, |app| {
    let (status, doc) = json_of(app.http.get(app.url("/openapi.json")).send().await.unwrap()).await;
    assert_eq!(status, 200);
    let path = &doc["paths"]["/ipp/v1/locations/{id}"];
    for (method, codes) in [
        ("put", ["200", "400", "404"]),
        ("delete", ["204", "404", "409"]),
    ] {
        for code in codes {
            assert!(
                path[method]["responses"][code].is_object(),
                "{method} lacks {code}: {path}"
            );
        }
    }
});
