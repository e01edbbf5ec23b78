//! What the fake remembers: the Stripe objects (typed, one struct per resource), who owns
//! each, and the shared handle the HTTP side and the control API both work through.
//!
//! State changes happen in `payments.rs` and `terminal.rs`; rendering to Stripe's JSON in
//! `objects.rs`. Every change runs under one lock and its events are emitted before the lock
//! is released, so webhooks leave in the order the changes happened.

use crate::error::StripeError;
use crate::protocol::Protocol;
use crate::webhooks::Hooks;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Mutex, MutexGuard, PoisonError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IntentStatus {
    RequiresPaymentMethod,
    RequiresCapture,
    Succeeded,
    Canceled,
}

impl IntentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RequiresPaymentMethod => "requires_payment_method",
            Self::RequiresCapture => "requires_capture",
            Self::Succeeded => "succeeded",
            Self::Canceled => "canceled",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Intent {
    pub id: String,
    pub account: Option<String>,
    pub created: i64,
    pub amount: i64,
    pub currency: String,
    pub capture_method: String,
    pub payment_method_types: Vec<String>,
    pub metadata: BTreeMap<String, String>,
    pub description: Option<String>,
    pub status: IntentStatus,
    pub amount_capturable: i64,
    pub amount_received: i64,
    pub latest_charge: Option<String>,
    pub payment_method: Option<String>,
    pub last_payment_error: Option<Value>,
    pub canceled_at: Option<i64>,
    pub cancellation_reason: Option<String>,
    pub client_secret: String,
}

/// A failed authorisation, as Stripe records it on the charge.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub code: &'static str,
    pub decline_code: String,
    pub message: &'static str,
}

#[derive(Debug, Clone)]
pub(crate) struct Charge {
    pub id: String,
    pub account: Option<String>,
    pub created: i64,
    pub amount: i64,
    pub currency: String,
    pub payment_intent: String,
    pub payment_method: String,
    pub last4: &'static str,
    /// `None` when the issuer approved.
    pub failure: Option<Failure>,
    pub captured: bool,
    pub amount_captured: i64,
    pub amount_refunded: i64,
    pub refunds: Vec<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Refund {
    pub id: String,
    pub created: i64,
    pub amount: i64,
    pub currency: String,
    pub charge: String,
    pub payment_intent: String,
    pub metadata: BTreeMap<String, String>,
    pub reason: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Location {
    pub id: String,
    pub account: Option<String>,
    pub display_name: String,
    pub address: BTreeMap<String, String>,
    pub metadata: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ActionStatus {
    InProgress,
    Succeeded,
    Failed,
}

/// `(failure_code, failure_message)` of a reader action that failed.
pub(crate) type ActionFailure = (String, String);

/// A reader's current `process_payment_intent` action, the only kind the fake performs.
#[derive(Debug, Clone)]
pub(crate) struct Action {
    pub payment_intent: String,
    pub status: ActionStatus,
    pub failure: Option<ActionFailure>,
}

#[derive(Debug, Clone)]
pub(crate) struct Reader {
    pub id: String,
    pub account: Option<String>,
    pub label: String,
    pub location: Option<String>,
    pub device_type: &'static str,
    pub serial_number: String,
    pub online: bool,
    pub action: Option<Action>,
    pub metadata: BTreeMap<String, String>,
}

/// Whose eyes a lookup uses: an API call sees only its own account's objects (another
/// account's object answers 404, as on Stripe); the control API sees everything.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Scope<'a> {
    Account(Option<&'a str>),
    Test,
}

impl Scope<'_> {
    pub fn sees(self, owner: &Option<String>) -> bool {
        match self {
            Scope::Account(account) => owner.as_deref() == account,
            Scope::Test => true,
        }
    }
}

/// An event a state change produced; `webhooks.rs` wraps it in Stripe's envelope.
#[derive(Debug, Clone)]
pub(crate) struct Emitted {
    pub kind: &'static str,
    pub object: Value,
    pub account: Option<String>,
}

/// The request an event came from (`event.request`); both `None` for changes made outside
/// the API (a tap, the Dashboard).
#[derive(Debug, Clone, Default)]
pub(crate) struct Origin {
    pub request_id: Option<String>,
    pub idempotency_key: Option<String>,
}

/// Every Stripe object the fake holds.
#[derive(Debug, Default)]
pub(crate) struct Objects {
    pub intents: HashMap<String, Intent>,
    pub charges: HashMap<String, Charge>,
    pub refunds: HashMap<String, Refund>,
    pub locations: HashMap<String, Location>,
    pub readers: HashMap<String, Reader>,
    /// Codes a test registered; each can register one reader.
    pub registration_codes: HashSet<String>,
}

impl Objects {
    pub fn intent_mut(&mut self, scope: Scope, id: &str) -> Result<&mut Intent, StripeError> {
        self.intents
            .get_mut(id)
            .filter(|pi| scope.sees(&pi.account))
            .ok_or_else(|| StripeError::missing("payment_intent", id, "intent"))
    }

    pub fn reader_mut(&mut self, scope: Scope, id: &str) -> Result<&mut Reader, StripeError> {
        self.readers
            .get_mut(id)
            .filter(|r| scope.sees(&r.account))
            .ok_or_else(|| StripeError::missing("terminal.reader", id, "reader"))
    }
}

/// Everything the server and the control API share.
pub(crate) struct Shared {
    pub objects: Mutex<Objects>,
    pub protocol: Mutex<Protocol>,
    pub hooks: Hooks,
    pub secret_key: String,
}

impl Shared {
    /// Runs one state change and emits its events while the lock is still held, so events
    /// leave in the order their changes happened even under concurrent requests.
    pub fn apply<T>(
        &self,
        origin: &Origin,
        change: impl FnOnce(&mut Objects) -> Result<(T, Vec<Emitted>), StripeError>,
    ) -> Result<T, StripeError> {
        let mut objects = lock(&self.objects);
        let (answer, events) = change(&mut objects)?;
        for event in events {
            self.hooks.emit(event, origin);
        }
        Ok(answer)
    }

    /// A read or a change that emits nothing.
    pub fn with<T>(&self, read: impl FnOnce(&mut Objects) -> T) -> T {
        read(&mut lock(&self.objects))
    }
}

/// Locks without panicking on poison: a test that panicked elsewhere must not turn every
/// later assertion into a confusing poison error; the data is still the best record we have.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
