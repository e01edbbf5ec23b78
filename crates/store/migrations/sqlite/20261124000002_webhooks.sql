-- Webhooks (SQLite): endpoints, one delivery row per (event, endpoint), and the attempt log.
-- Same column types as the SQLite schema, so one set of queries serves both.

-- Secrets are kept as issued, not hashed: signing needs the key itself (HMAC), as with every
-- Standard Webhooks sender (Stripe, Svix). `previous_secret` still signs until its expiry, so
-- receivers can switch keys without a gap.
CREATE TABLE webhook_endpoints (
    id                         TEXT PRIMARY KEY,
    merchant_id                TEXT NOT NULL REFERENCES merchants(id),
    url                        TEXT NOT NULL,
    -- '' = every type; else ',type1,type2,' so one LIKE matches on both backends.
    event_types                TEXT NOT NULL,
    description                TEXT,
    enabled                    BIGINT NOT NULL,
    disabled_reason            TEXT,
    secret                     TEXT NOT NULL,
    previous_secret            TEXT,
    previous_secret_expires_at BIGINT,
    created_at                 BIGINT NOT NULL,
    updated_at                 BIGINT NOT NULL
);
CREATE INDEX webhook_endpoints_merchant ON webhook_endpoints (merchant_id, created_at DESC);

-- Events not yet fanned out to endpoints. Existing events predate endpoints: nothing to send.
ALTER TABLE events ADD COLUMN fanout_pending BIGINT NOT NULL DEFAULT 1;
UPDATE events SET fanout_pending = 0;
CREATE INDEX events_fanout ON events (seq) WHERE fanout_pending = 1;

CREATE TABLE webhook_deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    event_seq       BIGINT NOT NULL REFERENCES events(seq),
    endpoint_id     TEXT NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    session_id      TEXT NOT NULL,
    sequence        BIGINT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('PENDING', 'DELIVERED', 'FAILED')),
    -- Attempts of the current series (a redelivery starts a new one).
    attempts        BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    -- A claimed row is someone's until then; a crashed node's rows come back after it.
    leased_until    BIGINT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    UNIQUE (event_seq, endpoint_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'PENDING';
-- First attempts go out in session order: an unattempted earlier event holds back later ones.
CREATE INDEX webhook_deliveries_unsent ON webhook_deliveries (endpoint_id, session_id, sequence)
    WHERE status = 'PENDING' AND attempts = 0;

CREATE TABLE webhook_attempts (
    id               TEXT PRIMARY KEY,
    delivery_id      BIGINT NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
    endpoint_id      TEXT NOT NULL,
    event_id         TEXT NOT NULL,
    event_type       TEXT NOT NULL,
    attempted_at     BIGINT NOT NULL,
    status_code      BIGINT,
    latency_ms       BIGINT NOT NULL,
    error            TEXT,
    response_snippet TEXT,
    next_attempt_at  BIGINT
);
CREATE INDEX webhook_attempts_endpoint ON webhook_attempts (endpoint_id, attempted_at DESC);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id);
