-- Merchant webhooks. A partner's endpoint and its signing secret, sealed (it must be usable for
-- signing, so it cannot be hashed).
CREATE TABLE partner_webhooks (
    partner_id    bytea   PRIMARY KEY,
    url           text    NOT NULL,
    secret_sealed bytea   NOT NULL,
    updated_at    bigint NOT NULL
);
-- How far each outbox reader has got (the webhook fan-out is one).
CREATE TABLE outbox_cursors (
    name text    PRIMARY KEY,
    seq  bigint NOT NULL
);
INSERT INTO outbox_cursors (name, seq) VALUES ('webhooks', 0);
-- One row per (event, partner): made in the transaction that moves the fan-out's cursor.
CREATE TABLE webhook_deliveries (
    id           bytea   PRIMARY KEY,
    event_id     text    NOT NULL,
    partner_id   bytea   NOT NULL,
    type         text    NOT NULL,
    payload      bytea   NOT NULL,
    status       text    NOT NULL,
    attempts     bigint NOT NULL,
    next_at      bigint NOT NULL,
    claim        bytea,
    last_status  bigint NOT NULL,
    last_error   text    NOT NULL,
    created_at   bigint NOT NULL,
    delivered_at bigint,
    UNIQUE (event_id, partner_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_at) WHERE status = 'pending';
