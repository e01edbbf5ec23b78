//! [`Client`]: the merchant's handle on the API, authenticated with an API key, and the
//! entry point to each resource (`client.sessions()`, `client.orders()`, …).

use crate::device::DeviceClient;
use crate::error::Result;
use crate::transport::{Transport, DEFAULT_TIMEOUT};
use crate::{
    ApiKeys, Devices, Enrollments, Events, Locations, Orders, Playground, Sessions,
    WebhookEndpoints,
};
use kassa_api::processor::Processors;
use reqwest::header::HeaderName;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// A merchant's client. Cheap to clone (one shared connection pool); use one per process.
///
/// It authenticates with an API key as `Authorization: Basic <key>` (Kustom's form; the
/// server also takes standard Basic and `Bearer`). The merchant portal's session cookie is a
/// browser credential with CSRF protection and is not needed by a program: use a key.
///
/// ```no_run
/// # async fn run() -> kassa_client::Result<()> {
/// let client = kassa_client::Client::new("http://127.0.0.1:8080", "kassa_test_…")?;
/// let processors = client.processors().await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Client {
    transport: Arc<Transport>,
}

impl Client {
    /// A client for the server at `base_url` (e.g. `https://kassa.example.com`) with the
    /// API key `api_key` (`kassa_test_…` or `kassa_live_…`).
    pub fn new(base_url: &str, api_key: &str) -> Result<Self> {
        Self::builder(base_url, api_key).build()
    }

    /// A client with more settings than [`Client::new`].
    pub fn builder(base_url: &str, api_key: &str) -> ClientBuilder {
        ClientBuilder {
            base_url: base_url.to_string(),
            api_key: api_key.to_string(),
            merchant_id: None,
            timeout: DEFAULT_TIMEOUT,
            http: None,
        }
    }

    /// Payment sessions: create, read, list, long-poll, cancel, timeline.
    pub fn sessions(&self) -> Sessions {
        Sessions::new(&self.transport)
    }

    /// Locations (shops): create, read, list, update, delete.
    pub fn locations(&self) -> Locations {
        Locations::new(&self.transport)
    }

    /// Enrollments (pairing codes for POS devices).
    pub fn enrollments(&self) -> Enrollments {
        Enrollments::new(&self.transport)
    }

    /// Devices (POS apps and card readers).
    pub fn devices(&self) -> Devices {
        Devices::new(&self.transport)
    }

    /// Orders of finalized sessions: read, capture, refund, cancel.
    pub fn orders(&self) -> Orders {
        Orders::new(&self.transport)
    }

    /// Webhook endpoints and their delivery logs.
    pub fn webhook_endpoints(&self) -> WebhookEndpoints {
        WebhookEndpoints::new(&self.transport)
    }

    /// The event feed (with its cursor and long-poll) and redelivery.
    pub fn events(&self) -> Events {
        Events::new(&self.transport)
    }

    /// The merchant's API keys.
    pub fn api_keys(&self) -> ApiKeys {
        ApiKeys::new(&self.transport)
    }

    /// Playground-only calls (simulated devices and taps); `404` on a live server.
    pub fn playground(&self) -> Playground {
        Playground::new(&self.transport)
    }

    /// The card processors this server takes payments with, as this merchant sees them.
    pub async fn processors(&self) -> Result<Processors> {
        self.transport.get("/ipp/v1/processors", &[]).await
    }

    /// A [`DeviceClient`] for a device token (`kdt_…`, from device registration or a
    /// playground device) on the same server, sharing this client's connection pool.
    pub fn device(&self, token: &str) -> Result<DeviceClient> {
        DeviceClient::with_http(self.transport.http().clone(), self.base_url(), token)
    }

    /// The server's base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        self.transport.base()
    }
}

/// Settings for a [`Client`].
#[must_use]
pub struct ClientBuilder {
    base_url: String,
    api_key: String,
    merchant_id: Option<Uuid>,
    timeout: Duration,
    http: Option<reqwest::Client>,
}

/// Without the key: a builder may be logged, the key never is.
impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("base_url", &self.base_url)
            .field("merchant_id", &self.merchant_id)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// Sends `x-merchant-id` on every call: the server then refuses (`403`) a key of any
    /// other merchant, a guard against a configuration that mixes up tenants.
    pub fn merchant_id(mut self, merchant_id: Uuid) -> Self {
        self.merchant_id = Some(merchant_id);
        self
    }

    /// How long a call may take (60 s by default). Long-polls get their wait on top.
    /// Ignored with [`ClientBuilder::http_client`], whose own settings apply.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Uses this `reqwest` client (proxies, custom roots, a shared pool).
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// The client; fails on a base URL that is not `http(s)://…` or a key that cannot be
    /// sent in a header.
    pub fn build(self) -> Result<Client> {
        let extra = self
            .merchant_id
            .map(|id| (HeaderName::from_static("x-merchant-id"), id.to_string()))
            .into_iter()
            .collect();
        let transport = Transport::new(
            self.http,
            &self.base_url,
            Some(format!("Basic {}", self.api_key)),
            extra,
            self.timeout,
        )?;
        Ok(Client {
            transport: Arc::new(transport),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_the_key() {
        let builder = Client::builder("http://127.0.0.1:8080/", "kassa_test_secret");
        assert!(!format!("{builder:?}").contains("secret"));
        let client = builder.build().unwrap();
        assert!(!format!("{client:?}").contains("secret"));
        assert_eq!(client.base_url(), "http://127.0.0.1:8080");
        let device = client.device("kdt_secret").unwrap();
        assert!(!format!("{device:?}").contains("secret"));
    }

    #[test]
    fn a_base_url_must_be_http() {
        let err = Client::new("ftp://example.com", "k").unwrap_err();
        assert!(matches!(err, crate::Error::Config(_)), "{err:?}");
        let err = Client::new("http://127.0.0.1", "bad\nkey").unwrap_err();
        assert!(matches!(err, crate::Error::Config(_)), "{err:?}");
    }
}
