//! Webhook endpoints (`/ipp/v1/webhook-endpoints`): where Kassa POSTs events, signed with
//! the endpoint's `whsec_` secret, and the log of every delivery attempt. Verify deliveries
//! with [`verify_webhook`](crate::verify_webhook).

use crate::call::{self, Call};
use crate::error::Result;
use crate::pages::List;
use crate::transport::Transport;
use kassa_api::webhook::{
    CreateWebhookEndpoint, DeliveryAttempt, UpdateWebhookEndpoint, WebhookEndpoint,
};
use reqwest::Method;
use std::sync::Arc;
use uuid::Uuid;

/// Webhook endpoints. From [`Client::webhook_endpoints`](crate::Client::webhook_endpoints).
#[derive(Debug, Clone)]
pub struct WebhookEndpoints {
    transport: Arc<Transport>,
}

impl WebhookEndpoints {
    pub(crate) fn new(transport: &Arc<Transport>) -> Self {
        Self {
            transport: transport.clone(),
        }
    }

    /// Creates an endpoint (`201`); its `secret` is in this answer only (and in a rotation's).
    /// Live servers take only `https://` URLs at public addresses.
    ///
    /// ```no_run
    /// use kassa_client::api::webhook::CreateWebhookEndpoint;
    /// # async fn run(client: kassa_client::Client) -> kassa_client::Result<()> {
    /// let endpoint = client
    ///     .webhook_endpoints()
    ///     .create(&CreateWebhookEndpoint {
    ///         url: "https://shop.example.com/kassa/webhooks".into(),
    ///         events: Some(vec!["ipp.session.finalized".into()]),
    ///         description: None,
    ///     })
    ///     .await?;
    /// let secret = endpoint.secret.expect("shown at creation");
    /// # Ok(()) }
    /// ```
    pub fn create(&self, req: &CreateWebhookEndpoint) -> Call<WebhookEndpoint> {
        call::json(
            &self.transport,
            Method::POST,
            "/ipp/v1/webhook-endpoints".into(),
        )
        .body(req)
    }

    pub async fn get(&self, id: Uuid) -> Result<WebhookEndpoint> {
        self.transport.get(&path(id), &[]).await
    }

    /// Every endpoint, newest first.
    pub fn list(&self) -> List<WebhookEndpoint> {
        List::new(
            &self.transport,
            "/ipp/v1/webhook-endpoints".into(),
            Vec::new(),
        )
    }

    /// Changes the fields `req` sets; the others keep their value.
    pub fn update(&self, id: Uuid, req: &UpdateWebhookEndpoint) -> Call<WebhookEndpoint> {
        call::json(&self.transport, Method::PUT, path(id)).body(req)
    }

    /// Starts or stops deliveries to the endpoint. Enabling one that Kassa disabled (it
    /// answered `410 Gone`) does not send what happened meanwhile: redeliver those by id.
    pub fn set_enabled(&self, id: Uuid, enabled: bool) -> Call<WebhookEndpoint> {
        let req = UpdateWebhookEndpoint {
            enabled: Some(enabled),
            ..Default::default()
        };
        self.update(id, &req)
    }

    /// A new signing secret, in the answer. For 10 minutes deliveries are signed with the old
    /// and the new secret, so the receiver can switch without refusing any.
    pub fn rotate_secret(&self, id: Uuid) -> Call<WebhookEndpoint> {
        call::json(
            &self.transport,
            Method::POST,
            format!("{}/rotate-secret", path(id)),
        )
    }

    /// Deletes the endpoint with its pending deliveries and its log (`204`).
    pub fn delete(&self, id: Uuid) -> Call<()> {
        call::empty(&self.transport, Method::DELETE, path(id))
    }

    /// The endpoint's delivery attempts, newest first: status code, latency, error, and when
    /// the next attempt is due. Resend an event with
    /// [`Events::redeliver`](crate::Events::redeliver).
    pub fn deliveries(&self, id: Uuid) -> List<DeliveryAttempt> {
        List::new(
            &self.transport,
            format!("{}/deliveries", path(id)),
            Vec::new(),
        )
    }
}

fn path(id: Uuid) -> String {
    format!("/ipp/v1/webhook-endpoints/{id}")
}
