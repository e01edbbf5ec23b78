use super::*;
use crate::cart::{Cart, CartInput, ItemType, LineItem};
use crate::event::{Entry, EventType as E, SessionEvent};
use crate::{DeviceId, MerchantId, SessionId};
use chrono::{Duration, TimeZone, Utc};
use proptest::prelude::*;
use uuid::Uuid;
use Actor::{Device, Merchant};
use PaymentMethod::{CardTap, Klarna};
use PaymentOutcome::{InsufficientFunds, LostCard, Success};
use SessionStatus as S;

const TTL: i64 = 300;
const DEFAULT: Policy = Policy { max_attempts: 5 };
const ATTEMPT: AttemptId = AttemptId(Uuid::from_u128(1));
const ORDER: OrderId = OrderId(Uuid::from_u128(2));

fn at(secs: i64) -> Timestamp {
    Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap() + Duration::seconds(secs)
}

/// A fresh session created at `at(0)` that expires at `at(TTL)`; `Created` is not applied yet.
fn fresh() -> (Session, Change) {
    let item = LineItem {
        kind: ItemType::Physical,
        reference: None,
        name: "Coffee".into(),
        quantity: 2,
        unit_price: 3500,
        total_amount: 7000,
        tax_rate: 2500,
        total_discount_amount: 0,
        total_tax_amount: 1400,
    };
    let input = CartInput {
        order_amount: 7000,
        order_tax_amount: None,
        purchase_currency: "SEK".into(),
        items: vec![item],
    };
    let new = NewSession {
        id: SessionId::new(),
        merchant_id: MerchantId::new(),
        device_id: DeviceId::new(),
        location_id: None,
        cart: Cart::new(input).unwrap(),
        purchase_started_at: None,
        merchant_reference1: Some("ref-1".into()),
        merchant_reference2: None,
        ttl: Duration::seconds(TTL),
        auto_capture: true,
    };
    create(new, at(0))
}

/// A session put directly into `status`; all but CREATED ones pay by card tap.
fn session_in(status: SessionStatus) -> Session {
    let mut s = fresh().0;
    s.status = status;
    s.payment_method = (status != S::Created).then_some(CardTap);
    s
}

fn activate(method: PaymentMethod) -> Command {
    let actor = Device;
    Command::Activate { method, actor }
}

fn finalize(outcome: PaymentOutcome) -> Command {
    let (attempt_id, order_id, actor) = (ATTEMPT, ORDER, Device);
    Command::Finalize {
        attempt_id,
        outcome,
        order_id,
        actor,
    }
}

fn cancel(actor: Actor) -> Command {
    Command::Cancel { actor }
}

/// The command kinds of the table.
#[rustfmt::skip]
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind { ActivateSame, ActivateOther, Pay, Decline, CancelMerchant, CancelDevice, ExpireDue, ExpireNotDue }
use Kind::*;
#[rustfmt::skip]
const KINDS: [Kind; 8] =
    [ActivateSame, ActivateOther, Pay, Decline, CancelMerchant, CancelDevice, ExpireDue, ExpireNotDue];

/// Each kind's command and the time it is sent at.
fn command(kind: Kind) -> (Command, Timestamp) {
    match kind {
        ActivateSame => (activate(CardTap), at(10)),
        ActivateOther => (activate(Klarna), at(10)),
        Pay => (finalize(Success), at(10)),
        Decline => (finalize(InsufficientFunds), at(10)),
        CancelMerchant => (cancel(Merchant), at(10)),
        CancelDevice => (cancel(Device), at(10)),
        ExpireDue => (Command::Expire, at(TTL)),
        ExpireNotDue => (Command::Expire, at(10)),
    }
}

fn ok(changes: Vec<Change>) -> Decision {
    let refusal = None;
    Decision { changes, refusal }
}

fn no(message: &str) -> Decision {
    let (changes, refusal) = (vec![], Some(DomainError::not_allowed(message)));
    Decision { changes, refusal }
}

/// Decides and applies `command` at `at(secs)`, checking everything recorded carries that time.
fn run(s: &mut Session, command: &Command, secs: i64, policy: Policy) -> (Decision, Applied) {
    let decision = decide(s, command, at(secs), policy);
    let applied = apply(s, &decision.changes, at(secs));
    assert!(applied.entries.iter().all(|e| e.at == at(secs)));
    assert!(applied.events.iter().all(|e| e.at == at(secs)));
    (decision, applied)
}

fn attempt(outcome: PaymentOutcome) -> Change {
    let attempt_id = ATTEMPT;
    Change::AttemptRecorded {
        attempt_id,
        outcome,
    }
}

fn activated(method: PaymentMethod) -> Change {
    let actor = Device;
    Change::Activated { method, actor }
}

fn finalized() -> Change {
    let (order_id, actor) = (ORDER, Device);
    Change::Finalized { order_id, actor }
}

fn tr(from: Option<S>, to: S, actor: Actor) -> Entry {
    Entry::Transition { from, to, actor }
}

fn att(outcome: PaymentOutcome) -> Entry {
    let attempt_id = ATTEMPT;
    Entry::Attempt {
        attempt_id,
        outcome,
    }
}

fn entries(a: &Applied) -> Vec<(i64, Entry)> {
    let entry = |e: &crate::event::TimelineEntry| (e.sequence, e.entry.clone());
    a.entries.iter().map(entry).collect()
}

/// Events as (type, sequence, status, previous_status).
fn events(a: &Applied) -> Vec<(E, i64, S, Option<S>)> {
    let ev = |e: &SessionEvent| (e.event_type, e.sequence, e.status, e.previous_status);
    a.events.iter().map(ev).collect()
}

#[test]
fn every_status_and_command_pair_has_the_exact_decision() {
    let not_due = format!("session is not due until {}", at(TTL));
    let cancelled = |actor| vec![Change::Cancelled { actor }];
    let method = |s| format!("cannot choose a payment method for a session that is {s}");
    let fin = |s| format!("cannot finalize a session that is {s}");
    let cancel = |s| format!("cannot cancel a session that is {s}");
    let unpicked = "session is CREATED: choose a payment method before finalizing";
    #[rustfmt::skip]
    let table: Vec<(SessionStatus, Kind, Decision)> = vec![
        (S::Created, ActivateSame, ok(vec![activated(CardTap)])),
        (S::Created, ActivateOther, ok(vec![activated(Klarna)])),
        (S::Created, Pay, no(unpicked)),
        (S::Created, Decline, no(unpicked)),
        (S::Created, CancelMerchant, ok(cancelled(Merchant))),
        (S::Created, CancelDevice, ok(cancelled(Device))),
        (S::Created, ExpireDue, ok(vec![Change::Expired])),
        (S::Created, ExpireNotDue, no(&not_due)),
        (S::Active, ActivateSame, ok(vec![])),
        (S::Active, ActivateOther, ok(vec![Change::MethodSwitched { method: Klarna }])),
        (S::Active, Pay, ok(vec![attempt(Success), finalized()])),
        (S::Active, Decline, ok(vec![attempt(InsufficientFunds)])),
        (S::Active, CancelMerchant, ok(cancelled(Merchant))),
        (S::Active, CancelDevice, ok(cancelled(Device))),
        (S::Active, ExpireDue, ok(vec![Change::Expired])),
        (S::Active, ExpireNotDue, no(&not_due)),
        (S::Finalized, ActivateSame, no(&method("FINALIZED"))),
        (S::Finalized, ActivateOther, no(&method("FINALIZED"))),
        (S::Finalized, Pay, no(&fin("FINALIZED"))),
        (S::Finalized, Decline, no(&fin("FINALIZED"))),
        (S::Finalized, CancelMerchant, no(&cancel("FINALIZED"))),
        (S::Finalized, CancelDevice, no(&cancel("FINALIZED"))),
        (S::Finalized, ExpireDue, ok(vec![])),
        (S::Finalized, ExpireNotDue, ok(vec![])),
        (S::Cancelled, ActivateSame, no(&method("CANCELLED"))),
        (S::Cancelled, ActivateOther, no(&method("CANCELLED"))),
        (S::Cancelled, Pay, no(&fin("CANCELLED"))),
        (S::Cancelled, Decline, no(&fin("CANCELLED"))),
        (S::Cancelled, CancelMerchant, ok(vec![])),
        (S::Cancelled, CancelDevice, ok(vec![])),
        (S::Cancelled, ExpireDue, ok(vec![])),
        (S::Cancelled, ExpireNotDue, ok(vec![])),
        (S::Expired, ActivateSame, no(&method("EXPIRED"))),
        (S::Expired, ActivateOther, no(&method("EXPIRED"))),
        (S::Expired, Pay, no(&fin("EXPIRED"))),
        (S::Expired, Decline, no(&fin("EXPIRED"))),
        (S::Expired, CancelMerchant, no(&cancel("EXPIRED"))),
        (S::Expired, CancelDevice, no(&cancel("EXPIRED"))),
        (S::Expired, ExpireDue, ok(vec![])),
        (S::Expired, ExpireNotDue, ok(vec![])),
        (S::Failed, ActivateSame, no(&method("FAILED"))),
        (S::Failed, ActivateOther, no(&method("FAILED"))),
        (S::Failed, Pay, no(&fin("FAILED"))),
        (S::Failed, Decline, no(&fin("FAILED"))),
        (S::Failed, CancelMerchant, no(&cancel("FAILED"))),
        (S::Failed, CancelDevice, no(&cancel("FAILED"))),
        (S::Failed, ExpireDue, ok(vec![])),
        (S::Failed, ExpireNotDue, ok(vec![])),
    ];
    for status in S::ALL {
        for kind in KINDS {
            let n = table
                .iter()
                .filter(|r| (r.0, r.1) == (status, kind))
                .count();
            assert_eq!(n, 1, "the table lists ({status}, {kind:?}) once");
        }
    }
    for (status, kind, want) in table {
        let (cmd, now) = command(kind);
        let got = decide(&session_in(status), &cmd, now, DEFAULT);
        assert_eq!(got, want, "({status}, {kind:?})");
        if let Some(refusal) = got.refusal.filter(|_| !status.is_open()) {
            assert!(refusal.to_string().contains(status.as_str()), "{refusal}");
        }
    }
}

#[test]
fn any_command_on_a_due_open_session_expires_it_and_refuses_the_rest() {
    let verbs = ["choose a payment method for", "finalize", "cancel"];
    for (status, kind) in [S::Created, S::Active]
        .into_iter()
        .flat_map(|s| KINDS.map(|k| (s, k)))
    {
        for late in [0, 1, 86_400] {
            let (cmd, _) = command(kind);
            let mut s = session_in(status);
            let (d, applied) = run(&mut s, &cmd, TTL + late, DEFAULT);
            assert_eq!(d.changes, vec![Change::Expired], "({status}, {kind:?})");
            match (cmd == Command::Expire, d.refusal) {
                (true, refusal) => assert_eq!(refusal, None),
                (false, Some(DomainError::NotAllowed(m))) => {
                    let said = |v| m == format!("cannot {v} a session that is EXPIRED");
                    assert!(verbs.into_iter().any(said), "{m}");
                }
                (false, other) => panic!("({status}, {kind:?}) not refused: {other:?}"),
            }
            assert_eq!((s.status, s.updated_at), (S::Expired, at(TTL + late)));
            let expired = tr(Some(status), S::Expired, Actor::Expiry);
            assert_eq!(entries(&applied), [(1, expired)]);
            let want = (E::SessionExpired, 1, S::Expired, Some(status));
            assert_eq!(events(&applied), [want]);
        }
    }
    // One nanosecond before the deadline the session is still open.
    let before = at(TTL) - Duration::nanoseconds(1);
    let d = decide(&session_in(S::Active), &cancel(Merchant), before, DEFAULT);
    assert_eq!(d, ok(vec![Change::Cancelled { actor: Merchant }]));
}

/// Whole flows: declines up to the limit, success, method switches, and properties over
/// any command sequence.
#[path = "machine_flow_tests.rs"]
mod flows;
