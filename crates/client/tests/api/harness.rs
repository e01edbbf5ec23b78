//! `TestServer`: a running Kassa (playground mode) with a seeded merchant, a `Client` on its
//! API key, and helpers for devices, carts and a local webhook receiver.

use kassa_client::api::device::{CreateSimulatedDevice, Device};
use kassa_client::api::session::{CreateSession, OrderItem, Session};
use kassa_client::{Client, DeviceClient};
use kassa_server::{App, Config, ServerMode};
use kassa_store::{Backend, Mode};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;
use uuid::Uuid;

pub struct TestServer {
    pub base: String,
    pub api_key: String,
    pub merchant_id: Uuid,
    pub client: Client,
}

impl TestServer {
    pub async fn spawn(backend: Backend) -> Self {
        let mut config = Config::defaults();
        config.database_url = kassa_store::testing::fresh_database_url(backend)
            .await
            .unwrap();
        config.mode = ServerMode::Playground;
        config.webhook_retry_schedule = vec![Duration::ZERO, Duration::from_millis(500)];
        let app = App::build(config).await.unwrap();
        let store = app.state.store.clone();
        let now = app.state.now();
        let (merchant, api_key) = kassa_server::seed::create_merchant(
            store.as_ref(),
            "Client test shop",
            Mode::Test,
            now,
        )
        .await
        .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(app.serve(listener));
        let client = Client::new(&base, &api_key).unwrap();
        Self {
            base,
            api_key,
            merchant_id: merchant.id.0,
            client,
        }
    }

    /// A playground device and a client on its token.
    pub async fn till(&self, name: &str) -> (Device, DeviceClient) {
        let req = CreateSimulatedDevice {
            name: name.into(),
            ..Default::default()
        };
        let device = self.client.playground().create_device(&req).await.unwrap();
        let token = &device.credentials.as_ref().unwrap().bearer_token;
        let client = self.client.device(token).unwrap();
        (device, client)
    }

    /// A `CREATED` session of `amount` on `device_id`.
    pub async fn session_on(&self, device_id: Uuid, amount: i64) -> Session {
        self.client
            .sessions()
            .create(&cart(device_id, amount))
            .await
            .unwrap()
    }
}

/// A valid cart: one line of `amount` with 25 % VAT included.
pub fn cart(device_id: Uuid, amount: i64) -> CreateSession {
    CreateSession {
        device_id,
        order_amount: amount,
        order_tax_amount: None,
        purchase_currency: "SEK".into(),
        purchase_started_at: None,
        merchant_reference1: Some("order-42".into()),
        merchant_reference2: None,
        order_items: vec![OrderItem {
            item_type: "physical".into(),
            reference: None,
            name: "Espresso".into(),
            quantity: 1,
            unit_price: amount,
            total_amount: amount,
            tax_rate: 2500,
            total_discount_amount: None,
            total_tax_amount: amount / 5,
        }],
        expires_in: None,
        auto_capture: None,
    }
}

/// One webhook delivery as received: the three signature headers and the raw body.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub body: Vec<u8>,
}

/// A local webhook endpoint (127.0.0.1, port 0) that answers `200` and records what it got.
pub struct Receiver {
    pub url: String,
    got: Arc<(Mutex<Vec<Delivery>>, Notify)>,
}

impl Receiver {
    pub async fn start() -> Self {
        use axum::http::HeaderMap;
        let got: Arc<(Mutex<Vec<Delivery>>, Notify)> = Arc::default();
        let sink = got.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
                let sink = sink.clone();
                async move {
                    let header = |n: &str| {
                        headers
                            .get(n)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_string()
                    };
                    let delivery = Delivery {
                        id: header("webhook-id"),
                        timestamp: header("webhook-timestamp"),
                        signature: header("webhook-signature"),
                        body: body.to_vec(),
                    };
                    sink.0.lock().unwrap().push(delivery);
                    sink.1.notify_waiters();
                    "ok"
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, got }
    }

    /// The deliveries so far once there are at least `n`, within 10 s.
    pub async fn wait_for(&self, n: usize) -> Vec<Delivery> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let notified = self.got.1.notified();
            {
                let got = self.got.0.lock().unwrap();
                if got.len() >= n {
                    return got.clone();
                }
            }
            tokio::time::timeout_at(deadline, notified)
                .await
                .expect("deliveries in time");
        }
    }
}

/// Polls `check` every 50 ms until it gives `Some`, for at most 10 s.
pub async fn eventually<T, F, Fut>(mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(tokio::time::Instant::now() < deadline, "not in time");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
