//! Locations over HTTP: replace one (`PUT`), delete one (`DELETE`), and the refusals of both.

use crate::auth::{as_key, id_of, other_merchant};
use crate::bad_input::{bad_value, call, send, send_json, NONE, UNKNOWN};
use crate::both_backends;
use crate::harness::*;
use reqwest::Method;
use serde_json::{json, Value};

async fn new_location(app: &TestApp) -> Value {
    let body = json!({"name": "Main St", "street_address": "Storgatan 1", "city": "Malmö", "country": "SE"});
    let (status, location) = call(app, "POST /ipp/v1/locations", body).await;
    assert_eq!(status, 201, "{location}");
    location
}

fn at(id: &str) -> String {
    format!("/ipp/v1/locations/{id}")
}

both_backends!(a_put_replaces_the_location_and_moves_updated_at, |app| {
    let created = new_location(&app).await;
    let id = id_of(&created, "id");
    app.clock.advance(chrono::Duration::seconds(5));
    let body = json!({"name": "Harbour kiosk", "postal_code": "211 20", "country": "SE"});
    let (status, updated) = call(&app, &format!("PUT {}", at(id)), body).await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(
        (
            &updated["id"],
            &updated["merchant_id"],
            &updated["created_at"]
        ),
        (
            &created["id"],
            &created["merchant_id"],
            &created["created_at"]
        )
    );
    assert_eq!(updated["name"], "Harbour kiosk");
    assert_eq!(updated["postal_code"], "211 20");
    assert_eq!(
        (&updated["street_address"], &updated["city"]),
        (&Value::Null, &Value::Null),
        "a field left out is cleared"
    );
    assert_ne!(updated["updated_at"], created["updated_at"]);
    let (_, read) = app.get(&at(id)).await;
    assert_eq!(read, updated);
});

both_backends!(a_put_checks_the_body_like_a_create, |app| {
    let id = id_of(&new_location(&app).await, "id").to_string();
    let put = format!("PUT {}", at(&id));
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
    let (status, err) = send(app.merchant(Method::PUT, &at(&id)).body("{")).await;
    assert_error(status, &err, 400, "INVALID_JSON");
    let (_, read) = app.get(&at(&id)).await;
    assert_eq!(read["name"], "Main St", "nothing changed");
});

both_backends!(only_the_merchants_own_location_can_be_changed, |app| {
    let id = id_of(&new_location(&app).await, "id").to_string();
    let (their_key, _) = other_merchant(&app).await;
    let body = json!({"name": "Taken over"});
    for method in ["PUT", "DELETE"] {
        let theirs = as_key(&app, &their_key, &format!("{method} {}", at(&id)));
        let (status, err) = send_json(theirs, body.clone()).await;
        assert_error(status, &err, 404, "NOT_FOUND");
        for path in [at(UNKNOWN), at("not-a-uuid")] {
            let (status, err) = call(&app, &format!("{method} {path}"), body.clone()).await;
            assert_error(status, &err, 404, "NOT_FOUND");
        }
    }
    let (status, read) = app.get(&at(&id)).await;
    assert_eq!((status, read["name"].as_str()), (200, Some("Main St")));
});

both_backends!(a_delete_waits_for_devices_and_pending_codes, |app| {
    let id = id_of(&new_location(&app).await, "id").to_string();
    let device = json!({"name": "Till 2", "location_id": id});
    let (status, device) = call(&app, "POST /ipp/v1/dev/devices", device).await;
    assert_eq!(status, 201, "{device}");
    let code = json!({"location_id": id});
    let (status, code) = call(&app, "POST /ipp/v1/enrollments", code).await;
    assert_eq!(status, 201, "{code}");
    let delete = format!("DELETE {}", at(&id));

    let (status, err) = call(&app, &delete, NONE).await;
    let msg = assert_error(status, &err, 409, "NOT_ALLOWED");
    assert!(msg.contains("1 device and 1 pending enrollment"), "{msg}");
    let device_path = format!("DELETE /ipp/v1/devices/{}", id_of(&device, "id"));
    assert_eq!(call(&app, &device_path, NONE).await.0, 204);
    let (status, err) = call(&app, &delete, NONE).await;
    let msg = assert_error(status, &err, 409, "NOT_ALLOWED");
    assert!(msg.contains("0 devices and 1 pending enrollment"), "{msg}");
    let code_path = format!(
        "DELETE /ipp/v1/enrollments/{}",
        id_of(&code, "enrollment_id")
    );
    assert_eq!(call(&app, &code_path, NONE).await.0, 204);

    let (status, body) = call(&app, &delete, NONE).await;
    assert_eq!(status, 204, "{body}");
    let (status, err) = app.get(&at(&id)).await;
    assert_error(status, &err, 404, "NOT_FOUND");
    let (status, err) = call(&app, &delete, NONE).await;
    assert_error(status, &err, 404, "NOT_FOUND");
    let (_, page) = app.get("/ipp/v1/locations").await;
    assert_eq!(page["total_elements"], 0);
    // The location is gone for new references too.
    let (status, err) = call(&app, "POST /ipp/v1/enrollments", json!({"location_id": id})).await;
    bad_value(status, &err, "location_id");
});

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
