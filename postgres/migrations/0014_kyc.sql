-- What users proved beyond an e-mail: a verified phone (tier 1) and an eKYC identity (tier 2).
-- Personal data is sealed; phones and identities are found by keyed hashes.
CREATE TABLE kyc (
    user_id              bytea   PRIMARY KEY,
    phone_index          bytea   NOT NULL UNIQUE,
    phone_sealed         bytea   NOT NULL,
    phone_verified_at    bigint  NOT NULL,
    identity_sealed      bytea,
    identity_index       bytea,
    identity_verified_at bigint
);
-- One identity verifies one wallet: the index enforces it against racing verifications.
CREATE UNIQUE INDEX kyc_identity ON kyc (identity_index) WHERE identity_index IS NOT NULL;

-- One outstanding one-time code per user, sent to the phone they claim.
CREATE TABLE phone_challenges (
    user_id      bytea   PRIMARY KEY,
    phone_index  bytea   NOT NULL,
    phone_sealed bytea   NOT NULL,
    code_hash    bytea   NOT NULL,
    expires_at   bigint  NOT NULL,
    attempts     bigint  NOT NULL,
    sent_at      bigint  NOT NULL,
    sends        bigint  NOT NULL,
    window_start bigint  NOT NULL
);
