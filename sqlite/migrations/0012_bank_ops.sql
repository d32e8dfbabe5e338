-- Top-ups and withdrawals wait in pending bank holds until the bank's answer posts or voids
-- them; the reconciler looks for the old ones it must ask the bank about.
CREATE INDEX transfers_bank_debit_holds ON transfers (created_at) WHERE hold = 'bank_debit';
CREATE INDEX transfers_bank_credit_holds ON transfers (created_at) WHERE hold = 'bank_credit';
