use crate::both_backends;
use crate::fixtures::*;
use chrono::Duration;
use kassa_core::session::{Platform, SessionStatus};
use kassa_core::*;
use kassa_store::*;

both_backends!(merchants_and_devices_see_only_their_own, |store| {
    let (m1, m2) = (merchant(&store).await, merchant(&store).await);
    let (d1, d2) = (device(&store, m1).await, device(&store, m2).await);
    let s = store
        .create_session(new_session(m1, d1), t0())
        .await
        .unwrap();
    assert!(store
        .get_session(Scope::Merchant(m2), s.id)
        .await
        .unwrap()
        .is_none());
    assert!(store
        .get_session(Scope::Device(d2), s.id)
        .await
        .unwrap()
        .is_none());
    assert!(store
        .timeline(Scope::Merchant(m2), s.id)
        .await
        .unwrap()
        .is_none());
    assert!(store.get_device(m2, d1).await.unwrap().is_none());
    let cancel = machine::Command::Cancel {
        actor: session::Actor::Merchant,
    };
    let err = store
        .command_session(Scope::Merchant(m2), s.id, cancel, t0(), policy())
        .await;
    assert!(matches!(err, Err(StoreError::NotFound)));
    let foreign = store
        .create_session(new_session(m2, d1), t0())
        .await
        .unwrap_err();
    assert!(
        matches!(
            foreign,
            StoreError::BadReference {
                field: "device_id",
                ..
            }
        ),
        "{foreign:?}"
    );
    assert!(events(&store, m2).await.is_empty());
});

both_backends!(enrollment_codes_are_single_use_and_expire, |store| {
    let m = merchant(&store).await;
    let enrollment = Enrollment {
        id: EnrollmentId::new(),
        merchant_id: m,
        code_hash: "code-hash".into(),
        status: EnrollmentStatus::Pending,
        metadata: [("store".to_string(), "42".to_string())].into(),
        location_id: None,
        expires_at: t0() + Duration::hours(2),
        created_at: t0(),
    };
    store.create_enrollment(&enrollment).await.unwrap();
    let reg = |token: &str| DeviceRegistration {
        id: DeviceId::new(),
        code_hash: "code-hash".into(),
        token_hash: token.into(),
        platform: Platform::Ios,
        name: None,
        hardware_id: None,
        push_token: None,
    };
    let late = t0() + Duration::hours(2);
    assert!(matches!(
        store.register_device(&reg("t0"), late).await,
        Err(StoreError::NotFound)
    ));
    let device = store.register_device(&reg("t1"), t0()).await.unwrap();
    assert_eq!(
        (
            device.merchant_id,
            device.metadata.get("store").map(String::as_str)
        ),
        (m, Some("42"))
    );
    assert!(matches!(
        store.register_device(&reg("t2"), t0()).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        store
            .find_device_by_token("t1")
            .await
            .unwrap()
            .map(|d| d.id),
        Some(device.id)
    );

    let filter = EnrollmentFilter::default();
    let pending = store
        .list_enrollments(m, &filter, PageRequest::default(), t0())
        .await
        .unwrap();
    assert_eq!(
        pending.total, 0,
        "consumed codes are hidden unless asked for"
    );
    let with_consumed = EnrollmentFilter {
        include_consumed: true,
        ..Default::default()
    };
    let all = store
        .list_enrollments(m, &with_consumed, PageRequest::default(), t0())
        .await
        .unwrap();
    assert_eq!(all.items[0].status, EnrollmentStatus::Consumed);
});

both_backends!(metadata_filters_and_pages, |store| {
    let m = merchant(&store).await;
    for i in 0..5 {
        let mut d = Device {
            id: DeviceId::new(),
            merchant_id: m,
            location_id: None,
            name: None,
            platform: Platform::Web,
            hardware_id: None,
            metadata: Metadata::new(),
            push_token: None,
            created_at: t0() + Duration::seconds(i),
            last_seen_at: None,
            processor_reader: None,
        };
        d.metadata.insert("lane".into(), (i % 2).to_string());
        store.create_device(&d, &format!("tok{i}")).await.unwrap();
    }
    let filter = DeviceFilter {
        metadata: vec![("lane".into(), "0".into())],
        ..Default::default()
    };
    let page = store
        .list_devices(m, &filter, PageRequest { number: 0, size: 2 })
        .await
        .unwrap();
    assert_eq!((page.total, page.items.len()), (3, 2));
    assert!(
        page.items[0].created_at > page.items[1].created_at,
        "newest first"
    );
    let last = store
        .list_devices(m, &filter, PageRequest { number: 1, size: 2 })
        .await
        .unwrap();
    assert_eq!(last.items.len(), 1);
});

both_backends!(a_busy_device_cannot_be_deleted, |store| {
    let m = merchant(&store).await;
    let d = device(&store, m).await;
    let s = store.create_session(new_session(m, d), t0()).await.unwrap();
    assert!(matches!(
        store.delete_device(m, d, t0()).await,
        Err(StoreError::Refused(_))
    ));
    let cancel = machine::Command::Cancel {
        actor: session::Actor::Merchant,
    };
    let s = store
        .command_session(Scope::Merchant(m), s.id, cancel, t0(), policy())
        .await
        .unwrap();
    assert_eq!(s.status, SessionStatus::Cancelled);
    store.delete_device(m, d, t0()).await.unwrap();
    assert!(store.get_device(m, d).await.unwrap().is_none());
    assert!(store
        .find_device_by_token(&format!("hash-{d}"))
        .await
        .unwrap()
        .is_none());
});
