-- Merchant webhooks. A partner's endpoint and its signing secret, sealed (it must be usable for
-- signing, so it cannot be hashed).
CREATE TABLE partner_webhooks (
    partner_id    BLOB    PRIMARY KEY,
    url           TEXT    NOT NULL,
    secret_sealed BLOB    NOT NULL,
    updated_at    INTEGER NOT NULL
);
-- How far each outbox reader has got (the webhook fan-out is one).
CREATE TABLE outbox_cursors (
    name TEXT    PRIMARY KEY,
    seq  INTEGER NOT NULL
);
INSERT INTO outbox_cursors (name, seq) VALUES ('webhooks', 0);
-- One row per (event, partner): made in the transaction that moves the fan-out's cursor.
CREATE TABLE webhook_deliveries (
    id           BLOB    PRIMARY KEY,
    event_id     TEXT    NOT NULL,
    partner_id   BLOB    NOT NULL,
    type         TEXT    NOT NULL,
    payload      BLOB    NOT NULL,
    status       TEXT    NOT NULL,
    attempts     INTEGER NOT NULL,
    next_at      INTEGER NOT NULL,
    claim        BLOB,
    last_status  INTEGER NOT NULL,
    last_error   TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    delivered_at INTEGER,
    UNIQUE (event_id, partner_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_at) WHERE status = 'pending';
