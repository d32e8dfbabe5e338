package banksim

import (
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// The admin API, for tests and demos: every route under /admin/ needs
// "Authorization: Bearer <Config.AdminToken>" (401 otherwise, and always when no token is
// configured) and answers JSON. Each route has a Go method on Sim doing the same in-process, and
// AdminClient calls the routes of a remote simulator.

func (s *Sim) mountAdmin(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin/banks", s.admin(func(w http.ResponseWriter, r *http.Request) error {
		coreJSON(w, http.StatusOK, map[string]any{"banks": s.Banks()})
		return nil
	}))
	mux.HandleFunc("GET /admin/banks/{code}/customers", s.admin(func(w http.ResponseWriter, r *http.Request) error {
		cs, err := s.Customers(r.PathValue("code"))
		if err != nil {
			return err
		}
		coreJSON(w, http.StatusOK, map[string]any{"customers": cs})
		return nil
	}))
	mux.HandleFunc("POST /admin/banks/{code}/customers", s.admin(func(w http.ResponseWriter, r *http.Request) error {
		var nc NewCustomer
		if err := coreDecode(w, r, &nc); err != nil {
			return err
		}
		c, err := s.AddCustomer(r.PathValue("code"), nc)
		if err != nil {
			return conflictIfExists(err)
		}
		coreJSON(w, http.StatusCreated, c)
		return nil
	}))
	mux.HandleFunc("POST /admin/banks/{code}/customers/{login}/unlock", s.admin(func(w http.ResponseWriter, r *http.Request) error {
		if err := s.Unlock(r.PathValue("code"), r.PathValue("login")); err != nil {
			return err
		}
		coreJSON(w, http.StatusOK, map[string]bool{"unlocked": true})
		return nil
	}))
	mux.HandleFunc("POST /admin/banks/{code}/accounts", s.admin(func(w http.ResponseWriter, r *http.Request) error {
		var na NewAccount
		if err := coreDecode(w, r, &na); err != nil {
			return err
		}
		if na.PIN != "" && !isDigits(na.PIN, 4) {
			return apiErrf(http.StatusBadRequest, "invalid", "pin", "pin is four digits")
		}
		if na.Balance < 0 || na.Balance > MaxAmount {
			return apiErrf(http.StatusBadRequest, "invalid", "balance", "balance is 0 to %d yen", int64(MaxAmount))
		}
		if !isDigits(na.Branch, 3) {
			return apiErrf(http.StatusBadRequest, "invalid", "branch", "branch is three digits")
		}
		if na.Number != "" && !isDigits(na.Number, 7) {
			return apiErrf(http.StatusBadRequest, "invalid", "number", "number is seven digits")
		}
		a, err := s.AddAccount(r.PathValue("code"), na.Customer, na.Branch, na.Number, na.PIN, na.Balance)
		if err != nil {
			return conflictIfExists(err)
		}
		coreJSON(w, http.StatusCreated, a)
		return nil
	}))
	mux.HandleFunc("GET /admin/banks/{code}/accounts/{account}/statements", s.admin(func(w http.ResponseWriter, r *http.Request) error {
		st, err := s.AccountStatement(r.PathValue("code"), r.PathValue("account"))
		if err != nil {
			return err
		}
		coreJSON(w, http.StatusOK, st)
		return nil
	}))
	mux.HandleFunc("POST /admin/banks/{code}/clients", s.admin(func(w http.ResponseWriter, r *http.Request) error {
		var raw clientJSON
		if err := coreDecode(w, r, &raw); err != nil {
			return err
		}
		c, err := raw.client()
		if err != nil {
			return err
		}
		c, err = s.AddClient(r.PathValue("code"), c)
		if err != nil {
			return err
		}
		coreJSON(w, http.StatusCreated, c)
		return nil
	}))
	mux.HandleFunc("GET /admin/banks/{code}/otp", s.admin(func(w http.ResponseWriter, r *http.Request) error {
		ms, err := s.OTPs(r.PathValue("code"), r.URL.Query().Get("phone"))
		if err != nil {
			return err
		}
		coreJSON(w, http.StatusOK, map[string]any{"messages": ms})
		return nil
	}))
	mux.HandleFunc("POST /admin/banks/{code}/fraud-reports", s.admin(func(w http.ResponseWriter, r *http.Request) error {
		var req struct {
			Account string `json:"account"` // "branch-number"
			EntryID string `json:"entry_id"`
		}
		if err := coreDecode(w, r, &req); err != nil {
			return err
		}
		d, err := s.ReportFraud(r.Context(), r.PathValue("code"), req.Account, req.EntryID)
		if err != nil {
			return err
		}
		coreJSON(w, http.StatusCreated, d)
		return nil
	}))
	mux.HandleFunc("GET /admin/banks/{code}/grants", s.admin(func(w http.ResponseWriter, r *http.Request) error {
		gs, err := s.Grants(r.PathValue("code"))
		if err != nil {
			return err
		}
		coreJSON(w, http.StatusOK, map[string]any{"grants": gs})
		return nil
	}))
	mux.HandleFunc("POST /admin/banks/{code}/grants/{id}/revoke", s.admin(func(w http.ResponseWriter, r *http.Request) error {
		d, err := s.RevokeGrant(r.Context(), r.PathValue("code"), r.PathValue("id"))
		if err != nil {
			return err
		}
		coreJSON(w, http.StatusOK, d)
		return nil
	}))
	mux.HandleFunc("GET /admin/banks/{code}/failures", s.admin(func(w http.ResponseWriter, r *http.Request) error {
		f, err := s.PendingFailures(r.PathValue("code"))
		if err != nil {
			return err
		}
		coreJSON(w, http.StatusOK, f)
		return nil
	}))
	mux.HandleFunc("PUT /admin/banks/{code}/failures", s.admin(func(w http.ResponseWriter, r *http.Request) error {
		var f Failures
		if err := coreDecode(w, r, &f); err != nil {
			return err
		}
		if err := s.InjectFailures(r.PathValue("code"), f); err != nil {
			return err
		}
		coreJSON(w, http.StatusOK, f)
		return nil
	}))
	mux.HandleFunc("GET /admin/banks/{code}/notices", s.admin(func(w http.ResponseWriter, r *http.Request) error {
		ns, err := s.Notices(r.PathValue("code"))
		if err != nil {
			return err
		}
		coreJSON(w, http.StatusOK, map[string]any{"notices": ns})
		return nil
	}))
}

// admin wraps an admin handler with the bearer-token check.
func (s *Sim) admin(h func(http.ResponseWriter, *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		want := s.cfg.AdminToken
		s.mu.Unlock()
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if want == "" || !ok || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="banksim-admin"`)
			coreErr(w, apiErrf(http.StatusUnauthorized, "unauthorized", "", "the admin API needs Authorization: Bearer <admin token>"))
			return
		}
		if err := h(w, r); err != nil {
			coreErr(w, err)
		}
	}
}

// conflictIfExists turns AddCustomer's and AddAccount's duplicate errors into 409.
func conflictIfExists(err error) error {
	if !errors.Is(err, ErrNotFound) && strings.Contains(err.Error(), " exists at bank ") {
		return apiErrf(http.StatusConflict, "conflict", "", "%s", err.Error())
	}
	return err
}

func isDigits(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// NewAccount is the body of POST /admin/banks/{code}/accounts (see Sim.AddAccount).
type NewAccount struct {
	Customer string `json:"customer"` // login id
	Branch   string `json:"branch"`   // three digits
	Number   string `json:"number,omitempty"`
	PIN      string `json:"pin,omitempty"` // four digits, for the legacy endpoint only
	Balance  int64  `json:"balance"`
}

// clientJSON is a Client as the admin API takes it: jwks may be the JSON Web Key Set itself or,
// as Client marshals it, base64 of it.
type clientJSON struct {
	ID            string          `json:"client_id"`
	Name          string          `json:"name"`
	JWKS          json.RawMessage `json:"jwks"`
	RedirectURIs  []string        `json:"redirect_uris"`
	WebhookURL    string          `json:"webhook_url"`
	WebhookSecret string          `json:"webhook_secret"`
}

func (cj clientJSON) client() (Client, error) {
	c := Client{ID: cj.ID, Name: cj.Name, RedirectURIs: cj.RedirectURIs, WebhookURL: cj.WebhookURL, WebhookSecret: cj.WebhookSecret}
	var b64 string
	if err := json.Unmarshal(cj.JWKS, &b64); err == nil {
		raw, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return c, apiErrf(http.StatusBadRequest, "invalid", "jwks", "jwks is a JSON Web Key Set, or base64 of one")
		}
		c.JWKS = raw
	} else {
		c.JWKS = []byte(cj.JWKS)
	}
	return c, nil
}

// AddClient registers wallet operator c at bank code (an OAuth client using private_key_jwt) and
// returns it without its webhook secret, unless the secret was generated here (c.WebhookSecret
// empty), when it is returned this once. Errors: ErrNotFound, invalid (field named), conflict if
// the client id is taken.
func (s *Sim) AddClient(code string, c Client) (Client, error) {
	if err := checkClient(&c); err != nil {
		return Client{}, err
	}
	generated := c.WebhookSecret == ""
	if generated {
		c.WebhookSecret = "whsec_" + hex.EncodeToString(randomBytes(24))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.bank(code)
	if err != nil {
		return Client{}, err
	}
	if _, dup := b.clients[c.ID]; dup {
		return Client{}, apiErrf(http.StatusConflict, "conflict", "client_id", "client %s is registered at bank %s", c.ID, code)
	}
	cp := c
	cp.RedirectURIs = append([]string(nil), c.RedirectURIs...)
	cp.JWKS = append([]byte(nil), c.JWKS...)
	b.clients[c.ID] = &cp
	if !generated {
		c.WebhookSecret = ""
	}
	return c, nil
}

func checkClient(c *Client) error {
	if c.ID == "" || len(c.ID) > 100 {
		return apiErrf(http.StatusBadRequest, "invalid", "client_id", "client_id is 1 to 100 characters")
	}
	if c.Name == "" {
		return apiErrf(http.StatusBadRequest, "invalid", "name", "name is shown on the consent page and is required")
	}
	if _, err := clientKeys(c.JWKS); err != nil { // the keys the token endpoint will check (oauth_clients.go)
		return apiErrf(http.StatusBadRequest, "invalid", "jwks", "jwks: %v", err)
	}
	if len(c.RedirectURIs) == 0 {
		return apiErrf(http.StatusBadRequest, "invalid", "redirect_uris", "at least one redirect URI is required")
	}
	for _, u := range c.RedirectURIs {
		if !absoluteURL(u) {
			return apiErrf(http.StatusBadRequest, "invalid", "redirect_uris", "%q is not an absolute http(s) URL without a fragment", u)
		}
	}
	if c.WebhookURL != "" && !absoluteURL(c.WebhookURL) {
		return apiErrf(http.StatusBadRequest, "invalid", "webhook_url", "webhook_url is an absolute http(s) URL")
	}
	if c.WebhookSecret != "" && len(c.WebhookSecret) < 16 {
		return apiErrf(http.StatusBadRequest, "invalid", "webhook_secret", "webhook_secret is at least 16 characters (or leave it out to have one made)")
	}
	return nil
}

func absoluteURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && u.Fragment == "" && u.User == nil && !strings.Contains(s, "#")
}

// Customers lists bank code's customers by login id, with their TOTP secrets (tests and demos
// sign in as them).
func (s *Sim) Customers(code string) ([]CustomerInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.bank(code)
	if err != nil {
		return nil, err
	}
	out := make([]CustomerInfo, 0, len(b.customers))
	for _, c := range b.customers {
		out = append(out, CustomerInfo{Customer: *c, Accounts: append([]string{}, c.accounts...), Locked: c.locked})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].LoginID < out[j].LoginID })
	return out, nil
}

// CustomerInfo is a customer as the admin API shows it.
type CustomerInfo struct {
	Customer
	Accounts []string `json:"accounts"` // "branch-number"
	Locked   bool     `json:"locked"`
}

// OTPs lists the one-time codes bank code sent by SMS, oldest first; phone "" means all.
func (s *Sim) OTPs(code, phone string) ([]OTPMessage, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.bank(code)
	if err != nil {
		return nil, err
	}
	out := []OTPMessage{}
	for _, m := range b.outbox {
		if phone == "" || m.Phone == phone {
			out = append(out, m)
		}
	}
	return out, nil
}

// AccountStatement is an account as the admin API shows it: full number, balance, every entry.
type AccountStatement struct {
	Account
	Entries []Entry `json:"entries"`
	// LegacyWrongPINs counts wrong PINs given for this account at the legacy endpoint.
	LegacyWrongPINs int `json:"legacy_wrong_pins"`
}

// AccountStatement returns account ("branch-number") of bank code with all its entries.
func (s *Sim) AccountStatement(code, account string) (AccountStatement, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.bank(code)
	if err != nil {
		return AccountStatement{}, err
	}
	a, ok := b.accounts[account]
	if !ok {
		return AccountStatement{}, fmt.Errorf("account %s: %w", account, ErrNotFound)
	}
	snap := a.snapshot()
	return AccountStatement{Account: snap, Entries: snap.Statement, LegacyWrongPINs: s.core.wrongPINs[code+"|"+account]}, nil
}

// Grants lists bank code's grants, oldest first.
func (s *Sim) Grants(code string) ([]Grant, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.bank(code)
	if err != nil {
		return nil, err
	}
	out := make([]Grant, 0, len(b.grants))
	for _, g := range b.grants {
		c := *g
		c.charged = nil
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// InjectFailures sets the faults bank code's resource APIs show on their next calls (replacing
// what was pending). Errors: ErrNotFound, invalid for negative counts.
func (s *Sim) InjectFailures(code string, f Failures) error {
	for name, n := range map[string]int{"timeout": f.Timeout, "status_5xx": f.Status5xx, "slow": f.Slow, "lose_answer": f.LoseAnswer} {
		if n < 0 || n > 1000 {
			return apiErrf(http.StatusBadRequest, "invalid", name, "%s is a count from 0 to 1000", name)
		}
	}
	if f.SlowDelay < 0 {
		return apiErrf(http.StatusBadRequest, "invalid", "slow_delay", "slow_delay is nanoseconds, not negative")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.bank(code)
	if err != nil {
		return err
	}
	b.failures = f
	return nil
}

// PendingFailures is what is left of bank code's injected failures.
func (s *Sim) PendingFailures(code string) (Failures, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.bank(code)
	if err != nil {
		return Failures{}, err
	}
	return b.failures, nil
}

// Notices lists what wallet operators told bank code (notify.go), oldest first.
func (s *Sim) Notices(code string) ([]Notice, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.bank(code)
	if err != nil {
		return nil, err
	}
	return append([]Notice{}, b.notices...), nil
}
