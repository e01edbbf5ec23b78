//! What the operator's gauges read: the webhook queue's depth and the connection pools'
//! usage. Read-only and cheap, never part of a use case; the server samples them when
//! `/metrics` is scraped and on a timer (`kassa_server::gauges`).

use super::SqlStore;
use crate::rows::ms;
use crate::{Backend, Result};
use async_trait::async_trait;
use kassa_core::Timestamp;
use sqlx::AnyPool;

/// The webhook delivery queue at one instant, as every node sees it (it is one table).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueDepth {
    /// Deliveries not yet delivered or given up, those of disabled endpoints included (they
    /// resume when the endpoint is enabled again).
    pub pending: i64,
    /// Of those, the ones a dispatcher could claim now: due, not leased to a node, endpoint
    /// enabled. A retry waiting for its time is pending but not due, so a receiver that is
    /// down raises `pending`; `due` rising means the dispatchers are falling behind.
    pub due: i64,
}

/// One connection pool of this node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    /// `write` and `read` on SQLite (one writer, several readers); `shared` on PostgreSQL,
    /// where one pool serves both.
    pub name: &'static str,
    /// Open connections, idle or in use.
    pub size: u32,
    pub idle: u32,
    pub max: u32,
}

impl PoolStats {
    fn of(name: &'static str, pool: &AnyPool) -> Self {
        let size = pool.size();
        Self {
            name,
            size,
            // Sampled one after the other, so clamp: idle can never exceed open.
            idle: u32::try_from(pool.num_idle()).unwrap_or(u32::MAX).min(size),
            max: pool.options().get_max_connections(),
        }
    }

    /// Connections checked out right now.
    pub fn busy(&self) -> u32 {
        self.size - self.idle
    }
}

#[async_trait]
pub trait StatsStore: Send + Sync {
    /// Pending and due webhook deliveries at `now`, in one query over the pending rows (the
    /// partial index `webhook_deliveries_due` holds exactly those).
    async fn queue_depth(&self, now: Timestamp) -> Result<QueueDepth>;
    /// This node's pools, without I/O.
    fn pool_stats(&self) -> Vec<PoolStats>;
    /// SQLite's group commit so far (`None` on PostgreSQL), without I/O.
    fn write_groups(&self) -> Option<super::writer::WriteGroups>;
}

#[async_trait]
impl StatsStore for SqlStore {
    #[tracing::instrument(skip_all)]
    async fn queue_depth(&self, now: Timestamp) -> Result<QueueDepth> {
        // The same "claimable" rule as `queue.rs::due_ids`, less its per-session ordering
        // (a delivery waiting on its session's earlier event still counts as due).
        let (pending, due): (i64, i64) = sqlx::query_as(
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN d.next_attempt_at <= $1 \
                 AND (d.leased_until IS NULL OR d.leased_until <= $1) AND p.enabled = 1 \
                 THEN 1 ELSE 0 END), 0) \
             FROM webhook_deliveries d JOIN webhook_endpoints p ON p.id = d.endpoint_id \
             WHERE d.status = 'PENDING'",
        )
        .bind(ms(now))
        .fetch_one(&self.read)
        .await?;
        Ok(QueueDepth { pending, due })
    }

    fn pool_stats(&self) -> Vec<PoolStats> {
        match self.backend {
            Backend::Sqlite => vec![
                PoolStats::of("write", &self.write.pool),
                PoolStats::of("read", &self.read),
            ],
            Backend::Postgres => vec![PoolStats::of("shared", &self.write.pool)],
        }
    }

    fn write_groups(&self) -> Option<super::writer::WriteGroups> {
        self.write.groups()
    }
}
