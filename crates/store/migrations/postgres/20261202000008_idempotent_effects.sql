-- When a request's changes committed under its Idempotency-Key: written in the same
-- transaction as the changes, so that a key whose answer was lost in a crash is never taken
-- as abandoned and run again (see `sql/idempotency.rs`).
ALTER TABLE idempotency_keys ADD COLUMN effect_at BIGINT;
