//! One endpoint gets at most its share of the dispatcher's requests in flight; deliveries over
//! it wait for a claim instead, and still all arrive, once each.

use crate::harness::TestApp;
use crate::receiver::Receiver;
use crate::WAIT;
use std::time::Duration;

/// The dispatcher's `PER_ENDPOINT`.
const SHARE: usize = 16;
const SESSIONS: usize = 40;

fn distinct(got: &[crate::receiver::Delivery]) -> usize {
    let mut ids: Vec<&str> = got.iter().map(|d| d.id.as_str()).collect();
    ids.sort();
    ids.dedup();
    ids.len()
}

crate::both_backends!(a_busy_endpoint_keeps_to_its_share, |backend| {
    let app = TestApp::spawn(backend).await;
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
    assert!(most <= SHARE, "{most} requests at once to one endpoint");
    assert!(most > 1, "the test needs requests to overlap: {most}");
});
