//! Locations, pairing codes, device registration and orders, in typed calls.

use crate::both_backends;
use crate::harness::*;
use kassa_client::api::device::{
    CreateEnrollment, CreateLocation, Device, Enrollment, RegisterDevice, UpdateDevice,
};
use kassa_client::api::order::{CreateCapture, CreateRefund};
use kassa_client::api::session::CreateSession;
use kassa_client::{DeviceClient, DeviceFilter, EnrollmentFilter, ErrorCode};
use std::collections::BTreeMap;

async fn enroll(app: &TestApp, req: CreateEnrollment) -> Enrollment {
    app.client().enrollments().create(&req).await.unwrap()
}

async fn register(app: &TestApp, code: &str) -> kassa_client::Result<(DeviceClient, Device)> {
    let req = RegisterDevice {
        enrollment_code: code.into(),
        hardware_id: None,
        platform: "WEB".into(),
        name: Some("Front till".into()),
        push_token: None,
    };
    DeviceClient::register(&app.base, &req).await
}

fn metadata(key: &str, value: &str) -> BTreeMap<String, String> {
    BTreeMap::from([(key.into(), value.into())])
}

both_backends!(pairing_with_a_code_yields_a_working_device_token, |app| {
    let client = app.client();
    let location = CreateLocation {
        name: "Main St".into(),
        street_address: None,
        street_address2: None,
        postal_code: None,
        city: Some("Malmö".into()),
        country: Some("SE".into()),
    };
    let location = client.locations().create(&location).await.unwrap();
    let e = enroll(
        &app,
        CreateEnrollment {
            metadata: Some(metadata("lane", "3")),
            location_id: Some(location.id),
            ..Default::default()
        },
    )
    .await;
    let code = e.enrollment_code.unwrap();
    assert_eq!((code.len(), e.status.as_str()), (11, "PENDING"));
    let typed = code.to_lowercase().replace('-', "");
    let (pos, device) = register(&app, &typed).await.unwrap();
    assert_eq!(device.location_id, Some(location.id));
    assert_eq!(device.metadata["lane"], "3");
    // Decoding needs `issuedAt` as a timestamp.
    let credentials = device.credentials.unwrap();
    assert!(credentials.bearer_token.starts_with("kdt_"));
    let msg = assert_bad_value(register(&app, &code).await, "enrollment_code");
    assert!(msg.contains("enrollment_code"));

    let cart = new_cart(device.id, 100);
    client
        .sessions()
        .create_at(location.id, &cart)
        .await
        .unwrap();
    assert_eq!(pos.sessions(&[]).await.unwrap().len(), 1);

    let lane = DeviceFilter {
        metadata: vec![("lane".into(), "3".into())],
        ..Default::default()
    };
    let listed = client.devices().list(&lane).page(0).await.unwrap();
    assert_eq!(listed.total_elements, 1);
    assert!(
        listed.content[0].credentials.is_none(),
        "tokens are shown once"
    );
    let consumed = EnrollmentFilter {
        include_consumed: true,
        ..Default::default()
    };
    let consumed = client.enrollments().list(&consumed).page(0).await.unwrap();
    assert_eq!(consumed.content[0].status, "CONSUMED");
    assert!(consumed.content[0].enrollment_code.is_none());
});

both_backends!(devices_update_and_delete, |app| {
    let devices = app.client().devices();
    let (device, pos) = app.simulated_device_typed("Till 9").await;
    let update = UpdateDevice {
        name: Some("Till 10".into()),
        metadata: Some(metadata("a", "b")),
        location_id: None,
    };
    let updated = devices.update(device.id, &update).await.unwrap();
    assert_eq!(
        (updated.name.as_deref(), updated.metadata["a"].as_str()),
        (Some("Till 10"), "b")
    );
    let s = app.open_session(device.id).await;
    let busy = devices.delete(device.id).await;
    assert_api_error(busy, 409, ErrorCode::NotAllowed);
    app.client().sessions().cancel(s.session_id).await.unwrap();
    devices.delete(device.id).await.unwrap();
    assert_api_error(devices.get(device.id).await, 404, ErrorCode::NotFound);
    let revoked = pos.sessions(&[]).await.unwrap_err();
    assert_eq!(revoked.status(), Some(401), "the token is revoked");
});

both_backends!(enrollments_expire_and_can_be_cancelled, |app| {
    let enrollments = app.client().enrollments();
    let e = CreateEnrollment {
        expires_in: Some(60_000),
        ..Default::default()
    };
    let e = enroll(&app, e).await;
    app.clock.advance(chrono::Duration::seconds(61));
    let pending = EnrollmentFilter::default();
    let list = enrollments.list(&pending).page(0).await.unwrap();
    assert_eq!(list.content[0].status, "EXPIRED");
    let code = e.enrollment_code.unwrap();
    assert_api_error(register(&app, &code).await, 400, ErrorCode::BadValue);
    enrollments.delete(e.enrollment_id).await.unwrap();
    let list = enrollments.list(&pending).page(0).await.unwrap();
    assert_eq!(list.total_elements, 0, "cancelled codes are never listed");
});

both_backends!(orders_capture_refund_and_cancel, |app| {
    let client = app.client();
    let cart = CreateSession {
        auto_capture: Some(false),
        ..new_cart(app.till_id(), 10_000)
    };
    let s = client.sessions().create(&cart).await.unwrap();
    let tap = client.playground().simulate_tap(s.session_id, None);
    let order = tap.await.unwrap().session.order_id.unwrap();
    let orders = client.orders();
    assert_eq!(orders.get(order).await.unwrap().status, "AUTHORIZED");
    let capture = CreateCapture {
        captured_amount: 4_000,
        description: None,
        reference: None,
    };
    let o = orders.capture(order, &capture).await.unwrap();
    assert_eq!(
        (o.status.as_str(), o.remaining_authorized_amount),
        ("PART_CAPTURED", 6_000)
    );
    let refund = |amount| CreateRefund {
        refunded_amount: amount,
        description: None,
        reference: None,
    };
    let o = orders.refund(order, &refund(4_000)).await.unwrap();
    assert_eq!(o.status, "REFUNDED");
    let over = orders.refund(order, &refund(1)).await;
    assert_api_error(over, 400, ErrorCode::BadValue);
    let cancel = orders.cancel(order).await;
    assert_api_error(cancel, 409, ErrorCode::NotAllowed);
});
