//! `kassa listen`: follows a merchant's events through the events API (long-polling, so no
//! public URL is needed) and forwards each one, signed like a real delivery, to a local URL.
//! The development loop of `stripe listen`, for Kassa.

use anyhow::{bail, Context};
use serde_json::Value;
use std::time::Duration;

#[derive(clap::Args)]
pub struct ListenArgs {
    /// Local URL to POST each event to, e.g. http://localhost:3000/webhooks.
    #[arg(long)]
    forward_to: String,
    /// The Kassa server.
    #[arg(long, env = "KASSA_URL", default_value = "http://127.0.0.1:8080")]
    url: String,
    /// The merchant's API key.
    #[arg(long, env = "KASSA_API_KEY", hide_env_values = true)]
    api_key: String,
    /// Secret to sign forwarded events with (`whsec_…`); a new one is printed when omitted.
    #[arg(long, env = "KASSA_LISTEN_SECRET", hide_env_values = true)]
    secret: Option<String>,
    /// Only these event types (comma separated).
    #[arg(long, value_delimiter = ',')]
    events: Vec<String>,
    /// Start with the oldest retained event instead of the next new one.
    #[arg(long)]
    replay: bool,
}

/// The longest long-poll the server allows.
const WAIT_SECS: u64 = 30;
const PAGE: usize = 100;

pub async fn run(args: ListenArgs) -> anyhow::Result<()> {
    let secret = match args.secret.clone() {
        Some(s) => s,
        None => {
            let s = kassa_server::webhooks::new_secret();
            // The developer's receiver needs it; it only signs local deliveries.
            println!("Signing secret for forwarded events: {s}");
            s
        }
    };
    kassa_server::webhooks::signature_header(std::slice::from_ref(&secret), "check", 0, b"")
        .context("--secret is not a whsec_ base64 key")?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(WAIT_SECS + 15))
        .build()?;
    let feed = Feed {
        http: http.clone(),
        base: args.url.trim_end_matches('/').to_string(),
        key: args.api_key.clone(),
    };
    let mut cursor = if args.replay {
        None
    } else {
        feed.latest().await?
    };
    eprintln!(
        "Forwarding events from {} to {} (Ctrl-C to stop)",
        feed.base, args.forward_to
    );
    loop {
        let (events, next) = match feed.page(cursor.as_deref(), WAIT_SECS).await {
            Ok(page) => page,
            Err(e) if e.is::<CursorGone>() => {
                // Everything up to the cursor was forwarded and is now past retention, so
                // what is still kept is what came after it.
                eprintln!("the last event seen is past retention; going on from the oldest kept");
                cursor = None;
                continue;
            }
            Err(e) => {
                eprintln!("cannot read events: {e:#}; retrying");
                tokio::time::sleep(Duration::from_secs(2)).await;
                continue;
            }
        };
        for event in &events {
            let kind = event["type"].as_str().unwrap_or_default();
            if args.events.is_empty() || args.events.iter().any(|t| t == kind) {
                forward(&http, &args.forward_to, &secret, event).await;
            }
        }
        cursor = next.or(cursor);
    }
}

/// The server no longer has the event the cursor names (deleted past retention).
#[derive(Debug)]
struct CursorGone;

impl std::fmt::Display for CursorGone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the cursor's event is gone")
    }
}

impl std::error::Error for CursorGone {}

/// A `BAD_VALUE` whose messages blame `after`.
fn names_the_cursor(body: &Value) -> bool {
    body["error_messages"].as_array().is_some_and(|m| {
        m.iter()
            .any(|m| m.as_str().is_some_and(|m| m.starts_with("after")))
    })
}

struct Feed {
    http: reqwest::Client,
    base: String,
    key: String,
}

impl Feed {
    /// One page of events after `after`, waiting up to `wait` seconds for the first.
    async fn page(
        &self,
        after: Option<&str>,
        wait: u64,
    ) -> anyhow::Result<(Vec<Value>, Option<String>)> {
        let mut query = vec![("wait", wait.to_string()), ("limit", PAGE.to_string())];
        if let Some(a) = after {
            query.push(("after", a.to_string()));
        }
        let response = self
            .http
            .get(format!("{}/ipp/v1/events", self.base))
            .header("Authorization", format!("Basic {}", self.key))
            .query(&query)
            .send()
            .await?;
        let status = response.status();
        let body: Value = response.json().await?;
        if status == reqwest::StatusCode::BAD_REQUEST && names_the_cursor(&body) {
            return Err(CursorGone.into());
        }
        if !status.is_success() {
            bail!("{status}: {body}");
        }
        let events = body["events"].as_array().cloned().unwrap_or_default();
        let next = body["next_cursor"].as_str().map(str::to_string);
        Ok((events, next))
    }

    /// The id of the newest event, so that listening starts with the next one.
    async fn latest(&self) -> anyhow::Result<Option<String>> {
        let mut cursor = None;
        loop {
            let (events, next) = self.page(cursor.as_deref(), 0).await?;
            if events.is_empty() {
                return Ok(cursor);
            }
            cursor = next;
        }
    }
}

/// POSTs one event with Standard Webhooks headers and prints the answer.
async fn forward(http: &reqwest::Client, to: &str, secret: &str, event: &Value) {
    let id = event["id"].as_str().unwrap_or_default();
    let kind = event["type"].as_str().unwrap_or_default();
    let body = event.to_string();
    let timestamp = chrono::Utc::now().timestamp();
    let signature = match kassa_server::webhooks::signature_header(
        &[secret.to_string()],
        id,
        timestamp,
        body.as_bytes(),
    ) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{kind} {id}: cannot sign: {e}");
            return;
        }
    };
    let result = http
        .post(to)
        .header("content-type", "application/json")
        .header("webhook-id", id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(body)
        .send()
        .await;
    match result {
        Ok(r) => println!("{kind} {id} -> {}", r.status()),
        Err(e) => println!("{kind} {id} -> failed: {e}"),
    }
}
