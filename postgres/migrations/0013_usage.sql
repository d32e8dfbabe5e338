-- What a wallet's limits have counted in the current Asia/Tokyo day and month (emoney.Usage,
-- 40 bytes; NULL for balances no limit has counted, such as every system account).
ALTER TABLE balances ADD COLUMN usage bytea;

-- Which sides of a pending transfer a limit counted (emoney.CountedSides; NULL: none), so that
-- whatever resolves it gives back what does not move.
ALTER TABLE transfers ADD COLUMN counted smallint;
