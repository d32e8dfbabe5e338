-- Partners (cash-in agents, merchants, banks) and the hash of their API key.
CREATE TABLE partners (
    id         BLOB    PRIMARY KEY,
    name       TEXT    NOT NULL UNIQUE,
    role       TEXT    NOT NULL,
    key_hash   BLOB    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);
