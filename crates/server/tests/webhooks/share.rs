//! A slow endpoint may use spare permits, but never the quarter kept for the others;
//! deliveries beyond that wait for a claim, and still all arrive, once each.

use crate::harness::TestApp;
use crate::receiver::Receiver;
use crate::WAIT;
use std::time::Duration;

/// Permits in all; each endpoint's own share is a sixteenth, a quarter stays in reserve.
const CONCURRENCY: usize = 32;
const MOST_FOR_ONE: usize = CONCURRENCY - CONCURRENCY / 4 + CONCURRENCY / 16;
const SESSIONS: usize = 40;

fn distinct(got: &[crate::receiver::Delivery]) -> usize {
    let mut ids: Vec<&str> = got.iter().map(|d| d.id.as_str()).collect();
    ids.sort();
    ids.dedup();
    ids.len()
}

crate::both_backends!(a_busy_endpoint_keeps_to_its_share, |backend| {
    let app = TestApp::spawn_with(backend, |c| c.webhook_concurrency = CONCURRENCY).await;
    let (slow, fast) = (Receiver::start().await, Receiver::start().await);
    slow.delay(Duration::from_millis(400));
    let created = Some(&["ipp.session.created"][..]);
    crate::endpoint(&app, &slow, created).await;
    crate::endpoint(&app, &fast, created).await;
    let mut devices = Vec::new();
    for i in 0..SESSIONS {
        devices.push(app.simulated_device(&format!("Till {i}")).await.0);
    }
    // All at once, so that far more than a share is due while the slow receiver sleeps.
    futures::future::join_all(devices.iter().map(|d| app.session_on(d))).await;

    let fast_got = fast.wait_for(SESSIONS, WAIT).await;
    let slow_got = slow.wait_for(SESSIONS, WAIT).await;
    assert_eq!(distinct(&fast_got), SESSIONS);
    assert_eq!(distinct(&slow_got), SESSIONS, "each arrived once");
    let most = slow.max_in_flight();
    assert!(
        most <= MOST_FOR_ONE,
        "{most} requests at once to one endpoint"
    );
    assert!(
        most > CONCURRENCY / 16,
        "spare permits go to a busy endpoint while nothing else waits: {most}"
    );
});
