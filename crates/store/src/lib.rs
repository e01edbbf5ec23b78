//! Kassa's storage. One `Store` trait of use-case methods, each owning its transaction, and
//! one SQL implementation (`sql/`) that runs on two real backends, SQLite (embedded default)
//! and PostgreSQL (several nodes share one database).
//!
//! The trait is storage only: rows in, rows out. What a commit tells the rest of the process
//! lives on `Signals` (`signals.rs`), which `SqlStore::signals()` hands out and the store
//! publishes into after each commit: `subscribe` (committed changes, from every node on
//! PostgreSQL), `route_deliveries` (the deliveries this node commits, for its dispatcher) and
//! `release_deliveries` (a create has been answered, so its held deliveries may go).
//!
//! Most statements are the same text on both backends. Where they differ:
//! * connection set-up in `sqlite.rs` and `postgres.rs` (with PostgreSQL's `NOTIFY` sender),
//!   migrations per backend (`migrations/`), node leases in `node.rs`, the API key cache
//!   (`key_cache.rs`, PostgreSQL only), and the clauses in `dialect.rs` (row locks, `SKIP
//!   LOCKED`, JSON fields);
//! * writes that PostgreSQL does in one statement and SQLite in a short transaction: side by
//!   side in `sql/event_write.rs` (an event with its deliveries) and `sql/queue.rs` (claiming
//!   and recording deliveries); a session's create (`sql/create.rs`) and its transitions
//!   (`sql/transition.rs`), whose one statement falls back to the transaction in
//!   `sql/sessions.rs`, SQLite's only way;
//! * `sql/session_write.rs::announce` (a committed change's notice: in process, or `NOTIFY`),
//!   `sql/merchants.rs` (authentication through the key cache) and `sql/stats.rs` (pools).
//!
//! The conformance suite in `tests/` runs against both.
#![forbid(unsafe_code)]

mod dialect;
mod error;
mod key_cache;
mod model;
mod node;
mod notify;
mod portal;
mod postgres;
mod processors;
mod rows;
mod signals;
mod sql;
mod sqlite;
mod stores;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
mod webhooks;

pub use dialect::Backend;
pub use error::{Duplicate, StoreError};
pub use model::*;
pub use notify::{Notice, NoticeKind};
pub use portal::*;
pub use processors::*;
pub use signals::Signals;
pub use sql::stats::{PoolStats, QueueDepth, StatsStore};
pub use sql::with_idempotency_key;
pub use sql::{SqlStore, WriteGroups};
pub use stores::*;
pub use webhooks::*;

use std::sync::Arc;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Everything Kassa keeps, behind one object-safe trait made of one trait per resource.
pub trait Store:
    MerchantStore
    + PlaceStore
    + DeviceStore
    + SessionStore
    + OrderStore
    + IdempotencyStore
    + EventStore
    + WebhookStore
    + ProcessorStore
    + PortalStore
    + StatsStore
{
}

impl<T> Store for T where
    T: MerchantStore
        + PlaceStore
        + DeviceStore
        + SessionStore
        + OrderStore
        + IdempotencyStore
        + EventStore
        + WebhookStore
        + ProcessorStore
        + PortalStore
        + StatsStore
{
}

/// Opens the database named by `url` (`sqlite://…` or `postgres://…`), runs its migrations
/// and returns the store, which carries its `Signals`. The scheme picks the backend.
pub async fn connect(url: &str) -> Result<Arc<SqlStore>> {
    let store = match Backend::from_url(url)? {
        Backend::Sqlite => sqlite::open(url).await?,
        Backend::Postgres => postgres::open(url).await?,
    };
    store.migrate().await?;
    Ok(Arc::new(store))
}
