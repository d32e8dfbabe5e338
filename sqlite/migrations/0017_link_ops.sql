-- Top-ups and withdrawals through bank links (emoney.LinkOp), keyed by the caller's
-- idempotency key and written before the money is held; transfer_id is the pending ledger
-- transfer once it exists (NULL until then). Counted per link, kind and Tokyo day for the
-- cooling-off caps; found by transfer for the reconciler. Times are Unix microseconds.
CREATE TABLE link_ops (
    principal   TEXT    NOT NULL,
    idem_key    TEXT    NOT NULL,
    link_id     BLOB    NOT NULL,
    user_id     BLOB    NOT NULL,
    kind        TEXT    NOT NULL,
    amount      INTEGER NOT NULL,
    day         INTEGER NOT NULL,
    transfer_id BLOB,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (principal, idem_key)
) WITHOUT ROWID;
CREATE UNIQUE INDEX link_ops_transfer ON link_ops (transfer_id) WHERE transfer_id IS NOT NULL;
CREATE INDEX link_ops_usage ON link_ops (link_id, kind, day);
