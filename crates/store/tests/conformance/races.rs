//! Cancel, finalize and expiry racing on one session, under real concurrency (many tasks,
//! real connections): exactly one terminal state and one terminal event, every time.

use crate::both_backends;
use crate::fixtures::*;
use chrono::Duration;
use kassa_core::machine::Command;
use kassa_core::session::{Actor, PaymentOutcome};
use kassa_store::*;

const ROUNDS: usize = 20;

both_backends!(one_terminal_state_wins_every_race, |store| {
    let m = merchant(&store).await;
    for _ in 0..ROUNDS {
        let d = device(&store, m).await;
        let s = store.create_session(new_session(m, d), t0()).await.unwrap();
        store
            .command_session(Scope::Device(d), s.id, activate(), t0(), policy())
            .await
            .unwrap();
        // Just before the deadline for the payers and cancellers, at it for the sweeper.
        let before = t0() + Duration::minutes(5) - Duration::milliseconds(1);
        let deadline = t0() + Duration::minutes(5);
        let mut tasks = Vec::new();
        for i in 0..6 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                match i % 3 {
                    0 => {
                        let (attempt, cmd) = pay(PaymentOutcome::Success);
                        store
                            .finalize_session(
                                Scope::Device(d),
                                s.id,
                                attempt,
                                cmd,
                                before,
                                policy(),
                            )
                            .await
                            .map(|_| ())
                    }
                    1 => {
                        let cancel = Command::Cancel {
                            actor: Actor::Merchant,
                        };
                        store
                            .command_session(Scope::Merchant(m), s.id, cancel, before, policy())
                            .await
                            .map(|_| ())
                    }
                    _ => store.expire_due(deadline, 10).await.map(|_| ()),
                }
            }));
        }
        for t in tasks {
            match t.await.unwrap() {
                Ok(()) | Err(StoreError::Refused(_)) => {}
                Err(e) => panic!("unexpected error in race: {e:?}"),
            }
        }
        let filter = EventFilter {
            session_id: Some(s.id),
            limit: 100,
            ..Default::default()
        };
        let evs = store.list_events(m, &filter).await.unwrap();
        let terminal: Vec<_> = evs.iter().filter(|e| !e.status.is_open()).collect();
        assert_eq!(terminal.len(), 1, "exactly one terminal event: {evs:?}");
        let final_state = store
            .get_session(Scope::Merchant(m), s.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(final_state.status, terminal[0].status);
        let orders = evs.iter().filter(|e| e.order_id.is_some()).count();
        assert!(orders <= 1);
    }
});
