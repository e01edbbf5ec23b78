//! Card processors: what moves the money. Kassa never sees card data and never trusts a
//! card result from a device: each processor's adapter verifies with the processor itself.
//! `simulated` (playground only) and `stripe` implement one `Processor` trait; which one a
//! session uses is decided here (`Processors::for_device`), once, for every route.

pub mod config;
pub mod inbox;
pub mod reconciler;
pub mod settle;
pub mod simulated;
pub mod stripe;

use crate::config::ServerMode;
use async_trait::async_trait;
use kassa_api::session::PaymentResult;
use kassa_core::entities::{Device, Location};
use kassa_core::session::{PaymentOutcome, PaymentRef, Platform, Session};
use kassa_core::MerchantId;
use std::sync::Arc;

/// Who a processor call is made for: the merchant, and the account at the processor it is
/// bound to (Stripe: a connected account, sent as `Stripe-Account`), if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub merchant: MerchantId,
    pub account: Option<String>,
}

/// What the processor says about a session's payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The processor holds the money: authorized, or already captured.
    Authorized { captured: bool },
    /// The card was declined. `attempt` is the processor's id of the failed attempt (Stripe:
    /// the failed charge), so that a webhook and a poll about it count once.
    Declined {
        outcome: PaymentOutcome,
        attempt: Option<String>,
    },
    /// The payment is not complete (or was never started): nothing to record.
    Pending(String),
    /// The payment was cancelled at the processor.
    Cancelled,
}

/// A payment prepared for a session at PUT …/payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    pub payment: PaymentRef,
    /// What the device's SDK needs to collect it (Stripe: the `client_secret`).
    pub client_secret: Option<String>,
}

/// What a cancel does to a payment the card has already authorized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelMode {
    /// Keep it: the customer paid, so the session is finalized instead (§9).
    UnlessAuthorized,
    /// Release it: the merchant cancels an order nothing was captured of.
    Release,
}

/// How a merchant names a reader to register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReaderClaim {
    /// The code the reader shows on its screen (Stripe: `registration_code`).
    Code(String),
    /// A reader already registered at the processor (Stripe: `tmr_…`).
    Existing(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReaderInfo {
    pub id: String,
    pub label: Option<String>,
}

/// Why a processor call failed, in the terms the API answers with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProcessorError {
    /// The processor failed or did not answer: `502 PROCESSOR_ERROR`, nothing changed.
    #[error("{0}")]
    Unavailable(String),
    /// The input names something the processor does not accept: `400 BAD_VALUE` on `field`.
    #[error("{field}: {message}")]
    BadValue { field: String, message: String },
    /// The processor's state forbids it: `409 NOT_ALLOWED`.
    #[error("{0}")]
    NotAllowed(String),
    /// The reader is busy with another payment: `409 DEVICE_BUSY`.
    #[error("the reader is busy")]
    ReaderBusy,
    /// This processor cannot do that at all.
    #[error("{0}")]
    Unsupported(String),
}

impl ProcessorError {
    pub fn bad(field: &str, message: impl Into<String>) -> Self {
        Self::BadValue {
            field: field.into(),
            message: message.into(),
        }
    }
}

pub type Result<T, E = ProcessorError> = std::result::Result<T, E>;

/// One card processor. Every money-moving call carries an idempotency key derived from
/// Kassa's own ids, so a retried call never moves money twice.
#[async_trait]
pub trait Processor: Send + Sync {
    fn name(&self) -> &'static str;
    /// A secret the device's SDK uses to connect to the processor (Stripe Terminal's
    /// connection token), and the processor's id of the location's mirror, which the SDK
    /// needs to connect Tap to Pay or a Bluetooth reader there.
    async fn connection_token(
        &self,
        acct: &Account,
        location: Option<&Location>,
    ) -> Result<(String, Option<String>)>;
    /// Creates (or finds again) the one payment of this session, for `order_amount`.
    /// `None` when the processor needs none (simulated).
    async fn prepare(&self, acct: &Account, session: &Session) -> Result<Option<Prepared>>;
    /// Verifies what the device says it paid with: only the session's own payment, for its
    /// amount and currency, counts.
    async fn verify(
        &self,
        acct: &Account,
        session: &Session,
        result: &PaymentResult,
    ) -> Result<Verdict>;
    /// Asks the processor where the session's payment stands (webhooks, reconciliation).
    async fn status(&self, acct: &Account, session: &Session) -> Result<Verdict>;
    /// Captures `amount`; returns the processor's id of the capture.
    async fn capture(
        &self,
        acct: &Account,
        payment: &PaymentRef,
        amount: i64,
        key: &str,
    ) -> Result<Option<String>>;
    /// Refunds `amount`; returns the processor's id of the refund.
    async fn refund(
        &self,
        acct: &Account,
        payment: &PaymentRef,
        amount: i64,
        key: &str,
    ) -> Result<Option<String>>;
    /// Cancels the payment. With `CancelMode::UnlessAuthorized` (a session's cancel or
    /// expiry) a payment the card already authorized is left alone and reported as
    /// `Verdict::Authorized`: the sale happened, and the caller finalizes instead. With
    /// `CancelMode::Release` (an order's cancel) the authorization is released.
    async fn cancel(
        &self,
        acct: &Account,
        payment: &PaymentRef,
        key: &str,
        mode: CancelMode,
    ) -> Result<Verdict>;
    /// Registers (or adopts) a reader at the processor's mirror of `location`.
    async fn register_reader(
        &self,
        acct: &Account,
        location: &Location,
        claim: &ReaderClaim,
        label: Option<&str>,
    ) -> Result<ReaderInfo>;
    /// Puts the payment on the reader's screen. `ReaderBusy` / `NotAllowed` (offline).
    async fn present(
        &self,
        acct: &Account,
        reader: &str,
        payment: &PaymentRef,
        key: &str,
    ) -> Result<()>;
    /// Takes whatever the reader shows off its screen; fine when it shows nothing.
    async fn clear_reader(&self, acct: &Account, reader: &str, key: &str) -> Result<()>;
}

/// The processors this server has: `simulated` in playground mode, `stripe` when
/// configured. Cheap to clone.
#[derive(Clone, Default)]
pub struct Processors {
    pub simulated: Option<Arc<dyn Processor>>,
    pub stripe: Option<Arc<stripe::StripeProcessor>>,
}

impl Processors {
    pub fn from_config(
        mode: ServerMode,
        config: &config::ProcessorsConfig,
        store: Arc<dyn kassa_store::Store>,
    ) -> anyhow::Result<Self> {
        let stripe = config
            .stripe
            .as_ref()
            .map(|c| stripe::StripeProcessor::new(c, store.clone()).map(Arc::new))
            .transpose()?;
        let simulated = (mode == ServerMode::Playground)
            .then(|| Arc::new(simulated::Simulated) as Arc<dyn Processor>);
        Ok(Self { simulated, stripe })
    }

    /// The processor that collects card payments for this device, or why there is none.
    ///
    /// A real processor serves the native apps and readers. The web POS cannot collect a
    /// card (no card reader in a browser), so it and the playground's simulated devices use
    /// the simulated processor; in live mode they cannot take cards at all.
    pub fn for_device(&self, device: &Device) -> std::result::Result<Arc<dyn Processor>, String> {
        let simulated_device = device.platform == Platform::Web
            || device.metadata.get("simulated").map(String::as_str) == Some("true");
        match (&self.stripe, &self.simulated) {
            (Some(stripe), _) if !simulated_device => Ok(stripe.clone()),
            (_, Some(simulated)) => Ok(simulated.clone()),
            (None, None) => Err("no card processor is configured".into()),
            (Some(_), None) => Err("card payments need the native POS app or a card reader: \
                 the web POS cannot collect cards in live mode"
                .into()),
        }
    }

    /// The processor named `name`, if this server has it.
    pub fn named(&self, name: &str) -> Option<Arc<dyn Processor>> {
        match name {
            "simulated" => self.simulated.clone(),
            "stripe" => self.stripe.clone().map(|s| s as Arc<dyn Processor>),
            _ => None,
        }
    }

    /// The processor holding a session's payment (`None` for the simulated processor).
    pub fn of_session(&self, session: &Session) -> Option<Arc<dyn Processor>> {
        session.processor().and_then(|name| self.named(name))
    }

    /// The names this server accepts in a device's `payment.processor`.
    pub fn names(&self) -> Vec<&'static str> {
        let mut names = Vec::new();
        if self.simulated.is_some() {
            names.push("simulated");
        }
        if self.stripe.is_some() {
            names.push("stripe");
        }
        names
    }
}
