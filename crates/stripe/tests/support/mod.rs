//! A scripted stand-in for Stripe on 127.0.0.1: it records every request it gets and
//! answers from a queue of [`Reply`]s, so tests can check exactly what the client sent
//! and how it reacts to each kind of answer.
#![allow(dead_code)] // each test binary uses a different part of the harness

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use kassa_stripe::{Client, StripeConfig};

pub const TEST_KEY: &str = "sk_test_KassaUnitTestKey";

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: Method,
    /// Path as sent (still percent-encoded).
    pub path: String,
    pub headers: HeaderMap,
    pub body: String,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The decoded form body, in order.
    pub fn form(&self) -> Vec<(String, String)> {
        form_urlencoded::parse(self.body.as_bytes())
            .into_owned()
            .collect()
    }
}

/// One scripted answer.
#[derive(Debug, Clone)]
pub struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: String,
    delay: Duration,
}

impl Reply {
    pub fn json(status: u16, body: serde_json::Value) -> Self {
        Self::raw(status, &body.to_string()).header("content-type", "application/json")
    }

    pub fn raw(status: u16, body: &str) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: body.to_owned(),
            delay: Duration::ZERO,
        }
    }

    /// Stripe's error envelope.
    pub fn error(status: u16, kind: &str, code: &str) -> Self {
        Self::json(
            status,
            serde_json::json!({"error": {"type": kind, "code": code, "message": format!("{code} happened")}}),
        )
    }

    pub fn header(mut self, name: &'static str, value: &str) -> Self {
        self.headers.push((name, value.to_owned()));
        self
    }

    /// Wait this long before answering (to trip the client's timeout).
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

#[derive(Default)]
struct Script {
    requests: Vec<Recorded>,
    replies: VecDeque<Reply>,
}

pub struct FakeStripe {
    pub base: String,
    script: Arc<Mutex<Script>>,
}

impl FakeStripe {
    pub async fn start(replies: Vec<Reply>) -> Self {
        let script = Arc::new(Mutex::new(Script {
            requests: Vec::new(),
            replies: replies.into(),
        }));
        let app = axum::Router::new()
            .fallback(answer)
            .with_state(script.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { base, script }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.script.lock().unwrap().requests.clone()
    }

    /// A client for this server: 2 retries, a 2 s timeout unless `tweak` says otherwise.
    pub fn client(&self, tweak: impl FnOnce(&mut StripeConfig)) -> Client {
        let mut config = StripeConfig::new(TEST_KEY, format!("{}/", self.base));
        config.timeout = Duration::from_secs(2);
        tweak(&mut config);
        Client::new(config).unwrap()
    }
}

async fn answer(
    State(script): State<Arc<Mutex<Script>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let reply = {
        let mut script = script.lock().unwrap();
        script.requests.push(Recorded {
            method,
            path: uri.to_string(),
            headers,
            body: String::from_utf8(body.to_vec()).unwrap(),
        });
        script.replies.pop_front()
    };
    let Some(reply) = reply else {
        return (StatusCode::IM_A_TEAPOT, "no scripted reply left").into_response();
    };
    tokio::time::sleep(reply.delay).await;
    let mut response = (StatusCode::from_u16(reply.status).unwrap(), reply.body).into_response();
    for (name, value) in reply.headers {
        response.headers_mut().insert(name, value.parse().unwrap());
    }
    response
}

/// A PaymentIntent body as Stripe would send it.
pub fn payment_intent(id: &str, status: &str) -> serde_json::Value {
    serde_json::json!({
        "id": id, "object": "payment_intent", "amount": 1099, "amount_capturable": 1099,
        "amount_received": 0, "currency": "eur", "status": status, "capture_method": "manual",
        "client_secret": format!("{id}_secret_abc"), "metadata": {"kassa_session_id": "ses_1"},
        "last_payment_error": null, "latest_charge": null, "livemode": false,
        "payment_method_types": ["card_present"]
    })
}
