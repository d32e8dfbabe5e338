package emoney

import "time"

// LinkStatus is where a bank link stands.
type LinkStatus string

// Link statuses. Only an active link moves money; a link under review waits for an analyst; a
// revoked one is kept for the record (and frees its bank account for another link).
const (
	LinkActive  LinkStatus = "active"
	LinkReview  LinkStatus = "review"
	LinkRevoked LinkStatus = "revoked"
)

// BankLink is a bank account linked to a wallet (shared/DESIGN.md "Bank linking", steps 5–8).
// Everything personal or secret is sealed (package pii) with bindings naming the link:
// "link:<id>:account" (branch and number), "link:<id>:holder" (the holder's name and birth
// date as the bank reported them) and "link:<id>:tokens" (the bank's access and refresh tokens
// and the link's DPoP private key). AccountIndex is a keyed hash of bank, branch and number:
// one bank account backs at most one link that is not revoked, and the store enforces it.
type BankLink struct {
	ID            ID
	User          ID
	Bank          string // Zengin bank code
	AccountIndex  []byte
	AccountSealed []byte
	HolderSealed  []byte
	TokensSealed  []byte
	Scope         []string // what the bank granted: holder, debit, credit
	// The mandate the customer consented to at the bank: payee and caps in yen.
	MandatePayee     string
	MandatePerCharge int64
	MandateMonthly   int64
	Status           LinkStatus
	Score            int // the holder match score, 0–100
	CreatedAt        time.Time
	CoolingOffUntil  time.Time  // low caps until then
	ConsentedAt      time.Time  // re-consent is due the policy's ReconsentDays after it
	RevokedAt        time.Time  // zero unless revoked
	RevokedBy        string     // "user:<id>", "staff:<id>", "bank"
	Method           LinkMethod // LinkOAuth (also when empty) or LinkLegacy (linkmethod.go)
	// GrantID is the bank's id of the consent behind the link (the token answer's grant_id):
	// what the bank's mandate_revoked webhooks name. Not secret: the bank's opaque id. "" when
	// the bank sent none.
	GrantID string
}

// LinkFlow is a linking authorization waiting for its callback: the banklink.Flow (which holds
// the PKCE verifier and the DPoP private key) sealed with the binding "linkflow:<hex of
// StateHash>", found by a hash of its state and taken once.
type LinkFlow struct {
	StateHash []byte // SHA-256 of the OAuth state
	User      ID
	Bank      string
	Sealed    []byte
	CreatedAt time.Time
	ExpiresAt time.Time
}
