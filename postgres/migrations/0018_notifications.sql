-- Holder notifications (emoney.Notification): one per user and dedupe key, listed newest first.
-- Notices to partner banks (emoney.BankNotice): a durable outbox written in the transaction of
-- the link change it tells of, claimed and delivered with retries; the account is sealed.
-- Times are Unix microseconds.
CREATE TABLE notifications (
    id         bytea   PRIMARY KEY,
    user_id    bytea   NOT NULL,
    kind       text    NOT NULL,
    body       text    NOT NULL,
    dedupe_key text    NOT NULL,
    created_at bigint  NOT NULL,
    read_at    bigint
);
CREATE UNIQUE INDEX notifications_dedupe ON notifications (user_id, dedupe_key);
CREATE INDEX notifications_user ON notifications (user_id, id);

CREATE TABLE bank_notices (
    id             bytea   PRIMARY KEY,
    bank           text    NOT NULL,
    kind           text    NOT NULL,
    account_sealed bytea,
    detail         text    NOT NULL,
    status         text    NOT NULL,
    attempts       bigint  NOT NULL,
    next_at        bigint  NOT NULL,
    claim          bytea,
    last_status    bigint  NOT NULL,
    last_error     text    NOT NULL,
    created_at     bigint  NOT NULL,
    delivered_at   bigint
);
CREATE INDEX bank_notices_due ON bank_notices (next_at, id) WHERE status = 'pending';
CREATE INDEX links_consented ON links (bank, consented_at) WHERE status <> 'revoked';
