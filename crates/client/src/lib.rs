//! Kassa's Rust client: a typed, async client for the whole merchant API, a
//! [`DeviceClient`] for the POS side with its push stream, and verification of the webhooks
//! Kassa sends.
//!
//! Request and response bodies are the server's own wire types, re-exported as [`api`].
//!
//! ```no_run
//! use kassa_client::api::device::CreateSimulatedDevice;
//! use kassa_client::api::session::{CreateSession, OrderItem};
//! use kassa_client::{Client, SessionStatus};
//! use std::time::Duration;
//!
//! # async fn run() -> kassa_client::Result<()> {
//! let client = Client::new("http://127.0.0.1:8080", "kassa_test_…")?;
//! let till = client
//!     .playground()
//!     .create_device(&CreateSimulatedDevice { name: "Till 1".into(), ..Default::default() })
//!     .await?;
//! let cart = CreateSession {
//!     device_id: till.id,
//!     order_amount: 4_000,
//!     order_tax_amount: None,
//!     purchase_currency: "SEK".into(),
//!     purchase_started_at: None,
//!     merchant_reference1: Some("order-1001".into()),
//!     merchant_reference2: None,
//!     order_items: vec![OrderItem {
//!         item_type: "physical".into(),
//!         reference: None,
//!         name: "Cinnamon bun".into(),
//!         quantity: 1,
//!         unit_price: 4_000,
//!         total_amount: 4_000,
//!         tax_rate: 1200,
//!         total_discount_amount: None,
//!         total_tax_amount: 429,
//!     }],
//!     expires_in: None,
//!     auto_capture: None,
//! };
//! // Safe to retry: the same Idempotency-Key never creates a second session.
//! let session = client.sessions().create(&cart).idempotency_key("order-1001").await?;
//! client.playground().simulate_tap(session.session_id, None).await?;
//! let paid = client
//!     .sessions()
//!     .wait_for_status(session.session_id, SessionStatus::Finalized, Duration::from_secs(60))
//!     .await?;
//! let order = client.orders().get(paid.order_id.expect("a finalized session has an order")).await?;
//! println!("{} {}", order.status, order.captured_amount);
//! # Ok(()) }
//! ```
//!
//! # Credentials
//! * Merchant calls ([`Client`]): an API key, sent as `Authorization: Basic <key>`, and
//!   optionally `x-merchant-id` ([`ClientBuilder::merchant_id`]).
//! * POS calls ([`DeviceClient`]): the device token, `Authorization: Bearer kdt_…`, also on
//!   the stream's WebSocket handshake.
//! * The portal's session cookie is for the browser portal (with CSRF tokens); a program has
//!   no use for it, and this client does not speak it.
//!
//! # Errors
//! [`Error::Api`] is a refusal by the server: its status, the contract's [`ErrorCode`], the
//! messages (each naming a field) and the correlation id. [`Error::Transport`] means no
//! answer arrived: the request may or may not have taken effect, which is what
//! [`Call::idempotency_key`] is for.
#![forbid(unsafe_code)]

mod call;
mod client;
mod device;
mod devices;
mod endpoints;
mod error;
mod events;
mod keys;
mod orders;
mod pages;
mod places;
mod sessions;
mod stream;
mod transport;
pub mod webhook;

/// The wire types (`kassa-api`): request and response bodies.
pub use kassa_api as api;
/// Session statuses, with which of them are open.
pub use kassa_core::session::SessionStatus;

pub use call::{Call, Replayable};
pub use client::{Client, ClientBuilder};
pub use device::DeviceClient;
pub use devices::{DeviceFilter, Devices, Playground};
pub use endpoints::WebhookEndpoints;
pub use error::{ApiError, Error, ErrorCode, Result};
pub use events::{EventQuery, Events};
pub use keys::ApiKeys;
pub use orders::Orders;
pub use pages::{List, Page, MAX_PAGE_SIZE};
pub use places::{EnrollmentFilter, Enrollments, Locations};
pub use sessions::{SessionFilter, Sessions, MAX_WAIT};
pub use stream::{DeviceStream, PushFrame};
pub use webhook::{verify_webhook, VerifyError, WebhookHeaders};

/// The README's examples, compiled as doc tests so they cannot drift from the API.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
