use super::*;
use crate::cart::{Cart, CartInput, ItemType};
use crate::session::NewSession;
use crate::{DeviceId, FieldError};
use chrono::{Duration, TimeZone, Utc};
use proptest::prelude::*;
use OrderStatus as O;

const AMOUNT: i64 = 10_000;

fn at(secs: i64) -> Timestamp {
    Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap() + Duration::seconds(secs)
}

fn session(auto_capture: bool) -> Session {
    let line = |name: &str, kind, unit_price: i64, tax| LineItem {
        kind,
        reference: Some(format!("sku-{name}")),
        name: name.into(),
        quantity: 1,
        unit_price,
        total_amount: unit_price,
        tax_rate: 2500,
        total_discount_amount: 0,
        total_tax_amount: tax,
    };
    let items = vec![
        line("Jacket", ItemType::Physical, 11_000, 2200),
        line("Promo", ItemType::Discount, -1_000, -200),
    ];
    let cart = Cart::new(CartInput {
        order_amount: AMOUNT,
        order_tax_amount: None,
        purchase_currency: "SEK".into(),
        items,
    })
    .unwrap();
    let new = NewSession {
        id: SessionId::new(),
        merchant_id: MerchantId::new(),
        device_id: DeviceId::new(),
        location_id: None,
        cart,
        purchase_started_at: None,
        merchant_reference1: Some("order-42".into()),
        merchant_reference2: Some("till-3".into()),
        ttl: Duration::minutes(5),
        auto_capture,
    };
    crate::machine::create(new, at(0)).0
}

fn order(auto_capture: bool) -> Order {
    Order::from_session(&session(auto_capture), OrderId::new(), at(60))
}

fn op(amount: i64) -> Operation {
    Operation {
        id: OrderOperationId::new(),
        amount,
        description: None,
        reference: Some("r".into()),
        created_at: at(120),
        processor_reference: None,
    }
}

/// The path of the single field error, or a panic when the error is anything else.
fn invalid_path(result: Result<(), DomainError>) -> String {
    match result {
        Err(DomainError::Invalid(errors)) => match errors.as_slice() {
            [FieldError { path, .. }] => path.clone(),
            other => panic!("expected one field error, got {other:?}"),
        },
        other => panic!("expected Invalid, got {other:?}"),
    }
}

fn amounts(o: &Order) -> (i64, i64, i64) {
    (
        o.captured_amount(),
        o.refunded_amount(),
        o.remaining_authorized_amount(),
    )
}

#[test]
fn from_session_with_auto_capture_captures_everything() {
    let s = session(true);
    let id = OrderId::new();
    let o = Order::from_session(&s, id, at(60));
    assert_eq!(
        (o.id, o.session_id, o.merchant_id),
        (id, s.id, s.merchant_id)
    );
    assert_eq!((o.order_amount, o.original_order_amount), (AMOUNT, AMOUNT));
    assert_eq!(
        (o.currency.code(), o.lines.as_slice()),
        ("SEK", s.cart.items())
    );
    assert_eq!(o.merchant_reference1.as_deref(), Some("order-42"));
    assert_eq!(o.merchant_reference2.as_deref(), Some("till-3"));
    assert_eq!((o.created_at, o.cancelled), (at(60), false));
    assert_eq!(o.captures.len(), 1);
    assert_eq!(
        (o.captures[0].amount, o.captures[0].created_at),
        (AMOUNT, at(60))
    );
    assert!(o.refunds.is_empty());
    assert_eq!(amounts(&o), (AMOUNT, 0, 0));
    assert_eq!(o.status(), O::Captured);
}

#[test]
fn from_session_without_auto_capture_only_authorizes() {
    let o = order(false);
    assert!(o.captures.is_empty());
    assert_eq!(amounts(&o), (0, 0, AMOUNT));
    assert_eq!(o.status(), O::Authorized);
}

#[test]
fn partial_then_full_capture() {
    let mut o = order(false);
    o.capture(op(4_000)).unwrap();
    assert_eq!(
        (amounts(&o), o.status()),
        ((4_000, 0, 6_000), O::PartCaptured)
    );
    o.capture(op(6_000)).unwrap();
    assert_eq!((amounts(&o), o.status()), ((AMOUNT, 0, 0), O::Captured));
    assert_eq!(o.captures.len(), 2);
}

#[test]
fn over_capture_is_invalid_and_changes_nothing() {
    let mut o = order(false);
    o.capture(op(4_000)).unwrap();
    let before = o.clone();
    assert_eq!(invalid_path(o.capture(op(6_001))), "captured_amount");
    assert_eq!(invalid_path(o.capture(op(i64::MAX))), "captured_amount");
    let full = order(true);
    assert_eq!(invalid_path(full.clone().capture(op(1))), "captured_amount");
    assert_eq!(o, before);
    let Err(DomainError::Invalid(errors)) = o.capture(op(6_001)) else {
        unreachable!()
    };
    assert!(
        errors[0].message.contains("6001 > 6000"),
        "{}",
        errors[0].message
    );
}

#[test]
fn zero_or_negative_amounts_are_invalid() {
    for amount in [0, -1, i64::MIN] {
        let mut o = order(false);
        assert_eq!(invalid_path(o.capture(op(amount))), "captured_amount");
        let mut o = order(true);
        assert_eq!(invalid_path(o.refund(op(amount))), "refunded_amount");
        assert_eq!(amounts(&o), (AMOUNT, 0, 0));
    }
}

#[test]
fn refunds_are_limited_to_captured_minus_refunded() {
    let mut o = order(false);
    assert_eq!(
        invalid_path(o.refund(op(1))),
        "refunded_amount",
        "nothing captured yet"
    );
    o.capture(op(3_000)).unwrap();
    assert_eq!(invalid_path(o.refund(op(3_001))), "refunded_amount");
    o.refund(op(1_000)).unwrap();
    assert_eq!(
        (amounts(&o), o.status()),
        ((3_000, 1_000, 7_000), O::PartRefunded)
    );
    assert_eq!(invalid_path(o.refund(op(2_001))), "refunded_amount");
    o.refund(op(2_000)).unwrap();
    assert_eq!(
        (amounts(&o), o.status()),
        ((3_000, 3_000, 7_000), O::Refunded)
    );
    assert_eq!(invalid_path(o.refund(op(1))), "refunded_amount");
    assert_eq!(o.refunds.len(), 2);
}

#[test]
fn status_is_derived_for_every_order_status() {
    // (captures, refunds, cancel before capturing, expected)
    let table: [(&[i64], &[i64], bool, OrderStatus); 8] = [
        (&[], &[], false, O::Authorized),
        (&[1], &[], false, O::PartCaptured),
        (&[4_000, 6_000], &[], false, O::Captured),
        (&[AMOUNT], &[1], false, O::PartRefunded),
        (&[5_000], &[4_999], false, O::PartRefunded),
        (&[AMOUNT], &[AMOUNT], false, O::Refunded),
        (&[AMOUNT], &[2_000, 8_000], false, O::Refunded),
        (&[], &[], true, O::Cancelled),
    ];
    for (captures, refunds, cancel, want) in table {
        let mut o = order(false);
        if cancel {
            o.cancel().unwrap();
        }
        captures.iter().for_each(|a| o.capture(op(*a)).unwrap());
        refunds.iter().for_each(|a| o.refund(op(*a)).unwrap());
        assert_eq!(o.status(), want, "{captures:?} {refunds:?} {cancel}");
    }
}

#[test]
fn order_statuses_use_the_contract_names() {
    use serde::de::value::{Error, StrDeserializer};
    use serde::de::IntoDeserializer;
    let names = [
        (O::Authorized, "AUTHORIZED"),
        (O::Captured, "CAPTURED"),
        (O::PartCaptured, "PART_CAPTURED"),
        (O::Cancelled, "CANCELLED"),
        (O::Refunded, "REFUNDED"),
        (O::PartRefunded, "PART_REFUNDED"),
    ];
    for (status, name) in names {
        let de: StrDeserializer<'_, Error> = name.into_deserializer();
        assert_eq!(OrderStatus::deserialize(de), Ok(status));
    }
}

#[test]
fn cancel_releases_an_uncaptured_authorization_and_is_idempotent() {
    let mut o = order(false);
    o.cancel().unwrap();
    assert_eq!((amounts(&o), o.status()), ((0, 0, 0), O::Cancelled));
    o.cancel().unwrap();
    assert_eq!(o.status(), O::Cancelled);
    let before = o.clone();
    assert_eq!(
        o.capture(op(1)),
        Err(DomainError::not_allowed("cannot capture a CANCELLED order"))
    );
    assert_eq!(invalid_path(o.refund(op(1))), "refunded_amount");
    assert_eq!(o, before);
}

#[test]
fn cancel_after_any_capture_is_not_allowed() {
    for (auto, captures, refunds) in [(true, 0, 0), (false, 1, 0), (true, 0, AMOUNT)] {
        let mut o = order(auto);
        if captures > 0 {
            o.capture(op(captures)).unwrap();
        }
        if refunds > 0 {
            o.refund(op(refunds)).unwrap();
        }
        let before = o.clone();
        assert!(matches!(o.cancel(), Err(DomainError::NotAllowed(_))));
        assert_eq!(o, before);
    }
}

#[test]
fn cancel_refusal_names_the_status_as_the_contract_spells_it() {
    let mut o = order(false);
    o.capture(op(1)).unwrap();
    let Err(DomainError::NotAllowed(message)) = o.cancel() else {
        panic!("cancel after capture must be refused")
    };
    assert!(message.contains("PART_CAPTURED"), "{message}");
}

#[derive(Debug, Clone)]
enum Op {
    Capture(i64),
    Refund(i64),
    Cancel,
}

proptest! {
    #[test]
    fn amounts_stay_within_their_limits(
        auto_capture in any::<bool>(),
        ops in prop::collection::vec(prop_oneof![
            4 => (-100i64..AMOUNT + 100).prop_map(Op::Capture),
            4 => (-100i64..AMOUNT + 100).prop_map(Op::Refund),
            1 => Just(Op::Cancel),
        ], 0..30),
    ) {
        let mut o = order(auto_capture);
        for op_ in ops {
            let before = o.clone();
            let result = match op_ {
                Op::Capture(a) => o.capture(op(a)),
                Op::Refund(a) => o.refund(op(a)),
                Op::Cancel => o.cancel(),
            };
            if result.is_err() {
                prop_assert_eq!(&o, &before, "a refused operation changes nothing");
            }
            let (captured, refunded, remaining) = amounts(&o);
            prop_assert!(captured <= o.order_amount);
            prop_assert!(0 <= refunded && refunded <= captured);
            prop_assert!(0 <= remaining && remaining <= o.order_amount);
            prop_assert!(o.captures.iter().chain(&o.refunds).all(|c| c.amount > 0));
            prop_assert!(!(o.cancelled && captured > 0));
            prop_assert_eq!(o.order_amount, o.original_order_amount);
        }
    }
}

fn processor_order(auto_capture: bool) -> Order {
    let mut s = session(auto_capture);
    s.payment = Some(crate::session::PaymentRef {
        processor: "stripe".into(),
        reference: "pi_1".into(),
    });
    Order::from_session(&s, OrderId::new(), at(60))
}

#[test]
fn a_processor_paid_order_captures_once_and_the_rest_is_released() {
    let mut o = processor_order(false);
    assert_eq!(
        o.payment.as_ref().map(|p| p.reference.as_str()),
        Some("pi_1")
    );
    o.capture(op(400)).unwrap();
    assert_eq!(o.status(), OrderStatus::Captured);
    assert_eq!(o.remaining_authorized_amount(), 0);
    let second = o.capture(op(100)).unwrap_err();
    assert!(matches!(second, DomainError::NotAllowed(_)), "{second:?}");
    // The simulated processor keeps Klarna's many partial captures.
    let mut simulated = order(false);
    simulated.capture(op(400)).unwrap();
    assert_eq!(simulated.status(), OrderStatus::PartCaptured);
    simulated.capture(op(100)).unwrap();
}

#[test]
fn auto_capture_names_the_processor_payment() {
    let o = processor_order(true);
    assert_eq!(o.captures[0].processor_reference.as_deref(), Some("pi_1"));
    assert!(o.has_processor_operation("pi_1"));
    assert!(!o.has_processor_operation("re_1"));
    assert_eq!(order(true).captures[0].processor_reference, None);
}
