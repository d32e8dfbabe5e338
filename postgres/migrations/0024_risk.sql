-- The risk engine (package risk): its rules, changed at runtime (each change a new version,
-- audited), and every decision it made, with the rules that fired and the variables they saw.
-- Decisions are also how the engine's in-memory features are rebuilt at start (the last 30
-- days, by time). Times are Unix microseconds.
CREATE TABLE risk_rules (
    id          text    PRIMARY KEY,
    description text    NOT NULL,
    expression  text    NOT NULL,
    action      text    NOT NULL,
    weight      bigint  NOT NULL,
    mode        text    NOT NULL,
    version     bigint  NOT NULL,
    updated_at  bigint  NOT NULL,
    updated_by  text    NOT NULL
);

CREATE TABLE risk_decisions (
    id         bytea   PRIMARY KEY,
    event      text    NOT NULL,
    type       text    NOT NULL,
    wallet     text    NOT NULL,
    amount     bigint  NOT NULL,
    outcome    text    NOT NULL,
    score      bigint  NOT NULL,
    rules      bytea   NOT NULL,
    shadow     bytea   NOT NULL,
    inputs     bytea   NOT NULL,
    event_data bytea   NOT NULL,
    latency_us bigint  NOT NULL,
    at         bigint  NOT NULL
);
CREATE INDEX risk_decisions_at ON risk_decisions (at);
CREATE INDEX risk_decisions_wallet ON risk_decisions (wallet, id) WHERE wallet <> '';
