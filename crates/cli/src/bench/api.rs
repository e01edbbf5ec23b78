//! The few merchant, playground and device calls the scenarios make, and how a failed call is
//! named in the error table: the HTTP status with the contract's error code, or the transport
//! error.

use anyhow::Context;
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION};
use serde_json::{json, Value};
use std::time::Duration;

/// Why an operation failed, as counted in the report (`409 DEVICE_BUSY`, `timeout`, …).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Failure(pub String);

impl Failure {
    pub fn new(what: impl Into<String>) -> Self {
        Self(what.into())
    }

    fn transport(e: &reqwest::Error) -> Self {
        if e.is_timeout() {
            Self::new("timeout")
        } else if e.is_connect() {
            Self::new("connect error")
        } else {
            Self::new("transport error")
        }
    }
}

/// A device the bench drives (a simulated one, or a phone it paired): its id and the bearer
/// token it authenticates with.
#[derive(Debug, Clone)]
pub struct SimDevice {
    pub id: String,
    pub token: String,
}

pub struct Api {
    http: reqwest::Client,
    base: String,
}

/// A cart like a small café order: two lines, VAT 25 %.
fn session_body(device: &str) -> Value {
    json!({
        "device_id": device,
        "order_amount": 12500,
        "order_tax_amount": 2500,
        "purchase_currency": "SEK",
        "merchant_reference1": "bench",
        "order_items": [
            {"name": "Espresso", "quantity": 2, "unit_price": 3500, "total_amount": 7000,
             "tax_rate": 2500, "total_tax_amount": 1400},
            {"name": "Kanelbulle", "quantity": 1, "unit_price": 5500, "total_amount": 5500,
             "tax_rate": 2500, "total_tax_amount": 1100}
        ]
    })
}

impl Api {
    pub fn new(base: &str, api_key: &str, concurrency: usize) -> anyhow::Result<Self> {
        let mut headers = HeaderMap::new();
        let mut auth = HeaderValue::from_str(&format!("Basic {api_key}"))
            .context("the API key is not a valid header value")?;
        auth.set_sensitive(true);
        headers.insert(AUTHORIZATION, auth);
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .pool_max_idle_per_host(concurrency)
            .tcp_nodelay(true)
            .timeout(Duration::from_secs(30))
            .build()?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_string(),
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// Fails early, with the reason, when the server is down or the key is refused.
    pub async fn check(&self) -> anyhow::Result<()> {
        self.http
            .get(format!("{}/healthz", self.base))
            .send()
            .await?
            .error_for_status()?;
        let answer = self
            .http
            .get(format!("{}/ipp/v1/devices?page_size=1", self.base))
            .send()
            .await?;
        if !answer.status().is_success() {
            let status = answer.status();
            anyhow::bail!("GET /ipp/v1/devices: {status} {}", answer.text().await?);
        }
        Ok(())
    }

    pub async fn create_device(&self, name: &str) -> Result<SimDevice, Failure> {
        let body = json!({"name": name, "metadata": {"bench": "true"}});
        let v = self
            .send(self.post("/ipp/v1/dev/devices").json(&body))
            .await?;
        device_of(&v)
    }

    /// A one-time pairing code, as the merchant makes one for a new till.
    pub async fn enrollment_code(&self) -> Result<String, Failure> {
        let body = json!({"metadata": {"bench": "true"}});
        let v = self
            .send(self.post("/ipp/v1/enrollments").json(&body))
            .await?;
        v["enrollment_code"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| Failure::new("enrollment response without enrollment_code"))
    }

    /// Registers an iPhone (Tap to Pay) with `code`, as its app would. The server allows 10
    /// registrations a minute per client address: expect `429 RATE_LIMITED` beyond that.
    pub async fn register_phone(&self, code: &str, name: &str) -> Result<SimDevice, Failure> {
        let body = json!({"enrollment_code": code, "platform": "IOS", "name": name});
        let v = self.send(self.post("/ipp/v1/devices").json(&body)).await?;
        device_of(&v)
    }

    /// Creates a session on `device`; returns its id.
    pub async fn create_session(&self, device: &str) -> Result<String, Failure> {
        let v = self
            .send(self.post("/ipp/v1/sessions").json(&session_body(device)))
            .await?;
        match (v["session_id"].as_str(), v["status"].as_str()) {
            (Some(id), Some("CREATED")) => Ok(id.to_string()),
            _ => Err(Failure::new("create answered without a CREATED session")),
        }
    }

    pub async fn cancel_session(&self, id: &str) -> Result<(), Failure> {
        let url = format!("{}/ipp/v1/sessions/{id}/cancel", self.base);
        self.send(self.http.put(url)).await.map(|_| ())
    }

    /// Simulates a successful card tap; the session must end FINALIZED with an order.
    pub async fn simulate_tap(&self, id: &str) -> Result<(), Failure> {
        let v = self
            .send(self.post(&format!("/ipp/v1/dev/sessions/{id}/simulate-tap")))
            .await?;
        let session = &v["session"];
        match (session["status"].as_str(), session["order_id"].as_str()) {
            (Some("FINALIZED"), Some(_)) => Ok(()),
            _ => Err(Failure::new("tap did not finalize with an order")),
        }
    }

    /// The device picks card (its bearer token replaces the merchant's default
    /// `Authorization`): `CREATED` → `ACTIVE`. Returns the PaymentIntent the server
    /// prepared at its card processor, if it uses one (a phone on a server with Stripe).
    pub async fn choose_card(
        &self,
        device: &SimDevice,
        id: &str,
    ) -> Result<Option<String>, Failure> {
        let url = format!("{}/ipp/v1/sessions/{id}/payment", self.base);
        let body = json!({"payment_method": "CARD_TAP"});
        let v = self
            .send(self.http.put(url).bearer_auth(&device.token).json(&body))
            .await?;
        match v["status"].as_str() {
            Some("ACTIVE") => Ok(v["processor"]["payment_intent"].as_str().map(Into::into)),
            _ => Err(Failure::new("payment answered without an ACTIVE session")),
        }
    }

    /// The device reports its payment (`{"processor": …}`); the session must end FINALIZED.
    pub async fn finalize(
        &self,
        device: &SimDevice,
        id: &str,
        payment: Value,
    ) -> Result<(), Failure> {
        let body = json!({"attempt_id": uuid::Uuid::new_v4(), "payment": payment});
        let path = format!("/ipp/v1/sessions/{id}/finalize");
        let v = self
            .send(self.post(&path).bearer_auth(&device.token).json(&body))
            .await?;
        match (v["result"].as_str(), v["session"]["status"].as_str()) {
            (Some("SUCCEEDED"), Some("FINALIZED")) => Ok(()),
            _ => Err(Failure::new("finalize did not succeed")),
        }
    }

    /// Registers `url` for one event type; returns the endpoint's id.
    pub async fn create_webhook_endpoint(&self, url: &str, event: &str) -> Result<String, Failure> {
        let body = json!({"url": url, "events": [event], "description": "kassa bench"});
        let v = self
            .send(self.post("/ipp/v1/webhook-endpoints").json(&body))
            .await?;
        v["id"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| Failure::new("endpoint response without id"))
    }

    pub async fn delete_webhook_endpoint(&self, id: &str) -> Result<(), Failure> {
        let url = format!("{}/ipp/v1/webhook-endpoints/{id}", self.base);
        let response = self
            .http
            .delete(url)
            .send()
            .await
            .map_err(|e| Failure::transport(&e))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(Failure::new(response.status().as_u16().to_string()))
        }
    }

    fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.post(format!("{}{path}", self.base))
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Value, Failure> {
        let response = request.send().await.map_err(|e| Failure::transport(&e))?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|e| Failure::transport(&e))?;
        if !status.is_success() {
            let code = serde_json::from_slice::<Value>(&bytes)
                .ok()
                .and_then(|v| v["error_code"].as_str().map(str::to_string))
                .unwrap_or_default();
            return Err(Failure::new(format!("{} {code}", status.as_u16())));
        }
        serde_json::from_slice(&bytes).map_err(|_| Failure::new("response is not JSON"))
    }
}

/// A device answer (`201` from either registration) as the id and token the bench keeps.
fn device_of(v: &Value) -> Result<SimDevice, Failure> {
    let field = |path: &[&str]| {
        path.iter()
            .try_fold(v, |v, k| v.get(k))
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| Failure::new(format!("device response without {}", path.join("."))))
    };
    Ok(SimDevice {
        id: field(&["id"])?,
        token: field(&["credentials", "bearer_token"])?,
    })
}
