//! The control API: how a test starts the fake, plays the world around Stripe (a card tapped,
//! a reader unplugged, an outage, a refund in the Dashboard), and reads back what happened.
//! Plain Rust methods, no HTTP, so nothing a test does here can be mistaken for Kassa's traffic.

use crate::payments::RefundOf;
use crate::protocol::Protocol;
use crate::routes::router;
use crate::state::{lock, Objects, Origin, Scope, Shared};
use crate::webhooks::{Delivery, Hooks};
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;

#[derive(Debug, Clone)]
pub struct FakeConfig {
    /// The only key accepted in `Authorization: Bearer …`.
    pub secret_key: String,
    /// The endpoint secret (`whsec_…`) webhooks are signed with.
    pub webhook_secret: String,
    /// Where events are POSTed; `None` keeps them in `events()` only.
    pub webhook_url: Option<String>,
}

/// The issuer's answer to a presented card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TapOutcome {
    Approve,
    /// Declined with this `decline_code` (`insufficient_funds`, `generic_decline`,
    /// `lost_card`, `expired_card`, …).
    Decline(&'static str),
}

/// How unwell the fake is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Outage {
    #[default]
    None,
    /// Every call answers 500 `api_error` without touching state.
    Down,
    /// Every call is carried out, then answered only after this delay.
    Slow(Duration),
}

/// One request the fake received, and its answer.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub method: String,
    /// Without the query string (a GET's query pairs are in `form`).
    pub path: String,
    /// Header names in lower case.
    pub headers: BTreeMap<String, String>,
    /// Decoded `key=value` pairs in the order sent.
    pub form: Vec<(String, String)>,
    pub status: u16,
    pub response: Value,
}

impl RecordedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }
}

/// A running fake Stripe on loopback (127.0.0.1). Cheap to clone; the server stops when the last
/// clone is dropped.
#[derive(Clone)]
pub struct FakeStripe {
    shared: Arc<Shared>,
    addr: SocketAddr,
    _server: Arc<ServerTask>,
}

struct ServerTask(tokio::task::AbortHandle);

impl Drop for ServerTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl FakeStripe {
    /// Binds 127.0.0.1 on a free port and starts serving.
    pub async fn start(config: FakeConfig) -> FakeStripe {
        let any_port = SocketAddr::from(([127, 0, 0, 1], 0));
        Self::start_on(any_port, config)
            .await
            .expect("start-up: bind 127.0.0.1:0 for the fake Stripe")
    }

    /// Binds `addr` and starts serving: for a client started before the fake (a server
    /// given `api_base` up front, as `kassa bench` does), which must know the port in
    /// advance. Only loopback addresses are accepted: the fake checks a secret key in the
    /// clear and must never be reachable from another machine.
    pub async fn start_on(addr: SocketAddr, config: FakeConfig) -> std::io::Result<FakeStripe> {
        if !addr.ip().is_loopback() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("the fake Stripe only listens on loopback, not on {addr}"),
            ));
        }
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            objects: Mutex::new(Objects::default()),
            protocol: Mutex::new(Protocol::default()),
            hooks: Hooks::start(config.webhook_secret, config.webhook_url),
            secret_key: config.secret_key,
        });
        let app = router(shared.clone());
        let server = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "fake Stripe server stopped");
            }
        });
        Ok(FakeStripe {
            shared,
            addr,
            _server: Arc::new(ServerTask(server.abort_handle())),
        })
    }

    /// `http://127.0.0.1:PORT`, to use in place of `https://api.stripe.com`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set_webhook_url(&self, url: Option<String>) {
        self.shared.hooks.set_url(url);
    }

    /// The phone (Tap to Pay) collected a card for this PaymentIntent: approved, it waits in
    /// `requires_capture` (or succeeds, for automatic capture); declined, it goes back to
    /// `requires_payment_method` with `last_payment_error`. Each emits its webhook.
    pub fn tap(&self, payment_intent: &str, outcome: TapOutcome) -> Result<(), String> {
        self.shared
            .apply(&Origin::default(), |o| {
                o.collect(Scope::Test, payment_intent, outcome)
                    .map(|(_, events)| ((), events))
            })
            .map_err(|e| e.message)
    }

    /// Hands out a registration code, as a reader shows one when it is being paired.
    pub fn add_registration_code(&self, code: &str) {
        self.shared
            .with(|o| o.registration_codes.insert(code.to_owned()));
    }

    pub fn set_reader_online(&self, reader: &str, online: bool) -> Result<(), String> {
        self.shared
            .with(|o| o.set_reader_online(reader, online))
            .map_err(|e| e.message)
    }

    /// A card presented to a reader; the same as Stripe's `present_payment_method` test
    /// helper. Returns the reader as it is afterwards.
    pub fn present_on_reader(&self, reader: &str, outcome: TapOutcome) -> Result<Value, String> {
        self.shared
            .apply(&Origin::default(), |o| {
                o.present(Scope::Test, reader, outcome)
            })
            .map_err(|e| e.message)
    }

    /// A refund made outside Kassa (in the Dashboard): same rules and webhook as the API.
    /// Returns the refund's id.
    pub fn refund_in_dashboard(&self, payment_intent: &str, amount: i64) -> Result<String, String> {
        self.shared
            .apply(&Origin::default(), |o| {
                let of = RefundOf::PaymentIntent(payment_intent);
                o.refund(Scope::Test, of, Some(amount), BTreeMap::new(), None)
            })
            .map(|refund| refund["id"].as_str().unwrap_or_default().to_owned())
            .map_err(|e| e.message)
    }

    pub fn payment_intent(&self, id: &str) -> Option<Value> {
        self.shared
            .with(|o| o.intents.get(id).map(|pi| pi.to_json()))
    }

    pub fn reader(&self, id: &str) -> Option<Value> {
        self.shared.with(|o| o.readers.get(id).map(|r| r.to_json()))
    }

    /// A charge, with its refunds listed inline.
    pub fn charge(&self, id: &str) -> Option<Value> {
        self.shared
            .with(|o| o.charges.get(id).map(|ch| o.charge_json(ch)))
    }

    pub fn set_outage(&self, outage: Outage) {
        lock(&self.shared.protocol).outage = outage;
    }

    /// Makes the next `count` calls whose path contains `path_contains` answer 500
    /// `api_error` without touching state (e.g. `fail_next(1, "/capture")`). Calls to other
    /// paths are unaffected; rules queue up in the order given.
    pub fn fail_next(&self, count: usize, path_contains: &str) {
        if count > 0 {
            lock(&self.shared.protocol)
                .failures
                .push((count, path_contains.to_owned()));
        }
    }

    /// While paused, events are still logged (`events()`) but never sent: lost webhooks.
    pub fn pause_webhooks(&self, paused: bool) {
        self.shared.hooks.pause(paused);
    }

    /// Every event emitted, in order, whether sent or not.
    pub fn events(&self) -> Vec<Value> {
        self.shared.hooks.events()
    }

    /// Sends one emitted event again (a duplicate delivery, or a lost one found).
    pub fn deliver_again(&self, event_id: &str) -> Result<(), String> {
        self.shared.hooks.deliver_again(event_id)
    }

    /// Every delivery attempt so far, with the receiver's answer.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.shared.hooks.deliveries()
    }

    /// Waits until every event emitted so far has been delivered (or failed to be).
    pub async fn flush_webhooks(&self) {
        self.shared.hooks.flush().await;
    }

    /// Every request received, in order, with its answer.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.protocol).requests.clone()
    }

    /// The POSTs sent without an `Idempotency-Key` (a retry of any of them could repeat it).
    pub fn posts_without_idempotency_key(&self) -> Vec<RecordedRequest> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == "POST" && r.header("idempotency-key").is_none())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> FakeConfig {
        FakeConfig {
            secret_key: "sk_test_start_on".into(),
            webhook_secret: "whsec_start_on".into(),
            webhook_url: None,
        }
    }

    #[tokio::test]
    async fn start_on_serves_on_the_address_given_and_only_on_loopback() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = taken.local_addr().unwrap();
        let busy = FakeStripe::start_on(addr, config()).await;
        assert!(busy.is_err(), "a port in use is an error, not a panic");
        drop(taken);

        let fake = FakeStripe::start_on(addr, config()).await.unwrap();
        assert_eq!(fake.base_url(), format!("http://{addr}"));
        let answer = reqwest::Client::new()
            .get(format!("{}/v1/payment_intents/pi_missing", fake.base_url()))
            .bearer_auth("sk_test_start_on")
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 404);

        let open = SocketAddr::from(([0, 0, 0, 0], 0));
        let refused = FakeStripe::start_on(open, config()).await.err().unwrap();
        assert_eq!(refused.kind(), std::io::ErrorKind::InvalidInput);
    }
}
