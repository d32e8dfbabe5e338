-- Bank accounts linked to wallets (emoney.BankLink) and linking flows waiting for their
-- callback (emoney.LinkFlow). Account numbers, holder names and birth dates, and the bank's
-- tokens with the link's DPoP key are sealed (package pii); accounts are found by a keyed hash.
-- Times are Unix microseconds; revoked_at is NULL while the link is not revoked.
CREATE TABLE links (
    id                 bytea   PRIMARY KEY,
    user_id            bytea   NOT NULL,
    bank               text    NOT NULL,
    account_index      bytea   NOT NULL,
    account_sealed     bytea   NOT NULL,
    holder_sealed      bytea   NOT NULL,
    tokens_sealed      bytea   NOT NULL,
    scope              text    NOT NULL,
    mandate_payee      text    NOT NULL,
    mandate_per_charge bigint  NOT NULL,
    mandate_monthly    bigint  NOT NULL,
    status             text    NOT NULL,
    score              bigint  NOT NULL,
    created_at         bigint  NOT NULL,
    cooling_off_until  bigint  NOT NULL,
    consented_at       bigint  NOT NULL,
    revoked_at         bigint,
    revoked_by         text    NOT NULL
);
CREATE INDEX links_user ON links (user_id, id);
-- One bank account backs at most one link that is not revoked: the index decides races.
CREATE UNIQUE INDEX links_account ON links (account_index) WHERE status <> 'revoked';

-- Flows waiting for the bank's callback, by the SHA-256 of their state; taken once.
CREATE TABLE link_flows (
    state_hash bytea   PRIMARY KEY,
    user_id    bytea   NOT NULL,
    bank       text    NOT NULL,
    sealed     bytea   NOT NULL,
    created_at bigint  NOT NULL,
    expires_at bigint  NOT NULL
);
CREATE INDEX link_flows_expiry ON link_flows (expires_at);
