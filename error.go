package emoney

import (
	"errors"
	"fmt"
)

// Error codes a caller may see. They never change meaning; new ones are added at the end
// (shared/specs/errors.md). The HTTP layer maps each to one status in one table.
const (
	EInvalid           = "invalid"
	EUnauthorized      = "unauthorized"
	EForbidden         = "forbidden"
	ENotFound          = "not_found"
	EConflict          = "conflict"
	ETooLarge          = "too_large"
	EInsufficientFunds = "insufficient_funds"
	ELimitExceeded     = "limit_exceeded"
	EChallengeRequired = "challenge_required"
	EDeclined          = "declined"
	ESuspended         = "suspended"
	ERateLimited       = "rate_limited"
	EBankUnavailable   = "bank_unavailable"
	EInternal          = "internal"
)

// Error is an error a caller is meant to see: a stable Code, a Message safe to show,
// and where one input is at fault, the Field that names it. Causes wrapped with %w stay
// available to errors.Is/As but are never shown to a client.
type Error struct {
	Code    string
	Message string
	Field   string // the input at fault, where there is one
	Reason  string // a stable reason code for declined, limit_exceeded and suspended
	Err     error  // the cause, for logs only
}

// Errorf returns an *Error with the given code and the formatted text as its message; a %w
// verb also keeps its operand as the cause. Mind that the cause's text is then in the message:
// for internal errors, ErrorMessage shows clients a generic text instead.
func Errorf(code, format string, args ...any) *Error {
	err := fmt.Errorf(format, args...)
	return &Error{Code: code, Message: err.Error(), Err: errors.Unwrap(err)}
}

// FieldError returns an invalid-input error naming the field at fault.
func FieldError(field, format string, args ...any) *Error {
	e := Errorf(EInvalid, format, args...)
	e.Field = field
	return e
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s (field %s)", e.Code, e.Message, e.Field)
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// ErrorCode returns the code of the first *Error in err's chain, "" for nil, and EInternal
// for any other error: an error nobody classified is a bug until proved otherwise.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// ErrorMessage returns the message of the first *Error in err's chain, "" for nil, and a generic
// text for internal errors, so that no SQL, path or stack reaches a client.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) && e.Code != EInternal {
		return e.Message
	}
	return "internal error"
}

// ErrorField returns the field named by the first *Error in err's chain, if any.
func ErrorField(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}
