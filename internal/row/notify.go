package row

import (
	"errors"

	"emoney"
)

// NotificationCols is the column list Notification.Dest expects and NotificationArgs gives.
const NotificationCols = `id, user_id, kind, body, dedupe_key, created_at, read_at`

// NotificationColumns is how many columns NotificationCols names.
const NotificationColumns = 7

// Notification is a row of the notifications table as both stores select it.
type Notification struct {
	ID, User        []byte
	Kind, Text, Key string
	CreatedAt       int64
	ReadAt          *int64
}

// Dest returns the scan destinations, in column order.
func (r *Notification) Dest() []any {
	return []any{&r.ID, &r.User, &r.Kind, &r.Text, &r.Key, &r.CreatedAt, &r.ReadAt}
}

// Decode returns the notification the row holds; an error if an id is malformed.
func (r *Notification) Decode() (emoney.Notification, error) {
	n := emoney.Notification{Kind: r.Kind, Text: r.Text, DedupeKey: r.Key, CreatedAt: Time(r.CreatedAt)}
	if r.ReadAt != nil {
		n.ReadAt = Time(*r.ReadAt)
	}
	var e1, e2 error
	n.ID, e1 = emoney.IDFromBytes(r.ID)
	n.User, e2 = emoney.IDFromBytes(r.User)
	return n, errors.Join(e1, e2)
}

// NotificationArgs returns n's column values in NotificationCols order.
func NotificationArgs(n emoney.Notification) []any {
	var read *int64
	if !n.ReadAt.IsZero() {
		v := n.ReadAt.UnixMicro()
		read = &v
	}
	return []any{n.ID.Bytes(), n.User.Bytes(), n.Kind, n.Text, n.DedupeKey, n.CreatedAt.UnixMicro(), read}
}

// BankNoticeCols is the column list BankNotice.Dest expects and BankNoticeArgs gives.
const BankNoticeCols = `id, bank, kind, account_sealed, detail, status, attempts, next_at, claim, last_status, last_error,
	created_at, delivered_at`

// BankNoticeColumns is how many columns BankNoticeCols names.
const BankNoticeColumns = 13

// BankNotice is a row of the bank_notices table as both stores select it.
type BankNotice struct {
	ID               []byte
	Bank, Kind       string
	Account          []byte
	Detail, Status   string
	Attempts, NextAt int64
	Claim            []byte
	LastStatus       int64
	LastError        string
	CreatedAt        int64
	DeliveredAt      *int64
}

// Dest returns the scan destinations, in column order.
func (r *BankNotice) Dest() []any {
	return []any{&r.ID, &r.Bank, &r.Kind, &r.Account, &r.Detail, &r.Status, &r.Attempts, &r.NextAt, &r.Claim, &r.LastStatus,
		&r.LastError, &r.CreatedAt, &r.DeliveredAt}
}

// Decode returns the notice the row holds; an error if an id is malformed.
func (r *BankNotice) Decode() (emoney.BankNotice, error) {
	n := emoney.BankNotice{Bank: r.Bank, Kind: r.Kind, AccountSealed: r.Account, Detail: r.Detail, Status: emoney.DeliveryStatus(r.Status),
		Attempts: int(r.Attempts), NextAt: Time(r.NextAt), LastStatus: int(r.LastStatus), LastError: r.LastError, CreatedAt: Time(r.CreatedAt)}
	if r.DeliveredAt != nil {
		n.DeliveredAt = Time(*r.DeliveredAt)
	}
	var e1, e2 error
	n.ID, e1 = emoney.IDFromBytes(r.ID)
	if r.Claim != nil {
		n.Claim, e2 = emoney.IDFromBytes(r.Claim)
	}
	return n, errors.Join(e1, e2)
}

// BankNoticeArgs returns n's column values in BankNoticeCols order (claim NULL while zero).
func BankNoticeArgs(n emoney.BankNotice) []any {
	var claim []byte
	if !n.Claim.IsZero() {
		claim = n.Claim.Bytes()
	}
	var delivered *int64
	if !n.DeliveredAt.IsZero() {
		v := n.DeliveredAt.UnixMicro()
		delivered = &v
	}
	st := n.Status
	if st == "" {
		st = emoney.DeliveryPending
	}
	return []any{n.ID.Bytes(), n.Bank, n.Kind, n.AccountSealed, n.Detail, string(st), int64(n.Attempts), n.NextAt.UnixMicro(), claim,
		int64(n.LastStatus), n.LastError, n.CreatedAt.UnixMicro(), delivered}
}
