//! Real `kassa serve` processes for crash tests: started on a free loopback port, killed with
//! SIGKILL (what `kill -9` does), plus a webhook receiver and a merchant made with
//! `kassa admin`. Every address is 127.0.0.1.

#![allow(dead_code)]

use axum::http::{HeaderMap, StatusCode};
use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const KASSA: &str = env!("CARGO_BIN_EXE_kassa");
/// The longest any wait in these tests may take before it fails.
pub const WAIT: Duration = Duration::from_secs(30);

/// The environment of every server these tests start: a retry schedule of seconds (the
/// default waits minutes) and no per-key limit on the load.
const ENV: &[(&str, &str)] = &[
    ("KASSA_MODE", "playground"),
    ("KASSA_LOG", "warn"),
    ("KASSA_WEBHOOK_RETRY_SCHEDULE", "0s,1s,1s,1s,1s,1s,1s,1s"),
    ("KASSA_RATE_LIMIT", "100000/s"),
    ("KASSA_RATE_LIMIT_BURST", "100000"),
];

/// A `kassa serve` process; dropped, it is killed.
pub struct Server {
    child: Child,
    pub base: String,
}

impl Server {
    /// Starts a server on `url` and waits until `/healthz` answers.
    pub async fn start(url: &str) -> Server {
        Self::start_with(url, &[]).await
    }

    /// `start` with more environment.
    pub async fn start_with(url: &str, env: &[(&str, &str)]) -> Server {
        let port = free_port();
        let child = serve(url, port, env).spawn().expect("start kassa serve");
        let server = Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        server.wait_healthy().await;
        server
    }

    async fn wait_healthy(&self) {
        let http = reqwest::Client::new();
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            if let Ok(r) = http.get(format!("{}/healthz", self.base)).send().await {
                if r.status().is_success() {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("kassa serve at {} did not become healthy", self.base);
    }

    /// SIGKILL, then reaps the process: no graceful shutdown of any kind.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The `kassa serve` command on `url`, listening on 127.0.0.1:`port`.
pub fn serve(url: &str, port: u16, env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(KASSA);
    command
        .arg("serve")
        .envs(ENV.iter().copied())
        .env("KASSA_DATABASE_URL", url)
        .env("KASSA_BIND", format!("127.0.0.1:{port}"))
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    command
}

/// A port nobody listens on now (the kernel's pick, released at once).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Runs `kassa <args>` on `url` and returns its stdout and stderr, or panics if it failed.
pub fn kassa(url: &str, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(KASSA)
        .args(args)
        .envs(ENV.iter().copied())
        .env("KASSA_DATABASE_URL", url)
        .output()
        .expect("run kassa");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A merchant made with `kassa admin`; returns its API key.
pub fn merchant(url: &str) -> String {
    let (ok, out, err) = kassa(url, &["admin", "merchant", "create", "--name", "Shop"]);
    assert!(ok, "{err}");
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    v["api_key"].as_str().unwrap().to_string()
}

/// The merchant API over one key.
#[derive(Clone)]
pub struct Api {
    pub http: reqwest::Client,
    pub key: String,
}

impl Api {
    pub fn new(key: String) -> Api {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        Api { http, key }
    }

    /// A request's status and JSON body, or the transport error (a killed server).
    pub async fn call(
        &self,
        method: reqwest::Method,
        url: String,
        body: Option<Value>,
    ) -> Result<(u16, Value), reqwest::Error> {
        let mut req = self
            .http
            .request(method, url)
            .header("Authorization", format!("Basic {}", self.key));
        if let Some(body) = body {
            req = req.json(&body);
        }
        let r = req.send().await?;
        let status = r.status().as_u16();
        let body = r.json().await.unwrap_or(Value::Null);
        Ok((status, body))
    }

    pub async fn post(&self, base: &str, path: &str, body: Value) -> Value {
        let url = format!("{base}{path}");
        let (status, body) = self
            .call(reqwest::Method::POST, url, Some(body))
            .await
            .unwrap();
        assert!((200..300).contains(&status), "{path}: {status} {body}");
        body
    }

    pub async fn get(&self, base: &str, path: &str) -> (u16, Value) {
        let url = format!("{base}{path}");
        self.call(reqwest::Method::GET, url, None).await.unwrap()
    }

    /// A simulated device of the playground; returns its id.
    pub async fn device(&self, base: &str, name: &str) -> String {
        let d = self
            .post(base, "/ipp/v1/dev/devices", json!({"name": name}))
            .await;
        d["id"].as_str().unwrap().to_string()
    }

    /// Every event of the merchant, oldest first, through the `after` cursor.
    pub async fn all_events(&self, base: &str) -> Vec<Value> {
        let mut events = Vec::new();
        let mut after = String::new();
        loop {
            let (status, page) = self
                .get(base, &format!("/ipp/v1/events?limit=1000{after}"))
                .await;
            assert_eq!(status, 200, "{page}");
            let items = page["events"].as_array().cloned().unwrap_or_default();
            if items.is_empty() {
                return events;
            }
            after = format!("&after={}", items.last().unwrap()["id"].as_str().unwrap());
            events.extend(items);
        }
    }
}

pub fn cart(device: &str, amount: i64) -> Value {
    json!({
        "device_id": device,
        "order_amount": amount,
        "purchase_currency": "SEK",
        "order_items": [{
            "type": "physical", "name": "Espresso", "quantity": 1,
            "unit_price": amount, "total_amount": amount, "tax_rate": 2500,
            "total_tax_amount": amount / 5
        }]
    })
}

/// One delivery the receiver got.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub webhook_id: String,
    pub body: Value,
    pub at: Instant,
}

/// A webhook receiver on 127.0.0.1 that answers 200, except that with `hang_first` it never
/// answers the first request it gets (so that its attempt is in flight when a node dies).
#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    got: Arc<Mutex<Vec<Delivery>>>,
    /// Requests seen, answered or not.
    seen: Arc<Mutex<Vec<Instant>>>,
    hang_first: Arc<AtomicBool>,
}

impl Receiver {
    pub async fn start(hang_first: bool) -> Receiver {
        let rx = Receiver {
            url: String::new(),
            got: Arc::default(),
            seen: Arc::default(),
            hang_first: Arc::new(AtomicBool::new(hang_first)),
        };
        let state = rx.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: String| {
                let state = state.clone();
                async move { state.receive(headers, body).await }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver { url, ..rx }
    }

    async fn receive(&self, headers: HeaderMap, body: String) -> StatusCode {
        self.seen.lock().unwrap().push(Instant::now());
        if self.hang_first.swap(false, Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
        let webhook_id = headers
            .get("webhook-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let body = serde_json::from_str(&body).unwrap_or(Value::Null);
        self.got.lock().unwrap().push(Delivery {
            webhook_id,
            body,
            at: Instant::now(),
        });
        StatusCode::OK
    }

    pub fn got(&self) -> Vec<Delivery> {
        self.got.lock().unwrap().clone()
    }

    /// Waits until `n` requests arrived (answered or not).
    pub async fn wait_seen(&self, n: usize) {
        wait_until(|| self.seen.lock().unwrap().len() >= n).await;
    }

    /// Waits until `done` holds of the deliveries answered so far, and returns them.
    pub async fn wait_for(&self, done: impl Fn(&[Delivery]) -> bool) -> Vec<Delivery> {
        wait_until(|| done(&self.got.lock().unwrap())).await;
        self.got()
    }
}

/// Polls `ready` every 20 ms until it holds; panics after `WAIT`.
pub async fn wait_until(ready: impl Fn() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !ready() {
        assert!(Instant::now() < deadline, "gave up waiting after {WAIT:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A fresh database of `backend` for one test.
pub async fn database(backend: kassa_store::Backend) -> String {
    kassa_store::testing::fresh_database_url(backend)
        .await
        .unwrap()
}
