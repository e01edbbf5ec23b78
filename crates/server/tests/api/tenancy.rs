//! Tenancy and scope: another merchant, or another device of the same merchant, gets `404`
//! for everything that is not its own, and never sees it in a list. Typed calls throughout.

use crate::auth::other_merchant;
use crate::bad_input::UNKNOWN_ID;
use crate::both_backends;
use crate::harness::*;
use futures::future::LocalBoxFuture;
use kassa_client::api::device::{CreateEnrollment, CreateSimulatedDevice, UpdateDevice};
use kassa_client::api::order::CreateRefund;
use kassa_client::{DeviceClient, DeviceFilter, EnrollmentFilter, ErrorCode, SessionFilter};
use std::future::IntoFuture;
use uuid::Uuid;

/// A typed call whose answer does not matter here, only whether it was refused.
type Probe<'a> = (&'static str, LocalBoxFuture<'a, kassa_client::Result<()>>);

fn probe<'a, T>(
    what: &'static str,
    call: impl IntoFuture<Output = kassa_client::Result<T>> + 'a,
) -> Probe<'a> {
    (what, Box::pin(async move { call.await.map(drop) }))
}

async fn all_not_found(probes: Vec<Probe<'_>>) {
    for (what, call) in probes {
        let result = call.await;
        let status = result.as_ref().err().and_then(|e| e.status());
        assert_eq!(status, Some(404), "{what}: {result:?}");
        assert_api_error(result, 404, ErrorCode::NotFound);
    }
}

/// Another merchant's simulated device, made with that merchant's client.
async fn their_till(app: &TestApp, their_key: &str) -> (Uuid, DeviceClient) {
    let them = app.client_with_key(their_key);
    let till = CreateSimulatedDevice {
        name: "Theirs".into(),
        ..Default::default()
    };
    let till = them.playground().create_device(&till).await.unwrap();
    let token = &till.credentials.as_ref().unwrap().bearer_token;
    (till.id, app.device_client(token))
}

both_backends!(another_merchant_gets_404_for_everything, |app| {
    let client = app.client();
    let location = location_named("Shop");
    let location = client.locations().create(&location).await.unwrap().id;
    let enrollment = client.enrollments().create(&CreateEnrollment::default());
    let enrollment = enrollment.await.unwrap().enrollment_id;
    let paid = app.open_session(app.till_id()).await.session_id;
    let tapped = client.playground().simulate_tap(paid, None).await.unwrap();
    let order = tapped.session.order_id.unwrap();
    let open = app.open_session(app.till_id()).await.session_id;
    let device = app.till_id();

    let (their_key, _) = other_merchant(&app).await;
    let (_, their_pos) = their_till(&app, &their_key).await;
    let them = app.client_with_key(&their_key);
    let (sessions, devices) = (them.sessions(), them.devices());
    let (locations, orders) = (them.locations(), them.orders());
    let rename = UpdateDevice {
        name: Some("Mine now".into()),
        ..Default::default()
    };
    let refund = CreateRefund {
        refunded_amount: 1,
        description: None,
        reference: None,
    };
    all_not_found(vec![
        probe("GET open session", sessions.get(open)),
        probe("GET paid timeline", sessions.timeline(paid)),
        probe("PUT open cancel", sessions.cancel(open)),
        probe(
            "POST open simulate-tap",
            them.playground().simulate_tap(open, None),
        ),
        probe("GET device", devices.get(device)),
        probe("PUT device", devices.update(device, &rename)),
        probe("DELETE device", devices.delete(device)),
        probe("GET location", locations.get(location)),
        probe("DELETE enrollment", them.enrollments().delete(enrollment)),
        probe("GET order", orders.get(order)),
        probe("POST order refund", orders.refund(order, &refund)),
        probe("POST order cancel", orders.cancel(order)),
    ])
    .await;
    let unknown = client.sessions().get(UNKNOWN_ID).await.unwrap_err();
    let theirs = sessions.get(open).await.unwrap_err();
    assert_eq!(
        theirs.api().unwrap().messages,
        unknown.api().unwrap().messages
    );
    all_not_found(vec![
        probe("GET by their device", their_pos.session(open)),
        probe("PUT cancel by their device", their_pos.cancel(open)),
        probe(
            "PUT payment by their device",
            their_pos.choose_payment(open, "SWISH"),
        ),
    ])
    .await;

    let got = client.sessions().get(open).await.unwrap();
    assert_eq!(
        (got.status.as_str(), got.payment_method.as_deref()),
        ("CREATED", None)
    );
    let got = client.devices().get(device).await.unwrap();
    assert_eq!(got.name.as_deref(), Some("Till 1"));
    let got = client.orders().get(order).await.unwrap();
    assert_eq!((got.status.as_str(), got.refunded_amount), ("CAPTURED", 0));
    client.locations().get(location).await.unwrap();
    let page = client.enrollments().list(&EnrollmentFilter::default());
    let page = page.page(0).await.unwrap();
    assert_eq!(page.total_elements, 1, "{page:?}");
});

both_backends!(another_merchants_lists_never_show_ours, |app| {
    let client = app.client();
    let location = location_named("Shop");
    client.locations().create(&location).await.unwrap();
    let enrollment = CreateEnrollment::default();
    client.enrollments().create(&enrollment).await.unwrap();
    app.simulated_device_typed("Till 2").await;
    app.open_session(app.till_id()).await;
    let (key, their_id) = other_merchant(&app).await;
    let (theirs, their_pos) = their_till(&app, &key).await;
    let them = app.client_with_key(&key);
    let devices = them.devices().list(&DeviceFilter::default()).page_size(100);
    let devices = devices.page(0).await.unwrap().content;
    let ids: Vec<_> = devices.iter().map(|d| d.id).collect();
    assert_eq!(ids, [theirs], "{devices:?}");
    let all_theirs = devices
        .iter()
        .all(|d| d.merchant_id.to_string() == their_id);
    assert!(all_theirs, "{devices:?}");
    let sessions = them.sessions();
    let ours = SessionFilter {
        device_id: Some(app.till_id()),
        ..Default::default()
    };
    let consumed = EnrollmentFilter {
        include_consumed: true,
        ..Default::default()
    };
    let totals = [
        (
            "sessions",
            sessions
                .list(&SessionFilter::default())
                .page(0)
                .await
                .map(|p| p.total_elements),
        ),
        (
            "sessions of our till",
            sessions.list(&ours).page(0).await.map(|p| p.total_elements),
        ),
        (
            "locations",
            them.locations()
                .list()
                .page(0)
                .await
                .map(|p| p.total_elements),
        ),
        (
            "enrollments",
            them.enrollments()
                .list(&consumed)
                .page(0)
                .await
                .map(|p| p.total_elements),
        ),
    ];
    for (list, total) in totals {
        assert_eq!(total.unwrap(), 0, "{list}");
    }
    let catch_up = their_pos.sessions(&[]).await.unwrap();
    assert!(catch_up.is_empty(), "{catch_up:?}");
    let mine = client.devices().list(&DeviceFilter::default());
    let mine = mine.page(0).await.unwrap();
    assert_eq!(mine.total_elements, 2, "{mine:?}");
});

/// Every POS call on session `id`, by a device that is not the session's.
async fn intrusions(other: &DeviceClient, id: Uuid) {
    let attempt = simulated_payment(UNKNOWN_ID, "SUCCESS");
    all_not_found(vec![
        probe("GET", other.session(id)),
        probe("GET events", other.timeline(id)),
        probe("PUT payment", other.choose_payment(id, "KLARNA")),
        probe("POST finalize", other.finalize(id, &attempt)),
        probe("PUT cancel", other.cancel(id)),
    ])
    .await;
}

both_backends!(another_device_of_the_merchant_gets_404, |app| {
    let (_, other) = app.simulated_device_typed("Till 2").await;
    let id = app.open_session(app.till_id()).await.session_id;
    intrusions(&other, id).await;
    let page = other.sessions(&[]).await.unwrap();
    assert!(page.is_empty(), "{page:?}");
    app.till().choose_payment(id, "CARD_TAP").await.unwrap();
    intrusions(&other, id).await;
    let got = app.client().sessions().get(id).await.unwrap();
    assert_eq!(
        (
            got.status.as_str(),
            got.payment_method.as_deref(),
            got.attempts
        ),
        ("ACTIVE", Some("CARD_TAP"), 0)
    );
});
