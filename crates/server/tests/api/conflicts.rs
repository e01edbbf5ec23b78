//! `409 IDEMPOTENCY_CONFLICT` is kept for a reused `Idempotency-Key` or `attempt_id`, and a
//! conflict's message is the rule the caller broke, never a database constraint name, also
//! when racing requests meet in a unique index rather than in the store's own check.

use crate::both_backends;
use crate::harness::*;
use reqwest::Method;
use serde_json::{json, Value};
use std::sync::Arc;
use tokio::sync::Barrier;
use uuid::Uuid;

const ROUNDS: usize = 5;

fn names_no_constraint(messages: &str) {
    for hint in ["pkey", "constraint", "idempotency_keys", "attempts"] {
        assert!(!messages.contains(hint), "{messages}");
    }
}

/// An open session on a new device, ready to be paid: (session id, device token).
async fn active_session(app: &TestApp, name: &str) -> (String, String) {
    let (device, token) = app.simulated_device(name).await;
    let session = app.session_on(&device).await;
    let id = session["session_id"].as_str().unwrap().to_string();
    let path = format!("/ipp/v1/sessions/{id}/payment");
    let r = app
        .device(Method::PUT, &path, &token)
        .json(&json!({"payment_method": "CARD_TAP"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    (id, token)
}

both_backends!(one_attempt_id_for_racing_sessions, |app| {
    let app = Arc::new(app);
    for round in 0..ROUNDS {
        let attempt = Uuid::new_v4().to_string();
        let mut open = Vec::new();
        for i in 0..3 {
            open.push(active_session(&app, &format!("Till {round}-{i}")).await);
        }
        let start = Arc::new(Barrier::new(open.len()));
        let mut tasks = Vec::new();
        for (id, token) in open {
            let (app, start, attempt) = (app.clone(), start.clone(), attempt.clone());
            tasks.push(tokio::spawn(async move {
                let body = json!({
                    "attempt_id": attempt,
                    "payment": {"processor": "simulated", "outcome": "SUCCESS"}
                });
                let path = format!("/ipp/v1/sessions/{id}/finalize");
                start.wait().await;
                let r = app.device(Method::POST, &path, &token).json(&body).send();
                json_of(r.await.unwrap()).await
            }));
        }
        let mut paid = 0;
        for task in tasks {
            let (status, body) = task.await.unwrap();
            if status == 200 {
                paid += 1;
                continue;
            }
            let messages = assert_error(status, &body, 409, "IDEMPOTENCY_CONFLICT");
            assert!(messages.contains("attempt_id"), "{messages}");
            names_no_constraint(&messages);
        }
        assert_eq!(paid, 1, "one session takes the attempt id");
    }
});

both_backends!(racing_requests_with_one_idempotency_key, |app| {
    let app = Arc::new(app);
    for round in 0..ROUNDS {
        let (device, _) = app.simulated_device(&format!("Till {round}")).await;
        let key = format!("race-{round}");
        let start = Arc::new(Barrier::new(4));
        let mut tasks = Vec::new();
        for _ in 0..4 {
            let (app, start, key) = (app.clone(), start.clone(), key.clone());
            let body: Value = cart(&device, 700);
            tasks.push(tokio::spawn(async move {
                start.wait().await;
                let r = app
                    .merchant(Method::POST, "/ipp/v1/sessions")
                    .header("Idempotency-Key", key)
                    .json(&body)
                    .send();
                json_of(r.await.unwrap()).await
            }));
        }
        for task in tasks {
            let (status, body) = task.await.unwrap();
            if status == 200 {
                continue;
            }
            let messages = assert_error(status, &body, 409, "IDEMPOTENCY_CONFLICT");
            names_no_constraint(&messages);
        }
        let (_, page) = app
            .get(&format!("/ipp/v1/sessions?device_id={device}"))
            .await;
        assert_eq!(page["total_elements"], 1, "performed once: {page}");
    }
});
