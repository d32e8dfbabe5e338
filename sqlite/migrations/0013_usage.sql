-- What a wallet's limits have counted in the current Asia/Tokyo day and month (emoney.Usage,
-- 40 bytes; NULL for balances no limit has counted, such as every system account).
ALTER TABLE balances ADD COLUMN usage BLOB;
