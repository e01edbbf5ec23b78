use super::*;

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

/// A processor-backed session past its deadline: the processor's verified result still
/// counts (money was taken), while cancels and method switches meet the expiry as before.
#[test]
fn a_processor_verified_result_past_the_deadline_is_judged_on_its_merits() {
    let backed = || {
        let mut s = active();
        s.payment = Some(crate::session::PaymentRef {
            processor: "stripe".into(),
            reference: "pi_1".into(),
        });
        s
    };
    let mut s = backed();
    let (d, _) = run(&mut s, &finalize(Success), TTL + 5, DEFAULT);
    assert_eq!(d, ok(vec![attempt(Success), finalized()]));
    assert_eq!(s.status, S::Finalized);

    let mut s = backed();
    let (d, _) = run(&mut s, &finalize(InsufficientFunds), TTL + 5, DEFAULT);
    assert_eq!(d, ok(vec![attempt(InsufficientFunds)]));
    assert_eq!(s.status, S::Active);

    let mut s = backed();
    let (d, _) = run(&mut s, &cancel(Merchant), TTL + 5, DEFAULT);
    assert_eq!(d.changes, vec![Change::Expired]);

    // Without a processor payment the clock wins, as the contract says.
    let mut s = active();
    let (d, _) = run(&mut s, &finalize(Success), TTL + 5, DEFAULT);
    assert_eq!(d.changes, vec![Change::Expired]);
}
