-- Bank accounts linked to wallets (emoney.BankLink) and linking flows waiting for their
-- callback (emoney.LinkFlow). Account numbers, holder names and birth dates, and the bank's
-- tokens with the link's DPoP key are sealed (package pii); accounts are found by a keyed hash.
-- Times are Unix microseconds; revoked_at is NULL while the link is not revoked.
CREATE TABLE links (
    id                 BLOB    PRIMARY KEY,
    user_id            BLOB    NOT NULL,
    bank               TEXT    NOT NULL,
    account_index      BLOB    NOT NULL,
    account_sealed     BLOB    NOT NULL,
    holder_sealed      BLOB    NOT NULL,
    tokens_sealed      BLOB    NOT NULL,
    scope              TEXT    NOT NULL,
    mandate_payee      TEXT    NOT NULL,
    mandate_per_charge INTEGER NOT NULL,
    mandate_monthly    INTEGER NOT NULL,
    status             TEXT    NOT NULL,
    score              INTEGER NOT NULL,
    created_at         INTEGER NOT NULL,
    cooling_off_until  INTEGER NOT NULL,
    consented_at       INTEGER NOT NULL,
    revoked_at         INTEGER,
    revoked_by         TEXT    NOT NULL
) WITHOUT ROWID;
CREATE INDEX links_user ON links (user_id, id);
-- One bank account backs at most one link that is not revoked: the index decides races.
CREATE UNIQUE INDEX links_account ON links (account_index) WHERE status <> 'revoked';

-- Flows waiting for the bank's callback, by the SHA-256 of their state; taken once.
CREATE TABLE link_flows (
    state_hash BLOB    PRIMARY KEY,
    user_id    BLOB    NOT NULL,
    bank       TEXT    NOT NULL,
    sealed     BLOB    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX link_flows_expiry ON link_flows (expires_at);
