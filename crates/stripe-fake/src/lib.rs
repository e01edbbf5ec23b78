//! A stateful fake of the Stripe API for Kassa's tests, and a checker of requests and answers
//! against Stripe's published OpenAPI description.
//!
//! The fake ([`FakeStripe`]) is a real HTTP server on 127.0.0.1 speaking Stripe's wire protocol
//! (form-encoded requests, JSON answers, Stripe's error body, `Request-Id`, idempotency keys,
//! `Stripe-Account`, signed webhooks) for the Terminal, PaymentIntent and Refund calls Kassa
//! makes. Tests drive the world around it (a card tapped, a reader going offline, an outage, a
//! refund made in the Dashboard) through plain Rust methods, and read back every request it
//! received and every event it emitted.
//!
//! The checker ([`spec::StripeSpec`]) reads Stripe's own description at run time, so a test can
//! prove that what Kassa sends, and what the fake answers, has the shape Stripe documents: the
//! fake is only worth trusting while its answers match the real thing.
//!
//! Where Stripe's documentation left a behaviour open, the choice made is written on the item
//! that implements it (search for "Chosen:").
#![forbid(unsafe_code)]

mod cards;
mod control;
mod error;
mod form;
mod ids;
mod objects;
mod payments;
mod protocol;
mod routes;
pub mod spec;
mod state;
mod terminal;
mod webhooks;

pub use control::{FakeConfig, FakeStripe, Outage, RecordedRequest, TapOutcome};
pub use webhooks::{sign_payload, Delivery};

/// The API version the fake speaks, stamps on events, and the description it is checked against.
pub const API_VERSION: &str = "2023-08-16";
