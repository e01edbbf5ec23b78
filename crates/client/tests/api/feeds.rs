//! Streams over the API: pages followed to the end, the event feed resumed from a cursor
//! and long-polled, and `wait_for_status` on the session long-poll.

use crate::{both_backends, sqlite};
use futures::{StreamExt, TryStreamExt};
use kassa_client::api::device::CreateLocation;
use kassa_client::{Error, EventQuery, SessionFilter, SessionStatus};
use std::collections::HashSet;
use std::time::Duration;

fn location(name: &str) -> CreateLocation {
    CreateLocation {
        name: name.into(),
        street_address: None,
        street_address2: None,
        postal_code: None,
        city: None,
        country: None,
    }
}

sqlite!(a_list_streams_every_item_across_pages, |server| {
    let locations = server.client.locations();
    for i in 0..5 {
        locations
            .create(&location(&format!("Shop {i}")))
            .await
            .unwrap();
    }
    let first = locations.list().page_size(2).page(0).await.unwrap();
    assert_eq!(
        (first.content.len(), first.total_elements, first.total_pages),
        (2, 5, 3)
    );
    let all: Vec<_> = locations
        .list()
        .page_size(2)
        .stream()
        .try_collect()
        .await
        .unwrap();
    let names: HashSet<_> = all.iter().map(|l| l.name.clone()).collect();
    assert_eq!((all.len(), names.len()), (5, 5));

    // Session filters: only the matching statuses come back.
    let (till, _) = server.till("Till 2").await;
    let open = server.session_on(till.id, 1_000).await;
    server
        .client
        .sessions()
        .cancel(open.session_id)
        .await
        .unwrap();
    let live = server.session_on(till.id, 2_000).await;
    let filter = SessionFilter {
        statuses: vec![SessionStatus::Created],
        device_id: Some(till.id),
        merchant_reference1: Some("order-42".into()),
        ..Default::default()
    };
    let found: Vec<_> = server
        .client
        .sessions()
        .list(&filter)
        .stream()
        .try_collect()
        .await
        .unwrap();
    let ids: Vec<_> = found.iter().map(|s| s.session_id).collect();
    assert_eq!(ids, [live.session_id]);
});

both_backends!(
    the_event_feed_resumes_from_a_cursor_and_long_polls,
    |server| {
        let (till, _) = server.till("Till 2").await;
        let session = server.session_on(till.id, 3_000).await;
        server
            .client
            .sessions()
            .cancel(session.session_id)
            .await
            .unwrap();
        let events = server.client.events();
        let query = EventQuery {
            session_id: Some(session.session_id),
            ..Default::default()
        };
        let first_two: Vec<_> = events
            .stream(query.clone())
            .take(2)
            .try_collect()
            .await
            .unwrap();
        let types: Vec<_> = first_two.iter().map(|e| e.event_type.as_str()).collect();
        assert_eq!(types, ["ipp.session.created", "ipp.session.cancelled"]);

        // From the first event's id on, the stream starts at the second.
        let after_first = EventQuery {
            after: Some(first_two[0].id.clone()),
            ..query.clone()
        };
        let mut resumed = events.stream(after_first);
        let next = resumed.try_next().await.unwrap().unwrap();
        assert_eq!(next.id, first_two[1].id);

        // Nothing more yet: the stream long-polls, and wakes for an event made meanwhile.
        let mut tail = events.stream(EventQuery {
            after: Some(first_two[1].id.clone()),
            ..Default::default()
        });
        let waiting = tokio::spawn(async move { tail.try_next().await });
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!waiting.is_finished());
        let later = server.session_on(till.id, 4_000).await;
        let woken = tokio::time::timeout(Duration::from_secs(10), waiting)
            .await
            .expect("woken in time")
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(woken.data.session_id, later.session_id);
        assert_eq!(woken.event_type, "ipp.session.created");

        // A cursor the server does not keep is its own error, not a generic 400.
        let gone = EventQuery {
            after: Some("kevt_0000000000000000000000".into()),
            ..Default::default()
        };
        let err = events.stream(gone).try_next().await.unwrap_err();
        let Error::CursorExpired { cursor, error } = err else {
            panic!("{err:?}")
        };
        assert_eq!(cursor, "kevt_0000000000000000000000");
        assert_eq!(error.status, 400);
    }
);

sqlite!(wait_for_status_follows_the_long_poll, |server| {
    let (till, _) = server.till("Till 2").await;
    let sessions = server.client.sessions();

    // Paid while we wait.
    let session = server.session_on(till.id, 5_000).await;
    let playground = server.client.playground();
    let id = session.session_id;
    let tap = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        playground.simulate_tap(id, None).await
    });
    let started = tokio::time::Instant::now();
    let paid = sessions
        .wait_for_status(id, SessionStatus::Finalized, Duration::from_secs(20))
        .await
        .unwrap();
    assert_eq!(paid.status, "FINALIZED");
    assert!(started.elapsed() < Duration::from_secs(10));
    tap.await.unwrap().unwrap();

    // Cancelled: it can never be paid, and the wait says so at once.
    let session = server.session_on(till.id, 5_000).await;
    sessions.cancel(session.session_id).await.unwrap();
    let err = sessions
        .wait_for_status(
            session.session_id,
            SessionStatus::Finalized,
            Duration::from_secs(20),
        )
        .await
        .unwrap_err();
    let Error::StatusUnreachable(last) = err else {
        panic!("{err:?}")
    };
    assert_eq!(last.status, "CANCELLED");

    // Nothing happens: the wait ends at its timeout with the session as last seen.
    let session = server.session_on(till.id, 5_000).await;
    let started = tokio::time::Instant::now();
    let err = sessions
        .wait_for_status(
            session.session_id,
            SessionStatus::Finalized,
            Duration::from_millis(1500),
        )
        .await
        .unwrap_err();
    let Error::WaitTimedOut(last) = err else {
        panic!("{err:?}")
    };
    assert_eq!(last.status, "CREATED");
    assert!(started.elapsed() < Duration::from_secs(3));

    // One long-poll answers as soon as the status changes.
    let id = session.session_id;
    let canceller = server.client.sessions();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        canceller.cancel(id).await
    });
    let changed = sessions
        .get_when_changed(id, SessionStatus::Created, Duration::from_secs(20))
        .await
        .unwrap();
    assert_eq!(changed.status, "CANCELLED");
});
