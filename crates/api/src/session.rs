//! Sessions: the create request, the session object, the POS calls and the timeline.

use chrono::{DateTime, Utc};
use kassa_core::cart::{ItemType, LineItem};
use kassa_core::event::{Entry, TimelineEntry};
use kassa_core::session::Session as DomainSession;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// One cart line. Amounts are minor units; discounts, gift cards and store credit are negative.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OrderItem {
    /// `physical` (default), `discount`, `shipping_fee`, `sales_tax`, `digital`, `gift_card`,
    /// `store_credit` or `surcharge`.
    #[serde(rename = "type", default = "physical")]
    pub item_type: String,
    #[serde(default)]
    #[schema(max_length = 255)]
    pub reference: Option<String>,
    /// 1..255 characters.
    #[schema(min_length = 1, max_length = 255)]
    pub name: String,
    /// At least 1; default 1.
    #[serde(default = "one")]
    pub quantity: i64,
    pub unit_price: i64,
    /// Must equal `quantity × unit_price − total_discount_amount`.
    pub total_amount: i64,
    /// Basis points, 0..10000 (2500 = 25 %).
    pub tax_rate: i64,
    #[serde(default)]
    pub total_discount_amount: Option<i64>,
    pub total_tax_amount: i64,
}

fn physical() -> String {
    "physical".into()
}

fn one() -> i64 {
    1
}

impl From<&LineItem> for OrderItem {
    fn from(i: &LineItem) -> Self {
        Self {
            item_type: serde_json::to_value(i.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            reference: i.reference.clone(),
            name: i.name.clone(),
            quantity: i.quantity,
            unit_price: i.unit_price,
            total_amount: i.total_amount,
            tax_rate: i.tax_rate,
            total_discount_amount: Some(i.total_discount_amount),
            total_tax_amount: i.total_tax_amount,
        }
    }
}

impl OrderItem {
    /// The domain line, or the message for an unknown `type`.
    pub fn to_line(&self) -> Result<LineItem, String> {
        let kind: ItemType =
            serde_json::from_value(serde_json::Value::String(self.item_type.clone()))
                .map_err(|_| format!("unknown item type {:?}", self.item_type))?;
        Ok(LineItem {
            kind,
            reference: self.reference.clone(),
            name: self.name.clone(),
            quantity: self.quantity,
            unit_price: self.unit_price,
            total_amount: self.total_amount,
            tax_rate: self.tax_rate,
            total_discount_amount: self.total_discount_amount.unwrap_or(0),
            total_tax_amount: self.total_tax_amount,
        })
    }
}

/// `POST /ipp/v1/sessions`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreateSession {
    /// A device of this merchant (and of `location_id` when given).
    pub device_id: Uuid,
    /// > 0 and equal to the sum of `order_items[].total_amount`.
    #[schema(minimum = 1)]
    pub order_amount: i64,
    /// Defaults to the sum of `order_items[].total_tax_amount`; when given it must equal it.
    #[serde(default)]
    pub order_tax_amount: Option<i64>,
    /// ISO 4217, upper case; `XXX` and `XTS` (no currency, testing) are refused.
    #[schema(pattern = "^[A-Z]{3}$")]
    pub purchase_currency: String,
    #[serde(default)]
    pub purchase_started_at: Option<DateTime<Utc>>,
    #[serde(default)]
    #[schema(max_length = 255)]
    pub merchant_reference1: Option<String>,
    #[serde(default)]
    #[schema(max_length = 255)]
    pub merchant_reference2: Option<String>,
    /// 1..1000 items.
    #[schema(min_items = 1, max_items = 1000)]
    pub order_items: Vec<OrderItem>,
    /// Kassa extension: milliseconds until the session expires, 10 s .. 24 h (default 5 min).
    #[serde(default)]
    #[schema(minimum = 10_000, maximum = 86_400_000)]
    pub expires_in: Option<i64>,
    /// Kassa extension: capture the order when the session finalizes (default true).
    #[serde(default)]
    pub auto_capture: Option<bool>,
}

/// A payment session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Session {
    pub session_id: Uuid,
    /// `CREATED`, `ACTIVE`, `FINALIZED`, `CANCELLED`, `EXPIRED` or `FAILED`.
    pub status: String,
    pub device_id: Uuid,
    pub location_id: Option<Uuid>,
    pub merchant_id: Uuid,
    /// Set once the session is `FINALIZED`.
    pub order_id: Option<Uuid>,
    pub order_amount: i64,
    pub order_tax_amount: i64,
    pub purchase_currency: String,
    #[serde(serialize_with = "crate::time::option::serialize")]
    pub purchase_started_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "crate::time::option::serialize")]
    pub purchase_completed_at: Option<DateTime<Utc>>,
    pub merchant_reference1: Option<String>,
    pub merchant_reference2: Option<String>,
    pub order_items: Vec<OrderItem>,
    #[serde(serialize_with = "crate::time::serialize")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::time::serialize")]
    pub updated_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::time::serialize")]
    pub expires_at: DateTime<Utc>,
    /// `CARD_TAP`, `KLARNA`, `SWISH` or `VIPPS`; null until the session is activated.
    pub payment_method: Option<String>,
    /// Finalize attempts so far, declined or not.
    pub attempts: i64,
    /// The last decline's outcome name, e.g. `INSUFFICIENT_FUNDS`.
    pub failure_reason: Option<String>,
    pub auto_capture: bool,
    /// The card processor's payment behind the session, once one was prepared (at
    /// `PUT …/payment` with `CARD_TAP` on a server with a real processor, or at create for a
    /// processor-driven reader). Absent for the simulated processor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processor: Option<SessionProcessor>,
}

/// `{"name":"stripe","payment_intent":"pi_…","client_secret":"…"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SessionProcessor {
    /// `stripe`.
    pub name: String,
    /// The processor's payment id (Stripe: the PaymentIntent, `pi_…`).
    pub payment_intent: String,
    /// What the POS app's SDK needs to collect the payment. Only in answers to the
    /// session's own device; merchants never see it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

impl From<&DomainSession> for Session {
    fn from(s: &DomainSession) -> Self {
        Self {
            session_id: s.id.0,
            status: s.status.as_str().into(),
            device_id: s.device_id.0,
            location_id: s.location_id.map(|l| l.0),
            merchant_id: s.merchant_id.0,
            order_id: s.order_id.map(|o| o.0),
            order_amount: s.cart.order_amount(),
            order_tax_amount: s.cart.order_tax_amount(),
            purchase_currency: s.cart.currency().code().into(),
            purchase_started_at: s.purchase_started_at,
            purchase_completed_at: s.purchase_completed_at,
            merchant_reference1: s.merchant_reference1.clone(),
            merchant_reference2: s.merchant_reference2.clone(),
            order_items: s.cart.items().iter().map(OrderItem::from).collect(),
            created_at: s.created_at,
            updated_at: s.updated_at,
            expires_at: s.expires_at,
            payment_method: s.payment_method.map(|m| m.as_str().into()),
            attempts: s.attempts,
            failure_reason: s.failure_reason.map(|f| f.as_str().into()),
            auto_capture: s.auto_capture,
            processor: s.payment.as_ref().map(|p| SessionProcessor {
                name: p.processor.clone(),
                payment_intent: p.reference.clone(),
                client_secret: None,
            }),
        }
    }
}

impl Session {
    /// The session as its own device sees it: with the secret its SDK needs.
    pub fn for_device(s: &DomainSession) -> Self {
        let mut session = Self::from(s);
        if let Some(processor) = &mut session.processor {
            processor.client_secret = s.payment_secret.clone();
        }
        session
    }
}

/// `PUT /ipp/v1/sessions/{session_id}/payment`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChoosePayment {
    /// `CARD_TAP`, `KLARNA`, `SWISH` or `VIPPS`.
    pub payment_method: String,
}

/// `POST /ipp/v1/sessions/{session_id}/finalize`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Finalize {
    /// Chosen by the device per attempt; repeating it returns the first answer.
    pub attempt_id: Uuid,
    pub payment: PaymentResult,
}

/// The processor's result: `{"processor":"simulated","outcome":"SUCCESS"}` (playground) or
/// `{"processor":"<name>","reference":"<processor payment id>"}`, verified with the processor.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PaymentResult {
    pub processor: String,
    #[serde(default)]
    pub outcome: Option<String>,
    #[serde(default)]
    pub reference: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FinalizeResponse {
    /// `SUCCEEDED` or `FAILED`.
    pub result: String,
    pub failure_reason: Option<String>,
    pub session: Session,
}

/// One timeline entry: a transition or a payment attempt.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TimelineItem {
    pub sequence: i64,
    /// `transition` or `attempt`.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// `MERCHANT`, `DEVICE`, `EXPIRY`, `SIMULATOR` or `PROCESSOR` (a card processor's word:
    /// its webhook or the reconciler).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempt_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    #[serde(serialize_with = "crate::time::serialize")]
    pub at: DateTime<Utc>,
}

impl From<&TimelineEntry> for TimelineItem {
    fn from(e: &TimelineEntry) -> Self {
        let mut item = Self {
            sequence: e.sequence,
            kind: String::new(),
            from: None,
            to: None,
            actor: None,
            attempt_id: None,
            outcome: None,
            failure_reason: None,
            at: e.at,
        };
        match &e.entry {
            Entry::Transition { from, to, actor } => {
                item.kind = "transition".into();
                item.from = from.map(|s| s.as_str().into());
                item.to = Some(to.as_str().into());
                item.actor = Some(actor.as_str().into());
            }
            Entry::Attempt {
                attempt_id,
                outcome,
            } => {
                item.kind = "attempt".into();
                item.attempt_id = Some(attempt_id.0);
                item.outcome = Some(outcome.as_str().into());
                item.failure_reason = (!outcome.is_success()).then(|| outcome.as_str().into());
            }
        }
        item
    }
}

/// `GET /ipp/v1/sessions/{session_id}/events`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Timeline {
    pub session_id: Uuid,
    pub events: Vec<TimelineItem>,
}
