//! Unique violations reach the caller as the rule they broke (`Duplicate`, `DeviceBusy`),
//! also when two requests race past the store's own check into the index; never as a
//! constraint name.

use crate::both_backends;
use crate::fixtures::*;
use kassa_core::machine::Command;
use kassa_core::session::{Actor, PaymentOutcome};
use kassa_core::{AttemptId, OrderId};
use kassa_store::*;

const ROUNDS: usize = 10;

fn finalize(attempt_id: AttemptId) -> Command {
    Command::Finalize {
        attempt_id,
        outcome: PaymentOutcome::Success,
        order_id: OrderId::new(),
        actor: Actor::Device,
    }
}

fn names_no_constraint(err: &StoreError) {
    let message = err.to_string();
    for hint in ["pkey", "constraint", "attempts.", "idempotency_keys"] {
        assert!(!message.contains(hint), "{message}");
    }
}

both_backends!(one_attempt_id_for_racing_sessions, |store| {
    let m = merchant(&store).await;
    for _ in 0..ROUNDS {
        let attempt = AttemptId::new();
        let mut open = Vec::new();
        for _ in 0..4 {
            let d = device(&store, m).await;
            let s = store.create_session(new_session(m, d), t0()).await.unwrap();
            store
                .command_session(Scope::Device(d), s.id, activate(), t0(), policy())
                .await
                .unwrap();
            open.push((d, s));
        }
        // All at once, so on PostgreSQL some pass the store's check and meet in the index.
        let start = std::sync::Arc::new(tokio::sync::Barrier::new(open.len()));
        let mut tasks = Vec::new();
        for (d, s) in open {
            let (store, start) = (store.clone(), start.clone());
            tasks.push(tokio::spawn(async move {
                start.wait().await;
                store
                    .finalize_session(
                        Scope::Device(d),
                        s.id,
                        attempt,
                        finalize(attempt),
                        t0(),
                        policy(),
                    )
                    .await
            }));
        }
        let mut paid = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(_) => paid += 1,
                Err(err @ StoreError::Duplicate(Duplicate::AttemptId)) => names_no_constraint(&err),
                Err(other) => panic!("{other:?}"),
            }
        }
        assert_eq!(paid, 1, "one session takes the attempt id");
    }
});

both_backends!(racing_claims_of_one_idempotency_key, |store| {
    let m = merchant(&store).await;
    for round in 0..ROUNDS {
        let key = format!("key-{round}");
        let mut tasks = Vec::new();
        for _ in 0..4 {
            let (store, key) = (store.clone(), key.clone());
            tasks.push(tokio::spawn(async move {
                store
                    .claim_idempotency_key(m, &key, "fingerprint", t0(), t0())
                    .await
            }));
        }
        let mut claimed = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(IdempotencyClaim::Claimed) => claimed += 1,
                Ok(IdempotencyClaim::InProgress) => {}
                Err(err @ StoreError::Duplicate(Duplicate::IdempotencyKey)) => {
                    names_no_constraint(&err)
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(claimed, 1, "one request holds the key");
    }
});

both_backends!(duplicates_are_named_by_rule, |store| {
    let m = merchant(&store).await;
    let d = device(&store, m).await;
    store.create_session(new_session(m, d), t0()).await.unwrap();
    let busy = store
        .create_session(new_session(m, d), t0())
        .await
        .unwrap_err();
    assert!(matches!(busy, StoreError::DeviceBusy), "{busy:?}");

    let mut reader = new_device(m);
    reader.processor_reader = Some("tmr_dup".into());
    store.create_device(&reader, "hash-dup-1").await.unwrap();
    let mut twin = new_device(m);
    twin.processor_reader = Some("tmr_dup".into());
    let err = store.create_device(&twin, "hash-dup-2").await.unwrap_err();
    assert!(
        matches!(err, StoreError::Duplicate(Duplicate::Reader)),
        "{err:?}"
    );
    names_no_constraint(&err);
    assert!(
        !err.to_string().contains("devices_processor_reader"),
        "{err}"
    );
});
