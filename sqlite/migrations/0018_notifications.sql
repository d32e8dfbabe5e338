-- Holder notifications (emoney.Notification): one per user and dedupe key, listed newest first.
-- Notices to partner banks (emoney.BankNotice): a durable outbox written in the transaction of
-- the link change it tells of, claimed and delivered with retries; the account is sealed.
-- Times are Unix microseconds.
CREATE TABLE notifications (
    id         BLOB    PRIMARY KEY,
    user_id    BLOB    NOT NULL,
    kind       TEXT    NOT NULL,
    body       TEXT    NOT NULL,
    dedupe_key TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    read_at    INTEGER
) WITHOUT ROWID;
CREATE UNIQUE INDEX notifications_dedupe ON notifications (user_id, dedupe_key);
CREATE INDEX notifications_user ON notifications (user_id, id);

CREATE TABLE bank_notices (
    id             BLOB    PRIMARY KEY,
    bank           TEXT    NOT NULL,
    kind           TEXT    NOT NULL,
    account_sealed BLOB,
    detail         TEXT    NOT NULL,
    status         TEXT    NOT NULL,
    attempts       INTEGER NOT NULL,
    next_at        INTEGER NOT NULL,
    claim          BLOB,
    last_status    INTEGER NOT NULL,
    last_error     TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    delivered_at   INTEGER
) WITHOUT ROWID;
CREATE INDEX bank_notices_due ON bank_notices (next_at, id) WHERE status = 'pending';
CREATE INDEX links_consented ON links (bank, consented_at) WHERE status <> 'revoked';
