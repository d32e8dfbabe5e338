-- Staff administration: a disabled user cannot sign in, and their sessions are refused.
ALTER TABLE users ADD COLUMN disabled_at INTEGER;

-- Maker-checker: a release above the threshold is proposed by one staff member (the maker) and
-- approved by another (the checker, recorded as resolved_by).
ALTER TABLE alerts ADD COLUMN proposed_by TEXT;
ALTER TABLE alerts ADD COLUMN proposed_at INTEGER;

-- Sessions housekeeping finds expired and revoked sessions by time.
CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE INDEX sessions_revoked ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;

-- Payees: wallets a user saved. The nickname is sealed (package pii); one wallet once per user.
CREATE TABLE payees (
    id              BLOB    PRIMARY KEY,
    user_id         BLOB    NOT NULL,
    wallet          BLOB    NOT NULL,
    nickname_sealed BLOB    NOT NULL,
    added_at        INTEGER NOT NULL
) WITHOUT ROWID;
CREATE UNIQUE INDEX payees_user_wallet ON payees (user_id, wallet);
CREATE INDEX payees_user ON payees (user_id, id);
