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

/// Creates and activates a session: entries 1 (created) and 2 (activated).
fn active() -> Session {
    let (mut s, created) = fresh();
    let applied = apply(&mut s, &[created], at(0));
    assert_eq!(entries(&applied), [(1, tr(None, S::Created, Merchant))]);
    let created = (E::SessionCreated, 1, S::Created, None);
    assert_eq!(events(&applied), [created]);
    assert_eq!(applied.events[0].at, at(0));

    let (_, applied) = run(&mut s, &activate(CardTap), 1, DEFAULT);
    let activated = tr(Some(S::Created), S::Active, Device);
    assert_eq!(entries(&applied), [(2, activated)]);
    let activated = (E::SessionActivated, 2, S::Active, Some(S::Created));
    assert_eq!(events(&applied), [activated]);
    assert_eq!((s.status, s.payment_method), (S::Active, Some(CardTap)));
    s
}

#[test]
fn declines_keep_the_session_active_until_the_limit_fails_it() {
    let policy = Policy { max_attempts: 3 };
    let mut s = active();
    for (n, outcome) in [(1, InsufficientFunds), (2, LostCard)] {
        let (d, applied) = run(&mut s, &finalize(outcome), 10 + n, policy);
        assert_eq!(d, ok(vec![attempt(outcome)]));
        assert_eq!((s.status, s.attempts), (S::Active, n));
        assert_eq!(s.failure_reason, Some(outcome));
        assert_eq!(entries(&applied), [(2 + n, att(outcome))]);
        let failed = (E::PaymentFailed, 2 + n, S::Active, Some(S::Active));
        assert_eq!(events(&applied), [failed]);
    }
    let (d, applied) = run(&mut s, &finalize(LostCard), 20, policy);
    let failed = Change::Failed { actor: Device };
    assert_eq!(d, ok(vec![attempt(LostCard), failed]));
    assert_eq!((s.status, s.attempts, s.order_id), (S::Failed, 3, None));
    let failed = tr(Some(S::Active), S::Failed, Device);
    assert_eq!(entries(&applied), [(5, att(LostCard)), (6, failed)]);
    let want = [
        (E::PaymentFailed, 5, S::Active, Some(S::Active)),
        (E::SessionFailed, 6, S::Failed, Some(S::Active)),
    ];
    assert_eq!(events(&applied), want);
    let (d, _) = run(&mut s, &finalize(Success), 21, policy);
    assert_eq!(d, no("cannot finalize a session that is FAILED"));
}

#[test]
fn the_default_policy_fails_on_the_fifth_decline_and_a_limit_of_one_fails_at_once() {
    let mut s = active();
    for n in 1..=5 {
        let decline = finalize(InsufficientFunds);
        let (d, _) = run(&mut s, &decline, 10 + n, Policy::default());
        assert_eq!(d.changes.len(), if n < 5 { 1 } else { 2 });
    }
    assert_eq!((s.status, s.attempts), (S::Failed, 5));

    let mut s = active();
    let (d, _) = run(&mut s, &finalize(LostCard), 10, Policy { max_attempts: 1 });
    assert_eq!(d.changes.last(), Some(&Change::Failed { actor: Device }));
}

#[test]
fn a_successful_attempt_finalizes_with_the_order() {
    let mut s = active();
    run(&mut s, &finalize(InsufficientFunds), 10, DEFAULT);
    let (d, applied) = run(&mut s, &finalize(Success), 30, DEFAULT);
    assert_eq!(d, ok(vec![attempt(Success), finalized()]));
    let want = (S::Finalized, 2, Some(ORDER));
    assert_eq!((s.status, s.attempts, s.order_id), want);
    assert_eq!(s.purchase_completed_at, Some(at(30)));
    assert_eq!((s.updated_at, s.last_sequence), (at(30), 5));
    assert_eq!(s.failure_reason, Some(InsufficientFunds)); // the last decline's
    let finalized = tr(Some(S::Active), S::Finalized, Device);
    assert_eq!(entries(&applied), [(4, att(Success)), (5, finalized)]);
    let finalized = (E::SessionFinalized, 5, S::Finalized, Some(S::Active));
    assert_eq!(events(&applied), [finalized]); // no payment.failed on success
}

#[test]
fn switching_methods_and_cancelling_record_only_what_the_contract_lists() {
    let mut s = active();
    let (_, applied) = run(&mut s, &activate(Klarna), 5, DEFAULT);
    assert_eq!(applied, Applied::default(), "no entry and no event");
    let want = (Some(Klarna), 2, at(5));
    assert_eq!((s.payment_method, s.last_sequence, s.updated_at), want);
    let (_, applied) = run(&mut s, &cancel(Merchant), 6, DEFAULT);
    let cancelled = tr(Some(S::Active), S::Cancelled, Merchant);
    assert_eq!(entries(&applied), [(3, cancelled)]);
    let cancelled = (E::SessionCancelled, 3, S::Cancelled, Some(S::Active));
    assert_eq!(events(&applied), [cancelled]);
}

#[test]
fn create_copies_the_request_and_starts_empty() {
    let (s, change) = fresh();
    assert_eq!(change, Change::Created);
    let want = (S::Created, at(0), at(0), at(TTL));
    assert_eq!((s.status, s.created_at, s.updated_at, s.expires_at), want);
    assert_eq!((s.attempts, s.last_sequence), (0, 0));
    assert_eq!((s.payment_method, s.order_id), (None, None));
    assert_eq!(s.failure_reason, None);
    assert_eq!(s.merchant_reference1.as_deref(), Some("ref-1"));
    assert_eq!(Policy::default().max_attempts, DEFAULT.max_attempts);
}

#[test]
fn event_types_and_changes_name_their_statuses() {
    for t in E::ALL {
        assert_eq!(E::parse(t.as_str()), Some(t));
        assert_eq!(t.to_string(), t.as_str());
        assert!(t.as_str().starts_with("ipp."));
    }
    assert_eq!(E::parse("ipp.session.unknown"), None);
    let failed = Change::Failed { actor: Device };
    let cancelled = Change::Cancelled { actor: Merchant };
    let terminal = [finalized(), failed, cancelled, Change::Expired];
    assert!(terminal.iter().all(Change::is_terminal));
    let switched = Change::MethodSwitched { method: Klarna };
    let open = [Change::Created, activated(CardTap), switched.clone()];
    assert!(!open.iter().any(Change::is_terminal));
    assert!(!attempt(Success).is_terminal() && !attempt(LostCard).is_terminal());
    assert_eq!(switched.status_after(), None);
}

fn any_command() -> impl Strategy<Value = Command> {
    let method = prop::sample::select(PaymentMethod::ALL);
    let actor = prop::sample::select(vec![Merchant, Device, Actor::Simulator]);
    let outcome = prop::sample::select(PaymentOutcome::ALL);
    prop_oneof![
        (method, actor.clone()).prop_map(|(method, actor)| Command::Activate { method, actor }),
        (outcome, any::<u128>(), actor.clone()).prop_map(|(outcome, id, actor)| {
            let (attempt_id, order_id) = (AttemptId(Uuid::from_u128(id)), OrderId::new());
            Command::Finalize {
                attempt_id,
                outcome,
                order_id,
                actor,
            }
        }),
        actor.prop_map(|actor| Command::Cancel { actor }),
        Just(Command::Expire),
    ]
}

proptest! {
    #[test]
    fn random_histories_keep_every_invariant(
        steps in prop::collection::vec((any_command(), 0i64..90), 0..40),
        max_attempts in 1i64..7,
    ) {
        let policy = Policy { max_attempts };
        let (mut s, created) = fresh();
        let mut entries = apply(&mut s, &[created], at(0)).entries;
        let (mut terminal_events, mut now) = (0, at(0));
        for (cmd, delta) in steps {
            now += Duration::seconds(delta);
            let before = s.clone();
            let d = decide(&s, &cmd, now, policy);
            let applied = apply(&mut s, &d.changes, now);
            if !before.status.is_open() {
                prop_assert!(d.changes.is_empty());
                prop_assert_eq!(&s, &before, "terminal states absorb");
            }
            if d.refusal.is_some() {
                prop_assert!(d.changes.is_empty() || d.changes == vec![Change::Expired]);
            }
            for ev in &applied.events {
                prop_assert!(applied.entries.iter().any(|e| e.sequence == ev.sequence));
                terminal_events += usize::from(!ev.status.is_open());
            }
            prop_assert!(terminal_events <= 1, "at most one terminal event");
            prop_assert!(s.attempts >= 0 && s.attempts <= max_attempts);
            prop_assert_eq!(s.order_id.is_some(), s.status == S::Finalized);
            prop_assert!(s.cart.order_amount() > 0);
            if s.status == S::Finalized {
                let order = crate::order::Order::from_session(&s, s.order_id.unwrap(), now);
                prop_assert!(order.captured_amount() >= 0 && order.remaining_authorized_amount() >= 0);
            }
            entries.extend(applied.entries);
        }
        let seqs: Vec<i64> = entries.iter().map(|e| e.sequence).collect();
        prop_assert_eq!(seqs, (1..=s.last_sequence).collect::<Vec<_>>());
        prop_assert_eq!(terminal_events, usize::from(!s.status.is_open()));
    }

    #[test]
    fn open_sessions_at_or_after_the_deadline_always_expire(
        cmd in any_command(),
        active in any::<bool>(),
        late in 0i64..1_000_000,
    ) {
        let s = session_in(if active { S::Active } else { S::Created });
        let d = decide(&s, &cmd, at(TTL + late), DEFAULT);
        prop_assert_eq!(d.changes, vec![Change::Expired]);
        prop_assert_eq!(d.refusal.is_some(), cmd != Command::Expire);
    }
}
