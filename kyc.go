package emoney

import "time"

// KYC is what a user has proved about themselves beyond an e-mail address. A verified phone
// gives tier 1; an eKYC-verified identity on top of it gives tier 2 (DESIGN.md "Wallets and
// identity"). Everything personal is sealed (package pii) with the bindings
// "user:<id>:phone" and "user:<id>:identity".
type KYC struct {
	User ID
	// PhoneIndex is the keyed hash of the verified phone number (E.164): one phone verifies one
	// wallet. PhoneSealed is the number itself.
	PhoneIndex      []byte
	PhoneSealed     []byte
	PhoneVerifiedAt time.Time // zero: no verified phone
	// IdentitySealed is the provider's verified identity (JSON: names in kanji and kana, date of
	// birth, document type, provider reference). IdentityIndex is a keyed hash of the kana name
	// and date of birth, to find other wallets of the same person.
	IdentitySealed     []byte
	IdentityIndex      []byte
	IdentityVerifiedAt time.Time // zero: no verified identity
}

// PhoneChallenge is a one-time code sent to a phone number a user claims, waiting to be entered.
// One per user: sending again replaces the code.
type PhoneChallenge struct {
	User        ID
	PhoneIndex  []byte
	PhoneSealed []byte
	CodeHash    []byte // SHA-256 over the user id and the code
	ExpiresAt   time.Time
	Attempts    int       // wrong codes entered against this code
	SentAt      time.Time // when the last code was sent
	// Sends counts the codes sent since WindowStart (a day), to bound SMS costs and guessing.
	Sends       int
	WindowStart time.Time
}
