-- Per-bank policies and kill switches (emoney.BankPolicy). A bank with no row has the default
-- policy. version counts changes: a save names the version it read (optimistic concurrency).
-- Times are Unix microseconds; a kill switch's *_at and *_until are NULL while unknown.
CREATE TABLE bank_policies (
    bank                  TEXT    PRIMARY KEY,
    enabled               INTEGER NOT NULL,
    factors               TEXT    NOT NULL,
    notes                 TEXT    NOT NULL,
    cooling_off_seconds   INTEGER NOT NULL,
    cooling_off_topup_cap INTEGER NOT NULL,
    cooling_off_daily_cap INTEGER NOT NULL,
    match_link            INTEGER NOT NULL,
    match_review          INTEGER NOT NULL,
    reconsent_days        INTEGER NOT NULL,
    new_links_pulled      INTEGER NOT NULL,
    new_links_reason      TEXT    NOT NULL,
    new_links_by          TEXT    NOT NULL,
    new_links_at          INTEGER,
    new_links_until       INTEGER,
    topups_pulled         INTEGER NOT NULL,
    topups_reason         TEXT    NOT NULL,
    topups_by             TEXT    NOT NULL,
    topups_at             INTEGER,
    topups_until          INTEGER,
    withdrawals_pulled    INTEGER NOT NULL,
    withdrawals_reason    TEXT    NOT NULL,
    withdrawals_by        TEXT    NOT NULL,
    withdrawals_at        INTEGER,
    withdrawals_until     INTEGER,
    version               INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL,
    updated_by            TEXT    NOT NULL
) WITHOUT ROWID;
