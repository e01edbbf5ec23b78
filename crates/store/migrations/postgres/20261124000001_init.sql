-- Kassa schema (PostgreSQL). Ids are UUID text, timestamps are Unix milliseconds (BIGINT) and
-- documents are JSON text: the same column types as the SQLite schema, so one set of queries
-- serves both backends and the conformance suite proves they behave alike.

CREATE TABLE merchants (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    mode        TEXT NOT NULL CHECK (mode IN ('test', 'live')),
    created_at  BIGINT NOT NULL
);

CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    key_hash    TEXT NOT NULL UNIQUE,
    prefix      TEXT NOT NULL,
    mode        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);
CREATE INDEX api_keys_merchant ON api_keys (merchant_id);

CREATE TABLE locations (
    id              TEXT PRIMARY KEY,
    merchant_id     TEXT NOT NULL REFERENCES merchants(id),
    name            TEXT NOT NULL,
    street_address  TEXT,
    street_address2 TEXT,
    postal_code     TEXT,
    city            TEXT,
    country         TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX locations_merchant ON locations (merchant_id, created_at DESC);

CREATE TABLE enrollments (
    id          TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    code_hash   TEXT NOT NULL UNIQUE,
    status      TEXT NOT NULL,
    metadata    TEXT NOT NULL,
    location_id TEXT REFERENCES locations(id),
    expires_at  BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    device_id   TEXT
);
CREATE INDEX enrollments_merchant ON enrollments (merchant_id, created_at DESC);

CREATE TABLE devices (
    id           TEXT PRIMARY KEY,
    merchant_id  TEXT NOT NULL REFERENCES merchants(id),
    location_id  TEXT REFERENCES locations(id),
    name         TEXT,
    platform     TEXT NOT NULL,
    hardware_id  TEXT,
    metadata     TEXT NOT NULL,
    push_token   TEXT,
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT,
    deleted_at   BIGINT
);
CREATE INDEX devices_merchant ON devices (merchant_id, created_at DESC);

CREATE TABLE sessions (
    id                    TEXT PRIMARY KEY,
    merchant_id           TEXT NOT NULL REFERENCES merchants(id),
    device_id             TEXT NOT NULL REFERENCES devices(id),
    location_id           TEXT,
    status                TEXT NOT NULL,
    order_amount          BIGINT NOT NULL,
    order_tax_amount      BIGINT NOT NULL,
    purchase_currency     TEXT NOT NULL,
    order_items           TEXT NOT NULL,
    purchase_started_at   BIGINT,
    purchase_completed_at BIGINT,
    merchant_reference1   TEXT,
    merchant_reference2   TEXT,
    created_at            BIGINT NOT NULL,
    updated_at            BIGINT NOT NULL,
    expires_at            BIGINT NOT NULL,
    payment_method        TEXT,
    attempts              BIGINT NOT NULL,
    failure_reason        TEXT,
    order_id              TEXT,
    auto_capture          BIGINT NOT NULL,
    last_sequence         BIGINT NOT NULL,
    version               BIGINT NOT NULL
);
-- One open session per device: a second create violates this index (409 DEVICE_BUSY).
CREATE UNIQUE INDEX sessions_one_open_per_device ON sessions (device_id)
    WHERE status IN ('CREATED', 'ACTIVE');
CREATE INDEX sessions_merchant ON sessions (merchant_id, created_at DESC);
CREATE INDEX sessions_due ON sessions (expires_at) WHERE status IN ('CREATED', 'ACTIVE');

CREATE TABLE session_timeline (
    session_id     TEXT NOT NULL REFERENCES sessions(id),
    sequence       BIGINT NOT NULL,
    kind           TEXT NOT NULL,
    from_status    TEXT,
    to_status      TEXT,
    actor          TEXT,
    attempt_id     TEXT,
    outcome        TEXT,
    at             BIGINT NOT NULL,
    PRIMARY KEY (session_id, sequence)
);

CREATE TABLE attempts (
    attempt_id  TEXT PRIMARY KEY,
    session_id  TEXT NOT NULL REFERENCES sessions(id),
    outcome     TEXT NOT NULL,
    snapshot    TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE orders (
    id          TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    session_id  TEXT NOT NULL UNIQUE REFERENCES sessions(id),
    document    TEXT NOT NULL,
    version     BIGINT NOT NULL,
    created_at  BIGINT NOT NULL
);

-- Webhook events: written in the same transaction as the change they describe (the outbox).
CREATE TABLE events (
    seq                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id                  TEXT NOT NULL UNIQUE,
    merchant_id         TEXT NOT NULL REFERENCES merchants(id),
    type                TEXT NOT NULL,
    session_id          TEXT NOT NULL,
    sequence            BIGINT NOT NULL,
    status              TEXT NOT NULL,
    previous_status     TEXT,
    order_id            TEXT,
    failure_reason      TEXT,
    merchant_reference1 TEXT,
    created_at          BIGINT NOT NULL
);
CREATE INDEX events_merchant ON events (merchant_id, seq);
CREATE INDEX events_session ON events (session_id, sequence);

CREATE TABLE idempotency_keys (
    merchant_id  TEXT NOT NULL,
    key          TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,
    status_code  BIGINT,
    headers      TEXT,
    body         TEXT,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (merchant_id, key)
);
CREATE INDEX idempotency_keys_age ON idempotency_keys (created_at);
