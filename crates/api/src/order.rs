//! Orders (`/ordermanagement/v1`).

use chrono::{DateTime, Utc};
use kassa_core::order::{Operation, Order as DomainOrder};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::session::OrderItem;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OrderOperation {
    pub id: Uuid,
    pub amount: i64,
    pub description: Option<String>,
    pub reference: Option<String>,
    #[serde(serialize_with = "crate::time::serialize")]
    pub created_at: DateTime<Utc>,
    /// The card processor's id of this capture (`pi_…`) or refund (`re_…`); null for the
    /// simulated processor.
    #[serde(default)]
    pub processor_reference: Option<String>,
}

impl From<&Operation> for OrderOperation {
    fn from(o: &Operation) -> Self {
        Self {
            id: o.id.0,
            amount: o.amount,
            description: o.description.clone(),
            reference: o.reference.clone(),
            created_at: o.created_at,
            processor_reference: o.processor_reference.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Order {
    pub order_id: Uuid,
    pub session_id: Uuid,
    /// `AUTHORIZED`, `CAPTURED`, `PART_CAPTURED`, `CANCELLED`, `REFUNDED` or `PART_REFUNDED`.
    pub status: String,
    pub order_amount: i64,
    pub original_order_amount: i64,
    pub captured_amount: i64,
    pub refunded_amount: i64,
    pub remaining_authorized_amount: i64,
    pub purchase_currency: String,
    pub order_lines: Vec<OrderItem>,
    pub merchant_reference1: Option<String>,
    pub merchant_reference2: Option<String>,
    pub captures: Vec<OrderOperation>,
    pub refunds: Vec<OrderOperation>,
    #[serde(serialize_with = "crate::time::serialize")]
    pub created_at: DateTime<Utc>,
}

impl From<&DomainOrder> for Order {
    fn from(o: &DomainOrder) -> Self {
        Self {
            order_id: o.id.0,
            session_id: o.session_id.0,
            status: o.status().as_str().into(),
            order_amount: o.order_amount,
            original_order_amount: o.original_order_amount,
            captured_amount: o.captured_amount(),
            refunded_amount: o.refunded_amount(),
            remaining_authorized_amount: o.remaining_authorized_amount(),
            purchase_currency: o.currency.code().into(),
            order_lines: o.lines.iter().map(OrderItem::from).collect(),
            merchant_reference1: o.merchant_reference1.clone(),
            merchant_reference2: o.merchant_reference2.clone(),
            captures: o.captures.iter().map(OrderOperation::from).collect(),
            refunds: o.refunds.iter().map(OrderOperation::from).collect(),
            created_at: o.created_at,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreateCapture {
    pub captured_amount: i64,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub reference: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreateRefund {
    pub refunded_amount: i64,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub reference: Option<String>,
}
