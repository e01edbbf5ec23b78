//! Kassa's hand-written Stripe client: the dozen Terminal, PaymentIntent and Refund calls
//! Kassa needs, and `Stripe-Signature` verification for Stripe's webhooks.
//!
//! Hand-written rather than generated because Kassa uses a tiny slice of the API, and a
//! small client is one we can read, pin to one API version ([`STRIPE_VERSION`]) and test
//! against a local fake. The modules split by concern:
//!
//! * [`config`]: [`StripeConfig`] (key, base URL, timeout, retries) and per-call [`Call`] options.
//! * `client`: the transport: headers, the retry loop, turning answers into objects or [`Error`].
//! * `calls`: one method per Stripe endpoint, each building its form body.
//! * `form`: Stripe's bracket-notation form encoding.
//! * [`error`]: [`Error`] and Stripe's error object.
//! * [`objects`]: the Stripe objects Kassa reads, deserialised leniently.
//! * [`webhook`]: verifying and signing `Stripe-Signature` headers.
#![forbid(unsafe_code)]
// `Error::Api` carries Stripe's whole error object (~150 bytes) by value because callers
// match on it and build it in their fakes; boxing it would cost them that for a saving
// that is nothing next to an HTTP round trip.
#![allow(clippy::result_large_err)]

mod calls;
mod client;
pub mod config;
pub mod error;
mod form;
pub mod objects;
mod retry;
pub mod webhook;

pub use calls::{CreateLocation, CreatePaymentIntent};
pub use client::Client;
pub use config::{Call, StripeConfig};
pub use error::{ApiErrorObject, Error};
pub use objects::{
    Charge, ConnectionToken, List, PaymentIntent, PaymentIntentStatus, ProcessPaymentIntentAction,
    Reader, ReaderAction, Refund, TerminalLocation,
};
pub use webhook::{sign_payload, verify_event, Event, EventData, WebhookError};

/// The Stripe API version every request pins with the `Stripe-Version` header, so the
/// account's default version (which the dashboard can change) never changes object shapes
/// under us. The objects in [`objects`] are written against this version.
pub const STRIPE_VERSION: &str = "2023-08-16";
