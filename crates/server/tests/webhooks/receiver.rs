//! A local webhook receiver: verifies every delivery's Standard Webhooks signature, records
//! it, and answers with scripted status codes and delays.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use serde_json::Value;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;

#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: String,
    pub body: Value,
    /// How many signatures the header carried.
    pub signatures: usize,
}

#[derive(Default)]
struct Inner {
    secrets: Vec<String>,
    statuses: VecDeque<u16>,
    delay: Duration,
    got: Vec<Delivery>,
    bad_signatures: usize,
    in_flight: usize,
    max_in_flight: usize,
}

#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    pub port: u16,
    inner: Arc<Mutex<Inner>>,
    task: Arc<Mutex<Option<tokio::task::JoinHandle<()>>>>,
}

impl Receiver {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let r = Self {
            url: format!("http://127.0.0.1:{port}/hook"),
            port,
            inner: Arc::default(),
            task: Arc::default(),
        };
        r.serve(listener);
        r
    }

    /// A receiver whose port is reserved but not listening yet (`up` starts it).
    pub async fn down() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        Self {
            url: format!("http://127.0.0.1:{port}/hook"),
            port,
            inner: Arc::default(),
            task: Arc::default(),
        }
    }

    pub async fn up(&self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).await.unwrap();
        self.serve(listener);
    }

    fn serve(&self, listener: TcpListener) {
        let app = Router::new()
            .route("/hook", post(handle))
            .with_state(self.inner.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        *self.task.lock().unwrap() = Some(task);
    }

    /// Signatures must verify with at least one of these.
    pub fn accept_secret(&self, secret: &str) {
        self.inner.lock().unwrap().secrets.push(secret.to_string());
    }

    /// The next answers, in order; 200 once they run out.
    pub fn script(&self, statuses: &[u16]) {
        self.inner.lock().unwrap().statuses.extend(statuses);
    }

    pub fn delay(&self, d: Duration) {
        self.inner.lock().unwrap().delay = d;
    }

    pub fn got(&self) -> Vec<Delivery> {
        self.inner.lock().unwrap().got.clone()
    }

    /// The most requests this receiver was answering at once.
    pub fn max_in_flight(&self) -> usize {
        self.inner.lock().unwrap().max_in_flight
    }

    pub fn bad_signatures(&self) -> usize {
        self.inner.lock().unwrap().bad_signatures
    }

    /// Waits until at least `n` verified deliveries arrived; panics after `within`.
    pub async fn wait_for(&self, n: usize, within: Duration) -> Vec<Delivery> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let got = self.got();
            if got.len() >= n {
                return got;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{} of {n} deliveries arrived in {within:?}: {got:?}",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn handle(
    State(inner): State<Arc<Mutex<Inner>>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let (status, delay) = {
        let mut s = inner.lock().unwrap();
        let verified = s.secrets.iter().any(|secret| {
            standardwebhooks::Webhook::new(secret)
                .unwrap()
                .verify(&body, &headers)
                .is_ok()
        });
        let status = s.statuses.pop_front().unwrap_or(200);
        if !verified {
            s.bad_signatures += 1;
            return StatusCode::UNAUTHORIZED;
        }
        if (200..300).contains(&status) {
            let signatures = headers["webhook-signature"]
                .to_str()
                .unwrap()
                .split(' ')
                .count();
            s.got.push(Delivery {
                id: headers["webhook-id"].to_str().unwrap().to_string(),
                body: serde_json::from_slice(&body).unwrap(),
                signatures,
            });
        }
        s.in_flight += 1;
        s.max_in_flight = s.max_in_flight.max(s.in_flight);
        (status, s.delay)
    };
    tokio::time::sleep(delay).await;
    inner.lock().unwrap().in_flight -= 1;
    StatusCode::from_u16(status).unwrap()
}
