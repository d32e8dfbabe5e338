-- Review holds are found quickly (the sweeper looks for any without an alert).
CREATE INDEX transfers_review_holds ON transfers (id) WHERE hold = 'review';
