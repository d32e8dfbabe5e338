// Package row decodes what both stores read from the same columns, so the two cannot drift
// apart in how a row becomes a domain value.
package row

import (
	"errors"
	"fmt"
	"time"

	"emoney"
)

// Transfer is a row of the transfers table as both stores select it (their transferCols, in
// this order): ids as bytes, times as Unix microseconds, NULLs as nil pointers.
type Transfer struct {
	ID, Batch             []byte
	Kind                  string
	From, To              []byte
	Currency              string
	Amount                int64
	Code                  string
	Hold                  *string
	PendingID, ReversalOf []byte
	ExpiresAt             *int64
	CreatedAt             int64
	FromPrev, ToPrev      []byte
	Counted               *int64
}

// Dest returns the scan destinations, in column order.
func (r *Transfer) Dest() []any {
	return []any{&r.ID, &r.Batch, &r.Kind, &r.From, &r.To, &r.Currency, &r.Amount, &r.Code, &r.Hold,
		&r.PendingID, &r.ReversalOf, &r.ExpiresAt, &r.CreatedAt, &r.FromPrev, &r.ToPrev, &r.Counted}
}

// Decode returns the transfer the row holds; an error if an id is malformed.
func (r *Transfer) Decode() (emoney.Transfer, error) {
	tr := emoney.Transfer{Kind: emoney.TransferKind(r.Kind), Currency: emoney.Currency(r.Currency), Amount: r.Amount,
		Code: r.Code, CreatedAt: Time(r.CreatedAt)}
	if r.Hold != nil {
		tr.Hold = emoney.HoldKind(*r.Hold)
	}
	if r.ExpiresAt != nil {
		tr.ExpiresAt = Time(*r.ExpiresAt)
	}
	if r.Counted != nil {
		tr.Counted = emoney.CountedSides(*r.Counted)
	}
	var errs [8]error
	tr.ID, errs[0] = emoney.IDFromBytes(r.ID)
	tr.Batch, errs[1] = emoney.IDFromBytes(r.Batch)
	tr.From, errs[2] = emoney.IDFromBytes(r.From)
	tr.To, errs[3] = emoney.IDFromBytes(r.To)
	tr.PendingID, errs[4] = emoney.IDFromBytes(r.PendingID)
	tr.ReversalOf, errs[5] = emoney.IDFromBytes(r.ReversalOf)
	tr.FromPrev, errs[6] = emoney.IDFromBytes(r.FromPrev)
	tr.ToPrev, errs[7] = emoney.IDFromBytes(r.ToPrev)
	return tr, errors.Join(errs[:]...)
}

// Time converts stored Unix microseconds to a UTC time.
func Time(micros int64) time.Time { return time.UnixMicro(micros).UTC() }

// Balance is a row of the balances table as both stores select it (their balanceCols, in this
// order).
type Balance struct {
	Account                                []byte
	Currency                               string
	Balance, DebitsPending, CreditsPending int64
	Last                                   []byte
	Usage                                  []byte
}

// Dest returns the scan destinations, in column order.
func (r *Balance) Dest() []any {
	return []any{&r.Account, &r.Currency, &r.Balance, &r.DebitsPending, &r.CreditsPending, &r.Last, &r.Usage}
}

// Decode returns the balance the row holds; an error if an id is malformed.
func (r *Balance) Decode() (emoney.Balance, error) {
	b := emoney.Balance{Currency: emoney.Currency(r.Currency), Balance: r.Balance, DebitsPending: r.DebitsPending, CreditsPending: r.CreditsPending}
	var err1, err2, err3 error
	b.Account, err1 = emoney.IDFromBytes(r.Account)
	b.Last, err2 = emoney.IDFromBytes(r.Last)
	b.Usage, err3 = emoney.DecodeUsage(r.Usage)
	return b, errors.Join(err1, err2, err3)
}

// User is a row of the users table as both stores select it (userCols).
type User struct {
	ID, EmailIndex, EmailSealed []byte
	PasswordHash, Role          string
	KYCTier                     int64
	CreatedAt                   int64
	TOTPSealed                  []byte
	TOTPConfirmed               int64
	EnrolHash                   []byte
	EnrolExpires                *int64
}

// Dest returns the scan destinations, in column order.
func (r *User) Dest() []any {
	return []any{&r.ID, &r.EmailIndex, &r.EmailSealed, &r.PasswordHash, &r.Role, &r.KYCTier, &r.CreatedAt, &r.TOTPSealed, &r.TOTPConfirmed, &r.EnrolHash, &r.EnrolExpires}
}

// Decode returns the user the row holds.
func (r *User) Decode() (emoney.User, error) {
	id, err := emoney.IDFromBytes(r.ID)
	u := emoney.User{ID: id, EmailIndex: r.EmailIndex, EmailSealed: r.EmailSealed, PasswordHash: r.PasswordHash,
		Role: emoney.Role(r.Role), KYCTier: int(r.KYCTier), CreatedAt: Time(r.CreatedAt),
		TOTPSealed: r.TOTPSealed, TOTPConfirmed: r.TOTPConfirmed != 0, EnrolHash: r.EnrolHash}
	if r.EnrolExpires != nil {
		u.EnrolExpires = Time(*r.EnrolExpires)
	}
	return u, err
}

// Session is a row of the sessions table as both stores select it (sessionCols).
type Session struct {
	TokenHash, User      []byte
	Device               string
	CreatedAt, ExpiresAt int64
	RevokedAt            *int64
	SteppedUpAt          *int64
}

// Dest returns the scan destinations, in column order.
func (r *Session) Dest() []any {
	return []any{&r.TokenHash, &r.User, &r.Device, &r.CreatedAt, &r.ExpiresAt, &r.RevokedAt, &r.SteppedUpAt}
}

// Decode returns the session the row holds.
func (r *Session) Decode() (emoney.Session, error) {
	u, err := emoney.IDFromBytes(r.User)
	s := emoney.Session{TokenHash: r.TokenHash, User: u, Device: r.Device, CreatedAt: Time(r.CreatedAt), ExpiresAt: Time(r.ExpiresAt)}
	if r.RevokedAt != nil {
		s.RevokedAt = Time(*r.RevokedAt)
	}
	if r.SteppedUpAt != nil {
		s.SteppedUpAt = Time(*r.SteppedUpAt)
	}
	return s, err
}

// UserCols and SessionCols are the column lists the Dest methods expect.
const (
	UserCols    = `id, email_index, email_sealed, password_hash, role, kyc_tier, created_at, totp_sealed, totp_confirmed, enrol_hash, enrol_expires`
	SessionCols = `token_hash, user_id, device, created_at, expires_at, revoked_at, stepped_up_at`
)

// Partner is a row of the partners table as both stores select it (PartnerCols).
type Partner struct {
	ID, KeyHash []byte
	Name, Role  string
	CreatedAt   int64
	RevokedAt   *int64
}

// PartnerCols is the column list Partner.Dest expects.
const PartnerCols = `id, name, role, key_hash, created_at, revoked_at`

// Dest returns the scan destinations, in column order.
func (r *Partner) Dest() []any {
	return []any{&r.ID, &r.Name, &r.Role, &r.KeyHash, &r.CreatedAt, &r.RevokedAt}
}

// Decode returns the partner the row holds; an error if its role is not a partner's.
func (r *Partner) Decode() (emoney.Partner, error) {
	id, err := emoney.IDFromBytes(r.ID)
	role := emoney.Role(r.Role)
	if role != emoney.RoleAgent && role != emoney.RoleMerchant && role != emoney.RoleBank {
		return emoney.Partner{}, fmt.Errorf("partner %x has role %q", r.ID, r.Role)
	}
	p := emoney.Partner{ID: id, Name: r.Name, Role: role, KeyHash: r.KeyHash, CreatedAt: Time(r.CreatedAt)}
	if r.RevokedAt != nil {
		p.RevokedAt = Time(*r.RevokedAt)
	}
	return p, err
}

// AlertCols is the column list Alert.Dest expects.
const AlertCols = `id, kind, subject, transfer_id, reason, status, created_at, resolved_at, resolved_by, proposed_by, proposed_at`

// Alert is a row of the alerts table as both stores select it (AlertCols).
type Alert struct {
	ID, Transfer                 []byte
	Kind, Subject, Reason, State string
	CreatedAt                    int64
	ResolvedAt                   *int64
	ResolvedBy                   *string
	ProposedBy                   *string
	ProposedAt                   *int64
}

// Dest returns the scan destinations, in column order.
func (r *Alert) Dest() []any {
	return []any{&r.ID, &r.Kind, &r.Subject, &r.Transfer, &r.Reason, &r.State, &r.CreatedAt, &r.ResolvedAt, &r.ResolvedBy, &r.ProposedBy, &r.ProposedAt}
}

// Decode returns the alert the row holds.
func (r *Alert) Decode() (emoney.Alert, error) {
	id, err1 := emoney.IDFromBytes(r.ID)
	tr, err2 := emoney.IDFromBytes(r.Transfer)
	a := emoney.Alert{ID: id, Kind: r.Kind, Subject: r.Subject, Transfer: tr, Reason: r.Reason, Status: emoney.AlertStatus(r.State), CreatedAt: Time(r.CreatedAt)}
	if r.ResolvedAt != nil {
		a.ResolvedAt = Time(*r.ResolvedAt)
	}
	if r.ResolvedBy != nil {
		a.ResolvedBy = *r.ResolvedBy
	}
	if r.ProposedBy != nil {
		a.ProposedBy = *r.ProposedBy
	}
	if r.ProposedAt != nil {
		a.ProposedAt = Time(*r.ProposedAt)
	}
	return a, errors.Join(err1, err2)
}

// PayeeCols is the column list Payee.Dest expects.
const PayeeCols = `id, user_id, wallet, nickname_sealed, added_at`

// Payee is a row of the payees table as both stores select it (PayeeCols).
type Payee struct {
	ID, User, Wallet, NicknameSealed []byte
	AddedAt                          int64
}

// Dest returns the scan destinations, in column order.
func (r *Payee) Dest() []any {
	return []any{&r.ID, &r.User, &r.Wallet, &r.NicknameSealed, &r.AddedAt}
}

// Decode returns the payee the row holds; an error if an id is malformed.
func (r *Payee) Decode() (emoney.Payee, error) {
	id, err1 := emoney.IDFromBytes(r.ID)
	user, err2 := emoney.IDFromBytes(r.User)
	wallet, err3 := emoney.IDFromBytes(r.Wallet)
	return emoney.Payee{ID: id, User: user, Wallet: wallet, NicknameSealed: r.NicknameSealed, AddedAt: Time(r.AddedAt)}, errors.Join(err1, err2, err3)
}
