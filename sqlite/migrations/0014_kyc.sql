-- What users proved beyond an e-mail: a verified phone (tier 1) and an eKYC identity (tier 2).
-- Personal data is sealed; phones and identities are found by keyed hashes.
CREATE TABLE kyc (
    user_id              BLOB    PRIMARY KEY,
    phone_index          BLOB    NOT NULL UNIQUE,
    phone_sealed         BLOB    NOT NULL,
    phone_verified_at    INTEGER NOT NULL,
    identity_sealed      BLOB,
    identity_index       BLOB,
    identity_verified_at INTEGER
) WITHOUT ROWID;
-- One identity verifies one wallet: the index enforces it against racing verifications.
CREATE UNIQUE INDEX kyc_identity ON kyc (identity_index) WHERE identity_index IS NOT NULL;

-- One outstanding one-time code per user, sent to the phone they claim.
CREATE TABLE phone_challenges (
    user_id      BLOB    PRIMARY KEY,
    phone_index  BLOB    NOT NULL,
    phone_sealed BLOB    NOT NULL,
    code_hash    BLOB    NOT NULL,
    expires_at   INTEGER NOT NULL,
    attempts     INTEGER NOT NULL,
    sent_at      INTEGER NOT NULL,
    sends        INTEGER NOT NULL,
    window_start INTEGER NOT NULL
) WITHOUT ROWID;
