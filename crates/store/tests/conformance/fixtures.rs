//! Merchants, devices and sessions for the conformance tests.

use chrono::{Duration, TimeZone, Utc};
use kassa_core::cart::{Cart, CartInput, ItemType, LineItem};
use kassa_core::machine::{Command, Policy};
use kassa_core::session::{Actor, NewSession, PaymentOutcome, PaymentRef, Platform};
use kassa_core::*;
use kassa_store::*;
use std::sync::Arc;

pub async fn store(backend: Backend) -> Arc<SqlStore> {
    let url = kassa_store::testing::fresh_database_url(backend)
        .await
        .unwrap();
    kassa_store::connect(&url).await.unwrap()
}

pub fn t0() -> Timestamp {
    Utc.with_ymd_and_hms(2026, 6, 5, 18, 0, 0).unwrap()
}

pub fn policy() -> Policy {
    Policy { max_attempts: 3 }
}

pub async fn merchant(store: &SqlStore) -> MerchantId {
    let m = Merchant {
        id: MerchantId::new(),
        name: "Test shop".into(),
        mode: Mode::Test,
        created_at: t0(),
    };
    store.create_merchant(&m).await.unwrap();
    m.id
}

pub async fn device(store: &SqlStore, merchant: MerchantId) -> DeviceId {
    let d = new_device(merchant);
    store
        .create_device(&d, &format!("hash-{}", d.id))
        .await
        .unwrap();
    d.id
}

/// The device `device` stores, for tests that change it before storing it.
pub fn new_device(merchant: MerchantId) -> Device {
    Device {
        id: DeviceId::new(),
        merchant_id: merchant,
        location_id: None,
        name: Some("Till 1".into()),
        platform: Platform::Web,
        hardware_id: None,
        metadata: Metadata::new(),
        push_token: None,
        created_at: t0(),
        last_seen_at: None,
        processor_reader: None,
    }
}

pub fn cart(amount: i64) -> Cart {
    Cart::new(CartInput {
        order_amount: amount,
        order_tax_amount: None,
        purchase_currency: "SEK".into(),
        items: vec![LineItem {
            kind: ItemType::Physical,
            reference: None,
            name: "Coffee".into(),
            quantity: 1,
            unit_price: amount,
            total_amount: amount,
            tax_rate: 2500,
            total_discount_amount: 0,
            total_tax_amount: amount / 5,
        }],
    })
    .unwrap()
}

pub fn new_session(merchant: MerchantId, device: DeviceId) -> NewSession {
    NewSession {
        id: SessionId::new(),
        merchant_id: merchant,
        device_id: device,
        location_id: None,
        cart: cart(10_000),
        purchase_started_at: None,
        merchant_reference1: Some("ref-1".into()),
        merchant_reference2: None,
        ttl: Duration::minutes(5),
        auto_capture: true,
    }
}

pub fn activate() -> Command {
    Command::Activate {
        method: session::PaymentMethod::CardTap,
        actor: Actor::Device,
    }
}

/// A Stripe PaymentIntent reference.
pub fn stripe_payment(reference: &str) -> PaymentRef {
    PaymentRef {
        processor: "stripe".into(),
        reference: reference.into(),
    }
}

pub fn pay(outcome: PaymentOutcome) -> (AttemptId, Command) {
    let attempt_id = AttemptId::new();
    let cmd = Command::Finalize {
        attempt_id,
        outcome,
        order_id: OrderId::new(),
        actor: Actor::Device,
    };
    (attempt_id, cmd)
}

/// Every event of one merchant, oldest first.
pub async fn events(store: &SqlStore, merchant: MerchantId) -> Vec<StoredEvent> {
    let filter = EventFilter {
        limit: 1000,
        ..Default::default()
    };
    store.list_events(merchant, &filter).await.unwrap()
}
