//! Portal users and sign-in sessions: emails unique across merchants in any case, sessions
//! read with their user and merchant, a deleted user's sessions gone with it, the idle sweep.

use crate::both_backends;
use crate::fixtures::*;
use chrono::Duration;
use kassa_core::*;
use kassa_store::*;

fn user(merchant: MerchantId, email: &str, role: PortalRole) -> PortalUser {
    PortalUser {
        id: PortalUserId::new(),
        merchant_id: merchant,
        email: email.into(),
        role,
        created_at: t0(),
    }
}

fn session(user: PortalUserId, token_hash: &str, last_seen: Timestamp) -> PortalSession {
    PortalSession {
        token_hash: token_hash.into(),
        user_id: user,
        csrf_token: format!("csrf-{token_hash}"),
        created_at: t0(),
        last_seen_at: last_seen,
        expires_at: None,
    }
}

/// Creates a user with a stand-in password hash.
async fn stored(
    store: &SqlStore,
    merchant: MerchantId,
    email: &str,
    role: PortalRole,
) -> PortalUser {
    let u = user(merchant, email, role);
    store
        .create_portal_user(&u, "$argon2id$stand-in")
        .await
        .unwrap();
    PortalUser {
        email: normalize_email(email),
        ..u
    }
}

both_backends!(users_are_found_by_email_in_any_case, |store| {
    let m = merchant(&store).await;
    let ann = stored(&store, m, "Ann@Shop.Example", PortalRole::Admin).await;
    assert_eq!(ann.email, "ann@shop.example");
    let bob = stored(&store, m, "bob@shop.example", PortalRole::Viewer).await;

    let found = store
        .find_portal_user(" ANN@shop.example ")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.user, ann);
    assert_eq!(found.password_hash, "$argon2id$stand-in");
    assert_eq!(found.merchant.id, m);
    assert!(store
        .find_portal_user("nobody@shop.example")
        .await
        .unwrap()
        .is_none());

    let other = merchant(&store).await;
    let carl = stored(&store, other, "carl@else.example", PortalRole::Admin).await;
    assert_eq!(
        store.list_portal_users(Some(m)).await.unwrap(),
        vec![ann.clone(), bob]
    );
    assert_eq!(
        store.list_portal_users(Some(other)).await.unwrap(),
        vec![carl]
    );
    assert_eq!(store.list_portal_users(None).await.unwrap().len(), 3);
});

both_backends!(
    emails_are_unique_across_merchants_among_live_users,
    |store| {
        let (m, other) = (merchant(&store).await, merchant(&store).await);
        let ann = stored(&store, m, "ann@shop.example", PortalRole::Admin).await;
        let again = user(other, "ANN@shop.example", PortalRole::Viewer);
        let refused = store.create_portal_user(&again, "h").await;
        assert!(
            matches!(refused, Err(StoreError::Duplicate(Duplicate::Email))),
            "{refused:?}"
        );

        assert!(store.delete_portal_user(ann.id, t0()).await.unwrap());
        assert!(!store.delete_portal_user(ann.id, t0()).await.unwrap());
        assert!(store
            .find_portal_user("ann@shop.example")
            .await
            .unwrap()
            .is_none());
        assert!(store.list_portal_users(Some(m)).await.unwrap().is_empty());
        // A deleted user's address may be given to someone new.
        store.create_portal_user(&again, "h").await.unwrap();
        let found = store
            .find_portal_user("ann@shop.example")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.merchant.id, other);
    }
);

both_backends!(a_user_of_an_unknown_merchant_is_a_bad_reference, |store| {
    let u = user(MerchantId::new(), "ghost@shop.example", PortalRole::Admin);
    let refused = store.create_portal_user(&u, "h").await;
    assert!(
        matches!(refused, Err(StoreError::BadReference { .. })),
        "{refused:?}"
    );
});

both_backends!(
    sessions_are_read_with_user_and_merchant_and_signed_out,
    |store| {
        let m = merchant(&store).await;
        let ann = stored(&store, m, "ann@shop.example", PortalRole::Viewer).await;
        let s = session(ann.id, "hash-1", t0());
        store.create_portal_session(&s).await.unwrap();

        let auth = store
            .find_portal_session("hash-1", t0())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (auth.session, auth.user, auth.merchant.id),
            (s.clone(), ann, m)
        );
        assert!(store
            .find_portal_session("hash-2", t0())
            .await
            .unwrap()
            .is_none());

        let later = t0() + Duration::minutes(5);
        store.touch_portal_session("hash-1", later).await.unwrap();
        // A late, older touch does not move it back.
        store.touch_portal_session("hash-1", t0()).await.unwrap();
        let auth = store
            .find_portal_session("hash-1", later)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(auth.session.last_seen_at, later);

        assert!(store.delete_portal_session("hash-1").await.unwrap());
        assert!(!store.delete_portal_session("hash-1").await.unwrap());
        assert!(store
            .find_portal_session("hash-1", later)
            .await
            .unwrap()
            .is_none());
    }
);

both_backends!(a_session_past_its_absolute_end_is_not_found, |store| {
    let m = merchant(&store).await;
    let ann = stored(&store, m, "ann@shop.example", PortalRole::Admin).await;
    let end = t0() + Duration::days(7);
    let s = PortalSession {
        expires_at: Some(end),
        ..session(ann.id, "hash-1", t0())
    };
    store.create_portal_session(&s).await.unwrap();
    let before_end = end - Duration::milliseconds(1);
    assert!(store
        .find_portal_session("hash-1", before_end)
        .await
        .unwrap()
        .is_some());
    assert!(store
        .find_portal_session("hash-1", end)
        .await
        .unwrap()
        .is_none());
});

both_backends!(deleting_a_user_deletes_its_sessions, |store| {
    let m = merchant(&store).await;
    let ann = stored(&store, m, "ann@shop.example", PortalRole::Admin).await;
    let bob = stored(&store, m, "bob@shop.example", PortalRole::Admin).await;
    for (user, hash) in [(ann.id, "ann-1"), (ann.id, "ann-2"), (bob.id, "bob-1")] {
        store
            .create_portal_session(&session(user, hash, t0()))
            .await
            .unwrap();
    }
    assert!(store.delete_portal_user(ann.id, t0()).await.unwrap());
    for hash in ["ann-1", "ann-2"] {
        assert!(store
            .find_portal_session(hash, t0())
            .await
            .unwrap()
            .is_none());
        assert!(
            !store.delete_portal_session(hash).await.unwrap(),
            "{hash} is still stored"
        );
    }
    assert!(store
        .find_portal_session("bob-1", t0())
        .await
        .unwrap()
        .is_some());
});

both_backends!(the_sweep_deletes_idle_and_ended_sessions_only, |store| {
    let m = merchant(&store).await;
    let ann = stored(&store, m, "ann@shop.example", PortalRole::Admin).await;
    let hour = Duration::hours(1);
    let ended = PortalSession {
        expires_at: Some(t0() + hour),
        ..session(ann.id, "ended", t0() + hour * 2)
    };
    for s in [
        session(ann.id, "idle", t0()),
        session(ann.id, "fresh", t0() + hour * 2),
        ended,
    ] {
        store.create_portal_session(&s).await.unwrap();
    }
    let now = t0() + hour * 2;
    let swept = store
        .delete_idle_portal_sessions(t0() + hour, now)
        .await
        .unwrap();
    assert_eq!(swept, 2);
    assert!(store
        .find_portal_session("fresh", now)
        .await
        .unwrap()
        .is_some());
    assert!(!store.delete_portal_session("idle").await.unwrap());
    assert!(!store.delete_portal_session("ended").await.unwrap());
});
