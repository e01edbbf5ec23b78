//! Orders through the client: capture, refund and cancel, and their refusals typed.

use crate::both_backends;
use crate::harness::*;
use kassa_client::api::order::{CreateCapture, CreateRefund};
use kassa_client::ErrorCode;
use uuid::Uuid;

/// A finalized session's order, authorized but not captured.
async fn authorized(server: &TestServer, device_id: Uuid, amount: i64) -> Uuid {
    let mut req = cart(device_id, amount);
    req.auto_capture = Some(false);
    let session = server.client.sessions().create(&req).await.unwrap();
    let tap = server
        .client
        .playground()
        .simulate_tap(session.session_id, None)
        .await
        .unwrap();
    tap.session.order_id.expect("finalized")
}

both_backends!(orders_capture_refund_and_cancel, |server| {
    let (till, _) = server.till("Till 2").await;
    let orders = server.client.orders();

    let id = authorized(&server, till.id, 10_000).await;
    assert_eq!(orders.get(id).await.unwrap().status, "AUTHORIZED");
    let capture = |amount| CreateCapture {
        captured_amount: amount,
        description: None,
        reference: Some("shift-7".into()),
    };
    let part = orders.capture(id, &capture(6_000)).await.unwrap();
    assert_eq!(
        (part.status.as_str(), part.captured_amount),
        ("PART_CAPTURED", 6_000)
    );
    let err = orders.capture(id, &capture(5_000)).await.unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (Some(400), Some(&ErrorCode::BadValue))
    );
    let refund = CreateRefund {
        refunded_amount: 6_000,
        description: None,
        reference: None,
    };
    let refunded = orders.refund(id, &refund).await.unwrap();
    assert_eq!(refunded.refunded_amount, 6_000);
    assert_eq!(refunded.refunds.len(), 1);
    let err = orders.cancel(id).await.unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (Some(409), Some(&ErrorCode::NotAllowed))
    );

    let id = authorized(&server, till.id, 3_000).await;
    orders.cancel(id).await.unwrap();
    assert_eq!(orders.get(id).await.unwrap().status, "CANCELLED");
    let err = orders.get(Uuid::now_v7()).await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::NotFound));
});
