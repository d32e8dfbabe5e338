package banklink

import (
	"errors"
	"strings"

	"emoney"
)

// Kinds of failure of the protocol client. Every error the client returns is an *emoney.Error
// (a stable code for the HTTP layer) wrapping one of these, so a caller tells them apart with
// errors.Is and never by reading messages. Messages never hold a token, code, verifier or key.
var (
	// ErrDeclined: the bank refused a debit or credit on its merits (insufficient funds, over
	// the mandate's per-charge or monthly cap, a payee the mandate does not name). Nothing moved;
	// the same call may be retried later and is judged again. Codes insufficient_funds,
	// limit_exceeded (reason mandate_per_charge / mandate_monthly) or declined.
	ErrDeclined = errors.New("banklink: declined by the bank")
	// ErrTokenInvalid: the bank refused the token (expired, revoked, its grant revoked, a scope
	// the grant lacks) or the code or refresh token at the token endpoint. If only the access
	// token may have expired, Refresh; if Refresh answers this too, the customer must consent
	// again. Code declined, reason reconsent_required.
	ErrTokenInvalid = errors.New("banklink: token not accepted; the customer must consent again")
	// ErrUnavailable: the bank did not answer, answered 5xx or an answer that cannot be read, or
	// the call timed out. The outcome is UNKNOWN: a debit or credit may or may not have been
	// made. Retry with the same idempotency key until the bank answers (it then returns the
	// original result); never assume either way. Code bank_unavailable.
	ErrUnavailable = errors.New("banklink: bank unavailable, outcome unknown")
	// ErrAccessDenied: the customer (or the bank) refused consent. Code declined, reason
	// access_denied.
	ErrAccessDenied = errors.New("banklink: the customer did not consent")
	// ErrStateMismatch: the callback's state is not the flow's (a forged or swapped callback).
	// Code invalid, field state.
	ErrStateMismatch = errors.New("banklink: callback state does not match")
	// ErrIssuerMismatch: the callback's iss is missing or not the flow's issuer (RFC 9207: a
	// mix-up attack). Code invalid, field iss.
	ErrIssuerMismatch = errors.New("banklink: callback iss does not match")
	// ErrFlowSpent: Finish already ran for this flow (a replayed callback). Code conflict.
	ErrFlowSpent = errors.New("banklink: flow already finished")
	// ErrFlowExpired: the callback came after the flow's ExpiresAt. Code invalid.
	ErrFlowExpired = errors.New("banklink: flow expired")
	// ErrConflict: the idempotency key was used before with a different request. Code conflict.
	ErrConflict = errors.New("banklink: idempotency key reused with a different request")
	// ErrProtocol: the bank answered outside the protocol emoney requires (docs/banks.md), or
	// refused the wallet's own request as malformed or its client authentication. A
	// configuration problem or a bug, not the customer's: code internal.
	ErrProtocol = errors.New("banklink: protocol error")
)

// Reasons of ErrTokenInvalid and ErrAccessDenied.
const (
	ReasonReconsent    = "reconsent_required"
	ReasonAccessDenied = "access_denied"
)

// fail builds the error a caller sees: code, safe message, field, reason, and kind as cause.
func fail(kind error, code, reason, field, msg string) *emoney.Error {
	return &emoney.Error{Code: code, Message: msg, Field: field, Reason: reason, Err: kind}
}

// MetadataError is Discover's refusal of a bank whose RFC 8414 metadata lacks something emoney
// requires (docs/banks.md "What emoney requires of a bank"). Missing names every lack, each as
// "field" or "field: value".
type MetadataError struct {
	Issuer  string
	Missing []string
}

func (e *MetadataError) Error() string {
	return "banklink: bank " + e.Issuer + " does not offer what emoney requires: " + strings.Join(e.Missing, "; ")
}

// redact removes secrets from text that came from a bank before it goes into an error: a bank
// echoing a token in its error_description must not put the token in a log.
func redact(text string, secrets ...string) string {
	for _, s := range secrets {
		if s != "" {
			text = strings.ReplaceAll(text, s, "[redacted]")
		}
	}
	if len(text) > 200 {
		text = text[:200] + "…"
	}
	return strings.ToValidUTF8(text, "")
}
