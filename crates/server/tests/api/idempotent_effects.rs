//! A request that took effect under its `Idempotency-Key` but whose answer was lost (its node
//! died between the commit and storing the answer, played here by erasing the stored answer
//! and ageing the key past the two minutes after which a reservation counts as abandoned)
//! is never run again: the retry gets `409 IDEMPOTENCY_CONFLICT` and nothing is created twice.

use crate::harness::*;
use kassa_client::{ErrorCode, SessionFilter};

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
    let sessions = app.client().sessions();
    let (device, _) = app.simulated_device_typed("Till").await;
    let cart = new_cart(device.id, 900);
    let create = || sessions.create(&cart).idempotency_key("order-77");
    let first = create().await.unwrap();
    // The device is free again, so a second run would create a second session.
    sessions.cancel(first.session_id).await.unwrap();
    lose_the_answer(&app, "order-77").await;
    let refused = create().await;
    let message = assert_api_error(refused, 409, ErrorCode::IdempotencyConflict);
    assert!(message.contains("took effect"), "{message}");
    let filter = SessionFilter {
        device_id: Some(device.id),
        ..Default::default()
    };
    let page = sessions.list(&filter).page(0).await.unwrap();
    assert_eq!(page.total_elements, 1, "run once: {page:?}");
});
