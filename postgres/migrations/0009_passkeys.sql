-- Passkeys (WebAuthn step-up factors): the public key, never a private one; the signature
-- counter, which only goes up on a genuine authenticator; transports comma-separated.
CREATE TABLE passkeys (
    id            bytea  PRIMARY KEY,
    user_id       bytea  NOT NULL,
    credential_id bytea  NOT NULL UNIQUE,
    public_key    bytea  NOT NULL,
    sign_count    bigint NOT NULL,
    aaguid        bytea  NOT NULL,
    transports    text   NOT NULL,
    flags         bigint NOT NULL,
    name          text   NOT NULL,
    created_at    bigint NOT NULL,
    last_used_at  bigint
);
CREATE INDEX passkeys_user ON passkeys (user_id, id);

-- The server's half of a WebAuthn ceremony between begin and finish: one per session and kind,
-- taken once, swept once expired.
CREATE TABLE webauthn_ceremonies (
    token_hash bytea  NOT NULL,
    kind       text   NOT NULL,
    data       bytea  NOT NULL,
    created_at bigint NOT NULL,
    expires_at bigint NOT NULL,
    PRIMARY KEY (token_hash, kind)
);
CREATE INDEX webauthn_ceremonies_expiry ON webauthn_ceremonies (expires_at);
