//! Row types (what the tables hold) and their conversions to domain types. Ids are UUID
//! text, timestamps Unix milliseconds, documents JSON text.

use crate::model::*;
use crate::{Result, StoreError};
use kassa_core::cart::{Cart, LineItem};
use kassa_core::event::{Entry, TimelineEntry};
use kassa_core::money::Currency;
use kassa_core::session::{Actor, PaymentMethod, PaymentOutcome, Platform, Session, SessionStatus};
use kassa_core::Timestamp;
use std::str::FromStr;

pub fn ms(t: Timestamp) -> i64 {
    t.timestamp_millis()
}

pub fn ts(ms: i64) -> Result<Timestamp> {
    chrono::DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| StoreError::Corrupt(format!("timestamp {ms}")))
}

pub fn opt_ts(ms: Option<i64>) -> Result<Option<Timestamp>> {
    ms.map(ts).transpose()
}

pub fn id<T: FromStr>(s: &str) -> Result<T> {
    s.parse()
        .map_err(|_| StoreError::Corrupt(format!("id {s:?}")))
}

pub fn opt_id<T: FromStr>(s: Option<&str>) -> Result<Option<T>> {
    s.map(id).transpose()
}

pub fn parsed<T>(s: &str, parse: impl FnOnce(&str) -> Option<T>) -> Result<T> {
    parse(s).ok_or_else(|| StoreError::Corrupt(format!("value {s:?}")))
}

fn opt_parsed<T>(s: Option<&str>, parse: impl FnOnce(&str) -> Option<T>) -> Result<Option<T>> {
    s.map(|s| parsed(s, parse)).transpose()
}

#[derive(sqlx::FromRow)]
pub struct MerchantRow {
    pub id: String,
    pub name: String,
    pub mode: String,
    pub created_at: i64,
}

impl TryFrom<MerchantRow> for Merchant {
    type Error = StoreError;
    fn try_from(r: MerchantRow) -> Result<Self> {
        Ok(Self {
            id: id(&r.id)?,
            name: r.name,
            mode: parsed(&r.mode, Mode::parse)?,
            created_at: ts(r.created_at)?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct ApiKeyRow {
    pub id: String,
    pub merchant_id: String,
    pub key_hash: String,
    pub prefix: String,
    pub last4: Option<String>,
    pub description: Option<String>,
    pub mode: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

impl TryFrom<ApiKeyRow> for ApiKey {
    type Error = StoreError;
    fn try_from(r: ApiKeyRow) -> Result<Self> {
        Ok(Self {
            id: id(&r.id)?,
            merchant_id: id(&r.merchant_id)?,
            key_hash: r.key_hash,
            prefix: r.prefix,
            last4: r.last4,
            description: r.description,
            mode: parsed(&r.mode, Mode::parse)?,
            created_at: ts(r.created_at)?,
            revoked_at: opt_ts(r.revoked_at)?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct LocationRow {
    pub id: String,
    pub merchant_id: String,
    pub name: String,
    pub street_address: Option<String>,
    pub street_address2: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    pub country: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl TryFrom<LocationRow> for Location {
    type Error = StoreError;
    fn try_from(r: LocationRow) -> Result<Self> {
        Ok(Self {
            id: id(&r.id)?,
            merchant_id: id(&r.merchant_id)?,
            name: r.name,
            street_address: r.street_address,
            street_address2: r.street_address2,
            postal_code: r.postal_code,
            city: r.city,
            country: r.country,
            created_at: ts(r.created_at)?,
            updated_at: ts(r.updated_at)?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct EnrollmentRow {
    pub id: String,
    pub merchant_id: String,
    pub code_hash: String,
    pub status: String,
    pub metadata: String,
    pub location_id: Option<String>,
    pub expires_at: i64,
    pub created_at: i64,
}

impl TryFrom<EnrollmentRow> for Enrollment {
    type Error = StoreError;
    fn try_from(r: EnrollmentRow) -> Result<Self> {
        Ok(Self {
            id: id(&r.id)?,
            merchant_id: id(&r.merchant_id)?,
            code_hash: r.code_hash,
            status: parsed(&r.status, EnrollmentStatus::parse)?,
            metadata: serde_json::from_str(&r.metadata)?,
            location_id: opt_id(r.location_id.as_deref())?,
            expires_at: ts(r.expires_at)?,
            created_at: ts(r.created_at)?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct DeviceRow {
    pub id: String,
    pub merchant_id: String,
    pub location_id: Option<String>,
    pub name: Option<String>,
    pub platform: String,
    pub hardware_id: Option<String>,
    pub metadata: String,
    pub push_token: Option<String>,
    pub created_at: i64,
    pub last_seen_at: Option<i64>,
    pub processor_reader: Option<String>,
}

impl TryFrom<DeviceRow> for Device {
    type Error = StoreError;
    fn try_from(r: DeviceRow) -> Result<Self> {
        Ok(Self {
            id: id(&r.id)?,
            merchant_id: id(&r.merchant_id)?,
            location_id: opt_id(r.location_id.as_deref())?,
            name: r.name,
            platform: parsed(&r.platform, Platform::parse)?,
            hardware_id: r.hardware_id,
            metadata: serde_json::from_str(&r.metadata)?,
            push_token: r.push_token,
            created_at: ts(r.created_at)?,
            last_seen_at: opt_ts(r.last_seen_at)?,
            processor_reader: r.processor_reader,
        })
    }
}

pub const SESSION_SELECT: &str = "id, merchant_id, device_id, location_id, status, order_amount, \
    order_tax_amount, purchase_currency, order_items, purchase_started_at, purchase_completed_at, \
    merchant_reference1, merchant_reference2, created_at, updated_at, expires_at, payment_method, \
    attempts, failure_reason, order_id, auto_capture, last_sequence, version, processor, \
    payment_ref, payment_secret";

#[derive(sqlx::FromRow)]
pub struct SessionRow {
    pub id: String,
    pub merchant_id: String,
    pub device_id: String,
    pub location_id: Option<String>,
    pub status: String,
    pub order_amount: i64,
    pub order_tax_amount: i64,
    pub purchase_currency: String,
    pub order_items: String,
    pub purchase_started_at: Option<i64>,
    pub purchase_completed_at: Option<i64>,
    pub merchant_reference1: Option<String>,
    pub merchant_reference2: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub expires_at: i64,
    pub payment_method: Option<String>,
    pub attempts: i64,
    pub failure_reason: Option<String>,
    pub order_id: Option<String>,
    pub auto_capture: i64,
    pub last_sequence: i64,
    pub version: i64,
    pub processor: Option<String>,
    pub payment_ref: Option<String>,
    pub payment_secret: Option<String>,
}

impl SessionRow {
    pub fn into_session(self) -> Result<(Session, i64)> {
        let currency = Currency::parse(&self.purchase_currency)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let items: Vec<LineItem> = serde_json::from_str(&self.order_items)?;
        let session = Session {
            id: id(&self.id)?,
            merchant_id: id(&self.merchant_id)?,
            device_id: id(&self.device_id)?,
            location_id: opt_id(self.location_id.as_deref())?,
            status: parsed(&self.status, SessionStatus::parse)?,
            cart: Cart::from_stored(self.order_amount, self.order_tax_amount, currency, items),
            purchase_started_at: opt_ts(self.purchase_started_at)?,
            purchase_completed_at: opt_ts(self.purchase_completed_at)?,
            merchant_reference1: self.merchant_reference1,
            merchant_reference2: self.merchant_reference2,
            created_at: ts(self.created_at)?,
            updated_at: ts(self.updated_at)?,
            expires_at: ts(self.expires_at)?,
            payment_method: opt_parsed(self.payment_method.as_deref(), PaymentMethod::parse)?,
            attempts: self.attempts,
            failure_reason: opt_parsed(self.failure_reason.as_deref(), PaymentOutcome::parse)?,
            order_id: opt_id(self.order_id.as_deref())?,
            auto_capture: self.auto_capture != 0,
            last_sequence: self.last_sequence,
            payment: self
                .processor
                .zip(self.payment_ref)
                .map(|(processor, reference)| kassa_core::session::PaymentRef {
                    processor,
                    reference,
                }),
            payment_secret: self.payment_secret,
        };
        Ok((session, self.version))
    }
}

#[derive(sqlx::FromRow)]
pub struct TimelineRow {
    pub sequence: i64,
    pub kind: String,
    pub from_status: Option<String>,
    pub to_status: Option<String>,
    pub actor: Option<String>,
    pub attempt_id: Option<String>,
    pub outcome: Option<String>,
    pub at: i64,
}

impl TryFrom<TimelineRow> for TimelineEntry {
    type Error = StoreError;
    fn try_from(r: TimelineRow) -> Result<Self> {
        let entry = match r.kind.as_str() {
            "transition" => Entry::Transition {
                from: opt_parsed(r.from_status.as_deref(), SessionStatus::parse)?,
                to: parsed(r.to_status.as_deref().unwrap_or(""), SessionStatus::parse)?,
                actor: parsed(r.actor.as_deref().unwrap_or(""), Actor::parse)?,
            },
            _ => Entry::Attempt {
                attempt_id: id(r.attempt_id.as_deref().unwrap_or(""))?,
                outcome: parsed(r.outcome.as_deref().unwrap_or(""), PaymentOutcome::parse)?,
            },
        };
        Ok(Self {
            sequence: r.sequence,
            entry,
            at: ts(r.at)?,
        })
    }
}
