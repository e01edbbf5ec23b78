//! The harness: a fake per test, a webhook receiver that checks every signature with its own
//! HMAC code, request helpers that build form bodies from hand-written pairs, and `finish`,
//! which runs everything the test sent and received through Stripe's description.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use hmac::{Hmac, Mac};
use kassa_stripe_fake::spec::StripeSpec;
use kassa_stripe_fake::{FakeConfig, FakeStripe};
use serde_json::Value;
use sha2::Sha256;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

pub const KEY: &str = "sk_test_51KassaFakeKey0000000000";
pub const WHSEC: &str = "whsec_kassa_fake_secret";

/// Requests a test sends on purpose against the description (to see the fake refuse them)
/// carry this header; `finish` checks only their answers.
pub const DELIBERATE: &str = "x-test-deliberately-invalid";

pub struct Harness {
    pub fake: FakeStripe,
    pub http: reqwest::Client,
    pub hooks: Receiver,
}

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// `error.code` of an error answer.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or_default()
    }

    pub fn id(&self) -> String {
        self.body["id"].as_str().unwrap().to_owned()
    }
}

pub fn key() -> String {
    format!("test-{}", rand::random::<u64>())
}

impl Harness {
    pub async fn start() -> Harness {
        let hooks = Receiver::start().await;
        let fake = FakeStripe::start(FakeConfig {
            secret_key: KEY.into(),
            webhook_secret: WHSEC.into(),
            webhook_url: Some(hooks.url.clone()),
        })
        .await;
        Harness {
            fake,
            http: reqwest::Client::new(),
            hooks,
        }
    }

    /// POST with the right key and a fresh idempotency key, as Kassa's client sends.
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Reply {
        let key = key();
        self.post_with(path, form, &[("idempotency-key", &key)])
            .await
    }

    /// A POST the test knows breaks Stripe's description, to see the fake refuse it;
    /// `finish` checks only its answer.
    pub async fn post_invalid(&self, path: &str, form: &[(&str, &str)]) -> Reply {
        let key = key();
        self.post_with(path, form, &[("idempotency-key", &key), (DELIBERATE, "1")])
            .await
    }

    /// POST with the right key and exactly the extra headers given.
    pub async fn post_with(
        &self,
        path: &str,
        form: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Reply {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let mut request = self
            .http
            .post(format!("{}{path}", self.fake.base_url()))
            .bearer_auth(KEY)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("stripe-version", "2023-08-16")
            .body(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        send(request).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.get_with(path, &[]).await
    }

    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        let mut request = self
            .http
            .get(format!("{}{path}", self.fake.base_url()))
            .bearer_auth(KEY);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        send(request).await
    }

    /// A manual-capture, card-present PaymentIntent for `amount` cents.
    pub async fn intent(&self, amount: &str) -> String {
        let reply = self
            .post(
                "/v1/payment_intents",
                &[
                    ("amount", amount),
                    ("currency", "eur"),
                    ("payment_method_types[]", "card_present"),
                    ("capture_method", "manual"),
                    ("metadata[kassa_session_id]", "ses_1"),
                ],
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        reply.id()
    }

    /// A registered, online reader.
    pub async fn reader(&self) -> String {
        let code = format!("simulated-wpe-{}", rand::random::<u32>());
        self.fake.add_registration_code(&code);
        let reply = self
            .post(
                "/v1/terminal/readers",
                &[("registration_code", &code), ("label", "Till 1")],
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        reply.id()
    }

    /// Types of the events emitted so far.
    pub fn event_types(&self) -> Vec<String> {
        self.fake
            .events()
            .iter()
            .map(|e| e["type"].as_str().unwrap().to_owned())
            .collect()
    }

    /// Waits for webhooks, then holds everything to Stripe's description: every request
    /// (except deliberate ones), every answer, every event. Returns how many were checked.
    pub async fn finish(self) -> usize {
        self.fake.flush_webhooks().await;
        let spec = spec();
        let mut violations = Vec::new();
        let requests = self.fake.requests();
        for r in &requests {
            if r.header(DELIBERATE).is_none() {
                violations.extend(spec.check_request(&r.method, &r.path, &r.form));
            }
            violations.extend(spec.check_response(&r.method, &r.path, r.status, &r.response));
        }
        let events = self.fake.events();
        for e in &events {
            violations.extend(spec.check_event(e));
        }
        assert!(
            violations.is_empty(),
            "against Stripe's description:\n{}",
            violations.join("\n")
        );
        assert_eq!(
            self.hooks.bad_signatures(),
            0,
            "a webhook failed signature verification"
        );
        requests.len() + events.len()
    }
}

async fn send(request: reqwest::RequestBuilder) -> Reply {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    let request_id = headers
        .get("request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(
        request_id.starts_with("req_"),
        "every answer carries a Request-Id: {headers:?}"
    );
    Reply {
        status,
        headers,
        text,
        body,
    }
}

/// Stripe's description, loaded once per test binary; a missing file fails the test loudly.
pub fn spec() -> &'static StripeSpec {
    static SPEC: OnceLock<StripeSpec> = OnceLock::new();
    SPEC.get_or_init(|| StripeSpec::load().unwrap_or_else(|e| panic!("{e}")))
}

/// A webhook endpoint that verifies `Stripe-Signature` itself (its own HMAC, not the fake's
/// signing code), records what it got, and answers with a status the test chooses.
#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    got: Arc<Mutex<Vec<Value>>>,
    bad: Arc<Mutex<usize>>,
    answer: Arc<AtomicU16>,
}

impl Receiver {
    pub async fn start() -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let receiver = Receiver {
            url: format!("http://{}/hook", listener.local_addr().unwrap()),
            got: Arc::default(),
            bad: Arc::default(),
            answer: Arc::new(AtomicU16::new(200)),
        };
        let app = Router::new()
            .route("/hook", post(receive))
            .with_state(receiver.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        receiver
    }

    pub fn events(&self) -> Vec<Value> {
        self.got.lock().unwrap().clone()
    }

    pub fn bad_signatures(&self) -> usize {
        *self.bad.lock().unwrap()
    }

    pub fn answer_with(&self, status: u16) {
        self.answer.store(status, Ordering::SeqCst);
    }
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let header = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !verify(WHSEC, header, &body) {
        *r.bad.lock().unwrap() += 1;
        return StatusCode::BAD_REQUEST;
    }
    r.got
        .lock()
        .unwrap()
        .push(serde_json::from_slice(&body).unwrap());
    StatusCode::from_u16(r.answer.load(Ordering::SeqCst)).unwrap()
}

/// Stripe's documented check: `t` recent, and one `v1` equal to HMAC-SHA256(secret, "t.body").
pub fn verify(secret: &str, header: &str, body: &[u8]) -> bool {
    let part = |name: &'static str| -> Vec<String> {
        header
            .split(',')
            .filter_map(|kv| kv.split_once('='))
            .filter(|(k, _)| *k == name)
            .map(|(_, v)| v.to_owned())
            .collect()
    };
    let Some(t) = part("t").first().and_then(|t| t.parse::<i64>().ok()) else {
        return false;
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    if (now - t).abs() > 300 {
        return false;
    }
    part("v1").iter().any(|v1| {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{t}.").as_bytes());
        mac.update(body);
        hex::decode(v1).is_ok_and(|sig| mac.verify_slice(&sig).is_ok())
    })
}
