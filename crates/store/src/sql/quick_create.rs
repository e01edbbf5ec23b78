//! PostgreSQL's create in one statement and one round trip, outside a transaction block (a
//! single statement is atomic): the device check, the session row, its timeline entry, its
//! event and the event's deliveries. The device row is share-locked, so a concurrent delete
//! waits for the create; the partial unique index settles a race for the device.
//!
//! It gives up (`None`) when the device is missing, at another location or holds an open
//! session; the transactional path then finds out which, and expires a session that is past
//! its deadline but not yet swept.

use super::fanout::{
    bind_event, collect, event_record, insert_deliveries, Fanned, FannedRow, EVENT_INSERT_COLUMNS,
    FANNED_COLUMNS,
};
use super::session_tx::bind_session;
use super::SqlStore;
use crate::rows::{ms, opt_id, SESSION_COLUMNS};
use crate::Result;
use kassa_core::event::Entry;
use kassa_core::machine;
use kassa_core::session::{NewSession, Session};
use kassa_core::Timestamp;
use std::sync::OnceLock;

#[derive(sqlx::FromRow)]
struct CreatedRow {
    location_id: Option<String>,
    #[sqlx(flatten)]
    fanned: FannedRow,
}

/// Binds the session's 22 columns as `$1…$22`, its timeline entry as `$23…$26`, its event
/// as `$27…$37`, the delivery times as `$38…$40`, this node's id as `$41` and the request's
/// `Idempotency-Key` (merchant, key; both null without one) as `$42`, `$43`, which the
/// statement marks as having taken effect (`idempotency.rs`), as `persist` does.
fn statement() -> &'static str {
    static SQL: OnceLock<String> = OnceLock::new();
    SQL.get_or_init(|| {
        let values: Vec<String> = (5..=22).map(|n| format!("${n}")).collect();
        format!(
            "WITH dev AS (SELECT location_id FROM devices WHERE id = $3 AND merchant_id = $2 \
               AND deleted_at IS NULL AND ($4::text IS NULL OR location_id = $4) FOR SHARE), \
             s AS (INSERT INTO sessions ({SESSION_COLUMNS}) \
               SELECT $1, $2, $3, COALESCE($4, dev.location_id), {}, 1 FROM dev \
               ON CONFLICT (device_id) WHERE status IN ('CREATED', 'ACTIVE') DO NOTHING \
               RETURNING id, location_id), \
             t AS (INSERT INTO session_timeline (session_id, sequence, kind, from_status, \
               to_status, actor, attempt_id, outcome, at) \
               SELECT id, $23, 'transition', NULL, $24, $25, NULL, NULL, $26 FROM s), \
             e AS (INSERT INTO events ({EVENT_INSERT_COLUMNS}) \
               SELECT $27, $28, $29, $30, $31, $32, $33, $34, $35, $36, $37 FROM s RETURNING seq), \
             w AS ({} RETURNING id, endpoint_id, leased_until), \
             k AS (UPDATE idempotency_keys SET effect_at = $40 WHERE merchant_id = $42 \
               AND key = $43 AND status_code IS NULL AND EXISTS (SELECT 1 FROM s)) \
             SELECT s.location_id, (SELECT seq FROM e) AS seq, {FANNED_COLUMNS} \
             FROM s LEFT JOIN w ON true LEFT JOIN webhook_endpoints p ON p.id = w.endpoint_id",
            values.join(", "),
            insert_deliveries(
                "e.seq",
                "e, webhook_endpoints p",
                [30, 31, 28, 29, 38, 39, 40, 41]
            )
        )
    })
}

impl SqlStore {
    pub(crate) async fn create_in_one_statement(
        &self,
        new: &NewSession,
        now: Timestamp,
    ) -> Result<Option<(Session, Fanned)>> {
        let (mut session, created) = machine::create(new.clone(), now);
        let applied = machine::apply(&mut session, &[created], now);
        let ([entry], [event]) = (applied.entries.as_slice(), applied.events.as_slice()) else {
            return Ok(None);
        };
        let Entry::Transition {
            from: None,
            to,
            actor,
        } = &entry.entry
        else {
            return Ok(None);
        };
        let record = event_record(&session, event);
        let at = self.fan_out_at(now);
        let key = super::idempotency::request_key();
        let query = bind_session(sqlx::query_as(statement()), &session)?
            .bind(entry.sequence)
            .bind(to.as_str())
            .bind(actor.as_str())
            .bind(ms(entry.at));
        let rows: Vec<CreatedRow> = bind_event(query, &record)
            .bind(at.first_at)
            .bind(at.lease_until)
            .bind(at.now)
            .bind(at.node)
            .bind(key.as_ref().map(|(merchant, _)| merchant.to_string()))
            .bind(key.map(|(_, key)| key))
            .fetch_all(&self.write.pool)
            .await?;
        let Some(first) = rows.first() else {
            return Ok(None);
        };
        session.location_id = opt_id(first.location_id.as_deref())?;
        let rows = rows.into_iter().map(|r| r.fanned).collect();
        Ok(Some((session, collect(rows, &record, now)?)))
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::fresh_database_url;
    use crate::{Backend, DeviceStore, MerchantStore};
    use kassa_core::cart::{Cart, CartInput, ItemType, LineItem};
    use kassa_core::entities::{Device, Merchant, Metadata, Mode};
    use kassa_core::session::{NewSession, Platform};
    use kassa_core::{DeviceId, LocationId, MerchantId, SessionId};

    fn new_session(merchant: MerchantId, device: DeviceId) -> NewSession {
        let item = LineItem {
            kind: ItemType::Physical,
            reference: None,
            name: "Coffee".into(),
            quantity: 1,
            unit_price: 100,
            total_amount: 100,
            tax_rate: 0,
            total_discount_amount: 0,
            total_tax_amount: 0,
        };
        NewSession {
            id: SessionId::new(),
            merchant_id: merchant,
            device_id: device,
            location_id: None,
            cart: Cart::new(CartInput {
                order_amount: 100,
                order_tax_amount: None,
                purchase_currency: "SEK".into(),
                items: vec![item],
            })
            .unwrap(),
            purchase_started_at: None,
            merchant_reference1: None,
            merchant_reference2: None,
            ttl: chrono::Duration::minutes(5),
            auto_capture: false,
        }
    }

    /// The benchmark's numbers rest on creates taking this path, so prove they do, and that
    /// it steps aside for everything the transactional path must judge.
    #[tokio::test]
    async fn a_create_on_a_free_device_is_one_statement_and_nothing_else_is() {
        let url = fresh_database_url(Backend::Postgres).await.unwrap();
        let store = crate::connect(&url).await.unwrap();
        let now = chrono::Utc::now();
        let merchant = Merchant {
            id: MerchantId::new(),
            name: "Shop".into(),
            mode: Mode::Test,
            created_at: now,
        };
        store.create_merchant(&merchant).await.unwrap();
        let device = Device {
            id: DeviceId::new(),
            merchant_id: merchant.id,
            location_id: None,
            name: None,
            platform: Platform::Web,
            hardware_id: None,
            metadata: Metadata::new(),
            push_token: None,
            created_at: now,
            last_seen_at: None,
            processor_reader: None,
        };
        store.create_device(&device, "hash").await.unwrap();

        let new = new_session(merchant.id, device.id);
        let (session, fanned) = store
            .create_in_one_statement(&new, now)
            .await
            .unwrap()
            .expect("a free device takes the one-statement path");
        assert_eq!(session.id, new.id);
        assert!(fanned.direct.is_empty() && !fanned.queued, "no endpoints");
        let busy = new_session(merchant.id, device.id);
        assert!(store
            .create_in_one_statement(&busy, now)
            .await
            .unwrap()
            .is_none());
        let mut elsewhere = new_session(merchant.id, DeviceId::new());
        assert!(store
            .create_in_one_statement(&elsewhere, now)
            .await
            .unwrap()
            .is_none());
        elsewhere.device_id = device.id;
        elsewhere.location_id = Some(LocationId::new());
        assert!(store
            .create_in_one_statement(&elsewhere, now)
            .await
            .unwrap()
            .is_none());
    }
}
