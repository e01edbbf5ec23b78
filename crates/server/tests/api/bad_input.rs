//! Bad input gets the contract's 4xx and error body, never a 500, and writes nothing.

use crate::both_backends;
use crate::harness::*;
use reqwest::Method;
use serde_json::json;

both_backends!(order_amount_must_match_items, |app| {
    let mut body = cart(&app.device_id, 239000);
    body["order_amount"] = json!(240000);
    let (status, err) = json_of(app.create_session(&body).await).await;
    let msg = assert_error(status, &err, 400, "BAD_VALUE");
    assert!(msg.contains("order_amount") && msg.contains("(240000 != 239000)"), "{msg}");
    let (_, page) = app.get("/ipp/v1/sessions").await;
    assert_eq!(page["total_elements"], 0, "nothing written");
});

both_backends!(malformed_json_and_wrong_content_type, |app| {
    let r = app.merchant(Method::POST, "/ipp/v1/sessions").header("content-type", "application/json").body("{\"order_amount\": 1").send().await.unwrap();
    let (status, err) = json_of(r).await;
    assert_error(status, &err, 400, "INVALID_JSON");
    let r = app.merchant(Method::POST, "/ipp/v1/sessions").header("content-type", "text/plain").body(cart(&app.device_id, 100).to_string()).send().await.unwrap();
    let (status, err) = json_of(r).await;
    assert_error(status, &err, 400, "INVALID_JSON");
});

both_backends!(oversized_body_is_413_after_auth, |app| {
    let big = format!("{{\"x\":\"{}\"}}", "a".repeat(1024 * 1024 + 10));
    let r = app.merchant(Method::POST, "/ipp/v1/sessions").header("content-type", "application/json").body(big.clone()).send().await.unwrap();
    let (status, err) = json_of(r).await;
    assert_error(status, &err, 413, "PAYLOAD_TOO_LARGE");
    let r = app.http.post(app.url("/ipp/v1/sessions")).header("content-type", "application/json").body(big).send().await.unwrap();
    let (status, err) = json_of(r).await;
    assert_error(status, &err, 401, "UNAUTHORIZED");
});
