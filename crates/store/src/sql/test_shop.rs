//! A merchant with one device and a one-item session, for the tests of paths only this crate
//! can reach (one-statement writes); the conformance suite has its own fixtures.

use crate::testing::fresh_database_url;
use crate::{Backend, DeviceStore, MerchantStore, SessionStore, SqlStore};
use kassa_core::cart::{Cart, CartInput, ItemType, LineItem};
use kassa_core::entities::{Device, Merchant, Metadata, Mode};
use kassa_core::session::{NewSession, Platform, Session};
use kassa_core::{DeviceId, MerchantId, SessionId, Timestamp};
use std::sync::Arc;

/// A store on a fresh PostgreSQL database (the one-statement paths are PostgreSQL's), with a
/// merchant and a device of it.
pub(crate) async fn pg_shop(now: Timestamp) -> (Arc<SqlStore>, MerchantId, DeviceId) {
    let url = fresh_database_url(Backend::Postgres).await.unwrap();
    let store = crate::connect(&url).await.unwrap();
    let (merchant, device) = shop(&store, now).await;
    (store, merchant, device)
}

/// `pg_shop` with a session just created on the device.
pub(crate) async fn pg_session(now: Timestamp) -> (Arc<SqlStore>, MerchantId, DeviceId, Session) {
    let (store, merchant, device) = pg_shop(now).await;
    let new = new_session(merchant, device);
    let session = store.create_session(new, now).await.unwrap();
    (store, merchant, device, session)
}

/// A new merchant and a device of it.
async fn shop(store: &SqlStore, now: Timestamp) -> (MerchantId, DeviceId) {
    let merchant = Merchant {
        id: MerchantId::new(),
        name: "Shop".into(),
        mode: Mode::Test,
        created_at: now,
    };
    store.create_merchant(&merchant).await.unwrap();
    let device = Device {
        id: DeviceId::new(),
        merchant_id: merchant.id,
        location_id: None,
        name: None,
        platform: Platform::Web,
        hardware_id: None,
        metadata: Metadata::new(),
        push_token: None,
        created_at: now,
        last_seen_at: None,
        processor_reader: None,
    };
    store.create_device(&device, "hash").await.unwrap();
    (merchant.id, device.id)
}

/// A session of one coffee on `device`.
pub(crate) fn new_session(merchant: MerchantId, device: DeviceId) -> NewSession {
    let item = LineItem {
        kind: ItemType::Physical,
        reference: None,
        name: "Coffee".into(),
        quantity: 1,
        unit_price: 100,
        total_amount: 100,
        tax_rate: 0,
        total_discount_amount: 0,
        total_tax_amount: 0,
    };
    let cart = CartInput {
        order_amount: 100,
        order_tax_amount: None,
        purchase_currency: "SEK".into(),
        items: vec![item],
    };
    NewSession {
        id: SessionId::new(),
        merchant_id: merchant,
        device_id: device,
        location_id: None,
        cart: Cart::new(cart).unwrap(),
        purchase_started_at: None,
        merchant_reference1: None,
        merchant_reference2: None,
        ttl: chrono::Duration::minutes(5),
        auto_capture: false,
    }
}
