//! `SqlStore`: the one implementation of the store traits. Queries are written once with
//! `$n` placeholders, which both SQLite and PostgreSQL accept, and run through sqlx's `Any`
//! driver; `Backend` supplies the few clauses that differ.

mod devices;
mod events;
mod fanout;
mod idempotency;
mod merchants;
mod orders;
mod payments;
mod places;
mod portal;
mod queue;
mod quick_create;
mod session_tx;
mod sessions;
pub(crate) mod stats;
mod webhooks;
mod writer;

pub use idempotency::with_idempotency_key;
pub use writer::WriteGroups;
pub(crate) use writer::{WriteTx, Writer};

use crate::notify::Notice;
use crate::{Backend, Result};
use sqlx::any::AnyArguments;
use sqlx::query::QueryAs;
use sqlx::Any;
use sqlx::AnyPool;
use tokio::sync::broadcast;

pub struct SqlStore {
    pub(crate) backend: Backend,
    /// Write transactions. SQLite: one connection, because SQLite has one writer and a queue
    /// in the pool is cheaper than lock retries, with group commit (`writer.rs`). PostgreSQL:
    /// plain transactions on the same pool as `read`.
    pub(crate) write: Writer,
    pub(crate) read: AnyPool,
    pub(crate) notices: broadcast::Sender<Notice>,
    /// PostgreSQL: committed changes' notices on their way to `NOTIFY` (see `postgres.rs`).
    pub(crate) outbound: std::sync::OnceLock<tokio::sync::mpsc::UnboundedSender<Outbound>>,
    /// API keys seen on this node (PostgreSQL only; see `key_cache.rs`).
    pub(crate) keys: std::sync::Arc<crate::key_cache::KeyCache>,
    /// Where this node's committed deliveries go (see `fanout.rs`).
    pub(crate) routing: std::sync::OnceLock<fanout::Routing>,
    /// This process as a node of the delivery queue (see `node.rs`).
    pub(crate) node: crate::node::Node,
}

/// A notice for the PostgreSQL notifier and who to tell once it is sent.
pub(crate) type Outbound = (Notice, tokio::sync::oneshot::Sender<()>);

impl SqlStore {
    pub(crate) fn new(backend: Backend, write: Writer, read: AnyPool) -> Self {
        let (notices, _) = broadcast::channel(4096);
        Self {
            backend,
            write,
            read,
            notices,
            outbound: std::sync::OnceLock::new(),
            routing: std::sync::OnceLock::new(),
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

    pub(crate) fn publish(&self, notices: Vec<Notice>) {
        for notice in notices {
            // No receivers is fine: nobody is waiting for this session.
            let _ = self.notices.send(notice);
        }
    }
}

/// A value to bind. Dynamic filters collect these while they build their SQL.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    Text(String),
    Int(i64),
}

/// SQL under construction with its arguments, numbered `$1…` in push order.
#[derive(Debug, Default)]
pub(crate) struct Sql {
    pub text: String,
    pub args: Vec<Arg>,
}

impl Sql {
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            args: Vec::new(),
        }
    }

    /// Adds an argument and returns its placeholder number.
    pub fn arg(&mut self, arg: Arg) -> usize {
        self.args.push(arg);
        self.args.len()
    }

    /// Appends ` AND <condition>` where `$?` in `condition` stands for the new argument.
    pub fn and(&mut self, condition: &str, arg: Arg) {
        let n = self.arg(arg);
        self.text.push_str(" AND ");
        self.text
            .push_str(&condition.replace("$?", &format!("${n}")));
    }

    pub fn query_as<T>(&self) -> QueryAs<'_, Any, T, AnyArguments<'_>>
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow>,
    {
        self.args
            .iter()
            .fold(sqlx::query_as(&self.text), |q, a| match a {
                Arg::Text(s) => q.bind(s.as_str()),
                Arg::Int(i) => q.bind(*i),
            })
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
