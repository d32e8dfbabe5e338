// Package risk is emoney's real-time risk engine (shared/DESIGN.md "Risk engine"): every
// sensitive action becomes an Event, judged before it takes effect by runtime rules in CEL over
// features kept in memory (sliding windows per wallet, device, IP, bank account and receiver;
// ages, first-time payees, drain ratio, fan-in, shared devices, failure streaks), and recorded
// with its reasons. The same Engine judges a live request and a line of an event log
// (shared/specs/events.md), so a backtest measures exactly what production does.
package risk

import (
	"time"
)

// Type is what an event is: the types of shared/specs/events.md.
type Type string

// The event types (specs/events.md). Money events are TopUp, Transfer, Payment, Refund and
// Withdrawal.
const (
	WalletOpened  Type = "wallet_opened"
	PhoneVerified Type = "phone_verified"
	KYCVerified   Type = "kyc_verified"
	Login         Type = "login"
	BankLink      Type = "bank_link"
	BankUnlink    Type = "bank_unlink"
	TopUp         Type = "topup"
	Transfer      Type = "transfer"
	PayeeAdded    Type = "payee_added"
	DeviceChange  Type = "device_change"
	Payment       Type = "payment"
	Refund        Type = "refund"
	Withdrawal    Type = "withdrawal"
	FraudReport   Type = "fraud_report"
)

// Money reports whether events of type t move money.
func (t Type) Money() bool {
	switch t {
	case TopUp, Transfer, Payment, Refund, Withdrawal:
		return true
	}
	return false
}

// Judged reports whether the engine decides events of type t (specs/events.md "Decisions").
func (t Type) Judged() bool {
	switch t {
	case TopUp, Transfer, Payment, Refund, Withdrawal, BankLink, Login, WalletOpened, PhoneVerified, KYCVerified, PayeeAdded, DeviceChange:
		return true
	}
	return false
}

// Event is one thing a wallet does, as the engine sees it. Keys (Wallet, Device, IP, Account,
// To, Merchant) are opaque strings compared for equality only: production passes ids and keyed
// hashes, never a bank account number or anything else a reader could use.
type Event struct {
	ID     string
	Type   Type
	At     time.Time
	Wallet string // the acting wallet
	Device string // "" if unknown
	IP     string // "" if unknown

	Amount   int64  // money events, minor units
	To       string // transfer, payee_added: the receiving wallet
	Merchant string // payment, refund
	Bank     string // bank_link, bank_unlink, topup, withdrawal: the bank's code
	Account  string // the same: an opaque key of the bank account

	OK     bool   // login, bank_link: whether it succeeded
	Factor string // login: password, totp, passkey, sms

	// What the caller knows of the wallet and its link at the time (zero: unknown; the
	// engine then uses what it has seen itself).
	WalletOpenedAt time.Time // when the wallet was opened
	KYCTier        int       // -1: unknown
	Available      int64     // the wallet's available balance before the event (-1: unknown)
	LinkedAt       time.Time // topup, withdrawal: when the link used was made
	// ToOpenedAt is when the receiving wallet of a transfer was opened (zero: unknown).
	ToOpenedAt time.Time
}

// receiver is the key of whoever an event pays: the wallet of a transfer, the merchant of a
// payment; "" for other events.
func (e *Event) receiver() string {
	switch e.Type {
	case Transfer, PayeeAdded:
		if e.To != "" {
			return "w:" + e.To
		}
	case Payment:
		if e.Merchant != "" {
			return "m:" + e.Merchant
		}
	}
	return ""
}
