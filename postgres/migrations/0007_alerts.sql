-- Alerts for staff. One about held money names the pending transfer only a decision resolves.
CREATE TABLE alerts (
    id          bytea PRIMARY KEY,
    kind        text NOT NULL,
    subject     text NOT NULL,
    transfer_id bytea,
    reason      text NOT NULL,
    status      text NOT NULL,
    created_at  bigint NOT NULL,
    resolved_at bigint,
    resolved_by text
);
CREATE INDEX alerts_status ON alerts (status, id);
