package banksim

import (
	"crypto/subtle"
	"embed"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The authorization endpoint's pages: login (login id + password), one-time code (TOTP or SMS),
// consent (the wallet's name, the scopes, the mandate caps, the account). The flow lives
// server-side, keyed by a random id in the flowCookie; every form carries the flow's anti-CSRF
// token. Every page's <main> names itself in data-page ("login", "code", "consent", "error") and
// any error in data-error, so that Browser (pages_browser.go) and tests can read them:
//
//	invalid_request_uri  the request_uri is unknown, expired or used (the page of GET /authorize)
//	invalid_request      no request_uri (authorization without PAR), or client_id mismatch
//	session_expired      no flow behind the cookie, or a form of another flow or step
//	wrong_password       the login id or password is wrong (the login page again)
//	too_many_attempts    five wrong passwords in one flow: the flow ends
//	wrong_code           a wrong, expired or already used one-time code (the code page again)
//	locked               the customer is locked out after MaxWrongCodes wrong codes or
//	                     MaxWrongPasswords wrong passwords: nothing goes on, whatever the password
//	choose_account       consent without one of the customer's accounts (the consent page again)

//go:embed pages/*.html
var pageFS embed.FS

var pageTemplates = template.Must(template.New("").Funcs(template.FuncMap{"yen": yen}).ParseFS(pageFS, "pages/*.html"))

// flowCookie holds a browser's current authorization flow at one bank.
const flowCookie = "banksim_flow"

// maxWrongPasswords ends a flow after so many wrong passwords (the customer's own count,
// MaxWrongPasswords, goes on across flows).
const maxWrongPasswords = 5

// lockedMessage is the page a locked-out customer sees.
const lockedMessage = "Internet banking is locked after too many wrong attempts. Call the bank to unlock it."

// flow is one customer's way through the pages, from GET /authorize to the redirect.
type flow struct {
	id, csrf       string
	bank           string
	req            *parRequest
	step           string // "login", "code", "consent"
	customer       string // login id, once the password was right
	wrongPasswords int
	expires        time.Time
}

// pageData is what the templates see.
type pageData struct {
	Bank         BankInfo
	Page         string
	Action       string
	CSRF         string
	Error        string
	Message      string
	Client       string
	LoginID      string
	SMS          bool
	PhoneTail    string
	MaxWrong     int
	AttemptsLeft int
	Scopes       []scopeLine
	Mandate      *Mandate
	Accounts     []string
}

type scopeLine struct{ Name, Text string }

var scopeText = map[string]string{
	"holder":     "read the account holder's name and date of birth",
	"debit":      "withdraw money from the account, within the limits below",
	"credit":     "pay money into the account",
	"statements": "read the account's statements",
}

func render(w http.ResponseWriter, status int, name string, d pageData) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	d.Page = name
	d.MaxWrong = MaxWrongCodes
	_ = pageTemplates.ExecuteTemplate(w, name, d)
}

func errorPage(w http.ResponseWriter, status int, bank BankInfo, code, msg string) {
	render(w, status, "error", pageData{Bank: bank, Error: code, Message: msg})
}

// authorizePage is GET /banks/{code}/authorize?client_id=…&request_uri=…: it spends the
// request_uri, starts a flow and shows the login page. Any other parameter is ignored: only
// what was pushed counts.
func (s *Sim) authorizePage(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.bank(r.PathValue("code"))
	if err != nil {
		errorPage(w, http.StatusNotFound, BankInfo{Name: "Unknown bank"}, "invalid_request", "There is no such bank.")
		return
	}
	q := r.URL.Query()
	uri := q.Get("request_uri")
	if uri == "" {
		errorPage(w, http.StatusBadRequest, b.Info, "invalid_request", "This bank only accepts pushed authorization requests: the wallet must send a request_uri.")
		return
	}
	as, now := s.oauth(), s.cfg.Now()
	req, ok := as.requests[uri]
	delete(as.requests, uri) // single use, whatever happens next
	if !ok || req.bank != b.Info.Code || now.After(req.expires) {
		errorPage(w, http.StatusBadRequest, b.Info, "invalid_request_uri", "This link has expired or was already used. Go back to the wallet and start again.")
		return
	}
	if q.Get("client_id") != req.client {
		errorPage(w, http.StatusBadRequest, b.Info, "invalid_request", "client_id does not match the pushed request.")
		return
	}
	f := &flow{id: secret(), csrf: secret(), bank: b.Info.Code, req: req, step: "login", expires: now.Add(FlowTTL)}
	as.flows[f.id] = f
	http.SetCookie(w, &http.Cookie{Name: flowCookie, Value: f.id, Path: "/banks/" + b.Info.Code + "/authorize",
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: strings.HasPrefix(s.cfg.BaseURL, "https:")})
	render(w, http.StatusOK, "login", s.pageFor(b, f))
}

// pageFor fills the data every page of flow f needs.
func (s *Sim) pageFor(b *Bank, f *flow) pageData {
	d := pageData{Bank: b.Info, CSRF: f.csrf, Action: "/banks/" + b.Info.Code + "/authorize/" + f.step}
	if c := b.clients[f.req.client]; c != nil {
		d.Client = c.Name
	}
	return d
}

// currentFlow finds the flow of a form post at step, checking its cookie, expiry and anti-CSRF
// token; it answers the error page itself and returns nil when there is none. The caller holds s.mu.
func (s *Sim) currentFlow(w http.ResponseWriter, r *http.Request, step string) (*Bank, *flow) {
	b, err := s.bank(r.PathValue("code"))
	if err != nil {
		errorPage(w, http.StatusNotFound, BankInfo{Name: "Unknown bank"}, "invalid_request", "There is no such bank.")
		return nil, nil
	}
	if e := parseForm(w, r); e != nil {
		errorPage(w, http.StatusBadRequest, b.Info, "invalid_request", "The form could not be read.")
		return nil, nil
	}
	as := s.oauth()
	var f *flow
	if ck, err := r.Cookie(flowCookie); err == nil {
		f = as.flows[ck.Value]
	}
	if f == nil || f.bank != b.Info.Code || s.cfg.Now().After(f.expires) ||
		subtle.ConstantTimeCompare([]byte(r.PostForm.Get("csrf")), []byte(f.csrf)) != 1 || f.step != step {
		errorPage(w, http.StatusBadRequest, b.Info, "session_expired", "This sign-in has expired or the page is out of date. Go back to the wallet and start again.")
		return nil, nil
	}
	return b, f
}

// loginPage checks the login id and password, then sends an SMS code (unless the customer has
// an authenticator app) and shows the code page.
func (s *Sim) loginPage(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, f := s.currentFlow(w, r, "login")
	if f == nil {
		return
	}
	login := r.PostForm.Get("login_id")
	c := b.customers[login]
	err := errWrongPassword
	if c != nil {
		err = s.checkPasswordAttempt(c, r.PostForm.Get("password"))
	}
	if errors.Is(err, ErrLocked) {
		// Checked before the password, and the same answer whatever it was: a locked customer's
		// page confirms nothing.
		delete(s.oauth().flows, f.id)
		errorPage(w, http.StatusForbidden, b.Info, "locked", lockedMessage)
		return
	}
	if err != nil {
		f.wrongPasswords++
		if f.wrongPasswords >= maxWrongPasswords {
			delete(s.oauth().flows, f.id)
			errorPage(w, http.StatusForbidden, b.Info, "too_many_attempts", "Too many wrong attempts. Go back to the wallet and start again.")
			return
		}
		d := s.pageFor(b, f)
		d.Error, d.Message, d.LoginID = "wrong_password", "The login ID or password is wrong.", login
		render(w, http.StatusOK, "login", d)
		return
	}
	f.customer, f.step = c.LoginID, "code"
	s.sendCode(b, c)
	render(w, http.StatusOK, "code", s.codeData(b, f, c))
}

func (s *Sim) codeData(b *Bank, f *flow, c *Customer) pageData {
	d := s.pageFor(b, f)
	d.SMS = c.TOTPSecret == ""
	if n := len(c.Phone); n >= 4 {
		d.PhoneTail = c.Phone[n-4:]
	}
	if c.wrongCodes > 0 {
		d.AttemptsLeft = MaxWrongCodes - c.wrongCodes
	}
	return d
}

// codePage checks the one-time code (or sends a new SMS code) and shows the consent page.
func (s *Sim) codePage(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, f := s.currentFlow(w, r, "code")
	if f == nil {
		return
	}
	c := b.customers[f.customer]
	if r.PostForm.Get("resend") != "" {
		if c.locked {
			delete(s.oauth().flows, f.id)
			errorPage(w, http.StatusForbidden, b.Info, "locked", lockedMessage)
			return
		}
		s.sendCode(b, c)
		render(w, http.StatusOK, "code", s.codeData(b, f, c))
		return
	}
	switch err := s.checkCode(c, strings.TrimSpace(r.PostForm.Get("code"))); {
	case errors.Is(err, ErrLocked):
		delete(s.oauth().flows, f.id)
		errorPage(w, http.StatusForbidden, b.Info, "locked", lockedMessage)
		return
	case err != nil:
		d := s.codeData(b, f, c)
		d.Error, d.Message = "wrong_code", "The code is wrong or has expired."
		render(w, http.StatusOK, "code", d)
		return
	}
	f.step = "consent"
	render(w, http.StatusOK, "consent", s.consentData(b, f, c))
}

func (s *Sim) consentData(b *Bank, f *flow, c *Customer) pageData {
	d := s.pageFor(b, f)
	for _, sc := range f.req.scope {
		d.Scopes = append(d.Scopes, scopeLine{sc, scopeText[sc]})
	}
	if hasScope(f.req.scope, "debit") {
		m := f.req.mandate
		d.Mandate = &m
	}
	d.Accounts = append([]string(nil), c.accounts...)
	return d
}

// consentPage records the customer's decision: deny redirects with error=access_denied; allow
// creates the Grant for the chosen account and redirects with a code bound to the PAR's DPoP key.
// Both redirects carry state and iss (RFC 9207).
func (s *Sim) consentPage(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, f := s.currentFlow(w, r, "consent")
	if f == nil {
		return
	}
	as, now, req := s.oauth(), s.cfg.Now(), f.req
	c := b.customers[f.customer]
	back := url.Values{"state": {req.state}, "iss": {s.issuerURL(b.Info.Code)}}
	if r.PostForm.Get("decision") != "allow" {
		delete(as.flows, f.id)
		back.Set("error", "access_denied")
		back.Set("error_description", "the customer denied the request")
		redirectBack(w, req.redirectURI, back)
		return
	}
	account := r.PostForm.Get("account")
	if !hasScope(c.accounts, account) {
		d := s.consentData(b, f, c)
		d.Error, d.Message = "choose_account", "Choose one of your accounts."
		render(w, http.StatusOK, "consent", d)
		return
	}
	delete(as.flows, f.id)
	g := &Grant{ID: newID("g"), Bank: b.Info.Code, Client: req.client, Customer: c.LoginID, Account: account,
		Scope: append([]string(nil), req.scope...), Mandate: req.mandate, JKT: req.jkt, CreatedAt: now.UTC(), charged: map[string]int64{}}
	b.grants[g.ID] = g
	code := secret()
	as.codes[tokenKey(code)] = &authCode{bank: b.Info.Code, client: req.client, redirectURI: req.redirectURI,
		challenge: req.challenge, jkt: req.jkt, grant: g.ID, expires: now.Add(CodeTTL)}
	back.Set("code", code)
	redirectBack(w, req.redirectURI, back)
}

// redirectBack sends the browser to the client's redirect URI with params added to its query.
func redirectBack(w http.ResponseWriter, redirectURI string, params url.Values) {
	u, err := url.Parse(redirectURI)
	if err != nil { // registered URIs were checked by RegisterClient
		http.Error(w, "bad redirect URI", http.StatusInternalServerError)
		return
	}
	q := u.Query()
	for k, v := range params {
		q[k] = v
	}
	u.RawQuery = q.Encode()
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Location", u.String())
	w.WriteHeader(http.StatusSeeOther)
}

// yen formats whole yen with thousands separators: ¥1,234,567.
func yen(n int64) string {
	neg := n < 0
	if neg {
		n = -n
	}
	d := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, r := range d {
		if i > 0 && (len(d)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-¥" + b.String()
	}
	return "¥" + b.String()
}
