//! The rows of the server's session write transactions, written straight to SQLite: what
//! `persist` (crates/store/src/sql/session_tx.rs) and `finalize_session`
//! (crates/store/src/sql/sessions.rs) write for a create, a simulated card tap's activation
//! and its successful finalize, with the same statements, values of the same size and the
//! same row versions, but none of the reads, locks or state machine around them. The tests
//! hold these rows against the ones a real server writes.

use serde_json::{json, Value};
use sqlx::{Connection, SqliteConnection};
use std::sync::LazyLock;

/// The bench's cart (crates/cli/src/bench/api.rs) as the server stores it.
const ITEMS: &str = r#"[{"type":"physical","reference":null,"name":"Espresso","quantity":2,"unit_price":3500,"total_amount":7000,"tax_rate":2500,"total_discount_amount":0,"total_tax_amount":1400},{"type":"physical","reference":null,"name":"Kanelbulle","quantity":1,"unit_price":5500,"total_amount":5500,"tax_rate":2500,"total_discount_amount":0,"total_tax_amount":1100}]"#;

static ITEMS_JSON: LazyLock<Value> =
    LazyLock::new(|| serde_json::from_str(ITEMS).expect("the cart is JSON"));

const INSERT_ORDER: &str = "INSERT INTO orders (id, merchant_id, session_id, document, \
    version, created_at) VALUES ($1, 'bench-merchant', $2, $3, 1, $4)";
const INSERT_ATTEMPT: &str = "INSERT INTO attempts (attempt_id, session_id, outcome, snapshot, \
    created_at) VALUES ($1, $2, 'SUCCESS', $3, $4)";

/// The ids one lifecycle's rows carry, fresh UUIDs like the server's.
pub(super) struct Ids {
    session: String,
    events: [String; 3],
    order: String,
    attempt: String,
}

impl Ids {
    pub(super) fn new() -> Self {
        let id = || uuid::Uuid::now_v7().to_string();
        Self {
            session: id(),
            events: [id(), id(), id()],
            order: id(),
            attempt: id(),
        }
    }
}

/// A create: the session row, its first timeline entry and its `ipp.session.created` event.
/// No location, like the sessions of the bench's devices.
pub(super) async fn create(
    conn: &mut SqliteConnection,
    ids: &Ids,
    device: &str,
    now: i64,
) -> sqlx::Result<()> {
    let mut tx = conn.begin().await?;
    sqlx::query(
        "INSERT INTO sessions (id, merchant_id, device_id, location_id, status, order_amount, \
         order_tax_amount, purchase_currency, order_items, purchase_started_at, \
         purchase_completed_at, merchant_reference1, merchant_reference2, created_at, \
         updated_at, expires_at, payment_method, attempts, failure_reason, order_id, \
         auto_capture, last_sequence, version) VALUES ($1, 'bench-merchant', $2, \
         NULL, 'CREATED', 12500, 2500, 'SEK', $3, NULL, NULL, 'bench', NULL, $4, \
         $4, $5, NULL, 0, NULL, NULL, 1, 1, 1)",
    )
    .bind(&ids.session)
    .bind(device)
    .bind(ITEMS)
    .bind(now)
    .bind(now + 300_000)
    .execute(&mut *tx)
    .await?;
    let created = Change::new(1, None, "CREATED", "MERCHANT", "ipp.session.created");
    created.insert(&mut tx, ids, 0, now).await?;
    tx.commit().await
}

/// The card tap: the session becomes ACTIVE with CARD_TAP, one entry, one event.
pub(super) async fn activate(conn: &mut SqliteConnection, ids: &Ids, now: i64) -> sqlx::Result<()> {
    let mut tx = conn.begin().await?;
    update_session(&mut tx, &ids.session, "ACTIVE", None, 2, now).await?;
    let activated = Change::new(
        2,
        Some("CREATED"),
        "ACTIVE",
        "SIMULATOR",
        "ipp.session.activated",
    );
    activated.insert(&mut tx, ids, 1, now).await?;
    tx.commit().await
}

/// The successful finalize: the session FINALIZED with its order, the attempt's and the
/// transition's entries, the `ipp.session.finalized` event, the order and the attempt record.
pub(super) async fn finalize(conn: &mut SqliteConnection, ids: &Ids, now: i64) -> sqlx::Result<()> {
    let mut tx = conn.begin().await?;
    update_session(&mut tx, &ids.session, "FINALIZED", Some(&ids.order), 3, now).await?;
    Entry::attempt(3, &ids.attempt, "SUCCESS")
        .insert(&mut tx, &ids.session, now)
        .await?;
    let event = "ipp.session.finalized";
    let mut finalized = Change::new(4, Some("ACTIVE"), "FINALIZED", "SIMULATOR", event);
    finalized.order = Some(&ids.order);
    finalized.insert(&mut tx, ids, 2, now).await?;
    // The order, and the attempt record keeping the finalized session to answer a replay.
    let documents = [
        (INSERT_ORDER, &ids.order, order_document(ids, now)),
        (INSERT_ATTEMPT, &ids.attempt, snapshot(ids, now)),
    ];
    for (sql, id, document) in documents {
        sqlx::query(sql)
            .bind(id)
            .bind(&ids.session)
            .bind(document.to_string())
            .bind(now)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await
}

/// The server's version-checked update of a loaded session (`update_session`). `version` is
/// the row's version after it: 2 after the activation, 3 after the finalize.
async fn update_session(
    tx: &mut SqliteConnection,
    session: &str,
    status: &str,
    order: Option<&str>,
    version: i64,
    now: i64,
) -> sqlx::Result<()> {
    let finalized = order.is_some();
    sqlx::query(
        "UPDATE sessions SET status = $1, updated_at = $2, payment_method = 'CARD_TAP', \
         attempts = $3, failure_reason = NULL, order_id = $4, purchase_completed_at = $5, \
         last_sequence = $6, version = version + 1 WHERE id = $7 AND version = $8",
    )
    .bind(status)
    .bind(now)
    .bind(i64::from(finalized))
    .bind(order)
    .bind(finalized.then_some(now))
    .bind(if finalized { 4 } else { 2 })
    .bind(session)
    .bind(version - 1)
    .execute(tx)
    .await?;
    Ok(())
}

/// A `session_timeline` row.
struct Entry<'a> {
    sequence: i64,
    kind: &'a str,
    from: Option<&'a str>,
    to: Option<&'a str>,
    actor: Option<&'a str>,
    attempt: Option<&'a str>,
    outcome: Option<&'a str>,
}

impl<'a> Entry<'a> {
    fn transition(sequence: i64, from: Option<&'a str>, to: &'a str, actor: &'a str) -> Self {
        Self {
            sequence,
            kind: "transition",
            from,
            to: Some(to),
            actor: Some(actor),
            attempt: None,
            outcome: None,
        }
    }

    fn attempt(sequence: i64, attempt: &'a str, outcome: &'a str) -> Self {
        Self {
            sequence,
            kind: "attempt",
            from: None,
            to: None,
            actor: None,
            attempt: Some(attempt),
            outcome: Some(outcome),
        }
    }

    async fn insert(&self, tx: &mut SqliteConnection, session: &str, now: i64) -> sqlx::Result<()> {
        sqlx::query(
            "INSERT INTO session_timeline (session_id, sequence, kind, from_status, to_status, \
             actor, attempt_id, outcome, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(session)
        .bind(self.sequence)
        .bind(self.kind)
        .bind(self.from)
        .bind(self.to)
        .bind(self.actor)
        .bind(self.attempt)
        .bind(self.outcome)
        .bind(now)
        .execute(tx)
        .await?;
        Ok(())
    }
}

/// A status change: its timeline entry and its event (the outbox; no webhook endpoint, so no
/// deliveries), which `apply` always produces together.
struct Change<'a> {
    sequence: i64,
    from: Option<&'a str>,
    to: &'a str,
    actor: &'a str,
    event: &'a str,
    order: Option<&'a str>,
}

impl<'a> Change<'a> {
    fn new(
        sequence: i64,
        from: Option<&'a str>,
        to: &'a str,
        actor: &'a str,
        event: &'a str,
    ) -> Self {
        Self {
            sequence,
            from,
            to,
            actor,
            event,
            order: None,
        }
    }

    /// Writes the entry and the event, whose id is the lifecycle's `nth`.
    async fn insert(
        &self,
        tx: &mut SqliteConnection,
        ids: &Ids,
        nth: usize,
        now: i64,
    ) -> sqlx::Result<()> {
        let entry = Entry::transition(self.sequence, self.from, self.to, self.actor);
        entry.insert(tx, &ids.session, now).await?;
        sqlx::query(
            "INSERT INTO events (id, merchant_id, type, session_id, sequence, status, \
             previous_status, order_id, failure_reason, merchant_reference1, created_at) \
             VALUES ($1, 'bench-merchant', $2, $3, $4, $5, $6, $7, NULL, 'bench', $8)",
        )
        .bind(&ids.events[nth])
        .bind(self.event)
        .bind(&ids.session)
        .bind(self.sequence)
        .bind(self.to)
        .bind(self.from)
        .bind(self.order)
        .bind(now)
        .execute(tx)
        .await?;
        Ok(())
    }
}

fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The order the finalize writes (`Order::from_session`), auto-captured in full.
fn order_document(ids: &Ids, now: i64) -> Value {
    json!({
        "id": ids.order, "merchant_id": "bench-merchant", "session_id": ids.session,
        "order_amount": 12500, "original_order_amount": 12500, "currency": "SEK",
        "lines": *ITEMS_JSON, "merchant_reference1": "bench", "merchant_reference2": null,
        "captures": [{"id": ids.attempt, "amount": 12500, "description": "auto capture",
            "reference": null, "created_at": iso(now), "processor_reference": null}],
        "refunds": [], "cancelled": false, "created_at": iso(now), "payment": null,
    })
}

/// The finalized session as the attempt record keeps it.
fn snapshot(ids: &Ids, now: i64) -> Value {
    json!({
        "id": ids.session, "merchant_id": "bench-merchant", "device_id": "bench-device",
        "location_id": null, "status": "FINALIZED",
        "cart": {"order_amount": 12500, "order_tax_amount": 2500, "currency": "SEK",
            "items": *ITEMS_JSON},
        "purchase_started_at": null, "purchase_completed_at": iso(now),
        "merchant_reference1": "bench", "merchant_reference2": null,
        "created_at": iso(now), "updated_at": iso(now), "expires_at": iso(now + 300_000),
        "payment_method": "CARD_TAP", "attempts": 1, "failure_reason": null,
        "order_id": ids.order, "auto_capture": true, "last_sequence": 4, "payment": null,
        "payment_secret": null,
    })
}
