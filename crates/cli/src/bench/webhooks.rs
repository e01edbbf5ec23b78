//! `webhooks`: a session commit → its `ipp.session.created` webhook arriving at a local
//! receiver. The bench starts the receiver (axum on 127.0.0.1, port 0), registers it as a
//! webhook endpoint for that one event type, and removes the endpoint when the run ends. The
//! latency runs from sending the create to the delivery's arrival; signatures are not checked
//! (the webhook tests do that): the body is read as the event envelope and only its type and
//! session id are used.

use super::api::{Api, Failure};
use super::driver::{Recorder, Slot};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use kassa_client::api::event::Event;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;
use uuid::Uuid;

/// A delivery that has not come this long after the create counts as an error.
const ARRIVAL_TIMEOUT: Duration = Duration::from_secs(30);

enum Arrival {
    Came(Instant),
    Awaited(oneshot::Sender<Instant>),
}

#[derive(Default)]
struct Arrivals(Mutex<HashMap<Uuid, Arrival>>);

impl Arrivals {
    fn came(&self, session: Uuid) {
        let now = Instant::now();
        let mut map = self.0.lock().expect("arrivals lock");
        match map.remove(&session) {
            Some(Arrival::Awaited(tx)) => {
                let _ = tx.send(now);
            }
            // A redelivery of one already seen keeps the first arrival.
            Some(first @ Arrival::Came(_)) => {
                map.insert(session, first);
            }
            None => {
                map.insert(session, Arrival::Came(now));
            }
        }
    }

    async fn wait(&self, session: Uuid) -> Option<Instant> {
        let rx = {
            let mut map = self.0.lock().expect("arrivals lock");
            match map.remove(&session) {
                Some(Arrival::Came(at)) => return Some(at),
                _ => {
                    let (tx, rx) = oneshot::channel();
                    map.insert(session, Arrival::Awaited(tx));
                    rx
                }
            }
        };
        tokio::time::timeout(ARRIVAL_TIMEOUT, rx).await.ok()?.ok()
    }
}

/// The run's receiver; one per `kassa bench` process.
static ARRIVALS: OnceLock<Arc<Arrivals>> = OnceLock::new();

/// The receiver and its registered endpoint, removed by `stop`.
pub struct Hook {
    endpoint: Uuid,
    server: tokio::task::JoinHandle<()>,
}

impl Hook {
    pub async fn start(api: &Api) -> anyhow::Result<Self> {
        let arrivals = ARRIVALS.get_or_init(Default::default).clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(arrivals);
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let endpoint = api
            .create_webhook_endpoint(&format!("http://{address}/hook"), "ipp.session.created")
            .await
            .map_err(|Failure(f)| anyhow::anyhow!("registering the webhook endpoint: {f}"))?;
        Ok(Self { endpoint, server })
    }

    pub async fn stop(self, api: &Api) {
        if let Err(Failure(f)) = api.delete_webhook_endpoint(self.endpoint).await {
            eprintln!(
                "bench: could not remove webhook endpoint {}: {f}",
                self.endpoint
            );
        }
        self.server.abort();
    }
}

async fn receive(State(arrivals): State<Arc<Arrivals>>, body: Bytes) -> StatusCode {
    if let Ok(event) = serde_json::from_slice::<Event>(&body) {
        if event.event_type == "ipp.session.created" {
            arrivals.came(event.data.session_id);
        }
    }
    StatusCode::NO_CONTENT
}

pub async fn once(api: &Api, slot: &mut Slot, rec: &Recorder) -> Result<Duration, Failure> {
    let arrivals = ARRIVALS
        .get()
        .ok_or_else(|| Failure::new("webhook receiver not started"))?;
    let dev = slot.take();
    if let Some(open) = dev.open.take() {
        api.cancel_session(open).await?;
    }
    let start = Instant::now();
    let id = api.create_session(dev.sim.id).await?;
    let answered = Instant::now();
    rec.step("create (HTTP answer)", answered - start);
    dev.open = Some(id);
    match arrivals.wait(id).await {
        Some(at) => {
            // The measure: from the create's answer to the delivery (0 if earlier).
            rec.step(
                "delivery after the answer",
                at.saturating_duration_since(answered),
            );
            Ok(at.saturating_duration_since(start))
        }
        None => Err(Failure::new("no webhook within 30 s")),
    }
}
