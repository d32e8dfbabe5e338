-- Webhooks from banks (package banklink). A link keeps the bank's grant id (the token answer's
-- grant_id: the bank's opaque id, not a secret), which mandate_revoked webhooks name; webhooks
-- received are recorded once by bank and event id (a repeat is acted on once); fraud reports
-- keep what tracing the money will need. Times are Unix microseconds.
ALTER TABLE links ADD COLUMN grant_id TEXT NOT NULL DEFAULT '';
CREATE INDEX links_grant ON links (bank, grant_id) WHERE grant_id <> '';

CREATE TABLE bank_events (
    bank        TEXT    NOT NULL,
    event_id    TEXT    NOT NULL,
    type        TEXT    NOT NULL,
    outcome     TEXT    NOT NULL,
    link_id     BLOB,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (bank, event_id)
) WITHOUT ROWID;

CREATE TABLE bank_fraud_reports (
    id            BLOB    PRIMARY KEY,
    bank          TEXT    NOT NULL,
    event_id      TEXT    NOT NULL,
    link_id       BLOB,
    user_id       BLOB,
    account_index BLOB    NOT NULL,
    entry_id      TEXT    NOT NULL,
    amount        INTEGER NOT NULL,
    debited_at    INTEGER NOT NULL,
    grant_id      TEXT    NOT NULL,
    received_at   INTEGER NOT NULL
) WITHOUT ROWID;
CREATE UNIQUE INDEX bank_fraud_reports_event ON bank_fraud_reports (bank, event_id);
CREATE INDEX bank_fraud_reports_link ON bank_fraud_reports (link_id, id) WHERE link_id IS NOT NULL;
