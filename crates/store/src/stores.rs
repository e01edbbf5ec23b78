//! The use-case methods, one trait per resource. Each method is one transaction.

use crate::model::*;
use crate::Result;
use async_trait::async_trait;
use kassa_core::event::{EventType, TimelineEntry};
use kassa_core::machine::{Command, Policy};
use kassa_core::order::Order;
use kassa_core::session::{NewSession, PaymentOutcome, Session, SessionStatus};
use kassa_core::{
    ApiKeyId, AttemptId, DeviceId, EnrollmentId, EventId, LocationId, MerchantId, OrderId,
    SessionId, Timestamp,
};

#[async_trait]
pub trait MerchantStore: Send + Sync {
    /// Checks the database answers (readiness).
    async fn ping(&self) -> Result<()>;
    async fn create_merchant(&self, merchant: &Merchant) -> Result<()>;
    async fn list_merchants(&self) -> Result<Vec<Merchant>>;
    async fn get_merchant(&self, id: MerchantId) -> Result<Option<Merchant>>;
    async fn create_api_key(&self, key: &ApiKey) -> Result<()>;
    /// Revokes by key id or by the key's printed prefix. Returns false if nothing matched.
    async fn revoke_api_key(&self, id_or_prefix: &str, now: Timestamp) -> Result<bool>;
    /// The live (unrevoked) key with this hash and its merchant.
    async fn find_api_key(&self, key_hash: &str) -> Result<Option<(ApiKey, Merchant)>>;
    async fn list_api_keys(&self, merchant: MerchantId) -> Result<Vec<ApiKey>>;
    /// The merchant's keys, newest first, revoked ones included.
    async fn page_api_keys(&self, merchant: MerchantId, page: PageRequest) -> Result<Page<ApiKey>>;
    /// Revokes one of the merchant's keys, at once on every node (the PostgreSQL key caches
    /// are cleared as by `revoke_api_key`). True if the merchant has that key, revoked now or
    /// before (a repeat is a no-op); false if it has not, whoever else may.
    async fn revoke_merchant_api_key(
        &self,
        merchant: MerchantId,
        id: ApiKeyId,
        now: Timestamp,
    ) -> Result<bool>;
}

#[async_trait]
pub trait PlaceStore: Send + Sync {
    async fn create_location(&self, location: &Location) -> Result<()>;
    async fn get_location(&self, merchant: MerchantId, id: LocationId) -> Result<Option<Location>>;
    async fn list_locations(
        &self,
        merchant: MerchantId,
        page: PageRequest,
    ) -> Result<Page<Location>>;
    /// Replaces the name and address of the merchant's location `location.id` and sets its
    /// `updated_at`; id, merchant and `created_at` stay. Returns what is stored; `NotFound` if
    /// the merchant has no such location.
    async fn update_location(&self, location: &Location) -> Result<Location>;
    /// Deletes the merchant's location with its processor mirrors (`processor_locations`).
    /// `Refused` (not allowed, with the counts) while live devices or usable pairing codes
    /// are assigned to it; `NotFound` if the merchant has no such location. Deleted devices
    /// and spent codes forget it; sessions keep its id as history.
    async fn delete_location(
        &self,
        merchant: MerchantId,
        id: LocationId,
        now: Timestamp,
    ) -> Result<()>;
    async fn create_enrollment(&self, enrollment: &Enrollment) -> Result<()>;
    async fn get_enrollment(
        &self,
        merchant: MerchantId,
        id: EnrollmentId,
    ) -> Result<Option<Enrollment>>;
    async fn list_enrollments(
        &self,
        merchant: MerchantId,
        filter: &EnrollmentFilter,
        page: PageRequest,
        now: Timestamp,
    ) -> Result<Page<Enrollment>>;
    /// Soft-deletes a pending code; false if there is no such enrollment for this merchant.
    async fn cancel_enrollment(&self, merchant: MerchantId, id: EnrollmentId) -> Result<bool>;
}

#[async_trait]
pub trait DeviceStore: Send + Sync {
    /// Consumes a pending, unexpired code and creates the device in one transaction.
    /// `NotFound` for any code that cannot be used, so callers cannot tell which.
    async fn register_device(&self, reg: &DeviceRegistration, now: Timestamp) -> Result<Device>;
    /// Creates a device directly (playground simulated devices and the demo seed).
    async fn create_device(&self, device: &Device, token_hash: &str) -> Result<()>;
    async fn get_device(&self, merchant: MerchantId, id: DeviceId) -> Result<Option<Device>>;
    async fn list_devices(
        &self,
        merchant: MerchantId,
        filter: &DeviceFilter,
        page: PageRequest,
    ) -> Result<Page<Device>>;
    async fn update_device(
        &self,
        merchant: MerchantId,
        id: DeviceId,
        patch: &DevicePatch,
    ) -> Result<Device>;
    /// Deletes the device and revokes its token; `Refused` while it has an open session.
    /// After commit it announces a `DeviceRemoved` notice, on which every node closes the
    /// device's streams.
    async fn delete_device(&self, merchant: MerchantId, id: DeviceId, now: Timestamp)
        -> Result<()>;
    async fn find_device_by_token(&self, token_hash: &str) -> Result<Option<Device>>;
    /// Records that the device was heard from. False when it is deleted: a stream that
    /// missed the removal notice (a lost `NOTIFY`) learns it here.
    async fn touch_device(&self, id: DeviceId, now: Timestamp) -> Result<bool>;
    /// Forgets a push token that APNs or FCM reported invalid, but only if the device still
    /// has that token (a newer one must survive a late report). True if it was cleared.
    async fn clear_push_token(&self, id: DeviceId, stale_token: &str) -> Result<bool>;
}

/// The first answer to a finalize call, kept so that a retried call gets it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptResult {
    pub outcome: PaymentOutcome,
    pub session: Session,
    /// True when this is a stored answer to a repeated `attempt_id`.
    pub replayed: bool,
}

#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Stores a new session with its timeline entry and `ipp.session.created` event.
    /// `DeviceBusy` if the device has an open session; `BadReference` for an unknown device
    /// or one outside `new.location_id`.
    async fn create_session(&self, new: NewSession, now: Timestamp) -> Result<Session>;
    async fn get_session(&self, scope: Scope, id: SessionId) -> Result<Option<Session>>;
    async fn list_sessions(
        &self,
        merchant: MerchantId,
        filter: &SessionFilter,
        page: PageRequest,
    ) -> Result<Page<Session>>;
    async fn device_sessions(
        &self,
        device: DeviceId,
        statuses: &[SessionStatus],
    ) -> Result<Vec<Session>>;
    /// Runs `command` through the state machine and persists what it decided. A refusal
    /// still commits what the decision changed (an expiry) and is returned as `Refused`.
    async fn command_session(
        &self,
        scope: Scope,
        id: SessionId,
        command: Command,
        now: Timestamp,
        policy: Policy,
    ) -> Result<Session>;
    /// A processor-verified attempt. The same `attempt_id` again returns the first answer.
    async fn finalize_session(
        &self,
        scope: Scope,
        id: SessionId,
        attempt_id: AttemptId,
        command: Command,
        now: Timestamp,
        policy: Policy,
    ) -> Result<AttemptResult>;
    async fn timeline(&self, scope: Scope, id: SessionId) -> Result<Option<Vec<TimelineEntry>>>;
    /// Expires up to `limit` sessions whose deadline has passed; returns how many. Sessions
    /// with a processor payment are not among them: the server's processor sweep expires
    /// those once the processor has cancelled the payment (money may already be taken).
    async fn expire_due(&self, now: Timestamp, limit: i64) -> Result<usize>;
    /// The earliest deadline of an open session without a processor payment, so the sweeper
    /// can sleep until then.
    async fn next_expiry(&self) -> Result<Option<Timestamp>>;
}

/// A change to an order, checked by the domain (captures, refunds, cancel).
pub type OrderChange =
    dyn Fn(&mut Order) -> std::result::Result<(), kassa_core::DomainError> + Send + Sync;

#[async_trait]
pub trait OrderStore: Send + Sync {
    async fn get_order(&self, merchant: MerchantId, id: OrderId) -> Result<Option<Order>>;
    /// Loads the order, lets `change` modify it and stores it, in one transaction.
    async fn update_order(
        &self,
        merchant: MerchantId,
        id: OrderId,
        change: &OrderChange,
    ) -> Result<Order>;
}

/// The stored answer to an idempotent request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyClaim {
    /// The key is new and now reserved for this request.
    Claimed,
    /// The same request was answered before.
    Replay(StoredResponse),
    /// The key was used for a different request.
    Mismatch,
    /// The same request is still being processed.
    InProgress,
    /// The same request took effect, but its answer was lost (its node stopped between its
    /// commit and storing the answer): it must not run again, and there is nothing to replay.
    Lost,
}

#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// Reserves `key` for a request with this fingerprint, unless a reservation younger than
    /// `since` exists. Older ones are treated as gone (the retention window).
    async fn claim_idempotency_key(
        &self,
        merchant: MerchantId,
        key: &str,
        fingerprint: &str,
        now: Timestamp,
        since: Timestamp,
    ) -> Result<IdempotencyClaim>;
    async fn complete_idempotency_key(
        &self,
        merchant: MerchantId,
        key: &str,
        response: &StoredResponse,
    ) -> Result<()>;
    /// Drops a reservation whose request failed before it changed anything, so it may be retried.
    async fn release_idempotency_key(&self, merchant: MerchantId, key: &str) -> Result<()>;
    async fn purge_idempotency_keys(&self, before: Timestamp) -> Result<u64>;
}

/// A webhook event as stored in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub seq: i64,
    pub id: EventId,
    pub merchant_id: MerchantId,
    pub event_type: EventType,
    pub session_id: SessionId,
    pub sequence: i64,
    pub status: SessionStatus,
    pub previous_status: Option<SessionStatus>,
    pub order_id: Option<OrderId>,
    pub failure_reason: Option<PaymentOutcome>,
    pub merchant_reference1: Option<String>,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub event_type: Option<EventType>,
    pub session_id: Option<SessionId>,
    /// Only events after this one (exclusive cursor).
    pub after: Option<EventId>,
    pub limit: i64,
}

#[async_trait]
pub trait EventStore: Send + Sync {
    /// Events oldest first. `NotFound` if `after` names an event this merchant does not have.
    async fn list_events(
        &self,
        merchant: MerchantId,
        filter: &EventFilter,
    ) -> Result<Vec<StoredEvent>>;
    /// Deletes up to `limit` of the oldest events created before `before`, with their
    /// deliveries and attempt log; returns how many events went. Looks only at the `limit`
    /// oldest events, so it never scans the table: call again while it returns `limit`.
    async fn prune_events(&self, before: Timestamp, limit: i64) -> Result<usize>;
    fn backend(&self) -> crate::Backend;
}

/// Webhook endpoints and the delivery queue. Delivery rows are written with their event (the
/// outbox), in its transaction; most are leased to the committing node's dispatcher there
/// and then (and handed to it through `Signals::route_deliveries`), the rest are claimed
/// with a lease by `claim_deliveries` (with `SKIP LOCKED` on PostgreSQL, so nodes share the
/// queue); `record_attempts` settles them.
#[async_trait]
pub trait WebhookStore: Send + Sync {
    async fn create_webhook_endpoint(&self, endpoint: &crate::WebhookEndpoint) -> Result<()>;
    async fn get_webhook_endpoint(
        &self,
        merchant: MerchantId,
        id: kassa_core::WebhookEndpointId,
    ) -> Result<Option<crate::WebhookEndpoint>>;
    async fn list_webhook_endpoints(
        &self,
        merchant: MerchantId,
        page: PageRequest,
    ) -> Result<Page<crate::WebhookEndpoint>>;
    /// `NotFound` if the merchant has no such endpoint.
    async fn update_webhook_endpoint(
        &self,
        merchant: MerchantId,
        id: kassa_core::WebhookEndpointId,
        patch: &crate::WebhookEndpointPatch,
        now: Timestamp,
    ) -> Result<crate::WebhookEndpoint>;
    /// Deletes the endpoint with its deliveries and their log; false if there was none.
    async fn delete_webhook_endpoint(
        &self,
        merchant: MerchantId,
        id: kassa_core::WebhookEndpointId,
    ) -> Result<bool>;
    /// Makes `secret` current; the old one keeps signing until `previous_expires_at`.
    async fn rotate_webhook_secret(
        &self,
        merchant: MerchantId,
        id: kassa_core::WebhookEndpointId,
        secret: &str,
        previous_expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<crate::WebhookEndpoint>;
    /// The endpoint's attempts, newest first.
    async fn list_delivery_attempts(
        &self,
        merchant: MerchantId,
        endpoint: kassa_core::WebhookEndpointId,
        page: PageRequest,
    ) -> Result<Page<crate::DeliveryAttempt>>;
    /// The delivery states of one event (tests and support).
    async fn event_deliveries(
        &self,
        merchant: MerchantId,
        event: &EventId,
    ) -> Result<Vec<crate::DeliveryState>>;
    /// Starts a fresh attempt series of `event` to every enabled endpoint that wants it,
    /// due at `at`; returns how many. `NotFound` if the merchant has no such event.
    async fn redeliver_event(
        &self,
        merchant: MerchantId,
        event: &EventId,
        at: Timestamp,
    ) -> Result<usize>;
    /// Leases up to `limit` due deliveries until `lease_until`, none to the endpoints in
    /// `skip` (those with as many requests in flight as they may have). A delivery whose
    /// session has an earlier event not yet attempted on the same endpoint waits for it, so
    /// first attempts go out in `sequence` order; retries never hold later events back.
    async fn claim_deliveries(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: i64,
        skip: &[kassa_core::WebhookEndpointId],
    ) -> Result<Vec<crate::DueDelivery>>;
    /// Gives up this node's leases of these deliveries, so that a claim can take them.
    async fn release_leases(&self, deliveries: &[i64]) -> Result<()>;
    /// Logs the attempts and moves their deliveries on, in one transaction. True if a later
    /// event of one of their sessions waits on the same endpoint and may be claimed now.
    async fn record_attempts(
        &self,
        attempts: &[crate::AttemptRecord],
        now: Timestamp,
    ) -> Result<bool>;
    /// When the earliest pending delivery is due (the dispatcher's retry timer).
    async fn next_delivery_due(&self) -> Result<Option<Timestamp>>;
}
