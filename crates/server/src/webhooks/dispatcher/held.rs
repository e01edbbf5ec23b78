//! A create's deliveries wait until its answer has been handed to the connection.

use kassa_core::SessionId;
use kassa_store::{DueDelivery, Routed};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How long a create's deliveries wait for its answer to go out before they go anyway.
const HOLD_LIMIT: Duration = Duration::from_secs(2);

/// A create's deliveries, kept until its answer has been handed to the connection.
#[derive(Default)]
pub(super) struct Held(HashMap<SessionId, (Instant, Vec<DueDelivery>)>);

impl Held {
    /// What may go now after `routed`.
    pub(super) fn take(&mut self, routed: Routed) -> Vec<DueDelivery> {
        match routed {
            Routed::Deliver {
                deliveries,
                hold: None,
            } => deliveries,
            Routed::Deliver {
                deliveries,
                hold: Some(session),
            } => {
                self.0.insert(session, (Instant::now(), deliveries));
                Vec::new()
            }
            Routed::Release(session) => self.0.remove(&session).map(|h| h.1).unwrap_or_default(),
        }
    }

    /// Deliveries whose answer never reported back (a client that went away mid-answer):
    /// they go anyway, since their create committed.
    pub(super) fn overdue(&mut self) -> Vec<DueDelivery> {
        let late: Vec<SessionId> = self
            .0
            .iter()
            .filter(|(_, (since, _))| since.elapsed() > HOLD_LIMIT)
            .map(|(s, _)| *s)
            .collect();
        late.iter()
            .filter_map(|s| self.0.remove(s))
            .flat_map(|h| h.1)
            .collect()
    }

    pub(super) fn all(&mut self) -> Vec<DueDelivery> {
        self.0.drain().flat_map(|(_, h)| h.1).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kassa_core::event::EventType;
    use kassa_core::session::SessionStatus;
    use kassa_store::StoredEvent;

    fn due(session: SessionId, delivery_id: i64) -> DueDelivery {
        let at = chrono::DateTime::from_timestamp_millis(1_700_000_000_000).unwrap();
        DueDelivery {
            delivery_id,
            attempt: 1,
            endpoint_id: kassa_core::WebhookEndpointId::new(),
            url: "http://127.0.0.1:9/hook".into(),
            secrets: vec![],
            event: StoredEvent {
                seq: delivery_id,
                id: kassa_core::EventId::from_random(1),
                merchant_id: kassa_core::MerchantId::new(),
                event_type: EventType::SessionCreated,
                session_id: session,
                sequence: 1,
                status: SessionStatus::Created,
                previous_status: None,
                order_id: None,
                failure_reason: None,
                merchant_reference1: None,
                created_at: at,
            },
        }
    }

    fn ids(d: Vec<DueDelivery>) -> Vec<i64> {
        d.iter().map(|d| d.delivery_id).collect()
    }

    #[test]
    fn a_held_create_goes_on_its_release_and_others_at_once() {
        let (a, b) = (SessionId::new(), SessionId::new());
        let mut held = Held::default();
        let hold = |s, id| Routed::Deliver {
            deliveries: vec![due(s, id)],
            hold: Some(s),
        };
        assert!(held.take(hold(a, 1)).is_empty());
        assert!(held.take(hold(b, 2)).is_empty());
        let free = Routed::Deliver {
            deliveries: vec![due(a, 3)],
            hold: None,
        };
        assert_eq!(ids(held.take(free)), [3]);
        assert_eq!(ids(held.take(Routed::Release(a))), [1]);
        assert!(held.take(Routed::Release(a)).is_empty(), "released once");
        assert!(held.overdue().is_empty(), "b is not overdue yet");
        assert_eq!(ids(held.all()), [2]);
    }

    #[test]
    fn a_hold_whose_answer_never_reports_back_runs_out() {
        let s = SessionId::new();
        let mut held = Held::default();
        held.0.insert(
            s,
            (
                Instant::now() - HOLD_LIMIT - Duration::from_millis(1),
                vec![due(s, 7)],
            ),
        );
        assert_eq!(ids(held.overdue()), [7]);
        assert!(held.0.is_empty());
    }
}
