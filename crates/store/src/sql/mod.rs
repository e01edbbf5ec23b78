//! `SqlStore`: the one implementation of the store traits, one module per resource. Queries
//! run through sqlx's `Any` driver with `$n` placeholders, which both SQLite and PostgreSQL
//! accept; statements with arguments are built with `builder::Sql`, which numbers them.
//! The rows a session change writes are listed once, in `records.rs`. Where the backends
//! take different paths is listed in the crate's top comment (`lib.rs`).

mod builder;
mod create;
mod devices;
mod event_write;
mod events;
mod fanout;
mod idempotency;
mod merchants;
mod orders;
mod payments;
mod places;
mod portal;
mod queue;
mod records;
mod session_write;
mod sessions;
pub(crate) mod stats;
#[cfg(test)]
mod test_shop;
mod transition;
mod webhooks;
mod writer;

pub use idempotency::with_idempotency_key;
#[cfg(any(test, feature = "testing"))]
pub(crate) use transition::TRANSACTIONS_ONLY;
pub use writer::WriteGroups;
pub(crate) use writer::{WriteTx, Writer};

use crate::{Backend, Result, Signals};
use sqlx::AnyPool;

pub struct SqlStore {
    pub(crate) backend: Backend,
    /// Write transactions. SQLite: one connection, because SQLite has one writer and a queue
    /// in the pool is cheaper than lock retries, with group commit (`writer.rs`). PostgreSQL:
    /// plain transactions on the same pool as `read`.
    pub(crate) write: Writer,
    pub(crate) read: AnyPool,
    /// Where committed changes and this node's deliveries are announced (`signals.rs`).
    pub(crate) signals: Signals,
    /// API keys seen on this node (PostgreSQL only; see `key_cache.rs`).
    pub(crate) keys: std::sync::Arc<crate::key_cache::KeyCache>,
    /// This process as a node of the delivery queue (see `node.rs`).
    pub(crate) node: crate::node::Node,
}

impl SqlStore {
    pub(crate) fn new(backend: Backend, write: Writer, read: AnyPool, signals: Signals) -> Self {
        Self {
            backend,
            write,
            read,
            signals,
            keys: Default::default(),
            node: Default::default(),
        }
    }

    pub async fn migrate(&self) -> Result<()> {
        match self.backend {
            Backend::Sqlite => {
                sqlx::migrate!("./migrations/sqlite")
                    .run(&self.write.pool)
                    .await?
            }
            Backend::Postgres => {
                sqlx::migrate!("./migrations/postgres")
                    .run(&self.write.pool)
                    .await?
            }
        }
        Ok(())
    }

    /// Closes the pools so that in-flight transactions finish and files are released.
    pub async fn close(&self) {
        self.node.leave();
        self.write.pool.close().await;
        self.read.close().await;
    }

    /// This store's after-commit messages: what the `Store` traits leave out (see `lib.rs`).
    pub fn signals(&self) -> &Signals {
        &self.signals
    }
}

/// Row ids or seqs for an `IN (…)` list. They are integers read from our own tables, so
/// they are written into the SQL rather than bound one placeholder each.
pub(crate) fn id_list(ids: impl IntoIterator<Item = i64>) -> String {
    let ids: Vec<String> = ids.into_iter().map(|i| i.to_string()).collect();
    ids.join(", ")
}

/// `LIMIT/OFFSET` for a page request.
pub(crate) fn page_clause(page: crate::PageRequest) -> String {
    format!(" LIMIT {} OFFSET {}", page.size, page.number * page.size)
}
