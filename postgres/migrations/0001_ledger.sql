-- The ledger, idempotency keys, the outbox and the audit log: the SQLite schema in PostgreSQL.
-- Times are Unix microseconds (bigint); ids are 16-byte bytea (emoney.ID), NULL for the zero id.
-- Currencies sort in the "C" collation, byte order, which is the order the ledger locks
-- balances in (account, then currency).

CREATE TABLE accounts (
    id         bytea  PRIMARY KEY,
    name       text   NOT NULL UNIQUE,
    kind       text   NOT NULL,
    flags      bigint NOT NULL,
    created_at bigint NOT NULL
);

CREATE TABLE balances (
    account_id      bytea  NOT NULL,
    currency        text   COLLATE "C" NOT NULL,
    balance         bigint NOT NULL,
    debits_pending  bigint NOT NULL,
    credits_pending bigint NOT NULL,
    last_transfer   bytea,
    PRIMARY KEY (account_id, currency)
);

-- Append-only history: rows are inserted, never changed (the triggers below refuse).
-- Each balance's history is a chain (from_prev / to_prev, headed by balances.last_transfer)
-- rather than an index per account: ids grow with time, so inserts append at the end of the
-- primary key and a commit writes few pages.
CREATE TABLE transfers (
    id             bytea  PRIMARY KEY,
    batch_id       bytea  NOT NULL,
    kind           text   NOT NULL,
    debit_account  bytea  NOT NULL,
    credit_account bytea  NOT NULL,
    currency       text   COLLATE "C" NOT NULL,
    amount         bigint NOT NULL,
    code           text   NOT NULL,
    hold           text,
    pending_id     bytea,
    reversal_of    bytea,
    expires_at     bigint,
    created_at     bigint NOT NULL,
    from_prev      bytea,
    to_prev        bytea
);
-- A pending transfer is resolved (posted or voided) at most once: a second resolution, even
-- from another process, waits for the first to commit and then fails here.
CREATE UNIQUE INDEX transfers_pending_id ON transfers (pending_id) WHERE pending_id IS NOT NULL;
CREATE INDEX transfers_reversal_of ON transfers (reversal_of) WHERE reversal_of IS NOT NULL;
CREATE INDEX transfers_expires_at ON transfers (expires_at) WHERE expires_at IS NOT NULL;

-- append_only refuses any change; its one argument is the message.
CREATE FUNCTION append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%', TG_ARGV[0];
END
$$;
CREATE TRIGGER transfers_no_update BEFORE UPDATE ON transfers
    FOR EACH ROW EXECUTE FUNCTION append_only('transfers are append-only');
CREATE TRIGGER transfers_no_delete BEFORE DELETE ON transfers
    FOR EACH ROW EXECUTE FUNCTION append_only('transfers are append-only');
CREATE TRIGGER transfers_no_truncate BEFORE TRUNCATE ON transfers
    FOR EACH STATEMENT EXECUTE FUNCTION append_only('transfers are append-only');

-- Client idempotency keys, indexed by emoney.IdempotencyKey.Hash (principal and key).
CREATE TABLE idempotency (
    key_hash     bytea  PRIMARY KEY,
    request_hash bytea  NOT NULL,
    result       bytea  NOT NULL,
    created_at   bigint NOT NULL
);

CREATE TABLE outbox (
    seq          bigserial PRIMARY KEY,
    topic        text      NOT NULL,
    key          text      NOT NULL,
    payload      bytea     NOT NULL,
    created_at   bigint    NOT NULL,
    published_at bigint
);

CREATE TABLE audit_log (
    seq       bigint PRIMARY KEY,
    at        bigint NOT NULL,
    actor     text   NOT NULL,
    action    text   NOT NULL,
    object    text   NOT NULL,
    detail    bytea  NOT NULL,
    prev_hash bytea  NOT NULL,
    hash      bytea  NOT NULL
);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION append_only('the audit log is append-only');
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION append_only('the audit log is append-only');
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION append_only('the audit log is append-only');

-- One row: the chain's head, locked by every append so all writers form one chain.
CREATE TABLE audit_head (
    id   integer PRIMARY KEY CHECK (id = 1),
    seq  bigint  NOT NULL,
    hash bytea
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, NULL);
