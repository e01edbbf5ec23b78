//! A request's changes mark its `Idempotency-Key` in their own transaction (issue 11 item 8):
//! a key whose changes committed but whose answer was never stored (the node died between the
//! two) is `Lost` once abandoned, never claimed to run again; a key whose request committed
//! nothing is claimed again as before.

use crate::both_backends;
use crate::fixtures::*;
use chrono::Duration;
use kassa_store::*;

/// Past the two minutes after which an unanswered reservation counts as abandoned.
fn after_abandoned() -> kassa_core::Timestamp {
    t0() + Duration::minutes(3)
}

both_backends!(
    a_committed_create_with_a_lost_answer_never_runs_again,
    |store| {
        let m = merchant(&store).await;
        let device = device(&store, m).await;
        let since = t0() - Duration::hours(24);
        let claim = store
            .claim_idempotency_key(m, "k1", "fp", t0(), since)
            .await
            .unwrap();
        assert_eq!(claim, IdempotencyClaim::Claimed);
        // The handler's create commits under the key; the answer is never stored (a crash).
        let work = store.create_session(new_session(m, device), t0());
        with_idempotency_key(m, "k1".into(), work).await.unwrap();
        let retry = store
            .claim_idempotency_key(m, "k1", "fp", after_abandoned(), since)
            .await
            .unwrap();
        assert_eq!(retry, IdempotencyClaim::Lost);
        let other = store
            .claim_idempotency_key(m, "k1", "other", after_abandoned(), since)
            .await
            .unwrap();
        assert_eq!(other, IdempotencyClaim::Mismatch);
        // A server error's release keeps a key whose changes committed.
        store.release_idempotency_key(m, "k1").await.unwrap();
        let still = store
            .claim_idempotency_key(m, "k1", "fp", after_abandoned(), since)
            .await
            .unwrap();
        assert_eq!(still, IdempotencyClaim::Lost);
    }
);

both_backends!(
    a_key_whose_request_committed_nothing_is_free_again,
    |store| {
        let m = merchant(&store).await;
        let device = device(&store, m).await;
        let since = t0() - Duration::hours(24);
        store
            .claim_idempotency_key(m, "k2", "fp", t0(), since)
            .await
            .unwrap();
        // Another key's changes mark only that key.
        store
            .claim_idempotency_key(m, "k3", "fp", t0(), since)
            .await
            .unwrap();
        let work = store.create_session(new_session(m, device), t0());
        with_idempotency_key(m, "k3".into(), work).await.unwrap();
        let retry = store
            .claim_idempotency_key(m, "k2", "fp", after_abandoned(), since)
            .await
            .unwrap();
        assert_eq!(retry, IdempotencyClaim::Claimed);
    }
);

both_backends!(a_session_transition_marks_the_key_too, |store| {
    let m = merchant(&store).await;
    let device = device(&store, m).await;
    let since = t0() - Duration::hours(24);
    let session = store
        .create_session(new_session(m, device), t0())
        .await
        .unwrap();
    store
        .claim_idempotency_key(m, "k4", "fp", t0(), since)
        .await
        .unwrap();
    let cancel = kassa_core::machine::Command::Cancel {
        actor: kassa_core::session::Actor::Merchant,
    };
    let work = store.command_session(Scope::Merchant(m), session.id, cancel, t0(), policy());
    with_idempotency_key(m, "k4".into(), work).await.unwrap();
    let retry = store
        .claim_idempotency_key(m, "k4", "fp", after_abandoned(), since)
        .await
        .unwrap();
    assert_eq!(retry, IdempotencyClaim::Lost);
});
