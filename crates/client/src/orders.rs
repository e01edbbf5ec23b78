//! Orders (`/ordermanagement/v1/orders`): what a finalized session becomes. Captures,
//! refunds and cancels move money at the processor first; the order changes only once the
//! processor confirmed, and a processor failure is `502 PROCESSOR_ERROR` with nothing changed
//! (retry with the same `Idempotency-Key`).

use crate::call::{self, Call};
use crate::error::Result;
use crate::transport::Transport;
use kassa_api::order::{CreateCapture, CreateRefund, Order};
use reqwest::Method;
use std::sync::Arc;
use uuid::Uuid;

/// Orders. From [`Client::orders`](crate::Client::orders).
#[derive(Debug, Clone)]
pub struct Orders {
    transport: Arc<Transport>,
}

impl Orders {
    pub(crate) fn new(transport: &Arc<Transport>) -> Self {
        Self {
            transport: transport.clone(),
        }
    }

    /// The order with its captures and refunds.
    pub async fn get(&self, id: Uuid) -> Result<Order> {
        self.transport.get(&path(id), &[]).await
    }

    /// Captures up to the remaining authorized amount (`201`, the order after it). More
    /// than that is `400 BAD_VALUE`; an order whose state forbids it, `409 NOT_ALLOWED`.
    /// Sessions created with `auto_capture` (the default) are captured already.
    pub fn capture(&self, id: Uuid, req: &CreateCapture) -> Call<Order> {
        call::json(
            &self.transport,
            Method::POST,
            format!("{}/captures", path(id)),
        )
        .body(req)
    }

    /// Refunds up to what was captured and not yet refunded (`201`, the order after it).
    ///
    /// ```no_run
    /// use kassa_client::api::order::CreateRefund;
    /// # async fn run(client: kassa_client::Client, order_id: uuid::Uuid) -> kassa_client::Result<()> {
    /// let refund = CreateRefund { refunded_amount: 2_500, description: Some("one cup".into()), reference: None };
    /// let order = client.orders().refund(order_id, &refund).idempotency_key("refund-77").await?;
    /// assert_eq!(order.status, "PART_REFUNDED");
    /// # Ok(()) }
    /// ```
    pub fn refund(&self, id: Uuid, req: &CreateRefund) -> Call<Order> {
        call::json(
            &self.transport,
            Method::POST,
            format!("{}/refunds", path(id)),
        )
        .body(req)
    }

    /// Releases the authorization (`204`); only with nothing captured (`409 NOT_ALLOWED`
    /// otherwise).
    pub fn cancel(&self, id: Uuid) -> Call<()> {
        call::empty(
            &self.transport,
            Method::POST,
            format!("{}/cancel", path(id)),
        )
    }
}

fn path(id: Uuid) -> String {
    format!("/ordermanagement/v1/orders/{id}")
}
