-- Kept for the same shape as PostgreSQL: one process owns an SQLite database (`node.rs` locks
-- it), so its leases are all freed when `kassa serve` starts and `leased_by` stays empty.
ALTER TABLE webhook_deliveries ADD COLUMN leased_by BIGINT;
CREATE INDEX webhook_deliveries_leased ON webhook_deliveries (leased_by)
    WHERE leased_until IS NOT NULL;
