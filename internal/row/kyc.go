package row

import (
	"emoney"
)

// KYCCols are the kyc table's columns in the order KYC scans them.
const KYCCols = `user_id, phone_index, phone_sealed, phone_verified_at, identity_sealed, identity_index, identity_verified_at`

// KYC is a row of the kyc table.
type KYC struct {
	User, PhoneIndex, PhoneSealed []byte
	PhoneVerifiedAt               int64
	IdentitySealed, IdentityIndex []byte
	IdentityVerifiedAt            *int64
}

// Dest returns the scan destinations, in column order.
func (r *KYC) Dest() []any {
	return []any{&r.User, &r.PhoneIndex, &r.PhoneSealed, &r.PhoneVerifiedAt, &r.IdentitySealed, &r.IdentityIndex, &r.IdentityVerifiedAt}
}

// Decode returns the record the row holds.
func (r *KYC) Decode() (emoney.KYC, error) {
	k := emoney.KYC{PhoneIndex: r.PhoneIndex, PhoneSealed: r.PhoneSealed, PhoneVerifiedAt: Time(r.PhoneVerifiedAt),
		IdentitySealed: r.IdentitySealed, IdentityIndex: r.IdentityIndex}
	if r.IdentityVerifiedAt != nil {
		k.IdentityVerifiedAt = Time(*r.IdentityVerifiedAt)
	}
	var err error
	k.User, err = emoney.IDFromBytes(r.User)
	return k, err
}

// PhoneChallengeCols are the phone_challenges columns in the order PhoneChallenge scans them.
const PhoneChallengeCols = `user_id, phone_index, phone_sealed, code_hash, expires_at, attempts, sent_at, sends, window_start`

// PhoneChallenge is a row of the phone_challenges table.
type PhoneChallenge struct {
	User, PhoneIndex, PhoneSealed, CodeHash []byte
	ExpiresAt, Attempts, SentAt, Sends      int64
	WindowStart                             int64
}

// Dest returns the scan destinations, in column order.
func (r *PhoneChallenge) Dest() []any {
	return []any{&r.User, &r.PhoneIndex, &r.PhoneSealed, &r.CodeHash, &r.ExpiresAt, &r.Attempts, &r.SentAt, &r.Sends, &r.WindowStart}
}

// Decode returns the challenge the row holds.
func (r *PhoneChallenge) Decode() (emoney.PhoneChallenge, error) {
	c := emoney.PhoneChallenge{PhoneIndex: r.PhoneIndex, PhoneSealed: r.PhoneSealed, CodeHash: r.CodeHash,
		ExpiresAt: Time(r.ExpiresAt), Attempts: int(r.Attempts), SentAt: Time(r.SentAt), Sends: int(r.Sends), WindowStart: Time(r.WindowStart)}
	var err error
	c.User, err = emoney.IDFromBytes(r.User)
	return c, err
}
