// Package identity signs people up and in: e-mail and password (argon2id), opaque bearer
// tokens stored only as hashes, expiring and revocable, and the rate limits that make passwords
// expensive to guess (THREATS.md T5). Personal data is sealed with package pii.
package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"math"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/go-webauthn/webauthn/webauthn"

	"emoney"
	"emoney/audit"
	"emoney/ledger"
	"emoney/pii"
)

// Config tunes the service. Zero values pick the defaults.
type Config struct {
	Argon2     Argon2        // default DefaultArgon2
	SessionTTL time.Duration // default 30 days
	Now        func() time.Time
	IDs        emoney.IDSource
	WebAuthn   WebAuthnConfig // passkeys' relying party; default DefaultWebAuthn
}

// Service signs people up and in. It is safe for concurrent use.
type Service struct {
	store  emoney.Store
	keys   *pii.Keys
	ledger *ledger.Ledger
	cfg    Config
	dummy  string // a hash to check against when the e-mail is unknown, so timing says nothing

	perAccount *limiter      // wrong guesses at one account, from anywhere
	perIP      *limiter      // sign-ins from one address (/64), across accounts (credential stuffing)
	signups    *limiter      // sign-ups from one address (/64)
	hashing    chan struct{} // bounds the argon2id work running at once (19 MiB each)

	sessions sessionCache
	tiers    tierCache
	webauthn *webauthn.WebAuthn // passkeys
}

// StaffSessionTTL bounds staff sessions: a working day, not a month.
const StaffSessionTTL = 12 * time.Hour

// sessionTTL is how long a checked session is trusted without asking the store again: the
// longest another instance may honour a token after it was revoked elsewhere (this instance
// forgets it at once).
const sessionTTL = 2 * time.Second

// sessionCache remembers recently checked sessions by token hash, and for as long, the ones
// this instance revoked: a check that read a session just before its revocation committed must
// not put it back.
type sessionCache struct {
	mu      sync.Mutex
	m       map[string]cachedSession
	revoked map[string]time.Time // token hash → until when to refuse caching it
	// revokedUsers is revoked, for every session of a user at once (staffops.go).
	revokedUsers map[emoney.ID]time.Time
}

type cachedSession struct {
	p     Principal
	until time.Time
}

func (c *sessionCache) get(h []byte, now time.Time) (Principal, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[string(h)]
	if !ok || !now.Before(e.until) {
		return Principal{}, false
	}
	return e.p, true
}

func (c *sessionCache) forget(h []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, string(h))
}

func (c *sessionCache) put(h []byte, p Principal, now, until time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.revoked[string(h)]; ok && now.Before(t) {
		return
	}
	if t, ok := c.revokedUsers[p.User]; ok && now.Before(t) {
		return
	}
	if c.m == nil || len(c.m) >= 100_000 {
		c.m = map[string]cachedSession{}
	}
	c.m[string(h)] = cachedSession{p, until}
}

// revoke forgets a session and refuses to cache it again for longer than any check that began
// before the revocation can last.
func (c *sessionCache) revoke(h []byte, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, string(h))
	if c.revoked == nil || len(c.revoked) >= 100_000 {
		c.revoked = map[string]time.Time{}
	}
	for k, t := range c.revoked {
		if !now.Before(t) {
			delete(c.revoked, k)
		}
	}
	c.revoked[string(h)] = now.Add(time.Minute)
}

// New returns the service.
func New(store emoney.Store, keys *pii.Keys, l *ledger.Ledger, cfg Config) (*Service, error) {
	if cfg.Argon2 == (Argon2{}) {
		cfg.Argon2 = DefaultArgon2
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 30 * 24 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.IDs == nil {
		cfg.IDs = &emoney.Monotonic{Now: cfg.Now}
	}
	dummy, err := cfg.Argon2.hashPassword("not a password anyone has")
	if err != nil {
		return nil, err
	}
	wa, err := newWebAuthn(cfg.WebAuthn)
	if err != nil {
		return nil, err
	}
	return &Service{store: store, keys: keys, ledger: l, cfg: cfg, dummy: dummy, webauthn: wa,
		// An account gets 10 tries, then one every 90 s, wherever they come from. Per address it
		// is generous: mobile carriers put many customers behind one.
		perAccount: newLimiter(90*time.Second, 10, 1_000_000),
		perIP:      newLimiter(200*time.Millisecond, 100, 100_000),
		signups:    newLimiter(10*time.Second, 20, 100_000),
		hashing:    make(chan struct{}, 2*runtime.GOMAXPROCS(0)),
	}, nil
}

// Principal is who an authenticated request comes from: a user with a session, or a partner
// with an API key.
type Principal struct {
	User    emoney.ID // zero for partners
	Partner emoney.ID // zero for users
	Role    emoney.Role
	KYCTier int
	Session []byte // the session's token hash (users)
	// SteppedUpAt is when the session last proved a second factor (zero: never).
	SteppedUpAt time.Time
	// Device is the device the session signed in from, as the client named it ("" if it did
	// not): rate limits per device (bank linking) key on it.
	Device string
}

// LedgerPrincipal is the name idempotency keys are scoped to.
func (p Principal) LedgerPrincipal() string {
	if !p.Partner.IsZero() {
		return "partner:" + p.Partner.String()
	}
	return "user:" + p.User.String()
}

// PartnerAccountName is the ledger account of a partner: an agent's cash it owes, a merchant's
// receivables.
func PartnerAccountName(p emoney.Partner) string { return string(p.Role) + ":" + p.ID.String() }

// CreatePartner registers a cash-in agent or a merchant with its ledger account and returns its
// API key, shown this once. Errors: invalid (name, role), conflict (name taken), internal.
func (s *Service) CreatePartner(ctx context.Context, name string, role emoney.Role) (emoney.Partner, string, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 || strings.ContainsFunc(name, unicode.IsControl) {
		return emoney.Partner{}, "", emoney.FieldError("name", "name must be 1 to 100 characters")
	}
	kind := map[emoney.Role]emoney.AccountKind{emoney.RoleAgent: emoney.AccountAgent, emoney.RoleMerchant: emoney.AccountMerchant}[role]
	if kind == "" {
		return emoney.Partner{}, "", emoney.FieldError("role", "role must be agent or merchant")
	}
	key, hash, err := newSecret("emk_")
	if err != nil {
		return emoney.Partner{}, "", err
	}
	p := emoney.Partner{ID: s.cfg.IDs.NewID(), Name: name, Role: role, KeyHash: hash, CreatedAt: s.cfg.Now().UTC().Truncate(time.Microsecond)}
	// The account first: a partner whose key works must have one. (If the partner then fails,
	// an empty account is left behind, which is harmless.)
	if _, err := s.ledger.OpenAccount(ctx, ledger.AccountSpec{Name: PartnerAccountName(p), Kind: kind}); err != nil {
		return emoney.Partner{}, "", err
	}
	if err := s.store.Update(ctx, func(tx emoney.Tx) error { return tx.CreatePartner(ctx, p) }); err != nil {
		if emoney.ErrorCode(err) == emoney.EConflict {
			return emoney.Partner{}, "", &emoney.Error{Code: emoney.EConflict, Field: "name", Message: "a partner with this name exists"}
		}
		return emoney.Partner{}, "", err
	}
	return p, key, nil
}

// RevokePartner stops a partner's API key working, at once and for good, and records who did it
// in the audit log, in the same transaction. Errors: not_found, internal.
func (s *Service) RevokePartner(ctx context.Context, name, actor string) (emoney.Partner, error) {
	var p emoney.Partner
	err := s.store.Update(ctx, func(tx emoney.Tx) error {
		var err error
		now := s.cfg.Now()
		if p, err = tx.RevokePartner(ctx, name, now); err != nil {
			return err
		}
		_, err = audit.Append(ctx, tx, emoney.AuditEntry{At: now, Actor: actor, Action: "partner.revoke", Object: p.ID.String()})
		return err
	})
	return p, err
}

// PartnerAccount returns a partner's ledger account.
func (s *Service) PartnerAccount(ctx context.Context, p Principal) (emoney.Account, error) {
	return s.ledger.AccountByName(ctx, string(p.Role)+":"+p.Partner.String())
}

// newSecret returns a random bearer secret with the given prefix and its SHA-256.
func newSecret(prefix string) (string, []byte, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", nil, err
	}
	secret := prefix + base64.RawURLEncoding.EncodeToString(raw)
	return secret, tokenHash(secret), nil
}

// WalletName is the ledger account name of a user's wallet.
func WalletName(user emoney.ID) string { return "wallet:" + user.String() }

// WalletUser returns the user whose wallet a is; false if a is not a user's wallet.
func WalletUser(a emoney.Account) (emoney.ID, bool) {
	s, ok := strings.CutPrefix(a.Name, "wallet:")
	if !ok || a.Kind != emoney.AccountWallet {
		return emoney.ID{}, false
	}
	id, err := emoney.ParseID(s)
	return id, err == nil
}

// normalEmail lower-cases and checks an e-mail address enough to refuse what cannot be one.
func normalEmail(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	at := strings.LastIndexByte(s, '@')
	if len(s) > 254 || at < 1 || at == len(s)-1 || !strings.Contains(s[at:], ".") || strings.HasSuffix(s, ".") {
		return "", emoney.FieldError("email", "email must be an e-mail address")
	}
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return "", emoney.FieldError("email", "email must be an e-mail address")
		}
	}
	return s, nil
}

// SignUp opens an account (tier 0) with a wallet. Errors: invalid (email, password),
// conflict (the e-mail has an account), rate_limited (too many sign-ups from ip, or the server
// is busy hashing), internal.
func (s *Service) SignUp(ctx context.Context, email, password string, ip netip.Addr) (emoney.User, emoney.Account, error) {
	if ok, wait := s.signups.allow(network(ip), s.cfg.Now()); !ok {
		return emoney.User{}, emoney.Account{}, &RateLimited{emoney.Errorf(emoney.ERateLimited, "too many sign-ups from this address"), wait}
	}
	email, err := normalEmail(email)
	if err != nil {
		return emoney.User{}, emoney.Account{}, err
	}
	if n := len([]rune(password)); n < 10 || len(password) > 1024 {
		return emoney.User{}, emoney.Account{}, emoney.FieldError("password", "password must be 10 to 1024 characters")
	}
	if strings.EqualFold(password, email) {
		return emoney.User{}, emoney.Account{}, emoney.FieldError("password", "password must not be the e-mail address")
	}
	done, err := s.work(ctx)
	if err != nil {
		return emoney.User{}, emoney.Account{}, err
	}
	hash, err := s.cfg.Argon2.hashPassword(password)
	done()
	if err != nil {
		return emoney.User{}, emoney.Account{}, err
	}
	u := emoney.User{ID: s.cfg.IDs.NewID(), PasswordHash: hash, Role: emoney.RoleCustomer,
		CreatedAt: s.cfg.Now().UTC().Truncate(time.Microsecond)}
	if u.EmailIndex, err = s.keys.Index("email", email); err != nil {
		return emoney.User{}, emoney.Account{}, err
	}
	if u.EmailSealed, err = s.keys.Seal([]byte(email), "user:"+u.ID.String()+":email"); err != nil {
		return emoney.User{}, emoney.Account{}, err
	}
	if err := s.store.Update(ctx, func(tx emoney.Tx) error { return tx.CreateUser(ctx, u) }); err != nil {
		if emoney.ErrorCode(err) == emoney.EConflict {
			return emoney.User{}, emoney.Account{}, &emoney.Error{Code: emoney.EConflict, Field: "email", Message: "an account with this e-mail exists"}
		}
		return emoney.User{}, emoney.Account{}, err
	}
	// Opening the wallet is idempotent by name: if this fails, Wallet opens it later.
	w, err := s.Wallet(ctx, u.ID)
	return u, w, err
}

// Wallet returns the user's wallet account, opening it if need be (sign-up opens it; this
// covers a sign-up cut short between the two).
func (s *Service) Wallet(ctx context.Context, user emoney.ID) (emoney.Account, error) {
	a, err := s.ledger.AccountByName(ctx, WalletName(user))
	if emoney.ErrorCode(err) == emoney.ENotFound {
		return s.ledger.OpenAccount(ctx, ledger.AccountSpec{Name: WalletName(user), Kind: emoney.AccountWallet})
	}
	return a, err
}

// work waits for a turn at password hashing, which costs 19 MiB and tens of milliseconds each:
// a flood of sign-ups or sign-ins queues for a moment, then is told to come back.
func (s *Service) work(ctx context.Context) (done func(), err error) {
	t := time.NewTimer(2 * time.Second)
	defer t.Stop()
	select {
	case s.hashing <- struct{}{}:
		return func() { <-s.hashing }, nil
	case <-t.C:
		return nil, &RateLimited{emoney.Errorf(emoney.ERateLimited, "the server is busy: try again shortly"), time.Second}
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// RateLimited is the error of too many attempts; it says when to try again.
type RateLimited struct {
	Err  *emoney.Error // code rate_limited
	Wait time.Duration
}

func (r *RateLimited) Error() string { return r.Err.Error() }

// RetryAfterSeconds is the wait rounded up to whole seconds.
func (r *RateLimited) RetryAfterSeconds() int { return int(math.Ceil(r.Wait.Seconds())) }

// Unwrap lets errors.As find the *emoney.Error.
func (r *RateLimited) Unwrap() error { return r.Err }

// Login checks the password (and for staff, a one-time code: the first one confirms their app)
// and opens a session on device, returning its bearer token (shown once, never stored).
// Errors: invalid, unauthorized (wrong e-mail or password: the same answer for both; a staff
// member's missing or wrong code), forbidden (the account is disabled: said only to whoever
// proved every factor), rate_limited (with the wait), internal.
func (s *Service) Login(ctx context.Context, email, password, otpCode, device string, ip netip.Addr) (string, emoney.Session, error) {
	now := s.cfg.Now()
	if ok, wait := s.perIP.allow(network(ip), now); !ok {
		return "", emoney.Session{}, &RateLimited{emoney.Errorf(emoney.ERateLimited, "too many sign-in attempts from this address"), wait}
	}
	email, err := normalEmail(email)
	if err != nil {
		return "", emoney.Session{}, err
	}
	if len(device) > 128 || strings.ContainsFunc(device, unicode.IsControl) {
		return "", emoney.Session{}, emoney.FieldError("device", "device must be at most 128 characters of text")
	}
	if ok, wait := s.perAccount.allow(email, now); !ok {
		return "", emoney.Session{}, &RateLimited{emoney.Errorf(emoney.ERateLimited, "too many sign-in attempts for this account"), wait}
	}
	index, err := s.keys.Index("email", email)
	if err != nil {
		return "", emoney.Session{}, err
	}
	var u emoney.User
	err = s.store.View(ctx, func(tx emoney.ReadTx) error {
		var err error
		u, err = tx.UserByEmail(ctx, index)
		return err
	})
	wrong := emoney.Errorf(emoney.EUnauthorized, "wrong e-mail or password")
	if err != nil && emoney.ErrorCode(err) != emoney.ENotFound {
		return "", emoney.Session{}, err
	}
	done, werr := s.work(ctx)
	if werr != nil {
		return "", emoney.Session{}, werr
	}
	if err != nil {
		checkPassword(s.dummy, password) // spend the same time as for a real account
		done()
		return "", emoney.Session{}, wrong
	}
	ok := checkPassword(u.PasswordHash, password)
	done()
	if !ok {
		return "", emoney.Session{}, wrong
	}
	var steppedUp time.Time
	if u.Role.Staff() {
		// One answer for every way this fails, so that it does not confirm the password.
		staffWrong := &emoney.Error{Code: emoney.EUnauthorized, Field: "otp", Message: "wrong e-mail, password or one-time code (staff sign in with all three)"}
		if otpCode == "" {
			return "", emoney.Session{}, staffWrong
		}
		if _, err := s.checkCode(ctx, Principal{User: u.ID}, otpCode, false); err != nil {
			if emoney.ErrorCode(err) == emoney.ERateLimited {
				return "", emoney.Session{}, err
			}
			return "", emoney.Session{}, staffWrong
		}
		steppedUp = now.UTC().Truncate(time.Microsecond) // they just proved the second factor
		if !u.TOTPConfirmed {
			if err := s.store.Update(ctx, func(tx emoney.Tx) error { return tx.SetTOTP(ctx, u.ID, u.TOTPSealed, true) }); err != nil {
				return "", emoney.Session{}, err
			}
		}
	}
	token, hash, err := newSecret("emt_")
	if err != nil {
		return "", emoney.Session{}, err
	}
	ttl := s.cfg.SessionTTL
	if u.Role.Staff() && ttl > StaffSessionTTL {
		ttl = StaffSessionTTL
	}
	sess := emoney.Session{TokenHash: hash, User: u.ID, Device: device, SteppedUpAt: steppedUp,
		CreatedAt: now.UTC().Truncate(time.Microsecond), ExpiresAt: now.Add(ttl).UTC().Truncate(time.Microsecond)}
	if err := s.store.Update(ctx, func(tx emoney.Tx) error {
		if err := refuseDisabled(ctx, tx, u.ID, errDisabled); err != nil {
			return err
		}
		return tx.CreateSession(ctx, sess)
	}); err != nil {
		return "", emoney.Session{}, err
	}
	return token, sess, nil
}

func tokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// Authenticate returns who a bearer token (a user's session, emt_…) or API key (a partner's,
// emk_…) belongs to. Errors: unauthorized (unknown, expired or revoked), internal.
func (s *Service) Authenticate(ctx context.Context, token string) (Principal, error) {
	bad := emoney.Errorf(emoney.EUnauthorized, "sign in again: the token is unknown, expired or revoked")
	if len(token) > 100 {
		return Principal{}, bad
	}
	if strings.HasPrefix(token, "emk_") {
		var p emoney.Partner
		err := s.store.View(ctx, func(tx emoney.ReadTx) error {
			var err error
			p, err = tx.PartnerByKey(ctx, tokenHash(token))
			return err
		})
		if emoney.ErrorCode(err) == emoney.ENotFound || (err == nil && !p.RevokedAt.IsZero()) {
			return Principal{}, emoney.Errorf(emoney.EUnauthorized, "unknown or revoked API key")
		}
		return Principal{Partner: p.ID, Role: p.Role}, err
	}
	if !strings.HasPrefix(token, "emt_") {
		return Principal{}, bad
	}
	h := tokenHash(token)
	now := s.cfg.Now()
	if p, ok := s.sessions.get(h, now); ok {
		return p, nil
	}
	var p Principal
	until := now.Add(sessionTTL)
	err := s.store.View(ctx, func(tx emoney.ReadTx) error {
		sess, err := tx.Session(ctx, h)
		if err != nil {
			return err
		}
		if !sess.RevokedAt.IsZero() || !now.Before(sess.ExpiresAt) {
			return bad
		}
		if sess.ExpiresAt.Before(until) {
			until = sess.ExpiresAt
		}
		u, err := tx.User(ctx, sess.User)
		if err != nil {
			return err
		}
		if err := refuseDisabled(ctx, tx, u.ID, bad); err != nil {
			return err
		}
		p = Principal{User: u.ID, Role: u.Role, KYCTier: u.KYCTier, Session: h, SteppedUpAt: sess.SteppedUpAt, Device: sess.Device}
		return nil
	})
	if emoney.ErrorCode(err) == emoney.ENotFound {
		return Principal{}, bad
	}
	if err != nil {
		return Principal{}, err
	}
	s.sessions.put(h, p, now, until)
	return p, nil
}

// Logout revokes the session of p.
func (s *Service) Logout(ctx context.Context, p Principal) error {
	s.sessions.revoke(p.Session, s.cfg.Now())
	return s.store.Update(ctx, func(tx emoney.Tx) error { return tx.RevokeSession(ctx, p.Session, s.cfg.Now()) })
}

// Email opens a user's sealed e-mail address.
func (s *Service) Email(u emoney.User) (string, error) {
	b, err := s.keys.Open(u.EmailSealed, "user:"+u.ID.String()+":email")
	return string(b), err
}

// User returns a user (not_found if none).
func (s *Service) User(ctx context.Context, id emoney.ID) (emoney.User, error) {
	var u emoney.User
	err := s.store.View(ctx, func(tx emoney.ReadTx) error {
		var err error
		u, err = tx.User(ctx, id)
		return err
	})
	return u, err
}

// Reseal seals every user's personal data again under the keyset's current sealing key (after
// pii.Keys.Rotate). Data opens under any key of this keyset throughout, and it is safe to run
// again after an interruption. Servers must be stopped while it runs: it rewrites the sealed
// fields without comparing them, so a change made meanwhile would be lost, and a server still
// holding the keyset from before cannot open what was resealed. It returns how many users it
// resealed.
func (s *Service) Reseal(ctx context.Context) (int, error) {
	n := 0
	err := EachUser(ctx, s.store, func(u emoney.User) error {
		email, err := s.keys.Reseal(u.EmailSealed, "user:"+u.ID.String()+":email")
		if err != nil {
			return err
		}
		totp, err := s.keys.Reseal(u.TOTPSealed, "user:"+u.ID.String()+":totp")
		if err != nil {
			return err
		}
		if err := s.store.Update(ctx, func(tx emoney.Tx) error { return tx.ResealUser(ctx, u.ID, email, totp) }); err != nil {
			return err
		}
		n++
		return nil
	})
	return n, err
}

// EachUser calls fn for every user in id order, reading a page at a time (each page in its own
// read transaction, so fn may write). An error from fn stops it and is returned.
func EachUser(ctx context.Context, store emoney.Store, fn func(emoney.User) error) error {
	var after emoney.ID
	for {
		var page []emoney.User
		if err := store.View(ctx, func(tx emoney.ReadTx) error {
			var err error
			page, err = tx.Users(ctx, after, 500)
			return err
		}); err != nil {
			return err
		}
		for _, u := range page {
			if err := fn(u); err != nil {
				return err
			}
		}
		if len(page) < 500 {
			return nil
		}
		after = page[len(page)-1].ID
	}
}
