-- How each bank link was made (emoney.LinkMethod): 'oauth', the one protocol, or 'legacy', the
-- 2020 PIN protocol a development server offers with --legacy-linking (threat T1). A legacy
-- link holds no bank account against other wallets, as in 2020: the one-account-one-link index
-- covers OAuth links only.
ALTER TABLE links ADD COLUMN method text NOT NULL DEFAULT 'oauth';
DROP INDEX links_account;
CREATE UNIQUE INDEX links_account ON links (account_index) WHERE status <> 'revoked' AND method = 'oauth';
