-- Passkeys (WebAuthn step-up factors): the public key, never a private one; the signature
-- counter, which only goes up on a genuine authenticator; transports comma-separated.
CREATE TABLE passkeys (
    id            BLOB    PRIMARY KEY,
    user_id       BLOB    NOT NULL,
    credential_id BLOB    NOT NULL UNIQUE,
    public_key    BLOB    NOT NULL,
    sign_count    INTEGER NOT NULL,
    aaguid        BLOB    NOT NULL,
    transports    TEXT    NOT NULL,
    flags         INTEGER NOT NULL,
    name          TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER
) WITHOUT ROWID;
CREATE INDEX passkeys_user ON passkeys (user_id, id);

-- The server's half of a WebAuthn ceremony between begin and finish: one per session and kind,
-- taken once, swept once expired.
CREATE TABLE webauthn_ceremonies (
    token_hash BLOB    NOT NULL,
    kind       TEXT    NOT NULL,
    data       BLOB    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (token_hash, kind)
) WITHOUT ROWID;
CREATE INDEX webauthn_ceremonies_expiry ON webauthn_ceremonies (expires_at);
