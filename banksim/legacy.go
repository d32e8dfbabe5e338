package banksim

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
)

// The 2020 legacy endpoint, kept to show the weakness the hardened protocol removes (threat T1):
// a wallet operator links an account with what a phishing crew can collect — holder name, branch,
// account number and the four-digit PIN, no password and no second factor — and gets a
// "direct debit" token that never expires and pulls any amount, with no mandate and no DPoP.
//
//	POST /banks/{code}/legacy/link    {"client_id","holder_kana","branch","account_number","pin"}
//	POST /banks/{code}/legacy/debits  Authorization: Bearer <token>, Idempotency-Key; {"amount","description"}
//
// Wrong PINs are counted (AccountStatement.LegacyWrongPINs) but never lock the account: most
// banks did not lock in 2020, which is what let crews try PINs across many wallets. Only the
// simulator's legacy mode uses this; nothing in the hardened flow calls it. It is served only
// with Config.Legacy (emoney banksim --legacy). A token works only at the bank that issued it.

// legacyToken is what a legacy "direct debit" token allows.
type legacyToken struct {
	Bank    string // the bank that issued it: the token is nothing at another
	Client  string
	Account string // "branch-number"
}

// LegacyLink is the body of POST …/legacy/link.
type LegacyLink struct {
	Client        string `json:"client_id"`
	HolderKana    string `json:"holder_kana"`
	Branch        string `json:"branch"`
	AccountNumber string `json:"account_number"`
	PIN           string `json:"pin"`
}

// LegacyToken is the answer of a legacy link.
type LegacyToken struct {
	Token         string `json:"token"`
	TokenType     string `json:"token_type"` // "Bearer"
	AccountMasked string `json:"account_masked"`
}

func (s *Sim) mountLegacy(mux *http.ServeMux) {
	mux.HandleFunc("POST /banks/{code}/legacy/link", s.legacyLink)
	mux.HandleFunc("POST /banks/{code}/legacy/debits", s.legacyDebit)
}

func (s *Sim) legacyLink(w http.ResponseWriter, r *http.Request) {
	b, ok := s.coreBank(w, r)
	if !ok {
		return
	}
	var req LegacyLink
	if err := coreDecode(w, r, &req); err != nil {
		coreErr(w, err)
		return
	}
	for field, ok := range map[string]bool{"client_id": req.Client != "", "holder_kana": req.HolderKana != "", "branch": isDigits(req.Branch, 3),
		"account_number": isDigits(req.AccountNumber, 7), "pin": isDigits(req.PIN, 4)} {
		if !ok {
			coreErr(w, apiErrf(http.StatusBadRequest, "invalid", field, "%s is missing or malformed (branch 3 digits, account_number 7, pin 4)", field))
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.core.ensure()
	c, ok := b.clients[req.Client]
	if !ok {
		coreErr(w, apiErrf(http.StatusUnauthorized, "unauthorized", "client_id", "client_id is not registered at this bank"))
		return
	}
	key := req.Branch + "-" + req.AccountNumber
	a, ok := b.accounts[key]
	refused := apiErrf(http.StatusUnauthorized, "unauthorized", "", "the holder name, account or PIN does not match")
	if !ok {
		coreErr(w, refused)
		return
	}
	holder := b.customers[a.Customer]
	pinOK := a.pin != "" && subtle.ConstantTimeCompare([]byte(req.PIN), []byte(a.pin)) == 1
	if holder == nil || !pinOK || squeeze(holder.HolderKana) != squeeze(req.HolderKana) {
		s.core.wrongPINs[b.Info.Code+"|"+key]++ // counted, never locked (see above)
		coreErr(w, refused)
		return
	}
	tok := "lg_" + hex.EncodeToString(randomBytes(24))
	s.core.legacyTokens[tokenHash(tok)] = legacyToken{Bank: b.Info.Code, Client: c.ID, Account: key}
	coreJSON(w, http.StatusCreated, LegacyToken{Token: tok, TokenType: "Bearer", AccountMasked: maskAccount(a.Number)})
}

func (s *Sim) legacyDebit(w http.ResponseWriter, r *http.Request) {
	b, ok := s.coreBank(w, r)
	if !ok {
		return
	}
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	s.core.ensure()
	lt, ok := s.core.legacyTokens[tokenHash(tok)]
	s.mu.Unlock()
	if tok == "" || !ok || lt.Bank != b.Info.Code {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		coreErr(w, apiErrf(http.StatusUnauthorized, "unauthorized", "", "a legacy direct-debit token is required"))
		return
	}
	var m MoveRequest
	var key string
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		err = apiErrf(http.StatusRequestEntityTooLarge, "too_large", "", "the body is over %d bytes", maxBody)
	} else {
		m, key, err = readMove(r, body)
	}
	if err == nil && m.Payee != "" {
		err = apiErrf(http.StatusBadRequest, "invalid", "payee", "a legacy debit has no payee: the wallet operator is the payee")
	}
	if err != nil {
		coreErr(w, err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := b.accounts[lt.Account]
	if !ok {
		coreErr(w, apiErrf(http.StatusNotFound, "not_found", "", "the account of this token is closed"))
		return
	}
	payee := lt.Client
	if c := b.clients[lt.Client]; c != nil && c.Name != "" {
		payee = c.Name
	}
	if m.Description == "" {
		m.Description = "direct debit " + payee
	}
	k := entryKey("legacy", lt.Client, key)
	if i, ok := a.keys[k]; ok {
		if err := replay(w, a.Statement[i], -m.Amount, payee, m.Description); err != nil {
			coreErr(w, err)
		}
		return
	}
	if a.Balance < m.Amount {
		coreErr(w, apiErrf(http.StatusUnprocessableEntity, "insufficient_funds", "amount", "the account's balance is too low for this debit"))
		return
	}
	e := a.post(s.cfg.Now(), -m.Amount, m.Description, payee, k, "")
	coreJSON(w, http.StatusCreated, movement(e))
}

// tokenHash is how legacy tokens are kept: a leaked simulator state holds no usable token.
func tokenHash(t string) string {
	h := sha256.Sum256([]byte(t))
	return hex.EncodeToString(h[:])
}

// squeeze drops half- and full-width spaces, as 2020 banks compared holder names.
func squeeze(s string) string {
	return strings.NewReplacer(" ", "", "\u3000", "").Replace(s)
}
