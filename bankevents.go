package emoney

import "time"

// Webhooks from banks (package banklink, docs/banks.md "Webhooks from banks"): each is recorded
// once by its bank and event id, so that a delivery the bank repeats is acted on once; a fraud
// report is kept for the tracing and freezing that follow it.

// BankEvent is a webhook a bank sent, as received: recorded (RecordBankEvent) in the
// transaction that acts on it, with what came of it.
type BankEvent struct {
	Bank       string // Zengin bank code
	EventID    string // the bank's X-Bank-Event-Id (the same on every retry)
	Type       string // "fraud_report", "mandate_revoked", or another type the wallet ignores
	Outcome    string // what the wallet did: see banklink's Outcome* constants
	Link       ID     // the link it concerned; zero when it matched none
	ReceivedAt time.Time
}

// BankFraudReport is a bank's fraud report: its customer says a debit by this wallet platform
// was not authorised. It keeps what tracing and freezing the money will need: the link and
// wallet it was pulled through (zero when no link matched), the bank's entry id, the amount,
// when the bank debited it, and the grant it was pulled under. The account is kept as its keyed
// hash only (BankLink.AccountIndex), never in clear.
type BankFraudReport struct {
	ID           ID
	Bank         string
	EventID      string // the webhook it came in
	Link         ID     // zero when no link of the account is known
	User         ID     // the link's wallet owner; zero with Link
	AccountIndex []byte
	EntryID      string // the bank's id of the disputed debit
	Amount       int64  // yen, positive
	DebitedAt    time.Time
	Grant        string // the bank's grant id the debit was pulled under ("" if it did not say)
	ReceivedAt   time.Time
}
