-- Top-ups and withdrawals through bank links (emoney.LinkOp), keyed by the caller's
-- idempotency key and written before the money is held; transfer_id is the pending ledger
-- transfer once it exists (NULL until then). Counted per link, kind and Tokyo day for the
-- cooling-off caps; found by transfer for the reconciler. Times are Unix microseconds.
CREATE TABLE link_ops (
    principal   text    NOT NULL,
    idem_key    text    NOT NULL,
    link_id     bytea   NOT NULL,
    user_id     bytea   NOT NULL,
    kind        text    NOT NULL,
    amount      bigint  NOT NULL,
    day         bigint  NOT NULL,
    transfer_id bytea,
    created_at  bigint  NOT NULL,
    PRIMARY KEY (principal, idem_key)
);
CREATE UNIQUE INDEX link_ops_transfer ON link_ops (transfer_id) WHERE transfer_id IS NOT NULL;
CREATE INDEX link_ops_usage ON link_ops (link_id, kind, day);
