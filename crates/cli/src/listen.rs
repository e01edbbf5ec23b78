//! `kassa listen`: follows a merchant's events through the events API (long-polling, so no
//! public URL is needed) and forwards each one, signed like a real delivery, to a local URL.
//! The development loop of `stripe listen`, for Kassa. The feed is read with `kassa-client`.

use anyhow::Context;
use kassa_client::api::event::Event;
use kassa_client::{Client, Error as ClientError, EventQuery, Events};
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
const WAIT: Duration = Duration::from_secs(30);
const PAGE: u32 = 100;

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
        .timeout(Duration::from_secs(15))
        .build()?;
    let to = reqwest::Url::parse(&args.forward_to).context("--forward-to is not a URL")?;
    let base = args.url.trim_end_matches('/').to_string();
    let feed = Client::new(&base, &args.api_key)?.events();
    let mut cursor = if args.replay {
        None
    } else {
        latest(&feed).await?
    };
    eprintln!(
        "Forwarding events from {base} to {} (Ctrl-C to stop)",
        args.forward_to
    );
    loop {
        let query = EventQuery {
            after: cursor.clone(),
            limit: Some(PAGE),
            wait: Some(WAIT),
            ..EventQuery::default()
        };
        let page = match feed.list(&query).await {
            Ok(page) => page,
            Err(ClientError::CursorExpired { .. }) => {
                // Everything up to the cursor was forwarded and is now past retention, so
                // what is still kept is what came after it.
                eprintln!("the last event seen is past retention; going on from the oldest kept");
                cursor = None;
                continue;
            }
            Err(e) => {
                eprintln!("cannot read events: {e}; retrying");
                tokio::time::sleep(Duration::from_secs(2)).await;
                continue;
            }
        };
        for event in &page.events {
            if args.events.is_empty() || args.events.contains(&event.event_type) {
                forward(&http, &to, &secret, event).await;
            }
        }
        cursor = page.next_cursor.or(cursor);
    }
}

/// The id of the newest event, so that listening starts with the next one.
async fn latest(feed: &Events) -> anyhow::Result<Option<String>> {
    let mut cursor = None;
    loop {
        let query = EventQuery {
            after: cursor.clone(),
            limit: Some(PAGE),
            ..EventQuery::default()
        };
        let page = feed.list(&query).await?;
        if page.events.is_empty() {
            return Ok(cursor);
        }
        cursor = page.next_cursor;
    }
}

/// POSTs one event with Standard Webhooks headers and prints the answer.
async fn forward(http: &reqwest::Client, to: &reqwest::Url, secret: &str, event: &Event) {
    let (id, kind) = (event.id.as_str(), event.event_type.as_str());
    let body = match serde_json::to_vec(event) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{kind} {id}: cannot encode: {e}");
            return;
        }
    };
    let timestamp = chrono::Utc::now().timestamp();
    let secrets = [secret.to_string()];
    let request = match kassa_server::webhooks::signed_post(
        http,
        to.clone(),
        &secrets,
        id,
        timestamp,
        body,
    ) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{kind} {id}: cannot sign: {e}");
            return;
        }
    };
    let result = request.send().await;
    match result {
        Ok(r) => println!("{kind} {id} -> {}", r.status()),
        Err(e) => println!("{kind} {id} -> failed: {e}"),
    }
}
