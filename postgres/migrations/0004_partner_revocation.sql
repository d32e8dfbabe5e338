-- A partner's key can be revoked (a leaked key must stop working at once).
ALTER TABLE partners ADD COLUMN revoked_at bigint;
