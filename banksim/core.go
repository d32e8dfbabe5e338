package banksim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// The state and helpers shared by the resource APIs, webhooks, partner notifications, the admin
// API and the legacy endpoint. All of it is guarded by Sim.mu.

// coreState is kept in Sim.core. Its maps are made on first use (ensure), so New need not know
// about them.
type coreState struct {
	// deliveries are the webhooks sent (or tried), oldest first.
	deliveries []Delivery
	// notified remembers partner-notification event ids: bank + "|" + client + "|" + id.
	notified map[string]bool
	// legacyTokens are the 2020 "direct debit" tokens, by SHA-256 of the token (hex).
	legacyTokens map[string]legacyToken
	// wrongPINs counts wrong PINs at the legacy endpoint: bank + "|" + account key.
	wrongPINs map[string]int
	// webhookClient sends webhooks (no redirects followed); webhookBackoff is the pause before
	// the first retry, doubled after each.
	webhookClient  *http.Client
	webhookBackoff time.Duration
}

// ensure makes the maps and the webhook client; the caller holds s.mu.
func (c *coreState) ensure() {
	if c.notified != nil {
		return
	}
	c.notified = map[string]bool{}
	c.legacyTokens = map[string]legacyToken{}
	c.wrongPINs = map[string]int{}
	c.webhookClient = &http.Client{
		Timeout:       5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	if c.webhookBackoff == 0 {
		c.webhookBackoff = 100 * time.Millisecond
	}
}

// tokyo is Asia/Tokyo (no daylight saving), for monthly mandate caps.
var tokyo = time.FixedZone("Asia/Tokyo", 9*60*60)

// tokyoMonth is the Asia/Tokyo calendar month of t, as Grant.charged keys it ("2026-11").
func tokyoMonth(t time.Time) string { return t.In(tokyo).Format("2006-01") }

// apiError is the JSON error of the simulator's own APIs (not the OAuth token errors), shaped
// like the wallet's: {"error":{"code","message","field","reason"}}.
type apiError struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func apiErrf(status int, code, field, format string, args ...any) *apiError {
	return &apiError{Status: status, Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

func coreJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// coreErr answers err: an *apiError as itself, ErrNotFound as not_found, anything else as
// invalid with its message (the simulator's errors carry no secrets).
func coreErr(w http.ResponseWriter, err error) {
	var ae *apiError
	switch {
	case errors.As(err, &ae):
	case errors.Is(err, ErrNotFound):
		ae = apiErrf(http.StatusNotFound, "not_found", "", "%s", err.Error())
	default:
		ae = apiErrf(http.StatusBadRequest, "invalid", "", "%s", err.Error())
	}
	coreJSON(w, ae.Status, map[string]any{"error": ae})
}

// maxBody is the largest request body the simulator reads.
const maxBody = 64 << 10

// coreDecode reads one JSON object into v, refusing unknown fields, trailing data and bodies
// over maxBody.
func coreDecode(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		return apiErrf(http.StatusRequestEntityTooLarge, "too_large", "", "the body is over %d bytes", maxBody)
	}
	return coreDecodeBytes(body, v)
}

func coreDecodeBytes(body []byte, v any) error {
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) {
			return apiErrf(http.StatusBadRequest, "invalid", ute.Field, "%s must be a %s", ute.Field, ute.Type)
		}
		if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			f = strings.Trim(f, `"`)
			return apiErrf(http.StatusBadRequest, "invalid", f, "unknown field %s", f)
		}
		return apiErrf(http.StatusBadRequest, "invalid", "", "the body is not a JSON object: %v", err)
	}
	if dec.More() {
		return apiErrf(http.StatusBadRequest, "invalid", "", "one JSON object, nothing after it")
	}
	return nil
}

// MaxAmount is the largest single debit or credit the simulator takes (yen): ¥1,000,000,000,000.
const MaxAmount = 1_000_000_000_000

// checkYen refuses amounts that are not positive or over MaxAmount.
func checkYen(a int64) error {
	if a <= 0 || a > MaxAmount {
		return apiErrf(http.StatusBadRequest, "invalid", "amount", "amount must be a whole number of yen from 1 to %d", int64(MaxAmount))
	}
	return nil
}

// idempotencyKey reads the Idempotency-Key header, which money-moving calls require.
func idempotencyKey(r *http.Request) (string, error) {
	k := r.Header.Get("Idempotency-Key")
	if k == "" || len(k) > 255 {
		return "", apiErrf(http.StatusBadRequest, "invalid", "Idempotency-Key", "an Idempotency-Key header of 1 to 255 characters is required")
	}
	return k, nil
}

// entryKey scopes an idempotency key by operation and caller; it is what Entry.Key holds, so a
// fraud report can tell which wallet operator pulled a debit.
func entryKey(op, client, key string) string { return op + "|" + client + "|" + key }

// entryClient is the client id in an Entry.Key made by entryKey ("" if none).
func entryClient(k string) string {
	parts := strings.SplitN(k, "|", 3)
	if len(parts) != 3 {
		return ""
	}
	return parts[1]
}

// maskAccount shows the last three digits of an account number.
func maskAccount(n string) string {
	if len(n) <= 3 {
		return n
	}
	return strings.Repeat("*", len(n)-3) + n[len(n)-3:]
}

// coreBank finds the bank named in the request path, answering 404 if there is none.
func (s *Sim) coreBank(w http.ResponseWriter, r *http.Request) (*Bank, bool) {
	s.mu.Lock()
	b, err := s.bank(r.PathValue("code"))
	s.mu.Unlock()
	if err != nil {
		coreErr(w, err)
		return nil, false
	}
	return b, true
}
