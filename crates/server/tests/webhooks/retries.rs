//! Retries on the manual clock, with the dispatcher stepped (`TestApp::spawn_stepped`): the
//! schedule, its end and a redelivery, a receiver that comes back.

use crate::*;

crate::both_backends!(
    two_failures_then_success_is_delivered_on_the_third_attempt,
    |backend| {
        let app = TestApp::spawn_stepped(backend, short_schedule).await;
        let rx = Receiver::start().await;
        rx.script(&[500, 500]);
        let (ep, _) = endpoint(&app, &rx, None).await;
        app.session_on(&app.device_id).await;
        // The first attempt fails at once; the second is due 1 s (+ up to 10 % jitter)
        // later, not before; the third 2 s (+ jitter) after the second.
        assert_eq!(app.dispatch().await, 1);
        app.clock.advance(chrono::Duration::milliseconds(990));
        assert_eq!(app.dispatch().await, 0);
        app.clock.advance(chrono::Duration::milliseconds(210));
        assert_eq!(app.dispatch().await, 1);
        app.clock.advance(chrono::Duration::milliseconds(1_990));
        assert_eq!(app.dispatch().await, 0);
        assert!(rx.got().is_empty());
        app.clock.advance(chrono::Duration::milliseconds(310));
        assert_eq!(app.dispatch().await, 1);
        let got = rx.got();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].body["type"], "ipp.session.created");
        let log = deliveries_log(&app, &ep).await;
        assert_eq!(log.len(), 3, "{log:?}");
        let codes: Vec<_> = log.iter().rev().map(|a| a["status_code"].clone()).collect();
        assert_eq!(codes, [json!(500), json!(500), json!(200)]);
        assert!(log[2]["next_attempt_at"].is_string(), "{log:?}");
        assert!(log[0]["next_attempt_at"].is_null(), "{log:?}");
        assert!(log.iter().all(|a| a["event_id"] == got[0].id.as_str()));
    }
);

crate::both_backends!(
    an_exhausted_schedule_fails_and_redeliver_starts_again,
    |backend| {
        let app = TestApp::spawn_stepped(backend, |c| {
            c.webhook_retry_schedule = vec![Duration::ZERO, Duration::from_secs(1)]
        })
        .await;
        let rx = Receiver::start().await;
        rx.script(&[503, 503]);
        let (ep, _) = endpoint(&app, &rx, None).await;
        let session = app.session_on(&app.device_id).await;
        assert_eq!(app.dispatch().await, 1);
        app.clock.advance(chrono::Duration::milliseconds(1_200));
        assert_eq!(app.dispatch().await, 1);
        let log = deliveries_log(&app, &ep).await;
        assert_eq!(log.len(), 2, "{log:?}");
        assert!(log[0]["next_attempt_at"].is_null());
        // The schedule is used up: nothing is due again. (A minute, well past the schedule
        // and inside the receiver's 5-minute tolerance for the signature's timestamp.)
        app.clock.advance(chrono::Duration::minutes(1));
        assert_eq!(app.dispatch().await, 0);
        let events = app.events(session["session_id"].as_str().unwrap()).await;
        assert_eq!(events, ["ipp.session.created"]);
        let event_id = log[0]["event_id"].as_str().unwrap().to_string();
        let merchant = app.merchant_id.parse().unwrap();
        let id = kassa_core::EventId::parse(&event_id).unwrap();
        let state = app
            .state
            .store
            .event_deliveries(merchant, &id)
            .await
            .unwrap();
        assert_eq!(state[0].status, "FAILED");

        let r = app
            .merchant(
                Method::POST,
                &format!("/ipp/v1/events/{event_id}/redeliver"),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 202);
        assert_eq!(app.dispatch().await, 1);
        let got = rx.got();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].id, event_id);
        let r = app
            .merchant(
                Method::POST,
                "/ipp/v1/events/kevt_0000000000000000000000/redeliver",
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
    }
);

crate::both_backends!(a_receiver_down_then_up_gets_everything_once, |backend| {
    let app = TestApp::spawn_stepped(backend, short_schedule).await;
    let rx = Receiver::down().await;
    let (ep, _) = endpoint(&app, &rx, None).await;
    let mut sessions = Vec::new();
    for i in 0..3 {
        let (device, _) = app.simulated_device(&format!("Till {i}")).await;
        let s = app.session_on(&device).await;
        let id = s["session_id"].as_str().unwrap().to_string();
        cancel(&app, &id).await;
        sessions.push(id);
    }
    // Every session's created event failed once; its cancelled event then went out too
    // (a retrying event does not hold back later ones).
    assert_eq!(dispatch_all(&app).await, 6);
    assert_eq!(deliveries_log(&app, &ep).await.len(), 6);
    rx.up().await;
    app.clock.advance(chrono::Duration::milliseconds(1_200));
    assert_eq!(dispatch_all(&app).await, 6);
    let got = rx.got();
    assert_eq!(got.len(), 6, "{got:?}");
    // Delivered means done: nothing goes out again, even well past the schedule.
    app.clock.advance(chrono::Duration::minutes(1));
    assert_eq!(dispatch_all(&app).await, 0);
    let mut ids: Vec<&str> = got.iter().map(|d| d.id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 6);
});
