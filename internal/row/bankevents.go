package row

import (
	"errors"

	"emoney"
)

// BankEventCols is the column list BankEvent.Dest expects and BankEventArgs gives.
const BankEventCols = `bank, event_id, type, outcome, link_id, received_at`

// BankEventColumns is how many columns BankEventCols names.
const BankEventColumns = 6

// BankEvent is a row of the bank_events table (BankEventCols).
type BankEvent struct {
	Bank, EventID, Type, Outcome string
	Link                         []byte
	ReceivedAt                   int64
}

// Dest returns the scan destinations, in column order.
func (r *BankEvent) Dest() []any {
	return []any{&r.Bank, &r.EventID, &r.Type, &r.Outcome, &r.Link, &r.ReceivedAt}
}

// Decode returns the event the row holds; an error if its link id is malformed.
func (r *BankEvent) Decode() (emoney.BankEvent, error) {
	e := emoney.BankEvent{Bank: r.Bank, EventID: r.EventID, Type: r.Type, Outcome: r.Outcome, ReceivedAt: Time(r.ReceivedAt)}
	var err error
	if r.Link != nil {
		e.Link, err = emoney.IDFromBytes(r.Link)
	}
	return e, err
}

// BankEventArgs returns e's column values in BankEventCols order (link_id NULL while zero).
func BankEventArgs(e emoney.BankEvent) []any {
	return []any{e.Bank, e.EventID, e.Type, e.Outcome, NullID(e.Link), e.ReceivedAt.UnixMicro()}
}

// NullID is id's bytes, or nil (SQL NULL) for the zero id.
func NullID(id emoney.ID) []byte {
	if id.IsZero() {
		return nil
	}
	return id.Bytes()
}

// BankFraudReportCols is the column list BankFraudReport.Dest expects and
// BankFraudReportArgs gives.
const BankFraudReportCols = `id, bank, event_id, link_id, user_id, account_index, entry_id, amount, debited_at, grant_id, received_at`

// BankFraudReportColumns is how many columns BankFraudReportCols names.
const BankFraudReportColumns = 11

// BankFraudReport is a row of the bank_fraud_reports table (BankFraudReportCols).
type BankFraudReport struct {
	ID                []byte
	Bank, EventID     string
	Link, User        []byte
	AccountIndex      []byte
	EntryID           string
	Amount, DebitedAt int64
	Grant             string
	ReceivedAt        int64
}

// Dest returns the scan destinations, in column order.
func (r *BankFraudReport) Dest() []any {
	return []any{&r.ID, &r.Bank, &r.EventID, &r.Link, &r.User, &r.AccountIndex, &r.EntryID, &r.Amount, &r.DebitedAt, &r.Grant, &r.ReceivedAt}
}

// Decode returns the report the row holds; an error if an id is malformed.
func (r *BankFraudReport) Decode() (emoney.BankFraudReport, error) {
	f := emoney.BankFraudReport{Bank: r.Bank, EventID: r.EventID, AccountIndex: r.AccountIndex, EntryID: r.EntryID, Amount: r.Amount,
		DebitedAt: Time(r.DebitedAt), Grant: r.Grant, ReceivedAt: Time(r.ReceivedAt)}
	var e1, e2, e3 error
	f.ID, e1 = emoney.IDFromBytes(r.ID)
	if r.Link != nil {
		f.Link, e2 = emoney.IDFromBytes(r.Link)
	}
	if r.User != nil {
		f.User, e3 = emoney.IDFromBytes(r.User)
	}
	return f, errors.Join(e1, e2, e3)
}

// BankFraudReportArgs returns f's column values in BankFraudReportCols order.
func BankFraudReportArgs(f emoney.BankFraudReport) []any {
	return []any{f.ID.Bytes(), f.Bank, f.EventID, NullID(f.Link), NullID(f.User), f.AccountIndex, f.EntryID, f.Amount,
		f.DebitedAt.UnixMicro(), f.Grant, f.ReceivedAt.UnixMicro()}
}
