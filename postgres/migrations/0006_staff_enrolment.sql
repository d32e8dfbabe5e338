-- Staff accounts start with a one-time enrolment code (its hash), good until enrol_expires:
-- the first use sets the password and the one-time-code app. There is no default password.
ALTER TABLE users ADD COLUMN enrol_hash bytea;
ALTER TABLE users ADD COLUMN enrol_expires bigint;
CREATE UNIQUE INDEX users_enrol_hash ON users (enrol_hash);
