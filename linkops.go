package emoney

import "time"

// LinkReconsent is the status of a link whose bank no longer accepts its tokens (expired,
// revoked at the bank, refresh refused): it moves no money until the customer consents again.
// It still holds its bank account (one account, one wallet).
const LinkReconsent LinkStatus = "reconsent"

// LinkOp records that a top-up or withdrawal goes through a bank link. It is written, keyed by
// the caller's idempotency key, before the money is held; Transfer is the pending ledger
// transfer once it exists (zero until then). It is how a top-up's cooling-off usage is counted
// per link and day, and how the reconciler finds the link of a pending bank hold.
type LinkOp struct {
	Principal string // the ledger principal of the caller ("user:<id>")
	Key       string // the caller's idempotency key
	Link      ID
	User      ID
	Kind      string // "topup" or "withdrawal"
	Amount    int64
	Day       int32 // TokyoDay of CreatedAt: the cooling-off day it counts in
	Transfer  ID    // the pending transfer; zero until it is made
	CreatedAt time.Time
}
