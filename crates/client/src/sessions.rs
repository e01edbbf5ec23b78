//! Payment sessions (`/ipp/v1/sessions`): create one for a device, follow it with the
//! long-poll, list them with every filter, cancel, and read the timeline.

use crate::call::{self, Call};
use crate::error::{Error, Result};
use crate::pages::List;
use crate::transport::{push_opt, wait_secs, Transport};
use chrono::{DateTime, SecondsFormat, Utc};
use kassa_api::session::{CreateSession, Session, Timeline};
use kassa_core::session::SessionStatus;
use reqwest::Method;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// The longest single long-poll the server holds (`wait` ≤ 30 s).
pub const MAX_WAIT: Duration = Duration::from_secs(30);

/// Payment sessions. From [`Client::sessions`](crate::Client::sessions).
#[derive(Debug, Clone)]
pub struct Sessions {
    transport: Arc<Transport>,
}

impl Sessions {
    pub(crate) fn new(transport: &Arc<Transport>) -> Self {
        Self {
            transport: transport.clone(),
        }
    }

    /// Creates a session on `req.device_id`, which gets it pushed (`200`, status
    /// `CREATED`). A device with an open session: `409 DEVICE_BUSY`; a cart whose sums do
    /// not add up: `400 BAD_VALUE` naming the field.
    ///
    /// ```no_run
    /// use kassa_client::api::session::{CreateSession, OrderItem};
    /// # async fn run(client: kassa_client::Client, device_id: uuid::Uuid) -> kassa_client::Result<()> {
    /// let req = CreateSession {
    ///     device_id,
    ///     order_amount: 12_500,
    ///     order_tax_amount: None,
    ///     purchase_currency: "SEK".into(),
    ///     purchase_started_at: None,
    ///     merchant_reference1: Some("order-1001".into()),
    ///     merchant_reference2: None,
    ///     order_items: vec![OrderItem {
    ///         item_type: "physical".into(),
    ///         reference: None,
    ///         name: "Espresso".into(),
    ///         quantity: 1,
    ///         unit_price: 12_500,
    ///         total_amount: 12_500,
    ///         tax_rate: 2500,
    ///         total_discount_amount: None,
    ///         total_tax_amount: 2_500,
    ///     }],
    ///     expires_in: None,
    ///     auto_capture: None,
    /// };
    /// let session = client.sessions().create(&req).idempotency_key("order-1001").await?;
    /// # Ok(()) }
    /// ```
    pub fn create(&self, req: &CreateSession) -> Call<Session> {
        call::json(&self.transport, Method::POST, "/ipp/v1/sessions".into()).body(req)
    }

    /// [`create`](Sessions::create), requiring the device to be at `location_id`
    /// (`400` otherwise).
    pub fn create_at(&self, location_id: Uuid, req: &CreateSession) -> Call<Session> {
        self.create(req).query("location_id", Some(location_id))
    }

    /// The session now.
    pub async fn get(&self, id: Uuid) -> Result<Session> {
        self.transport.get(&path(id), &[]).await
    }

    /// The session as soon as its status is no longer `if_status`, or as it is after `wait`
    /// (at most [`MAX_WAIT`]; longer is cut to it). One request, held by the server.
    pub async fn get_when_changed(
        &self,
        id: Uuid,
        if_status: SessionStatus,
        wait: Duration,
    ) -> Result<Session> {
        self.long_poll(id, if_status.as_str(), wait).await
    }

    async fn long_poll(&self, id: Uuid, if_status: &str, wait: Duration) -> Result<Session> {
        let secs = wait_secs(wait, MAX_WAIT.as_secs());
        let query = [("wait", secs.to_string()), ("if_status", if_status.into())];
        self.transport
            .long_poll(&path(id), &query, Duration::from_secs(secs))
            .await
    }

    /// Waits, with as many long-polls as it takes, until the session has status `want`, and
    /// returns it then. Fails with [`Error::StatusUnreachable`] once the session settles in
    /// another terminal status (it can never get there), and with [`Error::WaitTimedOut`]
    /// after `timeout`; both carry the session as last seen.
    ///
    /// ```no_run
    /// use kassa_client::SessionStatus;
    /// use std::time::Duration;
    /// # async fn run(client: kassa_client::Client, id: uuid::Uuid) -> kassa_client::Result<()> {
    /// match client.sessions().wait_for_status(id, SessionStatus::Finalized, Duration::from_secs(120)).await {
    ///     Ok(paid) => println!("paid; order {:?}", paid.order_id),
    ///     Err(kassa_client::Error::StatusUnreachable(s)) => println!("not paid: {}", s.status),
    ///     Err(e) => return Err(e),
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn wait_for_status(
        &self,
        id: Uuid,
        want: SessionStatus,
        timeout: Duration,
    ) -> Result<Session> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut session = self.get(id).await?;
        loop {
            match SessionStatus::parse(&session.status) {
                Some(status) if status == want => return Ok(session),
                Some(status) if !status.is_open() => {
                    return Err(Error::StatusUnreachable(Box::new(session)))
                }
                // Open, or a status newer than this client: keep waiting for a change.
                _ => {}
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return Err(Error::WaitTimedOut(Box::new(session)));
            }
            let poll = self.long_poll(id, &session.status, left.min(MAX_WAIT));
            match tokio::time::timeout_at(deadline, poll).await {
                Ok(next) => session = next?,
                Err(_) => return Err(Error::WaitTimedOut(Box::new(session))),
            }
        }
    }

    /// The merchant's sessions matching `filter`, newest first.
    ///
    /// ```no_run
    /// use futures::TryStreamExt;
    /// use kassa_client::{SessionFilter, SessionStatus};
    /// # async fn run(client: kassa_client::Client) -> kassa_client::Result<()> {
    /// let filter = SessionFilter {
    ///     statuses: vec![SessionStatus::Created, SessionStatus::Active],
    ///     ..Default::default()
    /// };
    /// let open: Vec<_> = client.sessions().list(&filter).stream().try_collect().await?;
    /// # Ok(()) }
    /// ```
    pub fn list(&self, filter: &SessionFilter) -> List<Session> {
        List::new(&self.transport, "/ipp/v1/sessions".into(), filter.query())
    }

    /// Cancels the session (`200`, `CANCELLED`). Cancelling a cancelled session is a no-op;
    /// a `FINALIZED`, `EXPIRED` or `FAILED` one is `409 NOT_ALLOWED` naming its status.
    pub fn cancel(&self, id: Uuid) -> Call<Session> {
        call::json(&self.transport, Method::PUT, format!("{}/cancel", path(id)))
    }

    /// The session's timeline, oldest first: every transition and payment attempt.
    pub async fn timeline(&self, id: Uuid) -> Result<Timeline> {
        self.transport
            .get(&format!("{}/events", path(id)), &[])
            .await
    }
}

/// Filters of [`Sessions::list`]; the default lists every session.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionFilter {
    /// Any of these statuses; empty means all.
    pub statuses: Vec<SessionStatus>,
    pub device_id: Option<Uuid>,
    pub location_id: Option<Uuid>,
    /// Exactly this `merchant_reference1`.
    pub merchant_reference1: Option<String>,
    /// Created at or after this moment.
    pub created_after: Option<DateTime<Utc>>,
}

impl SessionFilter {
    fn query(&self) -> Vec<(&'static str, String)> {
        let mut query = Vec::new();
        if !self.statuses.is_empty() {
            let statuses: Vec<_> = self.statuses.iter().map(|s| s.as_str()).collect();
            query.push(("status", statuses.join(",")));
        }
        push_opt(&mut query, "device_id", self.device_id);
        push_opt(&mut query, "location_id", self.location_id);
        push_opt(
            &mut query,
            "merchant_reference1",
            self.merchant_reference1.as_ref(),
        );
        push_opt(
            &mut query,
            "created_after",
            self.created_after
                .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true)),
        );
        query
    }
}

pub(crate) fn path(id: Uuid) -> String {
    format!("/ipp/v1/sessions/{id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filter_sends_every_field_it_has() {
        let filter = SessionFilter {
            statuses: vec![SessionStatus::Created, SessionStatus::Active],
            device_id: Some(Uuid::nil()),
            location_id: None,
            merchant_reference1: Some("order-1".into()),
            created_after: DateTime::parse_from_rfc3339("2026-06-05T18:33:39.608Z")
                .ok()
                .map(|t| t.with_timezone(&Utc)),
        };
        assert_eq!(
            filter.query(),
            [
                ("status", "CREATED,ACTIVE".to_string()),
                ("device_id", Uuid::nil().to_string()),
                ("merchant_reference1", "order-1".into()),
                ("created_after", "2026-06-05T18:33:39.608Z".into()),
            ]
        );
        assert!(SessionFilter::default().query().is_empty());
    }
}
