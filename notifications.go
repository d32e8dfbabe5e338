package emoney

import "time"

// Notification is a message from the wallet to its customer (shared/DESIGN.md "Bank linking",
// steps 6–8): a link made, a refused attempt on their account, an unlink, a re-consent
// reminder. The store is the record; the push or e-mail channel (notify.Notifier) is best
// effort, sent after the commit. Text is written for the customer and names no personal data
// beyond a bank's name and an account's last three digits.
type Notification struct {
	ID        ID
	User      ID
	Kind      string // e.g. "link_created", "link_attempt_refused", "link_unlinked", "reconsent_soon"
	Text      string
	DedupeKey string // one notification per user and key: making it again is harmless
	CreatedAt time.Time
	ReadAt    time.Time // zero while unread
}

// Notification limits: listing answers at most MaxNotificationsPage; text and keys are bounded.
const (
	MaxNotificationsPage = 200
	MaxNotificationText  = 1000
	MaxDedupeKey         = 200
)

// BankNotice is a notice from the wallet to a partner bank (its partner-notification endpoint:
// link_created, link_refused, unlinked), written in the same transaction as the change it tells
// of and delivered afterwards with retries, so that neither a crash nor a bank that is down
// loses it. The event id the bank deduplicates on is "evt_" + ID. The account ("branch-number")
// is sealed (package pii, binding "banknotice:<id>:account").
type BankNotice struct {
	ID            ID
	Bank          string // Zengin code
	Kind          string // link_created, link_refused, unlinked
	AccountSealed []byte // nil: the notice names no account
	Detail        string // for the bank's staff: no personal data
	Status        DeliveryStatus
	Attempts      int
	// NextAt is when a pending notice is due; a claim moves it to the end of its lease.
	NextAt      time.Time
	Claim       ID // zero: none holds it
	LastStatus  int
	LastError   string
	CreatedAt   time.Time
	DeliveredAt time.Time
}
