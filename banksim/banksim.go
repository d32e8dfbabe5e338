// Package banksim is a set of simulated banks on one HTTP listener, for tests, demos and the
// attack simulator: customers with internet-banking passwords and a second factor, accounts with
// balances and statements, an OAuth authorization server per bank (PAR, PKCE, DPoP,
// private_key_jwt), DPoP-protected resource APIs, webhooks to wallet operators, a
// partner-notification endpoint, an admin API, and the 2020 legacy linking endpoint.
//
// Each bank is its own issuer at BaseURL + "/banks/{code}", with RFC 8414 metadata at the
// path-inserted well-known URL BaseURL + "/.well-known/oauth-authorization-server/banks/{code}".
//
// Files: banksim.go (the model, seeding of customers and accounts, customers' credentials),
// oauth.go, oauth_clients.go, dpop.go and pages*.go (the authorization server, its pages and the
// access-token check resources use; pages_browser.go drives the pages like a customer),
// resources.go, core.go, admin.go and adminclient.go, webhooks.go, notify.go, legacy.go, seed.go,
// http.go (the route table). docs/banksim.md describes it for wallet developers.
package banksim

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// Config sets a simulator up. Zero values pick the defaults.
type Config struct {
	// BaseURL is how clients reach the listener (issuers are BaseURL + "/banks/{code}"); set it
	// before serving (tests: the httptest server's URL).
	BaseURL string
	// AdminToken is the bearer token of the admin API (empty: the admin API answers 401 to all).
	AdminToken string
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Banks to create (default DefaultBanks).
	Banks []BankInfo
	// Legacy serves the 2020 legacy endpoint (legacy.go: holder name + account number + PIN, no
	// second factor). Off by default: only the simulator's legacy mode needs it, and a
	// simulator that does not serve it cannot be linked that way by mistake.
	Legacy bool
}

// BankInfo names a bank.
type BankInfo struct {
	Code string `json:"code"` // Zengin bank code, four digits
	Name string `json:"name"`
	Kind string `json:"kind"` // "city", "regional", "postal", "trust", "net"
}

// DefaultBanks are the twenty banks a simulator has unless told otherwise: city banks, a
// nationwide postal bank (9900), net banks and regional banks. The codes follow the Zengin
// scheme; names are fictional.
var DefaultBanks = []BankInfo{
	{"0001", "Sakura City Bank", "city"},
	{"0005", "Fuji City Bank", "city"},
	{"0009", "Kasumi City Bank", "city"},
	{"0010", "Hikari Trust Bank", "trust"},
	{"0033", "Aozora Net Bank", "net"},
	{"0036", "Rakuda Net Bank", "net"},
	{"0038", "Sumire Net Bank", "net"},
	{"0116", "Hokkai Regional Bank", "regional"},
	{"0117", "Tohoku Regional Bank", "regional"},
	{"0125", "Sendai Regional Bank", "regional"},
	{"0134", "Chiba Regional Bank", "regional"},
	{"0138", "Yokohama Regional Bank", "regional"},
	{"0143", "Shizuoka Regional Bank", "regional"},
	{"0149", "Nagoya Regional Bank", "regional"},
	{"0158", "Kyoto Regional Bank", "regional"},
	{"0161", "Osaka Regional Bank", "regional"},
	{"0169", "Hiroshima Regional Bank", "regional"},
	{"0177", "Fukuoka Regional Bank", "regional"},
	{"0190", "Okinawa Regional Bank", "regional"},
	{"9900", "Japan Post Bank (simulated)", "postal"},
}

// Sim is the simulator. It is safe for concurrent use; one mutex guards all state (a simulator
// serves tests and demos, not production load).
type Sim struct {
	cfg   Config
	mu    sync.Mutex
	banks map[string]*Bank
	// core is the state of resources, webhooks, notifications and the legacy endpoint (core.go).
	core coreState

	// authorize checks the DPoP-bound access token of a resource request to bank b and returns
	// the grant it carries. The caller holds s.mu, and keeps holding it while it checks the
	// grant and does the work, so that a revocation cannot fall between check and work. A
	// field so that resource tests can stand in for the authorization server; New sets the
	// real check (oauth.go: checkAccessToken).
	authorize func(r *http.Request, b *Bank) (*Grant, error)

	// as is the authorization servers' state: flows, request_uris, codes, tokens, replay
	// caches (oauth.go; made on first use).
	as *authState
}

// Bank is one simulated bank.
type Bank struct {
	Info      BankInfo
	customers map[string]*Customer // by login id
	accounts  map[string]*Account  // by branch + "-" + number
	clients   map[string]*Client   // wallet operators registered here, by client_id
	grants    map[string]*Grant    // consents, by id
	outbox    []OTPMessage         // one-time codes "sent" by SMS
	notices   []Notice             // what wallet operators told the bank (notify.go)
	failures  Failures             // injected by the admin API
}

// Customer is a bank's customer, who signs in to internet banking.
type Customer struct {
	LoginID    string `json:"login_id"`
	NameKanji  string `json:"name_kanji"`
	HolderKana string `json:"holder_kana"` // Zengin half-width katakana, e.g. "ﾔﾏﾀﾞ ﾀﾛｳ"
	BirthDate  string `json:"birth_date"`  // YYYY-MM-DD
	Phone      string `json:"phone"`       // E.164; one-time codes go here unless TOTP is set
	// TOTPSecret (base32) is the customer's authenticator app; empty: codes by SMS.
	TOTPSecret string `json:"totp_secret,omitempty"`

	passwordHash []byte
	salt         []byte
	// wrongCodes counts one-time codes entered wrong since the last right one; at
	// MaxWrongCodes the customer is locked out of internet banking.
	wrongCodes int
	// wrongPasswords counts wrong passwords since the last right one, across flows; at
	// MaxWrongPasswords the customer is locked out.
	wrongPasswords int
	locked         bool
	// totpStep is the last TOTP time step accepted (RFC 6238 §5.2: a code works once; no
	// step at or before it is accepted again).
	totpStep int64
	accounts []string
	// sms is the last code sent by SMS and until when it works.
	sms        string
	smsExpires time.Time
}

// MaxWrongCodes is how many wrong one-time codes lock a customer out.
const MaxWrongCodes = 5

// MaxWrongPasswords is how many wrong internet-banking passwords in a row, over any number of
// sign-in flows, lock a customer out.
const MaxWrongPasswords = 10

// Account is a bank account.
type Account struct {
	Branch    string  `json:"branch"` // three digits
	Number    string  `json:"number"` // seven digits
	Customer  string  `json:"customer"`
	Balance   int64   `json:"balance"`
	Statement []Entry `json:"-"`
	// pin is the four-digit PIN of the 2020 legacy endpoint (legacy.go), nothing else.
	pin string
	// keys remembers the idempotency keys of debits and credits: key → entry index.
	keys map[string]int
}

// Key is how accounts are indexed: "branch-number".
func (a *Account) Key() string { return a.Branch + "-" + a.Number }

// Entry is one line of a statement.
type Entry struct {
	ID           string    `json:"id"`
	At           time.Time `json:"at"`
	Amount       int64     `json:"amount"` // signed: credits positive
	Balance      int64     `json:"balance"`
	Description  string    `json:"description"`
	Counterparty string    `json:"counterparty,omitempty"`
	Key          string    `json:"-"` // the caller's idempotency key
	// Grant is the grant a debit or credit through the resource APIs was made under (what a
	// fraud report names); empty for other entries. Not shown: statements are read by any
	// wallet holding a grant for the account.
	Grant string `json:"-"`
}

// Client is a wallet operator registered at a bank (an OAuth client using private_key_jwt).
type Client struct {
	ID           string   `json:"client_id"`
	Name         string   `json:"name"`          // shown on the consent page
	JWKS         []byte   `json:"jwks"`          // public keys for private_key_jwt and nothing else (JSON Web Key Set)
	RedirectURIs []string `json:"redirect_uris"` // exact matches only
	WebhookURL   string   `json:"webhook_url"`   // where the bank sends fraud reports and mandate revocations
	// WebhookSecret signs webhooks to this client and notifications from it (HMAC-SHA256).
	WebhookSecret string `json:"webhook_secret"`
}

// Mandate is what a customer consents to: who may pull, how much per charge and per month.
type Mandate struct {
	Payee     string `json:"payee"`
	PerCharge int64  `json:"per_charge"`
	Monthly   int64  `json:"monthly"`
}

// Grant is a customer's consent to a client for one account, and what tokens issued under it
// may do. Tokens are bound to JKT, the thumbprint of the client's DPoP key.
type Grant struct {
	ID        string    `json:"id"`
	Bank      string    `json:"bank"`
	Client    string    `json:"client"`
	Customer  string    `json:"customer"`
	Account   string    `json:"account"` // Account.Key()
	Scope     []string  `json:"scope"`   // of "holder", "debit", "credit", "statements"
	Mandate   Mandate   `json:"mandate"`
	JKT       string    `json:"jkt"`
	CreatedAt time.Time `json:"created_at"`
	RevokedAt time.Time `json:"revoked_at,omitzero"`
	// charged is what debits under the grant took, per Asia/Tokyo month ("2026-11").
	charged map[string]int64
}

// Has reports whether the grant includes scope s.
func (g *Grant) Has(s string) bool {
	for _, x := range g.Scope {
		if x == s {
			return true
		}
	}
	return false
}

// OTPMessage is a one-time code the bank "sent" by SMS (read by tests through the admin API).
type OTPMessage struct {
	Phone string    `json:"phone"`
	Code  string    `json:"code"`
	At    time.Time `json:"at"`
}

// Notice is something a wallet operator told the bank (notify.go).
type Notice struct {
	Client  string    `json:"client"`
	Kind    string    `json:"kind"` // "link_created", "link_refused", "fraud_found", "unlinked"
	Account string    `json:"account,omitempty"`
	Detail  string    `json:"detail,omitempty"`
	At      time.Time `json:"at"`
}

// Failures are faults the admin API injects into a bank's resource APIs (debit, credit, holder,
// statements), each applying to the next N calls that pass the token, grant and scope checks.
type Failures struct {
	Timeout   int           `json:"timeout"`    // do nothing, hang until the client gives up
	Status5xx int           `json:"status_5xx"` // do nothing, answer 503
	Slow      int           `json:"slow"`       // handle the call at once, answer after SlowDelay
	SlowDelay time.Duration `json:"slow_delay"`
	// LoseAnswer: apply the debit or credit, then answer 503 as if it had not happened.
	LoseAnswer int `json:"lose_answer"`
}

// New makes a simulator with the configured banks and no customers.
func New(cfg Config) *Sim {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Banks == nil {
		cfg.Banks = DefaultBanks
	}
	s := &Sim{cfg: cfg, banks: map[string]*Bank{}}
	for _, info := range cfg.Banks {
		s.banks[info.Code] = &Bank{Info: info, customers: map[string]*Customer{}, accounts: map[string]*Account{},
			clients: map[string]*Client{}, grants: map[string]*Grant{}}
	}
	s.authorize = s.checkAccessToken
	return s
}

// SetBaseURL sets how clients reach the listener (issuers derive from it).
func (s *Sim) SetBaseURL(u string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cfg.BaseURL = u
}

// Issuer is bank code's issuer identifier.
func (s *Sim) Issuer(code string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg.BaseURL + "/banks/" + code
}

// Banks lists the banks, by code.
func (s *Sim) Banks() []BankInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]BankInfo, 0, len(s.banks))
	for _, b := range s.banks {
		out = append(out, b.Info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Code < out[j].Code })
	return out
}

// ErrNotFound is the error of an unknown bank, customer, account, client or grant.
var ErrNotFound = errors.New("banksim: not found")

// bank returns the bank with the code; the caller holds s.mu.
func (s *Sim) bank(code string) (*Bank, error) {
	b, ok := s.banks[code]
	if !ok {
		return nil, fmt.Errorf("bank %s: %w", code, ErrNotFound)
	}
	return b, nil
}

// NewCustomer is what AddCustomer needs.
type NewCustomer struct {
	LoginID    string `json:"login_id"`
	Password   string `json:"password"`
	NameKanji  string `json:"name_kanji"`
	HolderKana string `json:"holder_kana"`
	BirthDate  string `json:"birth_date"`
	Phone      string `json:"phone"`
	// TOTP: give the customer an authenticator app (a secret is generated); otherwise codes go
	// by SMS to Phone.
	TOTP bool `json:"totp"`
}

// AddCustomer adds a customer to bank code and returns it (with its TOTP secret, if any).
func (s *Sim) AddCustomer(code string, nc NewCustomer) (Customer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.bank(code)
	if err != nil {
		return Customer{}, err
	}
	if nc.LoginID == "" || nc.Password == "" || nc.HolderKana == "" || nc.BirthDate == "" {
		return Customer{}, errors.New("banksim: a customer needs login_id, password, holder_kana and birth_date")
	}
	if _, dup := b.customers[nc.LoginID]; dup {
		return Customer{}, fmt.Errorf("banksim: customer %s exists at bank %s", nc.LoginID, code)
	}
	c := &Customer{LoginID: nc.LoginID, NameKanji: nc.NameKanji, HolderKana: nc.HolderKana, BirthDate: nc.BirthDate, Phone: nc.Phone}
	c.salt = randomBytes(16)
	c.passwordHash = hashPassword(c.salt, nc.Password)
	if nc.TOTP {
		c.TOTPSecret = base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(randomBytes(20))
	}
	b.customers[c.LoginID] = c
	return *c, nil
}

// AddAccount opens an account for a customer with an opening balance and a four-digit PIN (used
// only by the legacy endpoint). Number "" picks the next free one.
func (s *Sim) AddAccount(code, customer, branch, number, pin string, balance int64) (Account, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.bank(code)
	if err != nil {
		return Account{}, err
	}
	c, ok := b.customers[customer]
	if !ok {
		return Account{}, fmt.Errorf("customer %s: %w", customer, ErrNotFound)
	}
	if len(branch) != 3 {
		return Account{}, errors.New("banksim: a branch is three digits")
	}
	if number == "" {
		number = fmt.Sprintf("%07d", 1000000+len(b.accounts))
	}
	a := &Account{Branch: branch, Number: number, Customer: customer, pin: pin, keys: map[string]int{}}
	if _, dup := b.accounts[a.Key()]; dup {
		return Account{}, fmt.Errorf("banksim: account %s exists at bank %s", a.Key(), code)
	}
	b.accounts[a.Key()] = a
	c.accounts = append(c.accounts, a.Key())
	if balance != 0 {
		a.post(s.cfg.Now(), balance, "opening balance", "", "", "")
	}
	return a.snapshot(), nil
}

// post appends a statement entry and moves the balance; grant is the grant it is made under
// ("" if none). The caller holds s.mu.
func (a *Account) post(at time.Time, amount int64, what, counterparty, key, grant string) Entry {
	a.Balance += amount
	e := Entry{ID: newID("e"), At: at.UTC(), Amount: amount, Balance: a.Balance, Description: what, Counterparty: counterparty, Key: key, Grant: grant}
	a.Statement = append(a.Statement, e)
	if key != "" {
		a.keys[key] = len(a.Statement) - 1
	}
	return e
}

// snapshot copies the account for callers outside the lock.
func (a *Account) snapshot() Account {
	c := *a
	c.Statement = append([]Entry(nil), a.Statement...)
	c.keys = nil
	return c
}

// checkPassword reports whether pw is the customer's internet-banking password.
func (c *Customer) checkPassword(pw string) bool {
	return subtle.ConstantTimeCompare(hashPassword(c.salt, pw), c.passwordHash) == 1
}

// hashPassword is a salted SHA-256: the simulator's customers are fictional, so a slow hash
// would only slow the tests.
func hashPassword(salt []byte, pw string) []byte {
	h := sha256.New()
	h.Write(salt)
	h.Write([]byte(pw))
	return h.Sum(nil)
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return b
}

// newID returns a random id with a prefix.
func newID(prefix string) string { return prefix + "_" + hex.EncodeToString(randomBytes(12)) }

// SMSCodeTTL is how long a code sent by SMS works.
const SMSCodeTTL = 5 * time.Minute

// sendCode sends customer c a one-time code by SMS (to the bank's outbox), unless c has an
// authenticator app; the caller holds s.mu. It returns whether a code was sent.
func (s *Sim) sendCode(b *Bank, c *Customer) bool {
	if c.TOTPSecret != "" {
		return false
	}
	n := randomBytes(4)
	c.sms = fmt.Sprintf("%06d", (uint32(n[0])<<24|uint32(n[1])<<16|uint32(n[2])<<8|uint32(n[3]))%1_000_000)
	c.smsExpires = s.cfg.Now().Add(SMSCodeTTL)
	b.outbox = append(b.outbox, OTPMessage{Phone: c.Phone, Code: c.sms, At: s.cfg.Now().UTC()})
	return true
}

// ErrLocked is the error of a customer locked out after MaxWrongCodes wrong codes or
// MaxWrongPasswords wrong passwords.
var ErrLocked = errors.New("banksim: locked out after too many wrong attempts")

// ErrWrongCode is the error of a wrong, expired or already used one-time code.
var ErrWrongCode = errors.New("banksim: wrong one-time code")

// TOTP parameters: RFC 6238 defaults, one step of clock skew either way.
const (
	totpPeriod = 30
	totpSkew   = 1
)

// checkCode checks customer c's second factor: a TOTP code from the app (each time step once:
// a code, or one of an earlier step, is refused after a later or the same step was accepted),
// or the last code sent by SMS (once). Wrong codes count; the fifth locks the customer out. The
// caller holds s.mu.
func (s *Sim) checkCode(c *Customer, code string) error {
	if c.locked {
		return ErrLocked
	}
	now := s.cfg.Now()
	ok := false
	if c.TOTPSecret != "" {
		var step int64
		if step, ok = totpMatch(c.TOTPSecret, code, now); ok && step <= c.totpStep {
			ok = false // replayed (RFC 6238 §5.2)
		}
		if ok {
			c.totpStep = step
		}
	} else {
		ok = c.sms != "" && now.Before(c.smsExpires) && subtle.ConstantTimeCompare([]byte(code), []byte(c.sms)) == 1
		if ok {
			c.sms = "" // once
		}
	}
	if !ok {
		c.wrongCodes++
		if c.wrongCodes >= MaxWrongCodes {
			c.locked = true
			return ErrLocked
		}
		return ErrWrongCode
	}
	c.wrongCodes = 0
	return nil
}

// totpMatch reports the time step (within totpSkew of now) whose code is code, if any.
func totpMatch(secret, code string, now time.Time) (int64, bool) {
	if len(code) != 6 {
		return 0, false
	}
	opts := totp.ValidateOpts{Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}
	cur := now.Unix() / totpPeriod
	for step := cur - totpSkew; step <= cur+totpSkew; step++ {
		want, err := totp.GenerateCodeCustom(secret, time.Unix(step*totpPeriod, 0), opts)
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return step, true
		}
	}
	return 0, false
}

// checkPasswordAttempt checks pw as customer c's password, counting wrong ones across flows:
// the MaxWrongPasswords-th in a row locks the customer out (ErrLocked). A locked customer gets ErrLocked
// whatever pw is, so the answer says nothing about the password. It returns nil, ErrLocked or
// errWrongPassword. The caller holds s.mu.
func (s *Sim) checkPasswordAttempt(c *Customer, pw string) error {
	if c.locked {
		return ErrLocked
	}
	if !c.checkPassword(pw) {
		c.wrongPasswords++
		if c.wrongPasswords >= MaxWrongPasswords {
			c.locked = true
			return ErrLocked
		}
		return errWrongPassword
	}
	c.wrongPasswords = 0
	return nil
}

var errWrongPassword = errors.New("banksim: wrong password")

// Unlock lets a locked-out customer sign in again (the bank's call centre; admin API): it
// clears the lock and the counts of wrong codes and passwords.
func (s *Sim) Unlock(code, login string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.bank(code)
	if err != nil {
		return err
	}
	c, ok := b.customers[login]
	if !ok {
		return fmt.Errorf("customer %s: %w", login, ErrNotFound)
	}
	c.locked, c.wrongCodes, c.wrongPasswords = false, 0, 0
	return nil
}
