-- The merchant portal's sign-in: portal users (one merchant each) and their server-side
-- sessions. Emails are stored lower-case and are unique among live users across all
-- merchants, so signing in needs only an email and a password; a deleted user's email may
-- be given to a new user. Session tokens are stored only as their SHA-256 hash.

CREATE TABLE portal_users (
    id            TEXT PRIMARY KEY,
    merchant_id   TEXT NOT NULL REFERENCES merchants(id),
    email         TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'viewer')),
    created_at    BIGINT NOT NULL,
    deleted_at    BIGINT
);
CREATE UNIQUE INDEX portal_users_email ON portal_users (email) WHERE deleted_at IS NULL;
CREATE INDEX portal_users_merchant ON portal_users (merchant_id, created_at);

CREATE TABLE portal_sessions (
    token_hash   TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES portal_users(id),
    csrf_token   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT
);
CREATE INDEX portal_sessions_user ON portal_sessions (user_id);
-- The idle sweep deletes by age.
CREATE INDEX portal_sessions_idle ON portal_sessions (last_seen_at);
