//! Kassa's Rust client for merchants. For now: verifying the webhooks Kassa sends.
#![forbid(unsafe_code)]

pub mod webhook;

pub use webhook::{verify_webhook, VerifyError, WebhookHeaders};
