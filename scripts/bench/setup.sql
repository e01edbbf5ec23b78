-- Set-up for the raw database ceiling (`kassa bench --ceiling`), run on a fresh database after
-- the real migrations (crates/store/migrations/<backend>): one merchant, one location and
-- :devices devices, so every ceiling transaction can open a session on a device of its own
-- (the partial unique index allows one open session per device, as in the server).
-- Portable: runs on PostgreSQL and SQLite. `kassa bench` replaces :devices and :now.

INSERT INTO merchants (id, name, mode, created_at)
VALUES ('bench-merchant', 'Bench', 'test', :now);

INSERT INTO locations (id, merchant_id, name, created_at, updated_at)
VALUES ('bench-location', 'bench-merchant', 'Bench', :now, :now);

INSERT INTO devices (id, merchant_id, location_id, name, platform, metadata, token_hash, created_at)
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :devices)
SELECT 'bench-device-' || i, 'bench-merchant', 'bench-location', 'bench', 'TERMINAL',
       '{"simulated":"true"}', 'bench-token-' || i, :now
FROM n;
