-- Staff accounts start with a one-time enrolment code (its hash), good until enrol_expires:
-- the first use sets the password and the one-time-code app. There is no default password.
ALTER TABLE users ADD COLUMN enrol_hash BLOB;
ALTER TABLE users ADD COLUMN enrol_expires INTEGER;
CREATE UNIQUE INDEX users_enrol_hash ON users (enrol_hash);
