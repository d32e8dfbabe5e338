-- Per-bank policies and kill switches (emoney.BankPolicy). A bank with no row has the default
-- policy. version counts changes: a save names the version it read (optimistic concurrency).
-- Times are Unix microseconds; a kill switch's *_at and *_until are NULL while unknown.
-- Flags are 0 or 1, as in users.totp_confirmed, so that both stores decode rows alike.
CREATE TABLE bank_policies (
    bank                  text    PRIMARY KEY,
    enabled               bigint  NOT NULL,
    factors               text    NOT NULL,
    notes                 text    NOT NULL,
    cooling_off_seconds   bigint  NOT NULL,
    cooling_off_topup_cap bigint  NOT NULL,
    cooling_off_daily_cap bigint  NOT NULL,
    match_link            bigint  NOT NULL,
    match_review          bigint  NOT NULL,
    reconsent_days        bigint  NOT NULL,
    new_links_pulled      bigint  NOT NULL,
    new_links_reason      text    NOT NULL,
    new_links_by          text    NOT NULL,
    new_links_at          bigint,
    new_links_until       bigint,
    topups_pulled         bigint  NOT NULL,
    topups_reason         text    NOT NULL,
    topups_by             text    NOT NULL,
    topups_at             bigint,
    topups_until          bigint,
    withdrawals_pulled    bigint  NOT NULL,
    withdrawals_reason    text    NOT NULL,
    withdrawals_by        text    NOT NULL,
    withdrawals_at        bigint,
    withdrawals_until     bigint,
    version               bigint  NOT NULL,
    updated_at            bigint  NOT NULL,
    updated_by            text    NOT NULL
);
