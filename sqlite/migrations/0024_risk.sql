-- The risk engine (package risk): its rules, changed at runtime (each change a new version,
-- audited), and every decision it made, with the rules that fired and the variables they saw.
-- Decisions are also how the engine's in-memory features are rebuilt at start (the last 30
-- days, by time). Times are Unix microseconds. risk_decisions has a rowid: its rows (hundreds
-- of bytes of JSON) fit a table page, where a WITHOUT ROWID table would spill them to overflow
-- pages.
CREATE TABLE risk_rules (
    id          TEXT    PRIMARY KEY,
    description TEXT    NOT NULL,
    expression  TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    weight      INTEGER NOT NULL,
    mode        TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    updated_by  TEXT    NOT NULL
) WITHOUT ROWID;

CREATE TABLE risk_decisions (
    id         BLOB    NOT NULL UNIQUE,
    event      TEXT    NOT NULL,
    type       TEXT    NOT NULL,
    wallet     TEXT    NOT NULL,
    amount     INTEGER NOT NULL,
    outcome    TEXT    NOT NULL,
    score      INTEGER NOT NULL,
    rules      BLOB    NOT NULL,
    shadow     BLOB    NOT NULL,
    inputs     BLOB    NOT NULL,
    event_data BLOB    NOT NULL,
    latency_us INTEGER NOT NULL,
    at         INTEGER NOT NULL
);
CREATE INDEX risk_decisions_at ON risk_decisions (at);
CREATE INDEX risk_decisions_wallet ON risk_decisions (wallet, id) WHERE wallet <> '';
