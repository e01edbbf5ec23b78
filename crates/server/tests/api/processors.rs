//! `GET /ipp/v1/processors` on a playground server (Stripe's side is in tests/stripe).

use crate::bad_input::{call, send, NONE};
use crate::both_backends;
use serde_json::json;

both_backends!(the_playground_lists_the_simulated_processor, |app| {
    let (status, body) = call(&app, "GET /ipp/v1/processors", NONE).await;
    assert_eq!(status, 200, "{body}");
    let names: Vec<_> = body["processors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].clone())
        .collect();
    assert_eq!(names, [json!("simulated")]);
    assert_eq!(body["processors"][0]["mode"], "test");
    let (status, _) = send(app.http.get(app.url("/ipp/v1/processors"))).await;
    assert_eq!(status, 401, "merchants only");
});
