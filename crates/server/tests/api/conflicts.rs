//! `409 IDEMPOTENCY_CONFLICT` is kept for a reused `Idempotency-Key` or `attempt_id`, and a
//! conflict's message is the rule the caller broke, never a database constraint name, also
//! when racing requests meet in a unique index rather than in the store's own check.

use crate::both_backends;
use crate::harness::*;
use kassa_client::{DeviceClient, ErrorCode, SessionFilter};
use std::sync::Arc;
use tokio::sync::Barrier;
use uuid::Uuid;

const ROUNDS: usize = 5;

fn names_no_constraint(messages: &str) {
    for hint in ["pkey", "constraint", "idempotency_keys", "attempts"] {
        assert!(!messages.contains(hint), "{messages}");
    }
}

/// An open session on a new device, ready to be paid: (session id, the device's client).
async fn active_session(app: &TestApp, name: &str) -> (Uuid, DeviceClient) {
    let (device, pos) = app.simulated_device_typed(name).await;
    let id = app.open_session(device.id).await.session_id;
    pos.choose_payment(id, "CARD_TAP").await.unwrap();
    (id, pos)
}

both_backends!(one_attempt_id_for_racing_sessions, |app| {
    for round in 0..ROUNDS {
        let attempt = simulated_payment(Uuid::new_v4(), "SUCCESS");
        let mut open = Vec::new();
        for i in 0..3 {
            open.push(active_session(&app, &format!("Till {round}-{i}")).await);
        }
        let start = Arc::new(Barrier::new(open.len()));
        let mut tasks = Vec::new();
        for (id, pos) in open {
            let (start, attempt) = (start.clone(), attempt.clone());
            tasks.push(tokio::spawn(async move {
                start.wait().await;
                pos.finalize(id, &attempt).await
            }));
        }
        let mut paid = 0;
        for task in tasks {
            let result = task.await.unwrap();
            if result.is_ok() {
                paid += 1;
                continue;
            }
            let messages = assert_api_error(result, 409, ErrorCode::IdempotencyConflict);
            assert!(messages.contains("attempt_id"), "{messages}");
            names_no_constraint(&messages);
        }
        assert_eq!(paid, 1, "one session takes the attempt id");
    }
});

both_backends!(racing_requests_with_one_idempotency_key, |app| {
    let sessions = app.client().sessions();
    for round in 0..ROUNDS {
        let (device, _) = app.simulated_device_typed(&format!("Till {round}")).await;
        let key = format!("race-{round}");
        let start = Arc::new(Barrier::new(4));
        let mut tasks = Vec::new();
        for _ in 0..4 {
            let (sessions, start, key) = (sessions.clone(), start.clone(), key.clone());
            let cart = new_cart(device.id, 700);
            tasks.push(tokio::spawn(async move {
                start.wait().await;
                sessions.create(&cart).idempotency_key(key).await
            }));
        }
        for task in tasks {
            let result = task.await.unwrap();
            if result.is_ok() {
                continue;
            }
            let messages = assert_api_error(result, 409, ErrorCode::IdempotencyConflict);
            names_no_constraint(&messages);
        }
        let filter = SessionFilter {
            device_id: Some(device.id),
            ..Default::default()
        };
        let page = sessions.list(&filter).page(0).await.unwrap();
        assert_eq!(page.total_elements, 1, "performed once: {page:?}");
    }
});
