//! Removing a device tells every subscriber (every node on PostgreSQL) after commit, so
//! that its open streams close; a stream that missed it learns it from `touch_device`.

use crate::both_backends;
use crate::fixtures::*;
use kassa_store::*;
use std::time::Duration;

both_backends!(deleting_a_device_announces_its_removal, |store| {
    let m = merchant(&store).await;
    let d = device(&store, m).await;
    let other = device(&store, m).await;
    assert!(store.touch_device(d, t0()).await.unwrap());
    let mut notices = store.signals().subscribe();

    store.delete_device(m, d, t0()).await.unwrap();
    let notice = tokio::time::timeout(Duration::from_secs(5), notices.recv())
        .await
        .expect("a notice in time")
        .unwrap();
    assert_eq!(notice.kind, NoticeKind::DeviceRemoved);
    assert_eq!((notice.merchant_id, notice.device_id), (m, d));
    assert!(
        !notice.has_events && !notice.queued,
        "wakes neither the events feed nor a dispatcher"
    );
    assert!(!store.touch_device(d, t0()).await.unwrap(), "gone");
    assert!(store.touch_device(other, t0()).await.unwrap());
});

both_backends!(a_refused_delete_announces_nothing, |store| {
    let m = merchant(&store).await;
    let d = device(&store, m).await;
    let s = store.create_session(new_session(m, d), t0()).await.unwrap();
    let mut notices = store.signals().subscribe();
    assert!(
        store.delete_device(m, d, t0()).await.is_err(),
        "open session"
    );
    let cancel = kassa_core::machine::Command::Cancel {
        actor: kassa_core::session::Actor::Merchant,
    };
    store
        .command_session(Scope::Merchant(m), s.id, cancel, t0(), policy())
        .await
        .unwrap();
    // Notices arrive in commit order: everything up to the cancel's is what the refused
    // delete could have sent (the create's may come too, on PostgreSQL).
    loop {
        let notice = tokio::time::timeout(Duration::from_secs(5), notices.recv())
            .await
            .expect("the cancel's notice in time")
            .unwrap();
        assert_eq!(notice.kind, NoticeKind::Session, "{notice:?}");
        if notice.status == kassa_core::session::SessionStatus::Cancelled {
            break;
        }
    }
    assert!(store.touch_device(d, t0()).await.unwrap());
});
