package banklink

// Resource calls with DPoP-bound tokens: the holder's name and birth date (step 5), debits
// (top-ups) and credits (withdrawals). Each request carries "Authorization: DPoP <token>" and a
// fresh proof naming its method and URL, with ath = SHA-256 of the token.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"emoney"
)

// Holder is what the bank says about the account holder.
type Holder struct {
	Kana          string `json:"holder_kana"` // Zengin half-width katakana, e.g. "ﾔﾏﾀﾞ ﾀﾛｳ"
	BirthDate     string `json:"birth_date"`  // YYYY-MM-DD
	Bank          string `json:"bank"`
	Branch        string `json:"branch"`
	AccountMasked string `json:"account_masked"`
	// AccountNumber is the account's number at its branch: what "one account, one wallet" is
	// keyed on (docs/banks.md). Sealed wherever it is stored.
	AccountNumber string `json:"account_number"`
}

// Movement is a debit or credit the bank made.
type Movement struct {
	ID          string    `json:"id"` // the bank's statement entry (what a fraud report names)
	Amount      int64     `json:"amount"`
	Payee       string    `json:"payee,omitempty"`
	Description string    `json:"description"`
	At          time.Time `json:"at"`
	// Replayed is true when the bank answered an earlier call with the same key again.
	Replayed bool `json:"replayed,omitempty"`
}

// MaxAmount is the largest debit or credit the client sends (yen).
const MaxAmount = 1_000_000_000_000

// Holder reads the account holder's name and date of birth (scope holder). Errors:
// ErrTokenInvalid, ErrUnavailable, ErrProtocol.
func (w *Wallet) Holder(ctx context.Context, t Tokens) (Holder, error) {
	var h Holder
	if err := w.resource(ctx, t, http.MethodGet, "/holder", "", nil, &h, nil); err != nil {
		return Holder{}, err
	}
	if h.Kana == "" || h.BirthDate == "" {
		return Holder{}, fail(ErrProtocol, emoney.EInternal, "", "", "bank "+t.Issuer+": the holder answer lacks holder_kana or birth_date")
	}
	return h, nil
}

// Debit pulls amount yen from the linked account to payee (the mandate's), idempotently by key:
// the same key with the same request returns the original movement (Replayed set) and moves
// money once. Errors: invalid (field amount, key or payee); ErrDeclined (insufficient_funds,
// limit_exceeded with reason mandate_per_charge or mandate_monthly, declined with reason payee);
// ErrConflict; ErrTokenInvalid; ErrUnavailable — the outcome is unknown: retry with the same
// key; ErrProtocol.
func (w *Wallet) Debit(ctx context.Context, t Tokens, key string, amount int64, payee, description string) (Movement, error) {
	if strings.TrimSpace(payee) == "" {
		return Movement{}, emoney.FieldError("payee", "a debit names its payee")
	}
	return w.move(ctx, t, "/debits", key, amount, payee, description)
}

// Credit pays amount yen into the linked account, idempotently by key (as Debit). Errors as
// Debit's, without the mandate.
func (w *Wallet) Credit(ctx context.Context, t Tokens, key string, amount int64, description string) (Movement, error) {
	return w.move(ctx, t, "/credits", key, amount, "", description)
}

func (w *Wallet) move(ctx context.Context, t Tokens, path, key string, amount int64, payee, description string) (Movement, error) {
	if key == "" || len(key) > 255 {
		return Movement{}, emoney.FieldError("key", "an idempotency key of 1 to 255 characters is required")
	}
	if amount < 1 || amount > MaxAmount {
		return Movement{}, emoney.FieldError("amount", "the amount must be 1 to %d yen", int64(MaxAmount))
	}
	body := map[string]any{"amount": amount}
	if payee != "" {
		body["payee"] = payee
	}
	if description != "" {
		body["description"] = description
	}
	var m Movement
	var hdr http.Header
	if err := w.resource(ctx, t, http.MethodPost, path, key, body, &m, &hdr); err != nil {
		return Movement{}, err
	}
	if m.ID == "" || m.Amount != amount {
		// Money may have moved: the answer does not say what. Unknown, like a lost answer.
		return Movement{}, fail(ErrUnavailable, emoney.EBankUnavailable, "", "", "bank "+t.Issuer+": the movement answer does not match the request")
	}
	m.Replayed = hdr.Get("Idempotent-Replayed") == "true"
	return m, nil
}

// resource calls the bank's resource API at path with t's access token and a DPoP proof, and
// decodes a 2xx answer into out. Everything else becomes a typed error (classify).
func (w *Wallet) resource(ctx context.Context, t Tokens, method, path, key string, in, out any, hdr *http.Header) error {
	if t.Access == "" || t.Key == nil {
		return emoney.FieldError("tokens", "no access token or DPoP key")
	}
	b, err := w.bank(ctx, t.Issuer)
	if err != nil {
		return err
	}
	target := b.API + path
	var body *bytes.Reader
	if in != nil {
		raw, err := json.Marshal(in)
		if err != nil {
			return fail(ErrProtocol, emoney.EInternal, "", "", "request body: "+err.Error())
		}
		body = bytes.NewReader(raw)
	} else {
		body = bytes.NewReader(nil)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return fail(ErrProtocol, emoney.EInternal, "", "", "bank "+b.Issuer+": bad resource URL")
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "DPoP "+t.Access)
	proof, err := t.Key.proof(method, target, t.Access, w.cfg.Now())
	if err != nil {
		return fail(ErrProtocol, emoney.EInternal, "", "", "DPoP proof: "+err.Error())
	}
	req.Header.Set("DPoP", proof)
	a, err := w.send(req)
	if err != nil {
		return err
	}
	if a.status/100 != 2 {
		return classify(b, a, t.Access, t.Refresh)
	}
	if hdr != nil {
		*hdr = a.header
	}
	if err := json.Unmarshal(a.body, out); err != nil {
		return fail(ErrUnavailable, emoney.EBankUnavailable, "", "", "bank "+b.Issuer+": the answer cannot be read")
	}
	return nil
}

// resourceError is either error shape of a resource API: RFC 6750 {"error":"…",
// "error_description":"…"} for token problems, {"error":{"code","message","field","reason"}}
// for everything else.
type resourceError struct {
	Token       string
	Description string
	Code        string
	Message     string
	Field       string
	Reason      string
}

func resourceErrorOf(body []byte) resourceError {
	var raw struct {
		Error       json.RawMessage `json:"error"`
		Description string          `json:"error_description"`
	}
	var e resourceError
	if json.Unmarshal(body, &raw) != nil {
		return e
	}
	e.Description = raw.Description
	if json.Unmarshal(raw.Error, &e.Token) == nil {
		return e
	}
	var api struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field"`
		Reason  string `json:"reason"`
	}
	if json.Unmarshal(raw.Error, &api) == nil {
		e.Code, e.Message, e.Field, e.Reason = api.Code, api.Message, api.Field, api.Reason
	}
	return e
}

// classify turns a resource API's refusal into the client's typed errors.
func classify(b *Bank, a answer, secrets ...string) error {
	e := resourceErrorOf(a.body)
	challenge := a.header.Get("WWW-Authenticate")
	msg := func(s string) string { return redact(s, secrets...) }
	switch {
	case a.status >= 500 || a.status == http.StatusTooManyRequests || a.status == http.StatusRequestTimeout:
		return fail(ErrUnavailable, emoney.EBankUnavailable, "", "", fmt.Sprintf("bank %s answered %d: the outcome is unknown", b.Issuer, a.status))
	case e.Token == "invalid_dpop_proof" || strings.Contains(challenge, `error="invalid_dpop_proof"`):
		// The bank did not accept our proof: a clock far off, or a bug — not the customer's doing.
		return fail(ErrProtocol, emoney.EInternal, "", "", "bank "+b.Issuer+" refused the DPoP proof: "+msg(e.Description))
	case a.status == http.StatusUnauthorized || e.Token == "invalid_token" || e.Token == "insufficient_scope":
		return fail(ErrTokenInvalid, emoney.EDeclined, ReasonReconsent, "", "bank "+b.Issuer+" no longer accepts this link's token: "+msg(e.Description))
	case a.status == http.StatusConflict:
		return fail(ErrConflict, emoney.EConflict, "", "key", "this idempotency key was used with a different request")
	case a.status == http.StatusUnprocessableEntity && (e.Code == emoney.EInsufficientFunds || e.Code == emoney.ELimitExceeded):
		return fail(ErrDeclined, e.Code, e.Reason, e.Field, "the bank declined: "+msg(e.Message))
	case a.status == http.StatusForbidden && e.Field == "payee":
		return fail(ErrDeclined, emoney.EDeclined, "payee", "payee", "the bank declined: "+msg(e.Message))
	case a.status == http.StatusUnprocessableEntity || a.status == http.StatusForbidden:
		return fail(ErrDeclined, emoney.EDeclined, msg(e.Reason), "", "the bank declined: "+msg(e.Message))
	}
	what := e.Code
	if what == "" {
		what = e.Token
	}
	return fail(ErrProtocol, emoney.EInternal, "", "", fmt.Sprintf("bank %s refused the request: %d %s: %s", b.Issuer, a.status, msg(what), msg(e.Message+e.Description)))
}
