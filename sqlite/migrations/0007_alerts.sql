-- Alerts for staff. One about held money names the pending transfer only a decision resolves.
CREATE TABLE alerts (
    id          BLOB PRIMARY KEY,
    kind        TEXT NOT NULL,
    subject     TEXT NOT NULL,
    transfer_id BLOB,
    reason      TEXT NOT NULL,
    status      TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    resolved_at INTEGER,
    resolved_by TEXT
);
CREATE INDEX alerts_status ON alerts (status, id);
