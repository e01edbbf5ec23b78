//! `GET /metrics`: request latency is a Prometheus histogram labelled by route template; the
//! webhook queue and the database pools are gauges sampled at the scrape.
//!
//! The process has one recorder shared by every test in this binary, so these tests assert
//! that series exist, never exact counts.

use crate::both_backends;
use kassa_client::api::webhook::CreateWebhookEndpoint;

both_backends!(request_latency_is_a_histogram_per_route_template, |app| {
    let id = app.open_session(app.till_id()).await.session_id;
    app.client().sessions().get(id).await.unwrap();
    // Raw: a path segment that is no session id.
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
    let id = id.to_string();
    assert!(!text.contains(&id), "a session id reached a label: {text}");
    assert!(
        !text.contains("kassa_http_request_duration_seconds{"),
        "rendered as a summary: {text}"
    );
});

/// The value of the sample whose name and labels start with `series`, if it is there.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(series))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

both_backends!(queue_depth_and_pool_usage_are_gauges, |app| {
    // A receiver that refuses connections (nothing listens on port 1): the delivery stays
    // pending, retried later.
    let endpoint = CreateWebhookEndpoint {
        url: "http://127.0.0.1:1/hook".into(),
        events: None,
        description: None,
    };
    app.client()
        .webhook_endpoints()
        .create(&endpoint)
        .await
        .unwrap();
    app.open_session(app.till_id()).await;
    let pools: &[&str] = match app.state.store.backend() {
        kassa_store::Backend::Sqlite => &["write", "read"],
        kassa_store::Backend::Postgres => &["shared"],
    };

    // Every app in this binary shares one recorder and sets the same gauges at its own
    // scrapes, so scrape until ours are the values shown (bounded).
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    let mut text = String::new();
    while tokio::time::Instant::now() < deadline {
        text = app
            .http
            .get(app.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let pending = sample(&text, "kassa_webhook_queue_pending ");
        let due = sample(&text, "kassa_webhook_queue_due ");
        if pending.is_some_and(|p| p >= 1.0) && due.is_some_and(|d| (0.0..=1.0).contains(&d)) {
            break;
        }
    }
    assert!(
        sample(&text, "kassa_webhook_queue_pending ").is_some_and(|p| p >= 1.0),
        "{text}"
    );
    assert!(
        sample(&text, "kassa_webhook_queue_due ").is_some(),
        "{text}"
    );
    for pool in pools {
        let gauge = |state: &str| {
            let series = format!("kassa_db_pool_connections{{pool=\"{pool}\",state=\"{state}\"}} ");
            sample(&text, &series).unwrap_or_else(|| panic!("no {series}in {text}"))
        };
        let (idle, busy) = (gauge("idle"), gauge("busy"));
        let max = sample(
            &text,
            &format!("kassa_db_pool_max_connections{{pool=\"{pool}\"}} "),
        )
        .expect("max connections");
        assert!(idle >= 0.0 && busy >= 0.0 && idle + busy <= max, "{text}");
        assert!(max >= 1.0, "{text}");
    }
});
