//! `GET /metrics`: request latency is a Prometheus histogram labelled by route template.
//!
//! The process has one recorder shared by every test in this binary, so these tests assert
//! that series exist, never exact counts.

use crate::both_backends;

both_backends!(request_latency_is_a_histogram_per_route_template, |app| {
    let s = app.session_on(&app.device_id).await;
    let id = s["session_id"].as_str().unwrap();
    let (status, _) = app.get(&format!("/ipp/v1/sessions/{id}")).await;
    assert_eq!(status, 200);
    let (status, _) = app.get("/ipp/v1/sessions/no-such-session").await;
    assert!((400..500).contains(&status), "{status}");

    let text = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let buckets: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("kassa_http_request_duration_seconds_bucket{"))
        .collect();
    let series = |route: &str, class: &str| {
        buckets.iter().any(|l| {
            l.contains("method=\"GET\"")
                && l.contains(&format!("route=\"{route}\""))
                && l.contains(&format!("status_class=\"{class}\""))
                && l.contains("le=\"0.1\"")
        })
    };
    assert!(series("/ipp/v1/sessions/{session_id}", "2xx"), "{text}");
    assert!(series("/ipp/v1/sessions/{session_id}", "4xx"), "{text}");
    assert!(
        buckets.iter().any(|l| l.contains("le=\"+Inf\"")),
        "no +Inf bucket: {text}"
    );
    assert!(!text.contains(id), "a session id reached a label: {text}");
    assert!(
        !text.contains("kassa_http_request_duration_seconds{"),
        "rendered as a summary: {text}"
    );
});
