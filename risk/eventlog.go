package risk

import (
	"encoding/json"
	"fmt"
	"time"
)

// LogEvent is one line of an event log (shared/specs/events.md, version 1), with the fields
// this engine reads. The last group is what a live decision knows beyond the format (unknown
// fields to other readers, which keep and ignore them).
type LogEvent struct {
	V        int             `json:"v"`
	ID       string          `json:"id,omitempty"`
	TS       string          `json:"ts"`
	Type     Type            `json:"type"`
	Wallet   string          `json:"wallet,omitempty"`
	Device   string          `json:"device,omitempty"`
	IP       string          `json:"ip,omitempty"`
	Label    json.RawMessage `json:"label,omitempty"`
	Amount   int64           `json:"amount,omitempty"`
	Currency string          `json:"currency,omitempty"`
	To       string          `json:"to,omitempty"`
	Merchant string          `json:"merchant,omitempty"`
	Bank     string          `json:"bank,omitempty"`
	Account  string          `json:"account,omitempty"`
	OK       *bool           `json:"ok,omitempty"`
	Factor   string          `json:"factor,omitempty"`
	KYCTier  *int            `json:"kyc_tier,omitempty"`

	WalletOpenedAt string `json:"wallet_opened_at,omitempty"`
	LinkedAt       string `json:"linked_at,omitempty"`
	ToOpenedAt     string `json:"to_opened_at,omitempty"`
	Available      *int64 `json:"available,omitempty"`
}

// stamp writes a time to the millisecond, as the engine reads it.
func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Truncate(time.Millisecond).Format(time.RFC3339Nano)
}

func unstamp(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: not an RFC 3339 time", field)
	}
	return t, nil
}

// Log returns ev as a line of an event log.
func (ev *Event) Log() LogEvent {
	l := LogEvent{V: 1, ID: ev.ID, TS: stamp(ev.At), Type: ev.Type, Wallet: ev.Wallet, Device: ev.Device, IP: ev.IP,
		Amount: ev.Amount, To: ev.To, Merchant: ev.Merchant, Bank: ev.Bank, Account: ev.Account, Factor: ev.Factor,
		WalletOpenedAt: stamp(ev.WalletOpenedAt), LinkedAt: stamp(ev.LinkedAt), ToOpenedAt: stamp(ev.ToOpenedAt)}
	if ev.Type == Login || ev.Type == BankLink {
		ok := ev.OK
		l.OK = &ok
	}
	if ev.KYCTier >= 0 {
		k := ev.KYCTier
		l.KYCTier = &k
	}
	if ev.Available >= 0 {
		a := ev.Available
		l.Available = &a
	}
	return l
}

// Event returns the event a log line describes; an error names what is wrong with it. The
// label is not part of it: no decision may read it.
func (l *LogEvent) Event() (Event, error) {
	if l.V != 1 {
		return Event{}, fmt.Errorf("v: version %d, want 1", l.V)
	}
	if l.ID == "" {
		return Event{}, fmt.Errorf("id: missing")
	}
	at, err := time.Parse(time.RFC3339Nano, l.TS)
	if err != nil {
		return Event{}, fmt.Errorf("ts: not an RFC 3339 time")
	}
	if at.Before(epoch) || at.Year() > 9999 {
		return Event{}, fmt.Errorf("ts: out of range")
	}
	if l.Amount < 0 {
		return Event{}, fmt.Errorf("amount: negative")
	}
	ev := Event{ID: l.ID, Type: l.Type, At: at, Wallet: l.Wallet, Device: l.Device, IP: l.IP, Amount: l.Amount, To: l.To,
		Merchant: l.Merchant, Bank: l.Bank, Account: l.Account, Factor: l.Factor, KYCTier: -1, Available: -1}
	if l.OK != nil {
		ev.OK = *l.OK
	}
	if l.KYCTier != nil {
		ev.KYCTier = *l.KYCTier
	}
	if l.Available != nil {
		ev.Available = *l.Available
	}
	if ev.WalletOpenedAt, err = unstamp("wallet_opened_at", l.WalletOpenedAt); err != nil {
		return Event{}, err
	}
	if ev.LinkedAt, err = unstamp("linked_at", l.LinkedAt); err != nil {
		return Event{}, err
	}
	if ev.ToOpenedAt, err = unstamp("to_opened_at", l.ToOpenedAt); err != nil {
		return Event{}, err
	}
	return ev, nil
}
