-- Partners (cash-in agents, merchants, banks) and the hash of their API key.
CREATE TABLE partners (
    id         bytea   PRIMARY KEY,
    name       text    NOT NULL UNIQUE,
    role       text    NOT NULL,
    key_hash   bytea   NOT NULL UNIQUE,
    created_at bigint  NOT NULL
);
