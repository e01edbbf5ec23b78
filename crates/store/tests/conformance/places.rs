//! Locations change and go: an update replaces name and address, a delete is refused while
//! devices or usable pairing codes are assigned, and takes the processor mirror with it.

use crate::both_backends;
use crate::fixtures::*;
use chrono::Duration;
use kassa_core::session::Platform;
use kassa_core::*;
use kassa_store::*;

fn new_location(merchant: MerchantId) -> Location {
    Location {
        id: LocationId::new(),
        merchant_id: merchant,
        name: "Main street".into(),
        street_address: Some("Storgatan 1".into()),
        street_address2: None,
        postal_code: Some("111 22".into()),
        city: Some("Stockholm".into()),
        country: Some("SE".into()),
        created_at: t0(),
        updated_at: t0(),
    }
}

async fn location(store: &SqlStore, merchant: MerchantId) -> LocationId {
    let l = new_location(merchant);
    store.create_location(&l).await.unwrap();
    l.id
}

async fn device_at(store: &SqlStore, merchant: MerchantId, at: LocationId) -> DeviceId {
    let mut d = new_device(merchant);
    d.location_id = Some(at);
    store
        .create_device(&d, &format!("hash-{}", d.id))
        .await
        .unwrap();
    d.id
}

/// A pairing code for `at`, valid for an hour from `t0`; its hash is `code`.
async fn code_for(store: &SqlStore, merchant: MerchantId, at: LocationId, code: &str) {
    let e = Enrollment {
        id: EnrollmentId::new(),
        merchant_id: merchant,
        code_hash: code.into(),
        status: EnrollmentStatus::Pending,
        metadata: Metadata::new(),
        location_id: Some(at),
        expires_at: t0() + Duration::hours(1),
        created_at: t0(),
    };
    store.create_enrollment(&e).await.unwrap();
}

fn refusal(result: Result<()>) -> String {
    match result {
        Err(StoreError::Refused(DomainError::NotAllowed(m))) => m,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

both_backends!(
    an_update_replaces_the_fields_and_keeps_id_and_creation,
    |store| {
        let (m, other) = (merchant(&store).await, merchant(&store).await);
        let id = location(&store, m).await;
        let later = t0() + Duration::minutes(5);
        let mut changed = new_location(m);
        changed.id = id;
        changed.name = "Harbour kiosk".into();
        changed.street_address = None;
        changed.city = Some("Göteborg".into());
        changed.created_at = later;
        changed.updated_at = later;
        let stored = store.update_location(&changed).await.unwrap();
        assert_eq!(
            (stored.name.as_str(), stored.street_address.as_deref()),
            ("Harbour kiosk", None)
        );
        assert_eq!((stored.created_at, stored.updated_at), (t0(), later));
        assert_eq!(store.get_location(m, id).await.unwrap(), Some(stored));

        let mut theirs = changed.clone();
        theirs.merchant_id = other;
        theirs.name = "Taken over".into();
        let missing = store.update_location(&theirs).await;
        assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
        let unknown = Location {
            id: LocationId::new(),
            ..changed
        };
        let missing = store.update_location(&unknown).await;
        assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
        let kept = store.get_location(m, id).await.unwrap().unwrap();
        assert_eq!(kept.name, "Harbour kiosk");
    }
);

both_backends!(a_delete_waits_for_devices_and_codes_to_leave, |store| {
    let m = merchant(&store).await;
    let id = location(&store, m).await;
    let (d1, _) = (
        device_at(&store, m, id).await,
        device_at(&store, m, id).await,
    );
    code_for(&store, m, id, "code-1").await;
    let message = refusal(store.delete_location(m, id, t0()).await);
    assert!(
        message.contains("2 devices") && message.contains("1 pending enrollment"),
        "{message}"
    );

    // Moving one device away and deleting the other leaves only the code in the way.
    let elsewhere = location(&store, m).await;
    let patch = DevicePatch {
        location_id: Some(elsewhere),
        ..Default::default()
    };
    store.update_device(m, d1, &patch).await.unwrap();
    let page = store
        .list_devices(
            m,
            &DeviceFilter {
                location_id: Some(id),
                ..Default::default()
            },
            PageRequest::default(),
        )
        .await
        .unwrap();
    store
        .delete_device(m, page.items[0].id, t0())
        .await
        .unwrap();
    let message = refusal(store.delete_location(m, id, t0()).await);
    assert!(message.contains("0 devices"), "{message}");

    // An expired code does not hold the location: it could place no device.
    let expired = t0() + Duration::hours(2);
    store.delete_location(m, id, expired).await.unwrap();
    assert_eq!(store.get_location(m, id).await.unwrap(), None);
    let list = store
        .list_locations(m, PageRequest::default())
        .await
        .unwrap();
    assert_eq!(
        list.items.iter().map(|l| l.id).collect::<Vec<_>>(),
        [elsewhere]
    );
    let filter = EnrollmentFilter {
        include_consumed: true,
        ..Default::default()
    };
    let codes = store.list_enrollments(m, &filter, PageRequest::default(), expired);
    let codes = codes.await.unwrap();
    assert_eq!(codes.items.len(), 1);
    assert_eq!(
        (codes.items[0].location_id, codes.items[0].status),
        (None, EnrollmentStatus::Expired),
        "the spent code forgets the location"
    );
});

both_backends!(
    a_code_used_for_a_device_holds_the_location_through_it,
    |store| {
        let m = merchant(&store).await;
        let id = location(&store, m).await;
        code_for(&store, m, id, "code-2").await;
        let reg = DeviceRegistration {
            id: DeviceId::new(),
            code_hash: "code-2".into(),
            token_hash: "token-2".into(),
            platform: Platform::Web,
            name: None,
            hardware_id: None,
            push_token: None,
        };
        let device = store.register_device(&reg, t0()).await.unwrap();
        assert_eq!(device.location_id, Some(id));
        let message = refusal(store.delete_location(m, id, t0()).await);
        assert!(message.contains("1 device and 0 pending"), "{message}");
        store.delete_device(m, device.id, t0()).await.unwrap();
        store.delete_location(m, id, t0()).await.unwrap();
        assert_eq!(store.get_location(m, id).await.unwrap(), None);
    }
);

both_backends!(
    a_delete_takes_the_processor_mirror_and_nothing_else,
    |store| {
        let (m, other) = (merchant(&store).await, merchant(&store).await);
        let (id, kept) = (location(&store, m).await, location(&store, m).await);
        for (l, mirror) in [(id, "tml_1"), (kept, "tml_2")] {
            store
                .save_processor_location(l, "stripe", mirror, t0())
                .await
                .unwrap();
        }
        for (who, what) in [(other, id), (m, LocationId::new())] {
            let missing = store.delete_location(who, what, t0()).await;
            assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
        }
        assert!(store.get_location(m, id).await.unwrap().is_some());
        store.delete_location(m, id, t0()).await.unwrap();
        assert_eq!(store.processor_location(id, "stripe").await.unwrap(), None);
        let mirror = store.processor_location(kept, "stripe").await.unwrap();
        assert_eq!(mirror.as_deref(), Some("tml_2"));
        let again = store.delete_location(m, id, t0()).await;
        assert!(matches!(again, Err(StoreError::NotFound)), "{again:?}");
    }
);

both_backends!(
    a_device_moving_in_during_a_delete_never_lands_nowhere,
    |store| {
        let m = merchant(&store).await;
        let home = location(&store, m).await;
        for _ in 0..10 {
            let target = location(&store, m).await;
            let device = device_at(&store, m, home).await;
            let patch = DevicePatch {
                location_id: Some(target),
                ..Default::default()
            };
            let (s1, s2) = (store.clone(), store.clone());
            let delete = tokio::spawn(async move { s1.delete_location(m, target, t0()).await });
            let moved = tokio::spawn(async move { s2.update_device(m, device, &patch).await });
            let (deleted, moved) = (delete.await.unwrap(), moved.await.unwrap());
            // The loser fails: a refused delete, or a move into a row that is gone.
            assert!(
                deleted.is_ok() != moved.is_ok(),
                "deleted: {deleted:?}, moved: {moved:?}"
            );
            let now_at = store
                .get_device(m, device)
                .await
                .unwrap()
                .unwrap()
                .location_id;
            match deleted {
                Ok(()) => assert_eq!(now_at, Some(home)),
                Err(_) => assert_eq!(now_at, Some(target)),
            }
            store.delete_device(m, device, t0()).await.unwrap();
        }
    }
);
