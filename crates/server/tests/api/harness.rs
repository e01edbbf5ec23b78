//! `TestApp`: a running server with a merchant, an API key and a simulated device.

use kassa_server::clock::ManualClock;
use kassa_server::{App, AppState, Config, ServerMode};
use kassa_store::{Backend, Mode};
use reqwest::{Method, RequestBuilder, Response};
use serde_json::{json, Value};
use std::sync::Arc;

pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub api_key: String,
    pub merchant_id: String,
    pub device_id: String,
    pub device_token: String,
    pub clock: Arc<ManualClock>,
    pub state: AppState,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, |_| {}).await
    }

    pub async fn spawn_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Self {
        let mut config = Config::defaults();
        config.database_url = kassa_store::testing::fresh_database_url(backend)
            .await
            .unwrap();
        config.mode = ServerMode::Playground;
        tweak(&mut config);
        let mode = if config.mode == ServerMode::Playground {
            Mode::Test
        } else {
            Mode::Live
        };
        let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
        let app = App::build_with_clock(config, clock.clone()).await.unwrap();
        let state = app.state.clone();
        let now = state.now();
        let (merchant, api_key) =
            kassa_server::seed::create_merchant(state.store.as_ref(), "Test shop", mode, now)
                .await
                .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(app.serve(listener));
        let mut test = Self {
            base,
            http: reqwest::Client::new(),
            api_key,
            merchant_id: merchant.id.to_string(),
            device_id: String::new(),
            device_token: String::new(),
            clock,
            state,
        };
        if mode == Mode::Test {
            let (id, token) = test.simulated_device("Till 1").await;
            test.device_id = id;
            test.device_token = token;
        }
        test
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A request with the merchant's key (Kustom's raw Basic form).
    pub fn merchant(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, self.url(path))
            .header("Authorization", format!("Basic {}", self.api_key))
    }

    pub fn device(&self, method: Method, path: &str, token: &str) -> RequestBuilder {
        self.http.request(method, self.url(path)).bearer_auth(token)
    }

    pub async fn simulated_device(&self, name: &str) -> (String, String) {
        let body = self
            .merchant(Method::POST, "/ipp/v1/dev/devices")
            .json(&json!({"name": name}))
            .send()
            .await
            .unwrap();
        assert_eq!(body.status(), 201);
        let body: Value = body.json().await.unwrap();
        (
            body["id"].as_str().unwrap().into(),
            body["credentials"]["bearer_token"].as_str().unwrap().into(),
        )
    }

    pub async fn create_session(&self, body: &Value) -> Response {
        self.merchant(Method::POST, "/ipp/v1/sessions")
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// Creates a valid session on `device` and returns its JSON.
    pub async fn session_on(&self, device: &str) -> Value {
        let response = self.create_session(&cart(device, 12_500)).await;
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let r = self.merchant(Method::GET, path).send().await.unwrap();
        json_of(r).await
    }

    pub async fn events(&self, session_id: &str) -> Vec<String> {
        let filter = kassa_store::EventFilter {
            session_id: Some(session_id.parse().unwrap()),
            limit: 100,
            ..Default::default()
        };
        let merchant = self.merchant_id.parse().unwrap();
        let events = self
            .state
            .store
            .list_events(merchant, &filter)
            .await
            .unwrap();
        events
            .iter()
            .map(|e| e.event_type.as_str().to_string())
            .collect()
    }
}

pub async fn json_of(r: Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// A valid create-session body: one line of `amount` with 25 % VAT.
pub fn cart(device: &str, amount: i64) -> Value {
    json!({
        "device_id": device,
        "order_amount": amount,
        "purchase_currency": "SEK",
        "merchant_reference1": "order-42",
        "order_items": [{
            "type": "physical", "name": "Espresso", "quantity": 1,
            "unit_price": amount, "total_amount": amount, "tax_rate": 2500, "total_tax_amount": amount / 5
        }]
    })
}

/// Asserts the contract's error body and returns its messages joined.
pub fn assert_error(status: u16, body: &Value, want_status: u16, want_code: &str) -> String {
    assert_eq!(status, want_status, "{body}");
    assert_eq!(body["error_code"], want_code, "{body}");
    assert!(
        body["correlation_id"]
            .as_str()
            .is_some_and(|c| !c.is_empty()),
        "{body}"
    );
    body["error_messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect::<Vec<_>>()
        .join(" | ")
}
