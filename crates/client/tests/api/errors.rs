//! Refusals arrive typed: status, `ErrorCode`, messages naming fields, correlation id; and
//! an `Idempotency-Key` replay is flagged.

use crate::both_backends;
use crate::harness::*;
use kassa_client::{Client, Error, ErrorCode};
use uuid::Uuid;

both_backends!(refusals_are_typed, |server| {
    let sessions = server.client.sessions();

    // 404 for an unknown session, with a correlation id to quote.
    let err = sessions.get(Uuid::now_v7()).await.unwrap_err();
    let api = err.api().expect("a refusal");
    assert_eq!((api.status, &api.code), (404, &ErrorCode::NotFound));
    assert!(api.correlation_id.as_deref().is_some_and(|c| !c.is_empty()));

    // 400 with a message per broken rule, each naming its field.
    let (till, _) = server.till("Till 2").await;
    let mut bad = cart(till.id, 10_000);
    bad.order_amount = 9_999;
    let err = sessions.create(&bad).await.unwrap_err();
    let Error::Api(api) = &err else {
        panic!("{err:?}")
    };
    assert_eq!((api.status, &api.code), (400, &ErrorCode::BadValue));
    assert!(api.mentions("order_amount"), "{:?}", api.messages);
    assert!(err.to_string().contains("BAD_VALUE"), "{err}");

    // 409 DEVICE_BUSY for a second open session on one device.
    let open = server.session_on(till.id, 10_000).await;
    let err = sessions.create(&cart(till.id, 10_000)).await.unwrap_err();
    assert_eq!(err.status(), Some(409));
    assert_eq!(err.code(), Some(&ErrorCode::DeviceBusy));

    // 409 NOT_ALLOWED naming the status, for a cancel of a finalized session.
    server
        .client
        .playground()
        .simulate_tap(open.session_id, None)
        .await
        .unwrap();
    let err = sessions.cancel(open.session_id).await.unwrap_err();
    let api = err.api().unwrap();
    assert_eq!((api.status, &api.code), (409, &ErrorCode::NotAllowed));
    assert!(api.messages.join(" ").contains("FINALIZED"), "{api}");

    // 401 for a key the server does not know.
    let stranger = Client::new(&server.base, "kassa_test_nobody").unwrap();
    let err = stranger.processors().await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::Unauthorized));
});

both_backends!(an_idempotent_replay_is_flagged, |server| {
    let (till, _) = server.till("Till 2").await;
    let req = cart(till.id, 7_000);
    let first = server
        .client
        .sessions()
        .create(&req)
        .idempotency_key("order-7")
        .send()
        .await
        .unwrap();
    let again = server
        .client
        .sessions()
        .create(&req)
        .idempotency_key("order-7")
        .send()
        .await
        .unwrap();
    assert!(!first.replayed);
    assert!(again.replayed);
    assert_eq!(again.session_id, first.session_id);
    assert_eq!(again.correlation_id, first.correlation_id);

    // The same key for another request is refused, and nothing is created.
    let other = cart(till.id, 8_000);
    let err = server
        .client
        .sessions()
        .create(&other)
        .idempotency_key("order-7")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::IdempotencyConflict));
});
