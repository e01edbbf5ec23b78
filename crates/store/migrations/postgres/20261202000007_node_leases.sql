-- A delivery's lease names the node that holds it, so that a node known to be dead (its
-- advisory lock gone with its connection; see `node.rs`) loses its leases at once instead of
-- when they run out. Node ids come from a sequence: never reused.
ALTER TABLE webhook_deliveries ADD COLUMN leased_by BIGINT;
CREATE SEQUENCE kassa_node_ids;
CREATE INDEX webhook_deliveries_leased ON webhook_deliveries (leased_by)
    WHERE leased_until IS NOT NULL;
