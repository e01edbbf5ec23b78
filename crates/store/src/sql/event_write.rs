//! Writing an event with its deliveries (`fanout.rs` says which), the two backends side by
//! side: PostgreSQL in one statement of CTEs, SQLite in three statements (it has no
//! data-modifying CTEs, and its statements cost no round trip). The CTE pieces here also
//! serve PostgreSQL's one-statement create and transitions.

use super::builder::{Sql, Tx};
use super::fanout::{collect, push_deliveries, FanOut, Fanned, FannedRow, FANNED_COLUMNS};
use super::records::event_row;
use super::SqlStore;
use crate::stores::StoredEvent;
use crate::{Backend, Result};
use kassa_core::Timestamp;

/// PostgreSQL: appends the CTEs `e{i}`, which writes `event` and returns its `seq`, and `w{i}`,
/// which writes its deliveries. With `guard` (a CTE's name) they write only if it has a row.
/// The deliveries of the statement's earlier events (`w0…`) hold this event's back.
pub(crate) fn push_event_ctes(
    sql: &mut Sql,
    i: usize,
    event: &StoredEvent,
    at: FanOut,
    guard: Option<&str>,
) {
    sql.push(&format!("e{i} AS ("))
        .insert_select("events", event_row(event));
    if let Some(guard) = guard {
        sql.push(" FROM ").push(guard);
    }
    sql.push(&format!(" RETURNING seq), w{i} AS ("));
    let earlier: Vec<String> = (0..i).map(|j| format!("w{j}")).collect();
    let (seq, from) = (format!("e{i}.seq"), format!("e{i}, webhook_endpoints p"));
    push_deliveries(sql, &seq, &from, event, at, &earlier);
    sql.push(" RETURNING id, endpoint_id, leased_until)");
}

/// PostgreSQL: the rows of event `i` for `FannedRow` (its `seq`, then one row per delivery or
/// one of NULLs), after `ev`, the event's index.
pub(crate) fn fanned_select(i: usize) -> String {
    format!(
        "SELECT CAST({i} AS BIGINT) AS ev, e{i}.seq AS seq, {FANNED_COLUMNS} FROM e{i} LEFT JOIN w{i} w ON true \
         LEFT JOIN webhook_endpoints p ON p.id = w.endpoint_id"
    )
}

impl SqlStore {
    /// Writes `event` and its deliveries; returns what to route.
    pub(crate) async fn insert_event(
        &self,
        tx: &mut Tx<'_>,
        event: &StoredEvent,
        now: Timestamp,
    ) -> Result<Fanned> {
        let at = self.fan_out_at(now);
        let rows = match self.backend {
            Backend::Postgres => insert_event_pg(tx, event, at).await?,
            Backend::Sqlite => insert_event_sqlite(tx, event, at).await?,
        };
        collect(rows, event, now)
    }
}

/// One round trip: the event, its deliveries and what they are, in one statement.
async fn insert_event_pg(
    tx: &mut Tx<'_>,
    event: &StoredEvent,
    at: FanOut,
) -> Result<Vec<FannedRow>> {
    let mut sql = Sql::new("WITH ");
    push_event_ctes(&mut sql, 0, event, at, None);
    sql.push(" ").push(&fanned_select(0));
    Ok(sql.query_as().fetch_all(&mut **tx).await?)
}

async fn insert_event_sqlite(
    tx: &mut Tx<'_>,
    event: &StoredEvent,
    at: FanOut,
) -> Result<Vec<FannedRow>> {
    let mut insert = Sql::new("INSERT INTO events ");
    insert.values(event_row(event)).push(" RETURNING seq");
    let (seq,): (i64,) = insert.query_as().fetch_one(&mut **tx).await?;
    let mut deliveries = Sql::default();
    let seq_arg = deliveries.param(seq);
    push_deliveries(
        &mut deliveries,
        &seq_arg,
        "webhook_endpoints p",
        event,
        at,
        &[],
    );
    if deliveries.query().execute(&mut **tx).await?.rows_affected() == 0 {
        return Ok(Vec::new());
    }
    let mut written = Sql::new(format!(
        "SELECT w.event_seq AS seq, {FANNED_COLUMNS} FROM webhook_deliveries w \
         JOIN webhook_endpoints p ON p.id = w.endpoint_id WHERE w.event_seq = "
    ));
    written.bind(seq);
    Ok(written.query_as().fetch_all(&mut **tx).await?)
}
