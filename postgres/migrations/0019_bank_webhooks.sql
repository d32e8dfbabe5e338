-- Webhooks from banks (package banklink). A link keeps the bank's grant id (the token answer's
-- grant_id: the bank's opaque id, not a secret), which mandate_revoked webhooks name; webhooks
-- received are recorded once by bank and event id (a repeat is acted on once); fraud reports
-- keep what tracing the money will need. Times are Unix microseconds.
ALTER TABLE links ADD COLUMN grant_id text NOT NULL DEFAULT '';
CREATE INDEX links_grant ON links (bank, grant_id) WHERE grant_id <> '';

CREATE TABLE bank_events (
    bank        text    NOT NULL,
    event_id    text    NOT NULL,
    type        text    NOT NULL,
    outcome     text    NOT NULL,
    link_id     bytea,
    received_at bigint  NOT NULL,
    PRIMARY KEY (bank, event_id)
);

CREATE TABLE bank_fraud_reports (
    id            bytea   PRIMARY KEY,
    bank          text    NOT NULL,
    event_id      text    NOT NULL,
    link_id       bytea,
    user_id       bytea,
    account_index bytea   NOT NULL,
    entry_id      text    NOT NULL,
    amount        bigint  NOT NULL,
    debited_at    bigint  NOT NULL,
    grant_id      text    NOT NULL,
    received_at   bigint  NOT NULL
);
CREATE UNIQUE INDEX bank_fraud_reports_event ON bank_fraud_reports (bank, event_id);
CREATE INDEX bank_fraud_reports_link ON bank_fraud_reports (link_id, id) WHERE link_id IS NOT NULL;
