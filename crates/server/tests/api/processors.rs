//! `GET /ipp/v1/processors` on a playground server (Stripe's side is in tests/stripe).

use crate::bad_input::send;
use crate::both_backends;

both_backends!(the_playground_lists_the_simulated_processor, |app| {
    let body = app.client().processors().await.unwrap();
    let names: Vec<_> = body.processors.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["simulated"]);
    assert_eq!(body.processors[0].mode, "test");
    // Raw: without credentials, which no typed client sends.
    let (status, _) = send(app.http.get(app.url("/ipp/v1/processors"))).await;
    assert_eq!(status, 401, "merchants only");
});
