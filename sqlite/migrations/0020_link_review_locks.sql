-- Linking failures and locks (emoney.LinkFailure, emoney.LinkLock; package banklink): a wallet
-- whose link attempts failed repeatedly is locked out of linking until staff unlock it. Staff
-- decisions on links in review need no new column (status, cooling_off_until, revoked_*).
-- Times are Unix microseconds.
CREATE TABLE link_failures (
    user_id BLOB    NOT NULL,
    at      INTEGER NOT NULL,
    bank    TEXT    NOT NULL,
    step    TEXT    NOT NULL,
    code    TEXT    NOT NULL
);
CREATE INDEX link_failures_user ON link_failures (user_id, at);

CREATE TABLE link_locks (
    user_id   BLOB    PRIMARY KEY,
    locked_at INTEGER NOT NULL,
    failures  INTEGER NOT NULL,
    reason    TEXT    NOT NULL
) WITHOUT ROWID;

-- Staff list links by status (review).
CREATE INDEX links_status ON links (status, id);
