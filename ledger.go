package emoney

import (
	"encoding/binary"
	"fmt"
	"time"
)

// AccountKind says what a ledger account stands for. Every movement of money is a transfer
// between two accounts, so the balances of all accounts sum to zero in every currency.
type AccountKind string

const (
	AccountWallet   AccountKind = "wallet"   // a customer's e-money; never below zero
	AccountBank     AccountKind = "bank"     // a partner bank's settlement account (one per bank)
	AccountMerchant AccountKind = "merchant" // a merchant's receivables
	AccountSuspense AccountKind = "suspense" // money whose destination is not known yet
	AccountFrozen   AccountKind = "frozen"   // money held by fraud operations
	AccountLoss     AccountKind = "loss"     // written-off losses
	AccountFee      AccountKind = "fee"      // the operator's fee income
	AccountAgent    AccountKind = "agent"    // a cash-in agent network (convenience stores, ATMs)
)

// Valid reports whether k is one of the kinds above.
func (k AccountKind) Valid() bool {
	switch k {
	case AccountWallet, AccountBank, AccountMerchant, AccountSuspense, AccountFrozen, AccountLoss, AccountFee, AccountAgent:
		return true
	}
	return false
}

// AccountFlags constrain what transfers an account accepts.
type AccountFlags uint32

const (
	// FlagNoOverdraft: the available balance (posted balance less pending debits) may never go
	// below zero. Wallet accounts always carry it.
	FlagNoOverdraft AccountFlags = 1 << iota
)

// Account is a ledger account. Its balances live apart, one per currency.
type Account struct {
	ID        ID
	Name      string // unique, e.g. "wallet:01J…", "bank:0005", "frozen"
	Kind      AccountKind
	Flags     AccountFlags
	CreatedAt time.Time
}

// Balance is one account's position in one currency. Balance is the posted net (credits less
// debits); pending transfers are kept apart until they are posted or voided.
type Balance struct {
	Account        ID       `json:"account"`
	Currency       Currency `json:"currency"`
	Balance        int64    `json:"balance"`         // posted credits - posted debits
	DebitsPending  int64    `json:"debits_pending"`  // reserved by pending transfers out of this account
	CreditsPending int64    `json:"credits_pending"` // promised by pending transfers into this account
	// Last is the newest transfer record that touched this balance: the head of its history
	// chain (see Transfer.FromPrev).
	Last ID `json:"last,omitzero"`
	// Usage is what limits have counted against this balance (wallets only; see ledger.Limit).
	Usage Usage `json:"-"`
}

// Usage counts the money a wallet moved in and out in the current Asia/Tokyo calendar day and
// month, for the per-day and per-month limits of its KYC tier (specs/errors.md: limits are
// calendar periods in Asia/Tokyo). It lives on the balance row, which every transfer locks and
// rewrites anyway, so counting costs no extra write; counters of a period that has ended read
// as zero.
type Usage struct {
	Day               int32 // TokyoDay the day counters are for
	DayIn, DayOut     int64
	Month             int32 // TokyoMonth the month counters are for
	MonthIn, MonthOut int64
}

// At returns u as seen on the given Tokyo day and month: counters of other periods are zero.
func (u Usage) At(day, month int32) Usage {
	if u.Day != day {
		u.Day, u.DayIn, u.DayOut = day, 0, 0
	}
	if u.Month != month {
		u.Month, u.MonthIn, u.MonthOut = month, 0, 0
	}
	return u
}

// usageLen is the size of an encoded Usage.
const usageLen = 40

// Encode returns u as the stores keep it: 40 bytes (two int32 periods, four int64 counters, big
// endian), or nil when u is zero, which most balances (every system account) are.
func (u Usage) Encode() []byte {
	if u == (Usage{}) {
		return nil
	}
	b := make([]byte, usageLen)
	binary.BigEndian.PutUint32(b[0:], uint32(u.Day))
	binary.BigEndian.PutUint32(b[4:], uint32(u.Month))
	binary.BigEndian.PutUint64(b[8:], uint64(u.DayIn))
	binary.BigEndian.PutUint64(b[16:], uint64(u.DayOut))
	binary.BigEndian.PutUint64(b[24:], uint64(u.MonthIn))
	binary.BigEndian.PutUint64(b[32:], uint64(u.MonthOut))
	return b
}

// DecodeUsage reverses Encode; nil or empty is a zero Usage.
func DecodeUsage(b []byte) (Usage, error) {
	if len(b) == 0 {
		return Usage{}, nil
	}
	if len(b) != usageLen {
		return Usage{}, fmt.Errorf("usage of %d bytes, want %d", len(b), usageLen)
	}
	return Usage{
		Day:      int32(binary.BigEndian.Uint32(b[0:])),
		Month:    int32(binary.BigEndian.Uint32(b[4:])),
		DayIn:    int64(binary.BigEndian.Uint64(b[8:])),
		DayOut:   int64(binary.BigEndian.Uint64(b[16:])),
		MonthIn:  int64(binary.BigEndian.Uint64(b[24:])),
		MonthOut: int64(binary.BigEndian.Uint64(b[32:])),
	}, nil
}

// Tokyo is Japan Standard Time. Japan has kept UTC+9 without daylight saving since 1951, so a
// fixed zone is exact and needs no time zone database on the machine.
var Tokyo = time.FixedZone("Asia/Tokyo", 9*60*60)

// TokyoDay numbers the Asia/Tokyo calendar day t falls on (days since 1970-01-01 in Tokyo).
func TokyoDay(t time.Time) int32 {
	return int32((t.Unix() + 9*60*60) / 86400) // no date before 1970 is ever asked
}

// TokyoMonth numbers the Asia/Tokyo calendar month t falls on (year*12 + month - 1).
func TokyoMonth(t time.Time) int32 {
	y, m, _ := t.In(Tokyo).Date()
	return int32(y*12 + int(m) - 1)
}

// Available is what the account may still send: its posted balance less pending debits.
func (b Balance) Available() int64 { return b.Balance - b.DebitsPending }

// TransferKind is the phase a transfer record represents. Records are never changed: posting or
// voiding a pending transfer appends a new record that points at it.
type TransferKind string

const (
	TransferPosted  TransferKind = "transfer" // single-phase: moves money at once
	TransferPending TransferKind = "pending"  // reserves money until a post or void
	TransferPost    TransferKind = "post"     // completes a pending transfer (Amount ≤ the pending amount)
	TransferVoid    TransferKind = "void"     // cancels a pending transfer (Amount is 0)
)

// HoldKind says why money is pending. It decides whether a pending transfer may expire:
// only where voiding is always safe.
type HoldKind string

const (
	// HoldReview: funds held while risk review decides. Never auto-voided: staff release or reject.
	HoldReview HoldKind = "review"
	// HoldBankDebit: a top-up waiting for the bank's debit to be confirmed. Never auto-voided: the
	// bank may have taken the money, so only its answer resolves it.
	HoldBankDebit HoldKind = "bank_debit"
	// HoldBankCredit: a withdrawal waiting for the bank's credit. Never auto-voided.
	HoldBankCredit HoldKind = "bank_credit"
	// HoldFreeze: money frozen by fraud operations. Never auto-voided.
	HoldFreeze HoldKind = "freeze"
	// HoldAuthorization: a reservation nobody outside has acted on yet (a merchant's
	// pre-authorisation, a payment awaiting the payer's confirmation). Voiding it is always
	// safe, so it may carry an expiry.
	HoldAuthorization HoldKind = "authorization"
)

// Valid reports whether h is one of the kinds above.
func (h HoldKind) Valid() bool {
	switch h {
	case HoldReview, HoldBankDebit, HoldBankCredit, HoldFreeze, HoldAuthorization:
		return true
	}
	return false
}

// MayExpire reports whether a pending transfer of this kind may be voided automatically when
// its time runs out.
func (h HoldKind) MayExpire() bool { return h == HoldAuthorization }

// Transfer is one record of the append-only ledger history.
type Transfer struct {
	ID         ID           `json:"id"`
	Batch      ID           `json:"batch"` // the request this record was committed in; linked legs share it
	Kind       TransferKind `json:"kind"`
	From       ID           `json:"from"` // debited account
	To         ID           `json:"to"`   // credited account
	Currency   Currency     `json:"currency"`
	Amount     int64        `json:"amount"`
	Code       string       `json:"code"`                 // what the movement is for: "p2p", "topup", "withdrawal", ...
	Hold       HoldKind     `json:"hold,omitempty"`       // pending transfers only
	PendingID  ID           `json:"pending_id,omitzero"`  // post and void: the pending transfer they resolve
	ReversalOf ID           `json:"reversal_of,omitzero"` // a reversal: the transfer it undoes
	ExpiresAt  time.Time    `json:"expires_at,omitzero"`  // pending transfers that may expire; zero otherwise
	CreatedAt  time.Time    `json:"created_at"`
	// FromPrev and ToPrev are the records that touched the From and To balances (in this
	// currency) before this one: each balance's history is a chain walked back from
	// Balance.Last. A chain costs two ids per record where an index per account would cost a
	// random page write per record at every commit.
	FromPrev ID `json:"from_prev,omitzero"`
	ToPrev   ID `json:"to_prev,omitzero"`
	// Counted says which sides of a pending transfer a wallet limit counted (see
	// ledger.Limit): the post or void that resolves it gives back, on those sides, what does
	// not move.
	Counted CountedSides `json:"counted,omitempty"`
}

// CountedSides are the sides of a pending transfer that limits counted.
type CountedSides uint8

const (
	CountedFrom CountedSides = 1 << iota // the debited side's Out counters
	CountedTo                            // the credited side's In counters
)
