//! Stripe as a Kassa processor: phones (Tap to Pay and mobile readers, where the app
//! collects and Kassa verifies), smart readers (server-driven), orders that move money and
//! Stripe's webhooks. The wire client is the `kassa-stripe` crate; this adapter decides what
//! Kassa asks Stripe and what Stripe's answers mean for a session.
//!
//! Every POST carries an `Idempotency-Key` derived from Kassa's ids (`kassa-pi-<session>`,
//! `kassa-capture-<session>`, `kassa-refund-<order>-<n>`, …), so a retried call never
//! moves money twice. Parameters used that are newer than Stripe's 2023-08-16 description:
//! none (docs/stripe.md lists what was checked).

mod events;
mod payments;
mod readers;

pub use events::{fact_of, parse_event, StripeFact};

use super::config::StripeConfig;
use super::{Account, Prepared, Processor, ProcessorError, ReaderClaim, ReaderInfo, Result};
use super::{CancelMode, Verdict};
use async_trait::async_trait;
use kassa_api::session::PaymentResult;
use kassa_core::entities::Location;
use kassa_core::session::{PaymentRef, Session};
use kassa_store::Store;
use kassa_stripe::{Call, Client};
use std::sync::Arc;

pub const NAME: &str = "stripe";

pub struct StripeProcessor {
    client: Client,
    webhook_secret: Option<String>,
    store: Arc<dyn Store>,
}

impl StripeProcessor {
    pub fn new(config: &StripeConfig, store: Arc<dyn Store>) -> anyhow::Result<Self> {
        let mut wire =
            kassa_stripe::StripeConfig::new(config.secret_key.clone(), config.api_base.clone());
        wire.timeout = config.timeout;
        let client = Client::new(wire).map_err(|e| anyhow::anyhow!("stripe client: {e}"))?;
        Ok(Self {
            client,
            webhook_secret: config.webhook_secret.clone(),
            store,
        })
    }

    /// The `whsec_…` secret Stripe signs this server's webhooks with, if configured.
    pub fn webhook_secret(&self) -> Option<&str> {
        self.webhook_secret.as_deref()
    }

    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    /// Every refund Stripe has for the payment that it made or is making (`id`, amount),
    /// wherever it was started (Kassa or Stripe's dashboard).
    pub async fn refunds_of(
        &self,
        acct: &Account,
        payment: &PaymentRef,
    ) -> Result<Vec<(String, i64)>> {
        let call = Self::call(acct, None);
        let list = self
            .client
            .list_refunds(&call, &payment.reference)
            .await
            .map_err(|e| failed("listing refunds", e))?;
        Ok(list
            .data
            .into_iter()
            .filter(|r| matches!(r.status.as_deref(), Some("succeeded" | "pending") | None))
            .map(|r| (r.id, r.amount))
            .collect())
    }

    /// Per-call options: the merchant's connected account and the idempotency key.
    fn call(acct: &Account, key: Option<&str>) -> Call {
        let call = Call::new().account(acct.account.clone());
        match key {
            Some(key) => call.key(key),
            None => call,
        }
    }
}

/// What a Stripe error means for the caller. `what` says which call, for the message; no
/// secret is ever in Stripe's errors or in ours.
pub(crate) fn failed(what: &str, e: kassa_stripe::Error) -> ProcessorError {
    if e.is_unavailable() {
        return ProcessorError::Unavailable(format!("Stripe did not answer {what}: {e}"));
    }
    match e.status() {
        Some(401 | 403) => ProcessorError::Unavailable(format!(
            "Stripe refused Kassa's API key for {what}: check KASSA_STRIPE_SECRET_KEY"
        )),
        _ => ProcessorError::NotAllowed(format!("Stripe refused {what}: {}", message(&e))),
    }
}

/// Stripe's own message for an API error, else the error's text.
pub(crate) fn message(e: &kassa_stripe::Error) -> String {
    match e {
        kassa_stripe::Error::Api { error, .. } => error
            .message
            .clone()
            .unwrap_or_else(|| error.code.clone().unwrap_or_else(|| "unknown error".into())),
        other => other.to_string(),
    }
}

#[async_trait]
impl Processor for StripeProcessor {
    fn name(&self) -> &'static str {
        NAME
    }

    async fn connection_token(
        &self,
        acct: &Account,
        location: Option<&Location>,
    ) -> Result<(String, Option<String>)> {
        readers::connection_token(self, acct, location).await
    }

    async fn prepare(&self, acct: &Account, session: &Session) -> Result<Option<Prepared>> {
        payments::prepare(self, acct, session).await.map(Some)
    }

    async fn verify(
        &self,
        acct: &Account,
        session: &Session,
        result: &PaymentResult,
    ) -> Result<Verdict> {
        payments::verify(self, acct, session, result).await
    }

    async fn status(&self, acct: &Account, session: &Session) -> Result<Verdict> {
        payments::status(self, acct, session).await
    }

    async fn capture(
        &self,
        acct: &Account,
        payment: &PaymentRef,
        amount: i64,
        key: &str,
    ) -> Result<Option<String>> {
        payments::capture(self, acct, payment, amount, key).await
    }

    async fn refund(
        &self,
        acct: &Account,
        payment: &PaymentRef,
        amount: i64,
        key: &str,
    ) -> Result<Option<String>> {
        payments::refund(self, acct, payment, amount, key).await
    }

    async fn cancel(
        &self,
        acct: &Account,
        payment: &PaymentRef,
        key: &str,
        mode: CancelMode,
    ) -> Result<Verdict> {
        payments::cancel(self, acct, payment, key, mode).await
    }

    async fn register_reader(
        &self,
        acct: &Account,
        location: &Location,
        claim: &ReaderClaim,
        label: Option<&str>,
    ) -> Result<ReaderInfo> {
        readers::register(self, acct, location, claim, label).await
    }

    async fn present(
        &self,
        acct: &Account,
        reader: &str,
        payment: &PaymentRef,
        key: &str,
    ) -> Result<()> {
        readers::present(self, acct, reader, payment, key).await
    }

    async fn clear_reader(&self, acct: &Account, reader: &str, key: &str) -> Result<()> {
        readers::clear(self, acct, reader, key).await
    }
}
