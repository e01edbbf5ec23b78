//! A request that took effect under its `Idempotency-Key` but whose answer was lost (its node
//! died between the commit and storing the answer, played here by erasing the stored answer
//! and ageing the key past the two minutes after which a reservation counts as abandoned)
//! is never run again: the retry gets `409 IDEMPOTENCY_CONFLICT` and nothing is created twice.

use crate::harness::*;
use reqwest::Method;

/// Erases `key`'s stored answer and makes its reservation three minutes old.
async fn lose_the_answer(app: &TestApp, key: &str) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&app.state.config.database_url)
        .await
        .unwrap();
    let done = sqlx::query(
        "UPDATE idempotency_keys SET status_code = NULL, headers = NULL, body = NULL, \
         created_at = created_at - 180000 WHERE key = $1",
    )
    .bind(key)
    .execute(&pool)
    .await
    .unwrap();
    assert_eq!(done.rows_affected(), 1);
    pool.close().await;
}

crate::both_backends!(a_create_whose_answer_was_lost_is_not_run_again, |app| {
    let (device, _) = app.simulated_device("Till").await;
    let create = || {
        app.merchant(Method::POST, "/ipp/v1/sessions")
            .header("Idempotency-Key", "order-77")
            .json(&cart(&device, 900))
            .send()
    };
    let (status, first) = json_of(create().await.unwrap()).await;
    assert_eq!(status, 200, "{first}");
    // The device is free again, so a second run would create a second session.
    let id = first["session_id"].as_str().unwrap();
    let r = app
        .merchant(Method::PUT, &format!("/ipp/v1/sessions/{id}/cancel"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    lose_the_answer(&app, "order-77").await;
    let (status, body) = json_of(create().await.unwrap()).await;
    let message = assert_error(status, &body, 409, "IDEMPOTENCY_CONFLICT");
    assert!(message.contains("took effect"), "{message}");
    let (_, page) = app
        .get(&format!("/ipp/v1/sessions?device_id={device}"))
        .await;
    assert_eq!(page["total_elements"], 1, "run once: {page}");
});
