-- Card processors (Stripe first). The processor's payment behind a session, readers that a
-- processor drives, the processor's own location ids, connected accounts and the processor's
-- webhook events (kept so a duplicate is recognised and an unprocessed one is retried).

ALTER TABLE sessions ADD COLUMN processor TEXT;
ALTER TABLE sessions ADD COLUMN payment_ref TEXT;
ALTER TABLE sessions ADD COLUMN payment_secret TEXT;
-- One session per processor payment: a device cannot finalize with another session's payment.
CREATE UNIQUE INDEX sessions_payment ON sessions (processor, payment_ref) WHERE payment_ref IS NOT NULL;
-- The reconciler's scan: open sessions that a processor holds money for.
CREATE INDEX sessions_processor_open ON sessions (updated_at)
    WHERE payment_ref IS NOT NULL AND status IN ('CREATED', 'ACTIVE');

ALTER TABLE devices ADD COLUMN processor_reader TEXT;
CREATE UNIQUE INDEX devices_processor_reader ON devices (processor_reader)
    WHERE processor_reader IS NOT NULL AND deleted_at IS NULL;

CREATE TABLE merchant_processors (
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    processor   TEXT NOT NULL,
    account     TEXT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (merchant_id, processor)
);

CREATE TABLE processor_locations (
    location_id TEXT NOT NULL REFERENCES locations(id),
    processor   TEXT NOT NULL,
    external_id TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (location_id, processor)
);

CREATE TABLE processor_events (
    processor    TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    type         TEXT NOT NULL,
    payload      TEXT NOT NULL,
    received_at  BIGINT NOT NULL,
    processed_at BIGINT,
    attempts     BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (processor, event_id)
);
CREATE INDEX processor_events_pending ON processor_events (received_at) WHERE processed_at IS NULL;
