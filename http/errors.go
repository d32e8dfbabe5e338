package http

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"emoney"
)

// statusOf maps each error code to its HTTP status: the one table specs/errors.md defines.
var statusOf = map[string]int{
	emoney.EInvalid:           http.StatusBadRequest,
	emoney.EUnauthorized:      http.StatusUnauthorized,
	emoney.EForbidden:         http.StatusForbidden,
	emoney.ENotFound:          http.StatusNotFound,
	emoney.EConflict:          http.StatusConflict,
	emoney.ETooLarge:          http.StatusRequestEntityTooLarge,
	emoney.EInsufficientFunds: http.StatusUnprocessableEntity,
	emoney.ELimitExceeded:     http.StatusUnprocessableEntity,
	emoney.EChallengeRequired: http.StatusForbidden,
	emoney.EDeclined:          http.StatusForbidden,
	emoney.ESuspended:         http.StatusServiceUnavailable,
	emoney.ERateLimited:       http.StatusTooManyRequests,
	emoney.EBankUnavailable:   http.StatusBadGateway,
	emoney.EInternal:          http.StatusInternalServerError,
}

// errorBody is the JSON of every error answer (specs/errors.md).
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code       string `json:"code"`
	Message    string `json:"message"`
	Field      string `json:"field,omitempty"`
	Reason     string `json:"reason,omitempty"`
	Challenge  string `json:"challenge,omitempty"`   // how to step up, for challenge_required
	RetryAfter int    `json:"retry_after,omitempty"` // seconds
	RequestID  string `json:"request_id"`
}

// RetryAfter is an error that says how many seconds to wait (rate_limited, suspended).
type RetryAfter interface{ RetryAfterSeconds() int }

// writeError answers err as specs/errors.md says. Internal errors are logged with the request id
// the body carries; their detail never reaches the client.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := emoney.ErrorCode(err)
	status, ok := statusOf[code]
	if !ok {
		code, status = emoney.EInternal, http.StatusInternalServerError
	}
	d := errorDetail{Code: code, Message: emoney.ErrorMessage(err), Field: emoney.ErrorField(err), RequestID: requestID(r.Context())}
	var e *emoney.Error
	if errors.As(err, &e) && code != emoney.EInternal {
		d.Reason = e.Reason
		if code == emoney.EChallengeRequired { // the reason of a challenge is how to meet it
			d.Challenge, d.Reason = e.Reason, ""
		}
	}
	var ra RetryAfter
	if errors.As(err, &ra) {
		d.RetryAfter = ra.RetryAfterSeconds()
	}
	if code == emoney.ERateLimited && d.RetryAfter <= 0 {
		d.RetryAfter = 1
	}
	if d.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(d.RetryAfter))
	}
	if code == emoney.EInternal && errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		return // the client went away: nobody to answer, nothing wrong here
	}
	if code == emoney.EInternal {
		s.log.ErrorContext(r.Context(), "internal error", slog.String("request_id", d.RequestID),
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Any("err", err))
	}
	writeJSON(w, status, errorBody{Error: d})
}

// writeJSON writes v as the response body with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"error":{"code":"internal","message":"internal error"}}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
