//! The CRUD resources: locations, enrollments, devices, webhook endpoints, API keys and
//! processors, each call through the typed client.

use crate::sqlite;
use futures::TryStreamExt;
use kassa_client::api::device::{CreateEnrollment, CreateLocation, UpdateDevice};
use kassa_client::api::keys::CreateApiKey;
use kassa_client::api::webhook::{CreateWebhookEndpoint, UpdateWebhookEndpoint};
use kassa_client::{Client, DeviceFilter, EnrollmentFilter, ErrorCode};
use std::collections::BTreeMap;

fn shop(name: &str) -> CreateLocation {
    CreateLocation {
        name: name.into(),
        street_address: None,
        street_address2: None,
        postal_code: None,
        city: Some("Malmö".into()),
        country: Some("SE".into()),
    }
}

sqlite!(locations_enrollments_and_devices, |server| {
    let client = &server.client;
    let location = client.locations().create(&shop("Väster")).await.unwrap();
    assert_eq!(
        client.locations().get(location.id).await.unwrap().name,
        "Väster"
    );
    let renamed = client
        .locations()
        .update(location.id, &shop("Väster 2"))
        .await
        .unwrap();
    assert_eq!(renamed.name, "Väster 2");

    let mut metadata = BTreeMap::new();
    metadata.insert("lane".to_string(), "3".to_string());
    let enrollment = client
        .enrollments()
        .create(&CreateEnrollment {
            metadata: Some(metadata.clone()),
            expires_in: None,
            location_id: Some(location.id),
        })
        .await
        .unwrap();
    let filter = EnrollmentFilter {
        location_id: Some(location.id),
        metadata: vec![("lane".into(), "3".into())],
        include_consumed: true,
    };
    let listed: Vec<_> = client
        .enrollments()
        .list(&filter)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].enrollment_id, enrollment.enrollment_id);
    client
        .enrollments()
        .delete(enrollment.enrollment_id)
        .await
        .unwrap();
    let listed: Vec<_> = client
        .enrollments()
        .list(&filter)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert!(listed.is_empty());

    // A device moved to the location pins it until it moves away.
    let (till, _) = server.till("Till 2").await;
    let moved = client
        .devices()
        .update(
            till.id,
            &UpdateDevice {
                name: Some("Front till".into()),
                metadata: Some(metadata),
                location_id: Some(location.id),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (moved.name.as_deref(), moved.location_id),
        (Some("Front till"), Some(location.id))
    );
    let here = DeviceFilter {
        location_id: Some(location.id),
        metadata: vec![("lane".into(), "3".into())],
    };
    let found: Vec<_> = client
        .devices()
        .list(&here)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(client.devices().get(till.id).await.unwrap().id, till.id);
    let err = client.locations().delete(location.id).await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::NotAllowed));
    client.devices().delete(till.id).await.unwrap();
    client.locations().delete(location.id).await.unwrap();
    let err = client.locations().get(location.id).await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::NotFound));
});

sqlite!(webhook_endpoints_keys_and_processors, |server| {
    let client = &server.client;
    let endpoints = client.webhook_endpoints();
    let endpoint = endpoints
        .create(&CreateWebhookEndpoint {
            url: "http://127.0.0.1:9/hook".into(),
            events: Some(vec!["ipp.session.finalized".into()]),
            description: None,
        })
        .await
        .unwrap();
    let first_secret = endpoint.secret.clone().unwrap();
    assert!(endpoints.get(endpoint.id).await.unwrap().secret.is_none());
    let off = endpoints.set_enabled(endpoint.id, false).await.unwrap();
    assert!(!off.enabled);
    let on = endpoints
        .update(
            endpoint.id,
            &UpdateWebhookEndpoint {
                description: Some("till backend".into()),
                enabled: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(on.enabled);
    assert_eq!(on.description.as_deref(), Some("till backend"));
    let rotated = endpoints.rotate_secret(endpoint.id).await.unwrap();
    assert_ne!(rotated.secret.unwrap(), first_secret);
    let all: Vec<_> = endpoints.list().stream().try_collect().await.unwrap();
    assert_eq!(all.len(), 1);
    let log: Vec<_> = endpoints
        .deliveries(endpoint.id)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert!(log.is_empty());
    endpoints.delete(endpoint.id).await.unwrap();
    let err = endpoints.get(endpoint.id).await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::NotFound));

    // A new key works until it is revoked.
    let key = client
        .api_keys()
        .create(&CreateApiKey {
            description: Some("till backend".into()),
        })
        .await
        .unwrap();
    let secret = key.api_key.clone().expect("shown at creation");
    let second = Client::builder(&server.base, &secret)
        .merchant_id(server.merchant_id)
        .build()
        .unwrap();
    let processors = second.processors().await.unwrap();
    assert!(processors.processors.iter().any(|p| p.name == "simulated"));
    let keys: Vec<_> = client
        .api_keys()
        .list()
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(keys.len(), 2);
    client.api_keys().revoke(key.id).await.unwrap();
    let err = second.processors().await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::Unauthorized));

    // A merchant id that is not the key's is refused.
    let mixed_up = Client::builder(&server.base, &server.api_key)
        .merchant_id(uuid::Uuid::now_v7())
        .build()
        .unwrap();
    let err = mixed_up.processors().await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::Forbidden));
});
