//! What Kassa keeps about card processors: the processor's payment behind a session, the
//! connected account a merchant is bound to, the processor's mirror of each location, and
//! the processor's webhook events until they have been acted on.

use crate::model::*;
use crate::Result;
use async_trait::async_trait;
use kassa_core::machine::{Command, Policy};
use kassa_core::session::{NewSession, PaymentRef, Session};
use kassa_core::{LocationId, MerchantId, SessionId, Timestamp};

/// A processor's webhook event as received, kept until Kassa has acted on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessorEvent {
    pub processor: String,
    pub event_id: String,
    pub event_type: String,
    /// The raw body the processor signed.
    pub payload: String,
    pub received_at: Timestamp,
    /// How often acting on it has been tried and failed.
    pub attempts: i64,
}

#[async_trait]
pub trait ProcessorStore: Send + Sync {
    /// Attaches the processor's payment (and the secret its device SDK needs) to an open
    /// session visible to `scope`, and runs `command` in the same transaction (the
    /// activation that the payment was prepared for). `Refused` when the session is not open
    /// (or the command is refused); `Duplicate::OtherPayment` when it already has a different payment,
    /// `Duplicate::PaymentInUse` when another session has this one.
    #[allow(clippy::too_many_arguments)]
    async fn attach_payment(
        &self,
        scope: Scope,
        id: SessionId,
        payment: &PaymentRef,
        secret: Option<&str>,
        command: Option<Command>,
        now: Timestamp,
        policy: Policy,
    ) -> Result<Session>;
    /// Creates a session whose payment the processor already holds (a reader's), with the
    /// payment attached and `activate` applied, in one transaction: `DeviceBusy` and
    /// `BadReference` as `create_session`. Its webhooks wait for the create's answer.
    async fn create_paid_session(
        &self,
        new: NewSession,
        payment: &PaymentRef,
        activate: Command,
        now: Timestamp,
        policy: Policy,
    ) -> Result<Session>;
    /// The session whose payment this is, whoever's it is (processor webhooks carry no
    /// merchant credentials; the processor's signature vouches for them).
    async fn session_by_payment(&self, payment: &PaymentRef) -> Result<Option<Session>>;
    /// Open sessions a processor holds a payment for that have not changed since
    /// `quiet_since`, or whose deadline has passed by `now`; least recently changed first.
    async fn processor_sessions_to_check(
        &self,
        quiet_since: Timestamp,
        now: Timestamp,
        limit: i64,
    ) -> Result<Vec<Session>>;
    /// Binds the merchant to an account at the processor (Stripe: a connected account,
    /// `acct_…`), or unbinds it with `None`.
    async fn set_processor_account(
        &self,
        merchant: MerchantId,
        processor: &str,
        account: Option<&str>,
        now: Timestamp,
    ) -> Result<()>;
    async fn processor_account(
        &self,
        merchant: MerchantId,
        processor: &str,
    ) -> Result<Option<String>>;
    /// The processor's id of its mirror of this location, if one was made.
    async fn processor_location(
        &self,
        location: LocationId,
        processor: &str,
    ) -> Result<Option<String>>;
    /// Remembers the processor's mirror of a location. Keeps the first one stored: returns
    /// that id, which differs from `external_id` when another request got there first.
    async fn save_processor_location(
        &self,
        location: LocationId,
        processor: &str,
        external_id: &str,
        now: Timestamp,
    ) -> Result<String>;
    /// Stores a processor's webhook event unless it is known already. True if this call
    /// stored it: the caller acts on it, and a duplicate (on this node or another) does not.
    async fn record_processor_event(&self, event: &ProcessorEvent) -> Result<bool>;
    /// Events received at or before `received_before` that have not been acted on yet.
    async fn pending_processor_events(
        &self,
        received_before: Timestamp,
        limit: i64,
    ) -> Result<Vec<ProcessorEvent>>;
    /// Takes a pending event for another try: true for exactly one caller among the nodes
    /// that read it with this `received_at`, which moves to `next_look` (the caller's
    /// backoff: the event is not pending again before then) and counts the attempt.
    async fn claim_processor_event(
        &self,
        event: &ProcessorEvent,
        next_look: Timestamp,
    ) -> Result<bool>;
    /// Deletes events received (or last tried) before `before`, acted on or not: past the
    /// retention nobody retries them. Returns how many went.
    async fn prune_processor_events(&self, before: Timestamp) -> Result<u64>;
    /// Marks the event acted on.
    async fn finish_processor_event(
        &self,
        processor: &str,
        event_id: &str,
        now: Timestamp,
    ) -> Result<()>;
}
