//! `TestApp`: a running server with a merchant, an API key and a simulated device, with
//! typed helpers on `kassa-client` (the contract tests) and raw `reqwest` ones (the tests that
//! send deliberately bad input or check what the client hides: headers, bytes, statuses).

use kassa_client::api::device::{CreateLocation, CreateSimulatedDevice, Device};
use kassa_client::api::session::{CreateSession, Finalize, OrderItem, PaymentResult, Session};
use kassa_client::{Client, DeviceClient, Error, ErrorCode};
use kassa_server::clock::ManualClock;
use kassa_server::webhooks::Dispatcher;
use kassa_server::{App, AppState, Config, ServerMode};
use kassa_store::{Backend, Mode};
use reqwest::{Method, RequestBuilder, Response};
use serde_json::{json, Value};
use std::fmt::Debug;
use std::sync::Arc;
use uuid::Uuid;

pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub api_key: String,
    pub merchant_id: String,
    pub device_id: String,
    pub device_token: String,
    pub clock: Arc<ManualClock>,
    pub state: AppState,
    client: Client,
    /// Set by `spawn_stepped`: the dispatcher the test steps (no worker runs one). Only the
    /// webhook tests, which share this file, step it.
    #[allow(dead_code)]
    stepped: Option<Arc<Dispatcher>>,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, |_| {}).await
    }

    pub async fn spawn_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Self {
        Self::start(backend, tweak, false).await
    }

    /// Like `spawn_with`, but webhooks go out only when the test calls `dispatch`: each call
    /// is one finished round of the dispatcher, so no test waits on a deadline for them.
    #[allow(dead_code)]
    pub async fn spawn_stepped(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Self {
        Self::start(backend, tweak, true).await
    }

    /// Attempts every webhook delivery due now (by the app's clock) and records the
    /// attempts; returns how many there were.
    #[allow(dead_code)]
    pub async fn dispatch(&self) -> usize {
        let dispatcher = self.stepped.as_ref().expect("spawned with spawn_stepped");
        dispatcher.dispatch_once().await.unwrap()
    }

    async fn start(backend: Backend, tweak: impl FnOnce(&mut Config), stepped: bool) -> Self {
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
        let mut app = App::build_with_clock(config, clock.clone()).await.unwrap();
        if stepped {
            app = app.without_dispatcher();
        }
        let state = app.state.clone();
        let stepped = stepped.then(|| Arc::new(Dispatcher::new(state.clone())));
        let now = state.now();
        let (merchant, api_key) =
            kassa_server::seed::create_merchant(state.store.as_ref(), "Test shop", mode, now)
                .await
                .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(app.serve(listener));
        let client = Client::new(&base, &api_key).unwrap();
        let mut test = Self {
            base,
            http: reqwest::Client::new(),
            api_key,
            merchant_id: merchant.id.to_string(),
            device_id: String::new(),
            device_token: String::new(),
            clock,
            state,
            client,
            stepped,
        };
        if mode == Mode::Test {
            let (id, token) = test.simulated_device("Till 1").await;
            test.device_id = id;
            test.device_token = token;
        }
        test
    }

    /// The merchant's typed client, with its API key.
    pub fn client(&self) -> Client {
        self.client.clone()
    }

    /// A typed client with another API key (another merchant's, a revoked or a wrong one).
    pub fn client_with_key(&self, key: &str) -> Client {
        Client::new(&self.base, key).unwrap()
    }

    /// A typed POS client for a device token, sharing the merchant client's pool.
    pub fn device_client(&self, token: &str) -> DeviceClient {
        self.client.device(token).unwrap()
    }

    /// The id of the simulated till every playground app starts with.
    pub fn till_id(&self) -> Uuid {
        self.device_id.parse().unwrap()
    }

    /// That till's POS client.
    pub fn till(&self) -> DeviceClient {
        self.device_client(&self.device_token)
    }

    /// Another simulated device of this merchant: the device as created (with its
    /// credentials) and its POS client.
    pub async fn simulated_device_typed(&self, name: &str) -> (Device, DeviceClient) {
        let request = CreateSimulatedDevice {
            name: name.into(),
            ..Default::default()
        };
        let playground = self.client.playground();
        let device = playground.create_device(&request).await.unwrap();
        let token = device.credentials.as_ref().expect("shown at creation");
        let pos = self.device_client(&token.bearer_token);
        (device, pos)
    }

    /// Creates a valid session ([`new_cart`] of 125.00) on `device`.
    pub async fn open_session(&self, device: Uuid) -> Session {
        let cart = new_cart(device, 12_500);
        self.client.sessions().create(&cart).await.unwrap()
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

    /// A simulated device from a raw body with only `name` (the set-up's till): its id and
    /// token. The rate-limit tests count this request.
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

    /// Creates a valid session on `device` and returns its JSON. The API tests use the typed
    /// [`TestApp::open_session`]; tests/webhooks, which share this file, use this one.
    #[allow(dead_code)]
    pub async fn session_on(&self, device: &str) -> Value {
        let response = self.create_session(&cart(device, 12_500)).await;
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let r = self.merchant(Method::GET, path).send().await.unwrap();
        json_of(r).await
    }

    /// The event types the store holds for the session, oldest first.
    pub async fn events(&self, session_id: impl ToString) -> Vec<String> {
        let filter = kassa_store::EventFilter {
            session_id: Some(session_id.to_string().parse().unwrap()),
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

/// A valid create-session body, raw (required fields only; the bad-input tests patch it):
/// one line of `amount` with 25 % VAT. Typed: [`new_cart`].
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

/// [`cart`], typed: one line of `amount` with 25 % VAT. Change a field with struct update:
/// `CreateSession { auto_capture: Some(false), ..new_cart(device, 100) }`.
pub fn new_cart(device: Uuid, amount: i64) -> CreateSession {
    CreateSession {
        device_id: device,
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

/// A location with only a name.
pub fn location_named(name: &str) -> CreateLocation {
    CreateLocation {
        name: name.into(),
        street_address: None,
        street_address2: None,
        postal_code: None,
        city: None,
        country: None,
    }
}

/// A finalize with the simulated processor's `outcome` (`SUCCESS`, `INSUFFICIENT_FUNDS`, …).
pub fn simulated_payment(attempt: Uuid, outcome: &str) -> Finalize {
    Finalize {
        attempt_id: attempt,
        payment: PaymentResult {
            processor: "simulated".into(),
            outcome: Some(outcome.into()),
            reference: None,
        },
    }
}

/// Asserts that a typed call was refused with `status` and `code` and a correlation id (as
/// [`assert_error`] does for a raw answer); returns the messages joined with ` | `.
pub fn assert_api_error<T: Debug>(
    result: kassa_client::Result<T>,
    status: u16,
    code: ErrorCode,
) -> String {
    let err = match result {
        Err(Error::Api(err)) => err,
        other => panic!("want {status} {code}, got {other:?}"),
    };
    assert_eq!((err.status, &err.code), (status, &code), "{err}");
    let id = err.correlation_id.as_deref();
    assert!(id.is_some_and(|c| !c.is_empty()), "{err}");
    err.messages.join(" | ")
}

/// `400 BAD_VALUE` with a message `<path>: …` (as `bad_input::bad_value`); the messages.
pub fn assert_bad_value<T: Debug>(result: kassa_client::Result<T>, path: &str) -> String {
    let msg = assert_api_error(result, 400, ErrorCode::BadValue);
    let prefix = format!("{path}: ");
    let named = msg.split(" | ").any(|m| m.starts_with(&prefix));
    assert!(named, "no message names {path}: {msg}");
    msg
}

/// Asserts two wire values are equal field by field, by their JSON form: for the wire types
/// without `PartialEq` (`Location`, `ApiKey`, `Device`, `Order`, …).
pub fn assert_same<T: serde::Serialize>(left: &T, right: &T, why: &str) {
    let (left, right) = (json!(left), json!(right));
    assert_eq!(left, right, "{why}");
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
