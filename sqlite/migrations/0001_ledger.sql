-- The ledger, idempotency keys, the outbox and the audit log.
-- Times are Unix microseconds; ids are 16-byte blobs (emoney.ID).

CREATE TABLE accounts (
    id         BLOB    PRIMARY KEY,
    name       TEXT    NOT NULL UNIQUE,
    kind       TEXT    NOT NULL,
    flags      INTEGER NOT NULL,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE balances (
    account_id      BLOB    NOT NULL,
    currency        TEXT    NOT NULL,
    balance         INTEGER NOT NULL,
    debits_pending  INTEGER NOT NULL,
    credits_pending INTEGER NOT NULL,
    last_transfer   BLOB,
    PRIMARY KEY (account_id, currency)
) WITHOUT ROWID;

-- Append-only history: rows are inserted, never changed (the triggers below refuse).
-- Each balance's history is a chain (from_prev / to_prev, headed by balances.last_transfer)
-- rather than an index per account: ids grow with time, so inserts append at the end of the
-- table and a commit writes few pages.
CREATE TABLE transfers (
    id             BLOB    PRIMARY KEY,
    batch_id       BLOB    NOT NULL,
    kind           TEXT    NOT NULL,
    debit_account  BLOB    NOT NULL,
    credit_account BLOB    NOT NULL,
    currency       TEXT    NOT NULL,
    amount         INTEGER NOT NULL,
    code           TEXT    NOT NULL,
    hold           TEXT,
    pending_id     BLOB,
    reversal_of    BLOB,
    expires_at     INTEGER,
    created_at     INTEGER NOT NULL,
    from_prev      BLOB,
    to_prev        BLOB
) WITHOUT ROWID;
CREATE UNIQUE INDEX transfers_pending_id ON transfers (pending_id) WHERE pending_id IS NOT NULL;
CREATE INDEX transfers_reversal_of ON transfers (reversal_of) WHERE reversal_of IS NOT NULL;
CREATE INDEX transfers_expires_at ON transfers (expires_at) WHERE expires_at IS NOT NULL;
CREATE TRIGGER transfers_no_update BEFORE UPDATE ON transfers
BEGIN SELECT RAISE(ABORT, 'transfers are append-only'); END;
CREATE TRIGGER transfers_no_delete BEFORE DELETE ON transfers
BEGIN SELECT RAISE(ABORT, 'transfers are append-only'); END;

-- Client idempotency keys, indexed by emoney.IdempotencyKey.Hash (principal and key).
CREATE TABLE idempotency (
    key_hash     BLOB    PRIMARY KEY,
    request_hash BLOB    NOT NULL,
    result       BLOB    NOT NULL,
    created_at   INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE outbox (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    topic        TEXT    NOT NULL,
    key          TEXT    NOT NULL,
    payload      BLOB    NOT NULL,
    created_at   INTEGER NOT NULL,
    published_at INTEGER
);

CREATE TABLE audit_log (
    seq       INTEGER PRIMARY KEY,
    at        INTEGER NOT NULL,
    actor     TEXT    NOT NULL,
    action    TEXT    NOT NULL,
    object    TEXT    NOT NULL,
    detail    BLOB    NOT NULL,
    prev_hash BLOB    NOT NULL,
    hash      BLOB    NOT NULL
);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;

-- One row: the chain's head, locked by every append so all writers form one chain.
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash BLOB
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, NULL);
