package row

import (
	"errors"
	"strings"

	"emoney"
)

// LinkCols is the column list Link.Dest expects and LinkArgs gives.
const LinkCols = `id, user_id, bank, account_index, account_sealed, holder_sealed, tokens_sealed, scope,
	mandate_payee, mandate_per_charge, mandate_monthly, status, score, created_at, cooling_off_until,
	consented_at, revoked_at, revoked_by, method, grant_id`

// LinkColumns is how many columns LinkCols names.
const LinkColumns = 20

// Link is a row of the links table as both stores select it (LinkCols).
type Link struct {
	ID, User                                                []byte
	Bank                                                    string
	AccountIndex, AccountSealed, HolderSealed, TokensSealed []byte
	Scope, MandatePayee                                     string
	MandatePerCharge, MandateMonthly                        int64
	Status                                                  string
	Score, CreatedAt, CoolingOffUntil, ConsentedAt          int64
	RevokedAt                                               *int64
	RevokedBy                                               string
	Method                                                  string
	GrantID                                                 string
}

// Dest returns the scan destinations, in column order.
func (r *Link) Dest() []any {
	return []any{&r.ID, &r.User, &r.Bank, &r.AccountIndex, &r.AccountSealed, &r.HolderSealed, &r.TokensSealed, &r.Scope,
		&r.MandatePayee, &r.MandatePerCharge, &r.MandateMonthly, &r.Status, &r.Score, &r.CreatedAt, &r.CoolingOffUntil,
		&r.ConsentedAt, &r.RevokedAt, &r.RevokedBy, &r.Method, &r.GrantID}
}

// Decode returns the link the row holds; an error if an id is malformed.
func (r *Link) Decode() (emoney.BankLink, error) {
	l := emoney.BankLink{Bank: r.Bank, AccountIndex: r.AccountIndex, AccountSealed: r.AccountSealed, HolderSealed: r.HolderSealed,
		TokensSealed: r.TokensSealed, MandatePayee: r.MandatePayee, MandatePerCharge: r.MandatePerCharge, MandateMonthly: r.MandateMonthly,
		Status: emoney.LinkStatus(r.Status), Score: int(r.Score), CreatedAt: Time(r.CreatedAt), CoolingOffUntil: Time(r.CoolingOffUntil),
		ConsentedAt: Time(r.ConsentedAt), RevokedBy: r.RevokedBy, GrantID: r.GrantID}
	if r.Scope != "" {
		l.Scope = strings.Split(r.Scope, " ")
	}
	if r.RevokedAt != nil {
		l.RevokedAt = Time(*r.RevokedAt)
	}
	// The zero Method is the one protocol: a link of it reads back as it was written.
	if r.Method != string(emoney.LinkOAuth) {
		l.Method = emoney.LinkMethod(r.Method)
	}
	var e1, e2 error
	l.ID, e1 = emoney.IDFromBytes(r.ID)
	l.User, e2 = emoney.IDFromBytes(r.User)
	return l, errors.Join(e1, e2)
}

// LinkArgs returns l's column values in LinkCols order (an empty method is emoney.LinkOAuth).
func LinkArgs(l emoney.BankLink) []any {
	method := l.Method
	if method == "" {
		method = emoney.LinkOAuth
	}
	return []any{l.ID.Bytes(), l.User.Bytes(), l.Bank, l.AccountIndex, l.AccountSealed, l.HolderSealed, l.TokensSealed,
		strings.Join(l.Scope, " "), l.MandatePayee, l.MandatePerCharge, l.MandateMonthly, string(l.Status), int64(l.Score),
		l.CreatedAt.UnixMicro(), l.CoolingOffUntil.UnixMicro(), l.ConsentedAt.UnixMicro(), nullTime(l.RevokedAt), l.RevokedBy, string(method), l.GrantID}
}

// LinkFlowCols is the column list LinkFlow.Dest expects.
const LinkFlowCols = `state_hash, user_id, bank, sealed, created_at, expires_at`

// LinkFlow is a row of the link_flows table (LinkFlowCols).
type LinkFlow struct {
	StateHash, User      []byte
	Bank                 string
	Sealed               []byte
	CreatedAt, ExpiresAt int64
}

// Dest returns the scan destinations, in column order.
func (r *LinkFlow) Dest() []any {
	return []any{&r.StateHash, &r.User, &r.Bank, &r.Sealed, &r.CreatedAt, &r.ExpiresAt}
}

// Decode returns the flow the row holds.
func (r *LinkFlow) Decode() (emoney.LinkFlow, error) {
	u, err := emoney.IDFromBytes(r.User)
	return emoney.LinkFlow{StateHash: r.StateHash, User: u, Bank: r.Bank, Sealed: r.Sealed, CreatedAt: Time(r.CreatedAt), ExpiresAt: Time(r.ExpiresAt)}, err
}

// LinkFlowArgs returns f's column values in LinkFlowCols order.
func LinkFlowArgs(f emoney.LinkFlow) []any {
	return []any{f.StateHash, f.User.Bytes(), f.Bank, f.Sealed, f.CreatedAt.UnixMicro(), f.ExpiresAt.UnixMicro()}
}
