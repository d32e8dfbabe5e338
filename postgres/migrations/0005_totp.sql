-- TOTP step-up: the sealed secret, whether it is confirmed, the last time step used (a code
-- works once), and when a session last stepped up.
ALTER TABLE users ADD COLUMN totp_sealed bytea;
ALTER TABLE users ADD COLUMN totp_confirmed bigint NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN totp_last_step bigint;
ALTER TABLE sessions ADD COLUMN stepped_up_at bigint;
