-- Users and their sessions. Personal data is sealed (package pii); e-mails are found by their
-- keyed hash. Session tokens are stored as SHA-256 hashes only.

CREATE TABLE users (
    id            BLOB    PRIMARY KEY,
    email_index   BLOB    NOT NULL UNIQUE,
    email_sealed  BLOB    NOT NULL,
    password_hash TEXT    NOT NULL,
    role          TEXT    NOT NULL,
    kyc_tier      INTEGER NOT NULL,
    created_at    INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE sessions (
    token_hash BLOB    PRIMARY KEY,
    user_id    BLOB    NOT NULL,
    device     TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
) WITHOUT ROWID;
CREATE INDEX sessions_user ON sessions (user_id);
