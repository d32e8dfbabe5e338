-- Users and their sessions. Personal data is sealed (package pii); e-mails are found by their
-- keyed hash. Session tokens are stored as SHA-256 hashes only.

CREATE TABLE users (
    id            bytea   PRIMARY KEY,
    email_index   bytea   NOT NULL UNIQUE,
    email_sealed  bytea   NOT NULL,
    password_hash text    NOT NULL,
    role          text    NOT NULL,
    kyc_tier      integer NOT NULL,
    created_at    bigint  NOT NULL
);

CREATE TABLE sessions (
    token_hash bytea  PRIMARY KEY,
    user_id    bytea  NOT NULL,
    device     text   NOT NULL,
    created_at bigint NOT NULL,
    expires_at bigint NOT NULL,
    revoked_at bigint
);
CREATE INDEX sessions_user ON sessions (user_id);
