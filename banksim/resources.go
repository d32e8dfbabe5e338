package banksim

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"time"
)

// The resource APIs a wallet operator calls with a DPoP-bound access token (s.authorize):
//
//	GET  /banks/{code}/api/holder      scope holder: holder name (Zengin kana), date of birth, masked account
//	POST /banks/{code}/api/debits      scope debit: pull money within the grant's mandate
//	POST /banks/{code}/api/credits     scope credit: pay money into the account
//	GET  /banks/{code}/api/statements  scope statements: balance and entries
//
// Token problems answer RFC 6750 errors (writeTokenError, WWW-Authenticate); everything else
// answers {"error":{"code","message","field","reason"}} with the wallet's codes. Debits and
// credits need an Idempotency-Key: the same key with the same body gives the same answer, with a
// different body 409 conflict. Refusals are not remembered: a refused debit retried with its key
// is judged again. Injected failures (Failures) apply to the next authenticated calls of any of
// the four.

func (s *Sim) mountResources(mux *http.ServeMux) {
	mux.HandleFunc("GET /banks/{code}/api/holder", s.resource("holder", s.holder))
	mux.HandleFunc("POST /banks/{code}/api/debits", s.resource("debit", s.debit))
	mux.HandleFunc("POST /banks/{code}/api/credits", s.resource("credit", s.credit))
	mux.HandleFunc("GET /banks/{code}/api/statements", s.resource("statements", s.statements))
}

// DefaultSlowDelay is how long a "slow" injected failure holds an answer when Failures.SlowDelay
// is zero.
const DefaultSlowDelay = 2 * time.Second

// resource wraps a resource handler. The body is read first, before any lock, so that nothing
// between the checks and the work waits on the client. Then, in ONE s.mu section: the access
// token (s.authorize), the grant's bank, revocation and scope, the injected failures (so that
// only the wallet's authenticated calls take them) and the handler itself. A grant revoked (and
// mandate_revoked sent) before that section starts stops the call; one revoked after it is
// revoked after the money moved, never in between.
//
// h runs with s.mu held and writes its answer (or returns an error to answer).
func (s *Sim) resource(scope string, h func(w http.ResponseWriter, r *http.Request, b *Bank, g *Grant, body []byte) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b, ok := s.coreBank(w, r)
		if !ok {
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			coreErr(w, apiErrf(http.StatusRequestEntityTooLarge, "too_large", "", "the body is over %d bytes", maxBody))
			return
		}
		// The DPoP proof's signature is checked before the lock: calls are verified in
		// parallel, and only what reads or changes the bank's state is serialised.
		if tok, ok := accessToken(r); ok {
			p := s.verifyDPoP(r, s.cfg.BaseURL+r.URL.Path, tok)
			r = r.WithContext(context.WithValue(r.Context(), verifiedKey{}, &p))
		}
		var held answer // a slow answer, written once the lock is released and the delay is over
		s.mu.Lock()
		fault, slow := s.serveResource(w, &held, r, b, scope, body, h)
		s.mu.Unlock()
		switch fault {
		case faultTimeout:
			<-r.Context().Done() // hold until the client gives up; nothing was done
		case faultUnavailable:
			coreErr(w, errUnavailable)
		case faultSlow:
			t := time.NewTimer(slow)
			defer t.Stop()
			select {
			case <-t.C:
				held.writeTo(w)
			case <-r.Context().Done(): // the client gave up: the call was handled, its answer is lost
			}
		}
	}
}

// fault is an injected failure a resource call took.
type fault int

const (
	faultNone fault = iota
	faultTimeout
	faultUnavailable
	faultSlow
)

// serveResource is the locked part of resource: the caller holds s.mu. It answers token
// problems itself; an injected timeout or 5xx it returns without doing anything; for a slow
// answer it runs h into held and returns the delay.
func (s *Sim) serveResource(w http.ResponseWriter, held *answer, r *http.Request, b *Bank, scope string, body []byte,
	h func(http.ResponseWriter, *http.Request, *Bank, *Grant, []byte) error) (fault, time.Duration) {
	g, err := s.authorize(r, b)
	if err != nil {
		writeTokenError(w, err)
		return faultNone, 0
	}
	if g == nil || g.Bank != b.Info.Code || !g.RevokedAt.IsZero() {
		resourceAuthError(w, http.StatusUnauthorized, "invalid_token", "", "the grant behind this token is revoked or not at this bank")
		return faultNone, 0
	}
	if !g.Has(scope) {
		resourceAuthError(w, http.StatusForbidden, "insufficient_scope", scope, "this token's grant does not include scope "+scope)
		return faultNone, 0
	}
	f := &b.failures
	var slow time.Duration
	switch {
	case f.Timeout > 0:
		f.Timeout--
		return faultTimeout, 0
	case f.Status5xx > 0:
		f.Status5xx--
		return faultUnavailable, 0
	case f.Slow > 0:
		f.Slow--
		if slow = f.SlowDelay; slow <= 0 {
			slow = DefaultSlowDelay
		}
		w = held
	}
	if err := h(w, r, b, g, body); err != nil {
		coreErr(w, err)
	}
	if slow > 0 {
		return faultSlow, slow
	}
	return faultNone, 0
}

// answer is a response kept to be written later (a slow answer).
type answer struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (a *answer) Header() http.Header {
	if a.header == nil {
		a.header = http.Header{}
	}
	return a.header
}

func (a *answer) WriteHeader(status int) {
	if a.status == 0 {
		a.status = status
	}
}

func (a *answer) Write(p []byte) (int, error) {
	a.WriteHeader(http.StatusOK)
	return a.body.Write(p)
}

func (a *answer) writeTo(w http.ResponseWriter) {
	for k, v := range a.header {
		w.Header()[k] = v
	}
	if a.status == 0 {
		a.status = http.StatusOK
	}
	w.WriteHeader(a.status)
	_, _ = w.Write(a.body.Bytes())
}

// errUnavailable is the answer of an injected 5xx and of a lost answer.
var errUnavailable = apiErrf(http.StatusServiceUnavailable, "bank_unavailable", "", "the bank is temporarily unavailable")

// resourceAuthError answers an RFC 6750 error for a DPoP-bound token.
func resourceAuthError(w http.ResponseWriter, status int, code, scope, desc string) {
	v := `DPoP error="` + code + `", error_description="` + desc + `"`
	if scope != "" {
		v += `, scope="` + scope + `"`
	}
	w.Header().Set("WWW-Authenticate", v)
	coreJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

// grantAccount is the account a grant is for; the caller holds s.mu.
func grantAccount(b *Bank, g *Grant) (*Account, error) {
	a, ok := b.accounts[g.Account]
	if !ok {
		return nil, apiErrf(http.StatusNotFound, "not_found", "", "the account of this grant is closed")
	}
	return a, nil
}

// Holder is the answer of GET …/api/holder.
type Holder struct {
	HolderKana    string `json:"holder_kana"` // Zengin half-width katakana
	BirthDate     string `json:"birth_date"`  // YYYY-MM-DD
	Bank          string `json:"bank"`
	Branch        string `json:"branch"`
	AccountMasked string `json:"account_masked"` // last three digits of the number
	// AccountNumber is the whole number: the wallet keys "one account, one wallet" on it (and
	// keeps it sealed).
	AccountNumber string `json:"account_number"`
}

func (s *Sim) holder(w http.ResponseWriter, r *http.Request, b *Bank, g *Grant, _ []byte) error {
	a, err := grantAccount(b, g)
	if err != nil {
		return err
	}
	c := b.customers[a.Customer]
	if c == nil {
		return apiErrf(http.StatusNotFound, "not_found", "", "the holder of this account is gone")
	}
	coreJSON(w, http.StatusOK, Holder{HolderKana: c.HolderKana, BirthDate: c.BirthDate, Bank: b.Info.Code, Branch: a.Branch, AccountMasked: maskAccount(a.Number), AccountNumber: a.Number})
	return nil
}

// MoveRequest is the body of a debit or credit.
type MoveRequest struct {
	Amount      int64  `json:"amount"`                // yen, 1 to MaxAmount
	Payee       string `json:"payee,omitempty"`       // debits: must equal the mandate's payee
	Description string `json:"description,omitempty"` // on the customer's statement (≤ 140 characters)
}

// Movement is the answer of a debit or credit.
type Movement struct {
	ID          string    `json:"id"` // the statement entry id (what a fraud report names)
	Amount      int64     `json:"amount"`
	Payee       string    `json:"payee,omitempty"`
	Description string    `json:"description"`
	At          time.Time `json:"at"`
}

// readMove checks the Idempotency-Key and the body of a debit or credit.
func readMove(r *http.Request, body []byte) (MoveRequest, string, error) {
	key, err := idempotencyKey(r)
	if err != nil {
		return MoveRequest{}, "", err
	}
	var m MoveRequest
	if err := coreDecodeBytes(body, &m); err != nil {
		return m, "", err
	}
	if err := checkYen(m.Amount); err != nil {
		return m, "", err
	}
	if len([]rune(m.Description)) > 140 {
		return m, "", apiErrf(http.StatusBadRequest, "invalid", "description", "description is at most 140 characters")
	}
	return m, key, nil
}

// replay answers a repeated key: the original answer if the request is the same, 409 if not.
func replay(w http.ResponseWriter, e Entry, amount int64, counterparty, desc string) error {
	if e.Amount != amount || e.Counterparty != counterparty || e.Description != desc {
		return apiErrf(http.StatusConflict, "conflict", "Idempotency-Key", "this Idempotency-Key was used with a different request")
	}
	w.Header().Set("Idempotent-Replayed", "true")
	coreJSON(w, http.StatusCreated, movement(e))
	return nil
}

func movement(e Entry) Movement {
	m := Movement{ID: e.ID, Amount: e.Amount, Description: e.Description, At: e.At}
	if m.Amount < 0 {
		m.Amount, m.Payee = -m.Amount, e.Counterparty
	}
	return m
}

// loseAnswer reports whether an injected "applied but answer lost" failure takes this call; the
// caller holds s.mu and has just applied the movement.
func loseAnswer(b *Bank) bool {
	if b.failures.LoseAnswer > 0 {
		b.failures.LoseAnswer--
		return true
	}
	return false
}

// debit pulls money under g's mandate; the caller (resource) holds s.mu.
func (s *Sim) debit(w http.ResponseWriter, r *http.Request, b *Bank, g *Grant, body []byte) error {
	m, key, err := readMove(r, body)
	if err != nil {
		return err
	}
	a, err := grantAccount(b, g)
	if err != nil {
		return err
	}
	if m.Description == "" {
		m.Description = "debit " + m.Payee
	}
	k := entryKey("debit", g.Client, key)
	if i, ok := a.keys[k]; ok {
		return replay(w, a.Statement[i], -m.Amount, m.Payee, m.Description)
	}
	if m.Payee != g.Mandate.Payee {
		return apiErrf(http.StatusForbidden, "forbidden", "payee", "the mandate allows debits to %q only", g.Mandate.Payee)
	}
	if m.Amount > g.Mandate.PerCharge {
		return &apiError{Status: http.StatusUnprocessableEntity, Code: "limit_exceeded", Field: "amount", Reason: "mandate_per_charge",
			Message: "the mandate allows at most " + strconv.FormatInt(g.Mandate.PerCharge, 10) + " yen per charge"}
	}
	now := s.cfg.Now()
	if g.charged == nil {
		g.charged = map[string]int64{}
	}
	mon := tokyoMonth(now)
	if g.charged[mon]+m.Amount > g.Mandate.Monthly {
		return &apiError{Status: http.StatusUnprocessableEntity, Code: "limit_exceeded", Field: "amount", Reason: "mandate_monthly",
			Message: "the mandate allows " + strconv.FormatInt(g.Mandate.Monthly, 10) + " yen a month and " + strconv.FormatInt(g.charged[mon], 10) + " is used"}
	}
	if a.Balance < m.Amount {
		return apiErrf(http.StatusUnprocessableEntity, "insufficient_funds", "amount", "the account's balance is too low for this debit")
	}
	e := a.post(now, -m.Amount, m.Description, m.Payee, k, g.ID)
	g.charged[mon] += m.Amount
	if loseAnswer(b) {
		return errUnavailable
	}
	coreJSON(w, http.StatusCreated, movement(e))
	return nil
}

// credit pays money into g's account; the caller (resource) holds s.mu.
func (s *Sim) credit(w http.ResponseWriter, r *http.Request, b *Bank, g *Grant, body []byte) error {
	m, key, err := readMove(r, body)
	if err != nil {
		return err
	}
	if m.Payee != "" {
		return apiErrf(http.StatusBadRequest, "invalid", "payee", "a credit has no payee")
	}
	a, err := grantAccount(b, g)
	if err != nil {
		return err
	}
	from := g.Client
	if c := b.clients[g.Client]; c != nil && c.Name != "" {
		from = c.Name
	}
	if m.Description == "" {
		m.Description = "credit " + from
	}
	k := entryKey("credit", g.Client, key)
	if i, ok := a.keys[k]; ok {
		return replay(w, a.Statement[i], m.Amount, from, m.Description)
	}
	e := a.post(s.cfg.Now(), m.Amount, m.Description, from, k, g.ID)
	if loseAnswer(b) {
		return errUnavailable
	}
	coreJSON(w, http.StatusCreated, movement(e))
	return nil
}

// Statement is the answer of GET …/api/statements and of the admin API's statement.
type Statement struct {
	Bank          string  `json:"bank"`
	Branch        string  `json:"branch"`
	AccountMasked string  `json:"account_masked"`
	Balance       int64   `json:"balance"`
	Entries       []Entry `json:"entries"` // oldest first
}

func (s *Sim) statements(w http.ResponseWriter, r *http.Request, b *Bank, g *Grant, _ []byte) error {
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return apiErrf(http.StatusBadRequest, "invalid", "limit", "limit is a number from 1 to 1000")
		}
		limit = n
	}
	a, err := grantAccount(b, g)
	if err != nil {
		return err
	}
	coreJSON(w, http.StatusOK, statementOf(b, a, limit))
	return nil
}

// statementOf is the last limit entries of a; the caller holds s.mu.
func statementOf(b *Bank, a *Account, limit int) Statement {
	es := a.Statement
	if len(es) > limit {
		es = es[len(es)-limit:]
	}
	return Statement{Bank: b.Info.Code, Branch: a.Branch, AccountMasked: maskAccount(a.Number), Balance: a.Balance, Entries: append([]Entry{}, es...)}
}
