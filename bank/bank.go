// Package bank is how emoney reaches the banks its customers top up from and withdraw to: the
// Connector interface each bank is called through, the registry of configured banks, and Sim, an
// in-process bank for development and tests. It is about money only: how a customer's account
// is linked and authorised (OAuth, DPoP) belongs to the linking issue, which implements
// Connector against real banks.
package bank

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"emoney"
)

// Request is one money movement asked of a bank.
type Request struct {
	// Reference is the idempotency reference: the id of the pending ledger transfer that holds
	// the money meanwhile. A bank that receives the same reference again answers the first
	// outcome and never moves the money twice; Status finds the operation by it.
	Reference string
	Amount    int64 // minor units, > 0
	Currency  emoney.Currency
	// Account names the customer's account at the bank, as the bank knows it (the linked
	// account, once linking exists; empty until then).
	Account string
	// Resend says the reference may have reached the bank before (the reconciler sends it
	// again): a connector must then answer Declined only if the bank said nothing moved under
	// the reference; a refusal that says nothing about it (the credentials no longer work) is an
	// unknown outcome.
	Resend bool
}

// Outcome is what a bank answered about an operation.
type Outcome string

const (
	// Succeeded: the money moved.
	Succeeded Outcome = "succeeded"
	// Declined: the bank refused and moved nothing; Result.Reason says why.
	Declined Outcome = "declined"
)

// Result is a bank's definite answer.
type Result struct {
	Outcome Outcome
	Reason  string // declined only: a stable reason code (see CleanReason)
}

// ErrUnknownReference is what Status answers when the bank has no operation with that
// reference: the request never reached it (or has not yet). Sending it again with the same
// reference is then safe; voiding is not, since a delayed request may still arrive.
var ErrUnknownReference = errors.New("bank: no operation with this reference")

// ErrNotSent marks a Connector error that happened before the request left for the bank (a
// link that cannot be read or opened here): the outcome is still unknown to the caller, but it
// says nothing about whether the bank answers, so circuit breakers do not count it.
var ErrNotSent = errors.New("bank: the request was not sent")

// ErrTimeout is an answer that did not come in time. Like every error a Connector returns
// (ErrUnknownReference from Status aside), it means the outcome is unknown: the bank may or may
// not have moved the money.
var ErrTimeout = errors.New("bank: no answer in time")

// Connector reaches one bank. Implementations are safe for concurrent use.
//
// Outcomes of Debit and Credit: a Result (Succeeded or Declined) is definite; any error means
// the outcome is unknown (a timeout, a 5xx, a connection lost after the request was sent), and
// the caller must neither post nor void on it, but ask Status later or send the same request
// again, which is idempotent by Reference.
type Connector interface {
	// Debit pulls req.Amount from the customer's account into the operator's settlement account
	// (a top-up).
	Debit(ctx context.Context, req Request) (Result, error)
	// Credit pushes req.Amount from the operator's settlement account to the customer's account
	// (a withdrawal).
	Credit(ctx context.Context, req Request) (Result, error)
	// Status answers the outcome of an earlier Debit or Credit by its reference:
	// ErrUnknownReference if the bank never received it, any other error if it cannot tell now.
	Status(ctx context.Context, reference string) (Result, error)
}

// MaxReason bounds a reason code, so that "declined." and the reason fit a ledger code.
const MaxReason = 23

// CleanReason returns r if it is a stable reason code (1 to MaxReason of a-z, 0-9, '_'), and
// "other" otherwise, so that whatever a bank sends, what is stored and shown is plain.
func CleanReason(r string) string {
	if r == "" || len(r) > MaxReason {
		return "other"
	}
	for _, c := range []byte(r) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return "other"
		}
	}
	return r
}

// Bank is one configured bank.
type Bank struct {
	Code      string // Zengin bank code: four digits
	Name      string
	Connector Connector
}

// AccountName is the ledger account of a bank's settlement account (kind emoney.AccountBank).
func AccountName(code string) string { return "bank:" + code }

// CodeOf returns the bank code of a settlement account's name, and false for any other name.
func CodeOf(accountName string) (string, bool) {
	code, ok := strings.CutPrefix(accountName, "bank:")
	return code, ok && ValidCode(code)
}

// ValidCode reports whether code is a Zengin bank code: four ASCII digits.
func ValidCode(code string) bool {
	if len(code) != 4 {
		return false
	}
	for _, c := range []byte(code) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// Registry is the set of configured banks. It does not change once made, so it is safe for
// concurrent use. What changes at runtime (a bank's policy and kill switches) is package
// bankpolicy's.
type Registry struct {
	banks map[string]Bank
}

// NewRegistry returns a registry of banks; an invalid code, a missing connector or a code given
// twice is an error.
func NewRegistry(banks ...Bank) (*Registry, error) {
	r := &Registry{banks: make(map[string]Bank, len(banks))}
	for _, b := range banks {
		if !ValidCode(b.Code) {
			return nil, fmt.Errorf("bank: code %q is not four digits", b.Code)
		}
		if b.Connector == nil {
			return nil, fmt.Errorf("bank %s: no connector", b.Code)
		}
		if _, dup := r.banks[b.Code]; dup {
			return nil, fmt.Errorf("bank %s: configured twice", b.Code)
		}
		r.banks[b.Code] = b
	}
	return r, nil
}

// Get returns the bank with the given code.
func (r *Registry) Get(code string) (Bank, bool) {
	if r == nil {
		return Bank{}, false
	}
	b, ok := r.banks[code]
	return b, ok
}

// List returns every bank, by code.
func (r *Registry) List() []Bank {
	if r == nil {
		return nil
	}
	out := make([]Bank, 0, len(r.banks))
	for _, b := range r.banks {
		out = append(out, b)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Code < out[j].Code })
	return out
}
