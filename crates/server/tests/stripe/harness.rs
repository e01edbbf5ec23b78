//! `StripeApp`: a live-mode Kassa whose Stripe is the fake in `kassa-stripe-fake`, with
//! Stripe's webhooks pointed back at Kassa, a location Stripe can mirror and a paired phone.

use crate::api::{cart, json_of, TestApp};
use kassa_server::processors::config::StripeConfig;
use kassa_server::processors::reconciler::Reconciler;
use kassa_server::ServerMode;
use kassa_store::Backend;
use kassa_stripe_fake::{FakeConfig, FakeStripe};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

pub const SECRET_KEY: &str = "sk_live_kassa_tests_0000000000";
pub const WEBHOOK_SECRET: &str = "whsec_kassa_tests_signing_secret";

pub struct StripeApp {
    pub app: TestApp,
    pub fake: FakeStripe,
    pub location_id: String,
    pub phone_id: String,
    pub phone_token: String,
}

impl StripeApp {
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, |_| {}).await
    }

    /// Live mode, Stripe at the fake, a short request timeout (so outages end fast) and a
    /// one-second reconciliation grace.
    pub async fn spawn_with(
        backend: Backend,
        tweak: impl FnOnce(&mut kassa_server::Config),
    ) -> Self {
        let fake = FakeStripe::start(FakeConfig {
            secret_key: SECRET_KEY.into(),
            webhook_secret: WEBHOOK_SECRET.into(),
            webhook_url: None,
        })
        .await;
        let base = fake.base_url();
        let app = TestApp::spawn_with(backend, |c| {
            c.mode = ServerMode::Live;
            c.processors.stripe = Some(StripeConfig {
                secret_key: SECRET_KEY.into(),
                webhook_secret: Some(WEBHOOK_SECRET.into()),
                api_base: base,
                timeout: Duration::from_millis(600),
            });
            c.processor_grace = Duration::from_secs(1);
            tweak(c);
        })
        .await;
        fake.set_webhook_url(Some(app.url("/processors/stripe/webhook")));
        let mut this = Self {
            app,
            fake,
            location_id: String::new(),
            phone_id: String::new(),
            phone_token: String::new(),
        };
        let body = json!({"name": "Södermalm", "street_address": "Götgatan 1",
            "postal_code": "118 46", "city": "Stockholm", "country": "SE"});
        let (status, location) = this
            .call(Method::POST, "/ipp/v1/locations", Some(body))
            .await;
        assert_eq!(status, 201, "{location}");
        this.location_id = location["id"].as_str().unwrap().into();
        let (id, token) = this.phone("iPhone at till 1").await;
        (this.phone_id, this.phone_token) = (id, token);
        this
    }

    /// A merchant call.
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self.app.merchant(method, path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        json_of(request.send().await.unwrap()).await
    }

    /// A device call.
    pub async fn pos(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self.app.device(method, path, token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        json_of(request.send().await.unwrap()).await
    }

    /// Pairs an iPhone (Tap to Pay) at the location; returns its id and token.
    pub async fn phone(&self, name: &str) -> (String, String) {
        let body = json!({"location_id": self.location_id});
        let (status, enrollment) = self
            .call(Method::POST, "/ipp/v1/enrollments", Some(body))
            .await;
        assert_eq!(status, 201, "{enrollment}");
        let body = json!({"enrollment_code": enrollment["enrollment_code"], "platform": "IOS", "name": name});
        let response = self
            .app
            .http
            .post(self.app.url("/ipp/v1/devices"))
            .json(&body);
        let (status, device) = json_of(response.send().await.unwrap()).await;
        assert_eq!(status, 201, "{device}");
        (
            device["id"].as_str().unwrap().into(),
            device["credentials"]["bearer_token"]
                .as_str()
                .unwrap()
                .into(),
        )
    }

    /// Creates a sale of `amount` on `device`.
    pub async fn sale(&self, device: &str, amount: i64, auto_capture: bool) -> Value {
        let mut body = cart(device, amount);
        body["auto_capture"] = json!(auto_capture);
        let (status, session) = self
            .call(Method::POST, "/ipp/v1/sessions", Some(body))
            .await;
        assert_eq!(status, 200, "{session}");
        session
    }

    /// A sale on the harness's phone with the card chosen: its session id and PaymentIntent.
    pub async fn card_sale(&self, amount: i64, auto_capture: bool) -> (String, String) {
        let sale = self.sale(&self.phone_id, amount, auto_capture).await;
        let id = text(&sale, "/session_id").to_string();
        let active = self.choose_card(&self.phone_token, &id).await;
        (id, text(&active, "/processor/payment_intent").to_string())
    }

    /// The clerk picks card on the phone: the answer carries the PaymentIntent.
    pub async fn choose_card(&self, token: &str, session: &str) -> Value {
        let path = format!("/ipp/v1/sessions/{session}/payment");
        let body = json!({"payment_method": "CARD_TAP"});
        let (status, session) = self.pos(token, Method::PUT, &path, Some(body)).await;
        assert_eq!(status, 200, "{session}");
        session
    }

    /// The phone reports the PaymentIntent it collected.
    pub async fn finalize(
        &self,
        token: &str,
        session: &str,
        attempt: &str,
        reference: &str,
    ) -> (u16, Value) {
        let path = format!("/ipp/v1/sessions/{session}/finalize");
        let body = json!({"attempt_id": attempt,
            "payment": {"processor": "stripe", "reference": reference}});
        self.pos(token, Method::POST, &path, Some(body)).await
    }

    pub async fn session(&self, id: &str) -> Value {
        let (status, session) = self
            .call(Method::GET, &format!("/ipp/v1/sessions/{id}"), None)
            .await;
        assert_eq!(status, 200, "{session}");
        session
    }

    pub async fn order(&self, id: &str) -> Value {
        let path = format!("/ordermanagement/v1/orders/{id}");
        let (status, order) = self.call(Method::GET, &path, None).await;
        assert_eq!(status, 200, "{order}");
        order
    }

    /// The session's timeline entries as `type:to-or-outcome:actor`.
    pub async fn timeline(&self, id: &str) -> Vec<String> {
        let path = format!("/ipp/v1/sessions/{id}/events");
        let (_, body) = self.call(Method::GET, &path, None).await;
        body["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| match e["type"].as_str().unwrap() {
                "transition" => format!(
                    "{}:{}",
                    e["to"].as_str().unwrap(),
                    e["actor"].as_str().unwrap()
                ),
                _ => format!("attempt:{}", e["outcome"].as_str().unwrap()),
            })
            .collect()
    }

    /// Waits (bounded) until the session satisfies `done`; returns it.
    pub async fn wait_until(&self, id: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            self.fake.flush_webhooks().await;
            let session = self.session(id).await;
            if done(&session) {
                return session;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "gave up waiting: {session}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// One reconciler pass after the grace has passed (the clock moves, nothing sleeps).
    pub async fn reconcile_after_grace(&self) -> usize {
        self.app.clock.advance(chrono::Duration::seconds(2));
        Reconciler::default().once(&self.app.state).await.unwrap()
    }

    /// How many requests the fake got whose path ends with `suffix`.
    pub fn calls_to(&self, method: &str, suffix: &str) -> usize {
        self.fake
            .requests()
            .iter()
            .filter(|r| r.method == method && r.path.ends_with(suffix))
            .count()
    }
}

/// A string field of a JSON object.
pub fn text<'a>(body: &'a Value, pointer: &str) -> &'a str {
    body.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no {pointer} in {body}"))
}

pub fn new_attempt() -> String {
    uuid::Uuid::new_v4().to_string()
}
