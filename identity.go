package emoney

import "time"

// Role says what a principal may do. Every endpoint checks it through one authorisation layer.
type Role string

const (
	RoleCustomer      Role = "customer"
	RoleMerchant      Role = "merchant"
	RoleAgent         Role = "agent" // a cash-in agent network
	RoleSupport       Role = "support"
	RoleAnalyst       Role = "analyst"
	RoleSeniorAnalyst Role = "senior_analyst"
	RoleAdmin         Role = "admin"
	RoleBank          Role = "bank" // a partner bank
)

// Valid reports whether r is one of the roles above.
func (r Role) Valid() bool {
	switch r {
	case RoleCustomer, RoleMerchant, RoleAgent, RoleSupport, RoleAnalyst, RoleSeniorAnalyst, RoleAdmin, RoleBank:
		return true
	}
	return false
}

// User is someone who signs in. Personal data is kept sealed (package pii): EmailSealed opens
// with the binding "user:<id>:email", and EmailIndex is the keyed hash it is looked up by.
type User struct {
	ID           ID
	EmailIndex   []byte
	EmailSealed  []byte
	PasswordHash string // argon2id, PHC string format
	Role         Role
	KYCTier      int
	CreatedAt    time.Time
	// TOTPSealed is the user's TOTP secret, sealed with binding "user:<id>:totp"; TOTPConfirmed
	// says a code from it was entered once, so it may be used for step-up.
	TOTPSealed    []byte
	TOTPConfirmed bool
	// EnrolHash is the hash of a staff member's one-time enrolment code, usable until
	// EnrolExpires; nil once used.
	EnrolHash    []byte
	EnrolExpires time.Time
}

// Staff reports whether r is one of the operator's staff roles.
func (r Role) Staff() bool {
	return r == RoleSupport || r == RoleAnalyst || r == RoleSeniorAnalyst || r == RoleAdmin
}

// Session is a signed-in device. The bearer token itself is never stored: TokenHash is its
// SHA-256.
type Session struct {
	TokenHash []byte
	User      ID
	Device    string
	CreatedAt time.Time
	ExpiresAt time.Time
	RevokedAt time.Time // zero while valid
	// SteppedUpAt is when this session last proved a second factor (zero: never).
	SteppedUpAt time.Time
}

// Partner is an organisation that calls the API with a key: a cash-in agent network, a merchant,
// a bank. The key itself is never stored: KeyHash is its SHA-256.
type Partner struct {
	ID        ID
	Name      string
	Role      Role // RoleAgent, RoleMerchant or RoleBank
	KeyHash   []byte
	CreatedAt time.Time
	RevokedAt time.Time // zero while the key works
}
