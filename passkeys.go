package emoney

import "time"

// Passkey is a WebAuthn credential a user registered as a step-up factor. The private key never
// leaves the user's authenticator: the server keeps the public key and the signature counter,
// which a genuine authenticator only ever increases (or keeps at zero).
type Passkey struct {
	ID           ID     // ours: how the API names it
	User         ID     // whose it is
	CredentialID []byte // the authenticator's id for it (unique across all users)
	PublicKey    []byte // COSE_Key
	SignCount    uint32 // the last signature counter seen
	AAGUID       []byte // the authenticator model (16 bytes; zeros when it says none)
	Transports   []string
	// Flags are the authenticator data flags seen at registration (user present, verified,
	// backup eligible, backed up): a later assertion must agree on backup eligibility.
	Flags      uint8
	Name       string // chosen by the user
	CreatedAt  time.Time
	LastUsedAt time.Time // zero until it is used for a step-up
}

// CeremonyKind says which WebAuthn ceremony a Ceremony belongs to.
type CeremonyKind string

const (
	CeremonyRegister CeremonyKind = "register" // adding a passkey
	CeremonyStepUp   CeremonyKind = "stepup"   // proving one on a session
)

// Ceremony is the server's half of a WebAuthn ceremony between its begin and its finish: the
// challenge and what the answer must match, opaque to the store. It is bound to the session that
// began it, used once, and worthless after ExpiresAt.
type Ceremony struct {
	TokenHash []byte // the session's
	Kind      CeremonyKind
	Data      []byte
	CreatedAt time.Time
	ExpiresAt time.Time
}
