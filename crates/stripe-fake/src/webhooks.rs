//! Events and their delivery: Stripe's event envelope, the `Stripe-Signature` header, and one
//! sender task that posts events to the webhook URL in the order they were emitted.
//!
//! The signature is computed here from scratch (HMAC-SHA256 over `"{t}.{body}"` with the
//! endpoint secret's bytes), not borrowed from Kassa's Stripe client: the fake is an
//! independent peer, so a bug in the client's verification cannot hide behind the same bug
//! in the signer. No retries: a test that wants a second delivery asks for one
//! (`deliver_again`), which keeps every delivery deliberate and the order predictable.

use crate::ids;
use crate::state::{lock, Emitted, Origin};
use crate::API_VERSION;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// One attempt to deliver an event, as the receiver answered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub event_id: String,
    pub event_type: String,
    /// The receiver's HTTP status; `None` when no answer came (see `error`).
    pub status: Option<u16>,
    pub error: Option<String>,
}

/// The `Stripe-Signature` header value for `payload` sent at `timestamp` (Unix seconds):
/// `t=<timestamp>,v1=<hex HMAC-SHA256(secret, "{timestamp}.{payload}")>`.
///
/// Public so a test can forge a correctly (or wrongly) signed delivery of its own.
pub fn sign_payload(secret: &str, timestamp: i64, payload: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .expect("HMAC-SHA256 accepts a key of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload.as_bytes());
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

#[derive(Debug, Default)]
struct Book {
    url: Option<String>,
    paused: bool,
    events: Vec<Value>,
    deliveries: Vec<Delivery>,
}

enum Job {
    Deliver(Value),
    /// Answered once every job queued before it is done.
    Flush(oneshot::Sender<()>),
}

/// The event log and the queue to the sender task.
pub(crate) struct Hooks {
    book: Arc<Mutex<Book>>,
    queue: mpsc::UnboundedSender<Job>,
}

impl Hooks {
    /// Starts the sender task; it ends when the `Hooks` (and so its queue) is dropped.
    pub fn start(secret: String, url: Option<String>) -> Self {
        let book = Arc::new(Mutex::new(Book {
            url,
            ..Book::default()
        }));
        let (queue, jobs) = mpsc::unbounded_channel();
        tokio::spawn(send_all(jobs, book.clone(), secret));
        Self { book, queue }
    }

    /// Wraps `emitted` in Stripe's envelope, logs it, and queues it unless deliveries are
    /// paused (a paused event is kept in the log but never sent: a lost webhook).
    pub fn emit(&self, emitted: Emitted, origin: &Origin) {
        let mut book = lock(&self.book);
        let sending = book.url.is_some() && !book.paused;
        let mut event = json!({
            "id": ids::new("evt"),
            "object": "event",
            "api_version": API_VERSION,
            "created": ids::now(),
            "data": { "object": emitted.object },
            "livemode": false,
            "pending_webhooks": u8::from(sending),
            "request": { "id": origin.request_id, "idempotency_key": origin.idempotency_key },
            "type": emitted.kind,
        });
        if let Some(account) = emitted.account {
            event["account"] = json!(account);
        }
        book.events.push(event.clone());
        if sending {
            self.enqueue(Job::Deliver(event));
        }
    }

    fn enqueue(&self, job: Job) {
        // The receiver lives as long as `self`: the task only ends once the queue is dropped.
        let _ = self.queue.send(job);
    }

    pub fn set_url(&self, url: Option<String>) {
        lock(&self.book).url = url;
    }

    pub fn pause(&self, paused: bool) {
        lock(&self.book).paused = paused;
    }

    pub fn events(&self) -> Vec<Value> {
        lock(&self.book).events.clone()
    }

    pub fn deliveries(&self) -> Vec<Delivery> {
        lock(&self.book).deliveries.clone()
    }

    /// Sends a logged event once more, paused or not: the test asked for exactly this one.
    pub fn deliver_again(&self, event_id: &str) -> Result<(), String> {
        let event = lock(&self.book)
            .events
            .iter()
            .find(|e| e["id"] == event_id)
            .cloned()
            .ok_or_else(|| format!("no event {event_id} was emitted"))?;
        self.enqueue(Job::Deliver(event));
        Ok(())
    }

    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        self.enqueue(Job::Flush(done));
        let _ = wait.await;
    }
}

async fn send_all(mut jobs: mpsc::UnboundedReceiver<Job>, book: Arc<Mutex<Book>>, secret: String) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("a reqwest client with a timeout builds");
    while let Some(job) = jobs.recv().await {
        match job {
            Job::Flush(done) => {
                let _ = done.send(());
            }
            Job::Deliver(event) => {
                let url = lock(&book).url.clone();
                let delivery = deliver(&client, url.as_deref(), &secret, &event).await;
                lock(&book).deliveries.push(delivery);
            }
        }
    }
}

async fn deliver(
    client: &reqwest::Client,
    url: Option<&str>,
    secret: &str,
    event: &Value,
) -> Delivery {
    let mut delivery = Delivery {
        event_id: event["id"].as_str().unwrap_or_default().to_owned(),
        event_type: event["type"].as_str().unwrap_or_default().to_owned(),
        status: None,
        error: None,
    };
    let Some(url) = url else {
        delivery.error = Some("no webhook URL set".into());
        return delivery;
    };
    let body = event.to_string();
    let sent = client
        .post(url)
        .header("content-type", "application/json; charset=utf-8")
        .header(
            "user-agent",
            "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        )
        .header("stripe-signature", sign_payload(secret, ids::now(), &body))
        .body(body)
        .send()
        .await;
    match sent {
        Ok(answer) => delivery.status = Some(answer.status().as_u16()),
        Err(e) => delivery.error = Some(e.to_string()),
    }
    tracing::debug!(event = %delivery.event_id, status = ?delivery.status, "fake Stripe delivered a webhook");
    delivery
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_stripes_documented_scheme() {
        // Expected value from `printf '1700000000.{}' | openssl dgst -sha256 -hmac whsec_test`.
        assert_eq!(
            sign_payload("whsec_test", 1_700_000_000, "{}"),
            "t=1700000000,v1=35495024f4ef3f94e5a93e22221544c4b75e9a42300cd965ab81cb85cd994e91"
        );
    }
}
