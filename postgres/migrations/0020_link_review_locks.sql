-- Linking failures and locks (emoney.LinkFailure, emoney.LinkLock; package banklink): a wallet
-- whose link attempts failed repeatedly is locked out of linking until staff unlock it. Staff
-- decisions on links in review need no new column (status, cooling_off_until, revoked_*).
-- Times are Unix microseconds.
CREATE TABLE link_failures (
    user_id bytea  NOT NULL,
    at      bigint NOT NULL,
    bank    text   NOT NULL,
    step    text   NOT NULL,
    code    text   NOT NULL
);
CREATE INDEX link_failures_user ON link_failures (user_id, at);

CREATE TABLE link_locks (
    user_id   bytea  PRIMARY KEY,
    locked_at bigint NOT NULL,
    failures  bigint NOT NULL,
    reason    text   NOT NULL
);

-- Staff list links by status (review).
CREATE INDEX links_status ON links (status, id);
