//! Endpoints: live mode's SSRF guard, CRUD and secret rotation, `410 Gone`, and the events
//! feed.

use crate::*;

crate::both_backends!(live_mode_refuses_private_targets, |backend| {
    let app = TestApp::spawn_with(backend, |c| c.mode = kassa_server::ServerMode::Live).await;
    for url in [
        "https://127.0.0.1/hook",
        "https://10.0.0.8/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://localhost/hook",
        "http://example.com/hook",
    ] {
        let r = app
            .merchant(Method::POST, "/ipp/v1/webhook-endpoints")
            .json(&json!({ "url": url }))
            .send()
            .await
            .unwrap();
        let (status, body) = harness::json_of(r).await;
        harness::assert_error(status, &body, 400, "BAD_VALUE");
        assert!(
            body["error_messages"][0]
                .as_str()
                .unwrap()
                .starts_with("url: "),
            "{body}"
        );
    }
});

crate::both_backends!(endpoints_crud_and_secret_rotation, |backend| {
    let app = TestApp::spawn(backend).await;
    let rx = Receiver::start().await;
    let (ep, old) = endpoint(&app, &rx, Some(&["ipp.session.created"])).await;
    let (status, one) = app.get(&format!("/ipp/v1/webhook-endpoints/{ep}")).await;
    assert_eq!(status, 200);
    assert!(one.get("secret").is_none(), "{one}");
    assert_eq!(one["events"], json!(["ipp.session.created"]));
    let (_, list) = app.get("/ipp/v1/webhook-endpoints").await;
    assert_eq!(list["total_elements"], 1);

    let r = app
        .merchant(Method::PUT, &format!("/ipp/v1/webhook-endpoints/{ep}"))
        // Every type again (an empty list is refused): stored as no filter.
        .json(&json!({"events": kassa_core::event::EventType::ALL.map(|t| t.as_str()), "description": ""}))
        .send()
        .await
        .unwrap();
    let (status, updated) = harness::json_of(r).await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["events"].as_array().unwrap().len(), 7);
    assert!(updated["description"].is_null());

    let r = app
        .merchant(
            Method::POST,
            &format!("/ipp/v1/webhook-endpoints/{ep}/rotate-secret"),
        )
        .send()
        .await
        .unwrap();
    let (status, rotated) = harness::json_of(r).await;
    assert_eq!(status, 200);
    let new = rotated["secret"].as_str().unwrap();
    assert_ne!(new, old);
    // During the grace period both keys sign: a receiver with either accepts.
    let only_new = Receiver::start().await;
    only_new.accept_secret(new);
    app.session_on(&app.device_id).await;
    let got = rx.wait_for(1, WAIT).await;
    assert_eq!(got[0].signatures, 2);

    let r = app
        .merchant(Method::PUT, &format!("/ipp/v1/webhook-endpoints/{ep}"))
        .json(&json!({"url": "ftp://example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = app
        .merchant(Method::DELETE, &format!("/ipp/v1/webhook-endpoints/{ep}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let (status, _) = app.get(&format!("/ipp/v1/webhook-endpoints/{ep}")).await;
    assert_eq!(status, 404);
});

crate::both_backends!(gone_disables_the_endpoint, |backend| {
    let app = TestApp::spawn_stepped(backend, short_schedule).await;
    let rx = Receiver::start().await;
    rx.script(&[410]);
    let (ep, _) = endpoint(&app, &rx, None).await;
    app.session_on(&app.device_id).await;
    assert_eq!(app.dispatch().await, 1);
    let (_, one) = app.get(&format!("/ipp/v1/webhook-endpoints/{ep}")).await;
    assert_eq!(one["enabled"], false, "{one}");
    assert!(one["disabled_reason"].is_string());
});

crate::both_backends!(the_event_feed_long_polls, |backend| {
    let app = TestApp::spawn(backend).await;
    let (status, empty) = app.get("/ipp/v1/events").await;
    assert_eq!(status, 200);
    assert_eq!(empty["events"], json!([]));
    let first = app.session_on(&app.device_id).await;
    let (_, feed) = app.get("/ipp/v1/events").await;
    assert_eq!(feed["events"][0]["type"], "ipp.session.created");
    assert_eq!(feed["events"][0]["data"]["session_id"], first["session_id"]);
    let cursor = feed["next_cursor"].as_str().unwrap().to_string();
    let path = format!("/ipp/v1/events?after={cursor}&wait=10");
    let waiter = {
        let req = app.merchant(Method::GET, &path);
        tokio::spawn(async move { harness::json_of(req.send().await.unwrap()).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    cancel(&app, first["session_id"].as_str().unwrap()).await;
    let (status, next) = tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status, 200);
    assert_eq!(next["events"][0]["type"], "ipp.session.cancelled");
    let (status, body) = app.get("/ipp/v1/events?type=nope").await;
    harness::assert_error(status, &body, 400, "BAD_VALUE");
});
