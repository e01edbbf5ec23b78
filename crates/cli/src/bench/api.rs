//! The few merchant, playground and device calls the scenarios make, through `kassa-client`
//! (one `Client`, one connection pool shared by every task and every device), the checks the
//! bench puts on their answers, and how a failed call is named in the error table: the HTTP
//! status with the contract's error code, or the transport error.

use kassa_client::api::device::{CreateEnrollment, CreateSimulatedDevice, Device, RegisterDevice};
use kassa_client::api::session::{CreateSession, Finalize, OrderItem, PaymentResult};
use kassa_client::api::webhook::CreateWebhookEndpoint;
use kassa_client::{Client, DeviceClient, DeviceFilter, Error, ErrorCode};
use std::collections::BTreeMap;
use std::time::Duration;
use uuid::Uuid;

/// Why an operation failed, as counted in the report (`409 DEVICE_BUSY`, `timeout`, …).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Failure(pub String);

impl Failure {
    pub fn new(what: impl Into<String>) -> Self {
        Self(what.into())
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        match &e {
            Error::Api(refusal) => Self(format!("{} {}", refusal.status, refusal.code)),
            Error::Transport(t) if t.is_timeout() => Self::new("timeout"),
            Error::Transport(t) if t.is_connect() => Self::new("connect error"),
            Error::Transport(_) => Self::new("transport error"),
            Error::Decode { .. } => Self::new("answer does not decode"),
            Error::WebSocket(w) => Self(format!("stream error: {w}")),
            _ => Self(e.to_string()),
        }
    }
}

/// A device the bench drives (a simulated one, or a phone it paired): its id and a client
/// with its bearer token, on the merchant client's connection pool.
#[derive(Debug, Clone)]
pub struct SimDevice {
    pub id: Uuid,
    pub client: DeviceClient,
}

pub struct Api {
    client: Client,
}

/// A cart like a small café order: two lines, VAT 25 %.
fn session_body(device_id: Uuid) -> CreateSession {
    let line = |name: &str, quantity, unit_price, total_tax_amount| OrderItem {
        item_type: "physical".into(),
        reference: None,
        name: name.into(),
        quantity,
        unit_price,
        total_amount: quantity * unit_price,
        tax_rate: 2500,
        total_discount_amount: None,
        total_tax_amount,
    };
    CreateSession {
        device_id,
        order_amount: 12500,
        order_tax_amount: Some(2500),
        purchase_currency: "SEK".into(),
        purchase_started_at: None,
        merchant_reference1: Some("bench".into()),
        merchant_reference2: None,
        order_items: vec![
            line("Espresso", 2, 3500, 1400),
            line("Kanelbulle", 1, 5500, 1100),
        ],
        expires_in: None,
        auto_capture: None,
    }
}

fn bench_metadata() -> Option<BTreeMap<String, String>> {
    Some(BTreeMap::from([("bench".into(), "true".into())]))
}

impl Api {
    /// One client for the whole run. Its `reqwest` pool keeps an idle connection per
    /// in-flight operation (`concurrency`), so no operation waits for a handshake after the
    /// first round; clones of the client and the device clients share that pool.
    pub fn new(base: &str, api_key: &str, concurrency: usize) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("kassa-bench/", env!("CARGO_PKG_VERSION")))
            .pool_max_idle_per_host(concurrency)
            .tcp_nodelay(true)
            .timeout(Duration::from_secs(30))
            .build()?;
        let client = Client::builder(base, api_key).http_client(http).build()?;
        Ok(Self { client })
    }

    /// Fails early, with the reason, when the server is down or the key is refused.
    pub async fn check(&self) -> anyhow::Result<()> {
        let filter = DeviceFilter::default();
        self.client
            .devices()
            .list(&filter)
            .page_size(1)
            .page(0)
            .await?;
        Ok(())
    }

    pub async fn create_device(&self, name: &str) -> Result<SimDevice, Failure> {
        let req = CreateSimulatedDevice {
            name: name.into(),
            location_id: None,
            metadata: bench_metadata(),
        };
        let device = self.client.playground().create_device(&req).await?;
        self.device_of(&device)
    }

    /// A one-time pairing code, as the merchant makes one for a new till.
    pub async fn enrollment_code(&self) -> Result<String, Failure> {
        let req = CreateEnrollment {
            metadata: bench_metadata(),
            ..Default::default()
        };
        let enrollment = self.client.enrollments().create(&req).await?;
        enrollment
            .enrollment_code
            .ok_or_else(|| Failure::new("enrollment response without enrollment_code"))
    }

    /// Registers an iPhone (Tap to Pay) with `code`, as its app would. The server allows 10
    /// registrations a minute per client address: `None` when that limit refused this one
    /// (`429 RATE_LIMITED`), so the caller can wait and try again.
    pub async fn register_phone(
        &self,
        code: &str,
        name: &str,
    ) -> Result<Option<SimDevice>, Failure> {
        let req = RegisterDevice {
            enrollment_code: code.into(),
            hardware_id: None,
            platform: "IOS".into(),
            name: Some(name.into()),
            push_token: None,
        };
        // Registration makes a client of its own (it has no credentials yet); the phone's
        // timed calls go through this client's pool instead.
        match DeviceClient::register(self.client.base_url(), &req).await {
            Ok((_, device)) => self.device_of(&device).map(Some),
            Err(e) if e.code() == Some(&ErrorCode::RateLimited) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Creates a session on `device`; returns its id.
    pub async fn create_session(&self, device: Uuid) -> Result<Uuid, Failure> {
        let session = self.client.sessions().create(&session_body(device)).await?;
        match session.status.as_str() {
            "CREATED" => Ok(session.session_id),
            _ => Err(Failure::new("create answered without a CREATED session")),
        }
    }

    pub async fn cancel_session(&self, id: Uuid) -> Result<(), Failure> {
        self.client.sessions().cancel(id).await?;
        Ok(())
    }

    /// Simulates a successful card tap; the session must end FINALIZED with an order.
    pub async fn simulate_tap(&self, id: Uuid) -> Result<(), Failure> {
        let answer = self.client.playground().simulate_tap(id, None).await?;
        let session = &answer.session;
        match (session.status.as_str(), session.order_id) {
            ("FINALIZED", Some(_)) => Ok(()),
            _ => Err(Failure::new("tap did not finalize with an order")),
        }
    }

    /// The device picks card, with its own token: `CREATED` → `ACTIVE`. Returns the
    /// PaymentIntent the server prepared at its card processor, if it uses one (a phone on a
    /// server with Stripe).
    pub async fn choose_card(
        &self,
        device: &SimDevice,
        id: Uuid,
    ) -> Result<Option<String>, Failure> {
        let session = device.client.choose_payment(id, "CARD_TAP").await?;
        match session.status.as_str() {
            "ACTIVE" => Ok(session.processor.map(|p| p.payment_intent)),
            _ => Err(Failure::new("payment answered without an ACTIVE session")),
        }
    }

    /// The device reports its payment; the session must end FINALIZED.
    pub async fn finalize(
        &self,
        device: &SimDevice,
        id: Uuid,
        payment: PaymentResult,
    ) -> Result<(), Failure> {
        let req = Finalize {
            attempt_id: Uuid::new_v4(),
            payment,
        };
        let answer = device.client.finalize(id, &req).await?;
        match (answer.result.as_str(), answer.session.status.as_str()) {
            ("SUCCEEDED", "FINALIZED") => Ok(()),
            _ => Err(Failure::new("finalize did not succeed")),
        }
    }

    /// Registers `url` for one event type; returns the endpoint's id.
    pub async fn create_webhook_endpoint(&self, url: &str, event: &str) -> Result<Uuid, Failure> {
        let req = CreateWebhookEndpoint {
            url: url.into(),
            events: Some(vec![event.into()]),
            description: Some("kassa bench".into()),
        };
        Ok(self.client.webhook_endpoints().create(&req).await?.id)
    }

    pub async fn delete_webhook_endpoint(&self, id: Uuid) -> Result<(), Failure> {
        Ok(self.client.webhook_endpoints().delete(id).await?)
    }

    /// A device answer (`201` from either registration) as its id and a client for its
    /// token, sharing this client's pool.
    fn device_of(&self, device: &Device) -> Result<SimDevice, Failure> {
        let credentials = device
            .credentials
            .as_ref()
            .ok_or_else(|| Failure::new("device response without credentials"))?;
        Ok(SimDevice {
            id: device.id,
            client: self.client.device(&credentials.bearer_token)?,
        })
    }
}
