//! Orders: what a finalized session authorized, and the captures, refunds and cancellation
//! the merchant does afterwards. The status is derived from the amounts, so it cannot
//! disagree with them.

use crate::cart::LineItem;
use crate::money::Currency;
use crate::session::{PaymentRef, Session};
use crate::{DomainError, MerchantId, OrderId, OrderOperationId, SessionId, Timestamp};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderStatus {
    Authorized,
    Captured,
    PartCaptured,
    Cancelled,
    Refunded,
    PartRefunded,
}

/// A capture or a refund.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operation {
    pub id: OrderOperationId,
    pub amount: i64,
    pub description: Option<String>,
    pub reference: Option<String>,
    pub created_at: Timestamp,
    /// The processor's id of this capture or refund (Stripe: `pi_…` for a capture, `re_…`
    /// for a refund); `None` for the simulated processor.
    #[serde(default)]
    pub processor_reference: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub id: OrderId,
    pub merchant_id: MerchantId,
    pub session_id: SessionId,
    pub order_amount: i64,
    pub original_order_amount: i64,
    pub currency: Currency,
    pub lines: Vec<LineItem>,
    pub merchant_reference1: Option<String>,
    pub merchant_reference2: Option<String>,
    pub captures: Vec<Operation>,
    pub refunds: Vec<Operation>,
    pub cancelled: bool,
    pub created_at: Timestamp,
    /// The processor's payment that moves this order's money; `None` for the simulated
    /// processor. A processor-paid order captures once (Stripe releases whatever a capture
    /// leaves uncaptured).
    #[serde(default)]
    pub payment: Option<PaymentRef>,
}

impl OrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Authorized => "AUTHORIZED",
            Self::Captured => "CAPTURED",
            Self::PartCaptured => "PART_CAPTURED",
            Self::Cancelled => "CANCELLED",
            Self::Refunded => "REFUNDED",
            Self::PartRefunded => "PART_REFUNDED",
        }
    }
}

impl Order {
    /// The order a successful attempt creates; captured in full when the session asked for it.
    pub fn from_session(session: &Session, id: OrderId, now: Timestamp) -> Self {
        let mut order = Self {
            id,
            merchant_id: session.merchant_id,
            session_id: session.id,
            order_amount: session.cart.order_amount(),
            original_order_amount: session.cart.order_amount(),
            currency: session.cart.currency(),
            lines: session.cart.items().to_vec(),
            merchant_reference1: session.merchant_reference1.clone(),
            merchant_reference2: session.merchant_reference2.clone(),
            captures: Vec::new(),
            refunds: Vec::new(),
            cancelled: false,
            created_at: now,
            payment: session.payment.clone(),
        };
        if session.auto_capture {
            let processor_reference = order.payment.as_ref().map(|p| p.reference.clone());
            order.captures.push(Operation {
                id: OrderOperationId::new(),
                amount: order.order_amount,
                description: Some("auto capture".into()),
                reference: None,
                created_at: now,
                processor_reference,
            });
        }
        order
    }

    /// True once a processor-paid order has been captured: the processor released the rest.
    fn released(&self) -> bool {
        self.payment.is_some() && !self.captures.is_empty()
    }

    pub fn captured_amount(&self) -> i64 {
        self.captures.iter().map(|c| c.amount).sum()
    }

    pub fn refunded_amount(&self) -> i64 {
        self.refunds.iter().map(|r| r.amount).sum()
    }

    pub fn remaining_authorized_amount(&self) -> i64 {
        if self.cancelled || self.released() {
            0
        } else {
            self.order_amount - self.captured_amount()
        }
    }

    pub fn status(&self) -> OrderStatus {
        let (captured, refunded) = (self.captured_amount(), self.refunded_amount());
        match () {
            _ if self.cancelled => OrderStatus::Cancelled,
            _ if refunded > 0 && refunded == captured => OrderStatus::Refunded,
            _ if refunded > 0 => OrderStatus::PartRefunded,
            _ if captured == self.order_amount || self.released() => OrderStatus::Captured,
            _ if captured > 0 => OrderStatus::PartCaptured,
            _ => OrderStatus::Authorized,
        }
    }

    pub fn capture(&mut self, op: Operation) -> Result<(), DomainError> {
        if self.cancelled {
            return Err(DomainError::not_allowed("cannot capture a CANCELLED order"));
        }
        if self.released() {
            return Err(DomainError::not_allowed(
                "the order is already captured: its processor captures a payment once and \
                 released the rest",
            ));
        }
        check_amount(
            "captured_amount",
            op.amount,
            self.remaining_authorized_amount(),
        )?;
        self.captures.push(op);
        Ok(())
    }

    pub fn refund(&mut self, op: Operation) -> Result<(), DomainError> {
        let refundable = self.captured_amount() - self.refunded_amount();
        check_amount("refunded_amount", op.amount, refundable)?;
        self.refunds.push(op);
        Ok(())
    }

    /// True if the processor's operation with this id is already on the order (a retried
    /// call, or the processor's webhook about a refund Kassa made itself).
    pub fn has_processor_operation(&self, reference: &str) -> bool {
        self.captures
            .iter()
            .chain(&self.refunds)
            .any(|op| op.processor_reference.as_deref() == Some(reference))
    }

    /// Releases the authorization. Cancelling twice is a no-op; after a capture it is refused.
    pub fn cancel(&mut self) -> Result<(), DomainError> {
        if self.captured_amount() > 0 {
            return Err(DomainError::not_allowed(format!(
                "cannot cancel an order that is {}: refund it instead",
                self.status().as_str()
            )));
        }
        self.cancelled = true;
        Ok(())
    }
}

fn check_amount(field: &str, amount: i64, limit: i64) -> Result<(), DomainError> {
    if amount <= 0 {
        return Err(DomainError::field(field, "must be greater than 0"));
    }
    if amount > limit {
        return Err(DomainError::field(
            field,
            format!("must not exceed the available amount ({amount} > {limit})"),
        ));
    }
    Ok(())
}

#[cfg(test)]
#[path = "order_tests.rs"]
mod tests;
