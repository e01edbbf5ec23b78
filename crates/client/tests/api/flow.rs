//! The README's flow, end to end: a location, a POS registered with a pairing code, a
//! session pushed to it, a simulated tap, the order captured and partly refunded, and the
//! webhooks signed, delivered and logged.

use crate::both_backends;
use crate::harness::*;
use futures::{StreamExt, TryStreamExt};
use kassa_client::api::device::{CreateEnrollment, CreateLocation, RegisterDevice};
use kassa_client::api::order::CreateRefund;
use kassa_client::api::webhook::CreateWebhookEndpoint;
use kassa_client::webhook::DEFAULT_TOLERANCE;
use kassa_client::{verify_webhook, DeviceClient, PushFrame, SessionStatus, WebhookHeaders};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

both_backends!(the_readme_flow_works_end_to_end, |server| {
    let client = &server.client;
    let receiver = Receiver::start().await;
    let endpoint = client
        .webhook_endpoints()
        .create(&CreateWebhookEndpoint {
            url: receiver.url.clone(),
            events: None,
            description: Some("till backend".into()),
        })
        .await
        .unwrap();
    let secret = endpoint.secret.clone().expect("shown at creation");

    let shop = client
        .locations()
        .create(&CreateLocation {
            name: "Söder".into(),
            street_address: Some("Götgatan 1".into()),
            street_address2: None,
            postal_code: Some("116 46".into()),
            city: Some("Stockholm".into()),
            country: Some("SE".into()),
        })
        .await
        .unwrap();
    let enrollment = client
        .enrollments()
        .create(&CreateEnrollment {
            location_id: Some(shop.id),
            ..Default::default()
        })
        .await
        .unwrap();
    let code = enrollment.enrollment_code.expect("shown at creation");
    let (pos, device) = DeviceClient::register(
        &server.base,
        &RegisterDevice {
            enrollment_code: code,
            hardware_id: None,
            platform: "WEB".into(),
            name: Some("Till 1".into()),
            push_token: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(device.location_id, Some(shop.id));
    let mut stream = pos.stream().await.unwrap();

    let created = client
        .sessions()
        .create_at(shop.id, &cart(device.id, 12_500))
        .idempotency_key("order-42")
        .send()
        .await
        .unwrap();
    assert!(!created.replayed);
    let session = created.into_inner();
    assert_eq!(session.status, "CREATED");
    let frame = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .expect("a push in time")
        .unwrap()
        .unwrap();
    assert_eq!(
        frame,
        PushFrame::SessionCreated {
            session_id: session.session_id
        }
    );

    let tap = client
        .playground()
        .simulate_tap(session.session_id, None)
        .await
        .unwrap();
    assert_eq!(tap.result, "SUCCEEDED");
    let paid = client
        .sessions()
        .wait_for_status(
            session.session_id,
            SessionStatus::Finalized,
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    let order_id = paid.order_id.expect("a finalized session has an order");
    let order = client.orders().get(order_id).await.unwrap();
    assert_eq!(
        (order.status.as_str(), order.captured_amount),
        ("CAPTURED", 12_500)
    );
    let refund = CreateRefund {
        refunded_amount: 2_500,
        description: Some("one cup".into()),
        reference: None,
    };
    let order = client
        .orders()
        .refund(order_id, &refund)
        .idempotency_key("refund-1")
        .await
        .unwrap();
    assert_eq!(
        (order.status.as_str(), order.refunded_amount),
        ("PART_REFUNDED", 2_500)
    );

    let timeline = client
        .sessions()
        .timeline(session.session_id)
        .await
        .unwrap();
    let path: Vec<_> = timeline
        .events
        .iter()
        .filter_map(|e| e.to.clone())
        .collect();
    assert_eq!(path, ["CREATED", "ACTIVE", "FINALIZED"]);

    // Every delivery verifies with the endpoint's secret.
    let deliveries = receiver.wait_for(3).await;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let mut types = Vec::new();
    for d in &deliveries {
        let headers = WebhookHeaders {
            id: &d.id,
            timestamp: &d.timestamp,
            signature: &d.signature,
        };
        let event = verify_webhook(&[&secret], headers, &d.body, now, DEFAULT_TOLERANCE).unwrap();
        assert_eq!(event.data.session_id, session.session_id);
        types.push(event.event_type);
    }
    for t in [
        "ipp.session.created",
        "ipp.session.activated",
        "ipp.session.finalized",
    ] {
        assert!(types.iter().any(|got| got == t), "{t} in {types:?}");
    }

    // The delivery log shows them, answered 200.
    let log = eventually(|| async {
        let log: Vec<_> = client
            .webhook_endpoints()
            .deliveries(endpoint.id)
            .stream()
            .try_collect()
            .await
            .unwrap();
        (log.len() >= 3).then_some(log)
    })
    .await;
    assert!(log.iter().all(|a| a.status_code == Some(200)), "{log:?}");

    // Resending one event reaches the endpoint again.
    let finalized = log
        .iter()
        .find(|a| a.event_type == "ipp.session.finalized")
        .unwrap();
    let resent = client
        .events()
        .redeliver(&finalized.event_id)
        .await
        .unwrap();
    assert_eq!(resent.endpoints, 1);
    let again = receiver.wait_for(deliveries.len() + 1).await;
    assert!(again[deliveries.len()..]
        .iter()
        .any(|d| d.id == finalized.event_id));
});
