package banklink

// The wallet side of the linking protocol (shared/DESIGN.md "Bank linking", steps 2–4, and the
// resource calls after it), modelled on FAPI 2.0: RFC 8414 discovery, pushed authorization
// requests (RFC 9126) with PKCE S256 (RFC 7636) and dpop_jkt, private_key_jwt client
// authentication (RFC 7523), the callback's state and iss checked (RFC 9207), DPoP-bound tokens
// (RFC 9449), refresh with rotation, revocation (RFC 7009). Any bank whose metadata offers what
// docs/banks.md "What emoney requires of a bank" lists can be added by configuration: a
// client_id and the issuer. Resource calls (holder, debit, credit) are in client_resources.go.

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"

	"emoney"
)

// ClientAssertionType is the client_assertion_type of private_key_jwt (RFC 7523 §2.2).
const ClientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// Defaults of Config.
const (
	DefaultTimeout     = 10 * time.Second
	DefaultFlowTTL     = 10 * time.Minute
	DefaultMetadataTTL = time.Hour
	// assertionLifetime is how long a client assertion is good for: banks accept at most 5 min.
	assertionLifetime = time.Minute
	// maxAnswer bounds what the client reads of any answer from a bank.
	maxAnswer = 1 << 20
)

// Config sets a Wallet up.
type Config struct {
	// ClientIDs is the wallet's client_id at each bank, by issuer (exactly as the bank's
	// metadata names it). A bank is added by configuration: its issuer and client_id here, the
	// wallet's public key registered at the bank.
	ClientIDs map[string]string
	// Key is the wallet's private signing key (ES256, P-256) for private_key_jwt; KeyID is its
	// kid in the JWKS registered at the banks.
	Key   *ecdsa.PrivateKey
	KeyID string
	// RedirectURI is where banks send the customer back (registered exactly at every bank).
	RedirectURI string
	// HTTP is the client for bank calls (nil: one that follows no redirects).
	HTTP *http.Client
	// Timeout bounds each call to a bank (default DefaultTimeout); past it the outcome is unknown.
	Timeout time.Duration
	// FlowTTL is how long a flow waits for its callback (default DefaultFlowTTL).
	FlowTTL time.Duration
	// MetadataTTL is how long discovered metadata is reused (default DefaultMetadataTTL).
	MetadataTTL time.Duration
	// Now is the clock (default time.Now): assertion and proof times, expiries.
	Now func() time.Time
}

// Wallet is the protocol client. It is safe for concurrent use.
type Wallet struct {
	cfg   Config
	mu    sync.Mutex
	banks map[string]*Bank // discovered, by issuer
}

// New checks cfg and returns a Wallet. Errors: invalid (field named).
func New(cfg Config) (*Wallet, error) {
	if cfg.Key == nil || cfg.Key.Curve != elliptic.P256() {
		return nil, emoney.FieldError("key", "the wallet's signing key must be an ECDSA P-256 private key (ES256)")
	}
	if u, err := url.Parse(cfg.RedirectURI); err != nil || !u.IsAbs() || u.Fragment != "" {
		return nil, emoney.FieldError("redirect_uri", "the redirect URI must be an absolute URL without fragment")
	}
	if cfg.HTTP == nil {
		// Many top-ups go to one bank at once: keep as many connections to it as are busy,
		// rather than the default two (every other call would dial a new one).
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConns, t.MaxIdleConnsPerHost = 1024, 256
		cfg.HTTP = &http.Client{Transport: t, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.FlowTTL <= 0 {
		cfg.FlowTTL = DefaultFlowTTL
	}
	if cfg.MetadataTTL <= 0 {
		cfg.MetadataTTL = DefaultMetadataTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Wallet{cfg: cfg, banks: map[string]*Bank{}}, nil
}

// Metadata is the part of a bank's RFC 8414 authorization server metadata emoney uses.
type Metadata struct {
	Issuer                    string   `json:"issuer"`
	PAREndpoint               string   `json:"pushed_authorization_request_endpoint"`
	RequirePAR                bool     `json:"require_pushed_authorization_requests"`
	AuthorizationEndpoint     string   `json:"authorization_endpoint"`
	TokenEndpoint             string   `json:"token_endpoint"`
	RevocationEndpoint        string   `json:"revocation_endpoint"`
	ResponseTypes             []string `json:"response_types_supported"`
	GrantTypes                []string `json:"grant_types_supported"`
	Scopes                    []string `json:"scopes_supported"`
	CodeChallengeMethods      []string `json:"code_challenge_methods_supported"`
	TokenAuthMethods          []string `json:"token_endpoint_auth_methods_supported"`
	TokenAuthAlgs             []string `json:"token_endpoint_auth_signing_alg_values_supported"`
	RevocationAuthMethods     []string `json:"revocation_endpoint_auth_methods_supported"`
	DPoPAlgs                  []string `json:"dpop_signing_alg_values_supported"`
	IssParameterSupported     bool     `json:"authorization_response_iss_parameter_supported"`
	RevocationAuthSigningAlgs []string `json:"revocation_endpoint_auth_signing_alg_values_supported"`
}

// Bank is a discovered bank: its issuer, the wallet's client_id there, its metadata, and the
// base URL of its resource APIs (issuer + "/api").
type Bank struct {
	Issuer   string   `json:"issuer"`
	ClientID string   `json:"client_id"`
	API      string   `json:"api"`
	Metadata Metadata `json:"metadata"`

	fetched time.Time
}

// Discover reads a bank's RFC 8414 metadata from the path-inserted well-known URL
// (https://host/.well-known/oauth-authorization-server/path) and checks it offers everything
// emoney requires (docs/banks.md). Errors: invalid (field issuer) for an issuer that is not
// configured or not an https URL (http only on loopback, for tests and development);
// *MetadataError (inside an *emoney.Error of code internal) naming every lack;
// bank_unavailable (ErrUnavailable) when the bank does not answer. The result is cached for
// Config.MetadataTTL and used by Finish, Refresh, Revoke and the resource calls.
func (w *Wallet) Discover(ctx context.Context, issuer string) (*Bank, error) {
	clientID, ok := w.cfg.ClientIDs[issuer]
	if !ok || clientID == "" {
		return nil, emoney.FieldError("issuer", "no client_id is configured for bank %s", issuer)
	}
	u, err := url.Parse(issuer)
	if err != nil || !secureURL(u) || u.RawQuery != "" || u.Fragment != "" {
		return nil, emoney.FieldError("issuer", "a bank's issuer must be an https URL without query or fragment")
	}
	wellKnown := u.Scheme + "://" + u.Host + "/.well-known/oauth-authorization-server" + strings.TrimSuffix(u.EscapedPath(), "/")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, wellKnown, nil)
	if err != nil {
		return nil, fail(ErrProtocol, emoney.EInternal, "", "", "bank metadata URL: "+err.Error())
	}
	req.Header.Set("Accept", "application/json")
	a, err := w.send(req)
	if err != nil {
		return nil, err
	}
	if a.status != http.StatusOK {
		if a.status >= 500 || a.status == http.StatusTooManyRequests {
			return nil, fail(ErrUnavailable, emoney.EBankUnavailable, "", "", fmt.Sprintf("bank %s answered %d to discovery", issuer, a.status))
		}
		return nil, fail(ErrProtocol, emoney.EInternal, "", "", fmt.Sprintf("bank %s answered %d to discovery at %s", issuer, a.status, wellKnown))
	}
	var md Metadata
	if err := json.Unmarshal(a.body, &md); err != nil {
		return nil, fail(ErrProtocol, emoney.EInternal, "", "", fmt.Sprintf("bank %s: metadata is not a JSON object", issuer))
	}
	if missing := checkMetadata(issuer, md); len(missing) > 0 {
		me := &MetadataError{Issuer: issuer, Missing: missing}
		return nil, &emoney.Error{Code: emoney.EInternal, Message: me.Error(), Err: me}
	}
	b := &Bank{Issuer: issuer, ClientID: clientID, API: issuer + "/api", Metadata: md, fetched: w.cfg.Now()}
	w.mu.Lock()
	w.banks[issuer] = b
	w.mu.Unlock()
	cp := *b
	return &cp, nil
}

// checkMetadata lists what md lacks of what emoney requires of a bank.
func checkMetadata(issuer string, md Metadata) []string {
	var missing []string
	need := func(ok bool, what string) {
		if !ok {
			missing = append(missing, what)
		}
	}
	need(md.Issuer == issuer, "issuer: "+issuer+" (RFC 8414 §3.3: exactly the issuer asked for)")
	endpoint := func(v, name string) {
		u, err := url.Parse(v)
		need(v != "" && err == nil && secureURL(u) && u.Fragment == "", name+" (an https URL)")
	}
	endpoint(md.PAREndpoint, "pushed_authorization_request_endpoint")
	need(md.RequirePAR, "require_pushed_authorization_requests: true")
	endpoint(md.AuthorizationEndpoint, "authorization_endpoint")
	endpoint(md.TokenEndpoint, "token_endpoint")
	endpoint(md.RevocationEndpoint, "revocation_endpoint")
	need(slices.Contains(md.ResponseTypes, "code"), "response_types_supported: code")
	// RFC 8414 §2: an absent grant_types_supported means authorization_code and implicit, which
	// lacks refresh_token; the list must say so.
	need(slices.Contains(md.GrantTypes, "authorization_code"), "grant_types_supported: authorization_code")
	need(slices.Contains(md.GrantTypes, "refresh_token"), "grant_types_supported: refresh_token")
	need(slices.Contains(md.CodeChallengeMethods, "S256"), "code_challenge_methods_supported: S256")
	need(slices.Contains(md.TokenAuthMethods, "private_key_jwt"), "token_endpoint_auth_methods_supported: private_key_jwt")
	need(slices.Contains(md.TokenAuthAlgs, string(jose.ES256)), "token_endpoint_auth_signing_alg_values_supported: ES256")
	// Absent, revocation_endpoint_auth_methods_supported means client_secret_basic (RFC 8414 §2).
	need(slices.Contains(md.RevocationAuthMethods, "private_key_jwt"), "revocation_endpoint_auth_methods_supported: private_key_jwt")
	need(slices.Contains(md.DPoPAlgs, string(jose.ES256)), "dpop_signing_alg_values_supported: ES256")
	need(md.IssParameterSupported, "authorization_response_iss_parameter_supported: true")
	return missing
}

// secureURL: https, or http to a loopback host (tests, development on one machine).
func secureURL(u *url.URL) bool {
	switch u.Scheme {
	case "https":
		return u.Host != ""
	case "http":
		h := u.Hostname()
		if h == "localhost" {
			return true
		}
		ip := net.ParseIP(h)
		return ip != nil && ip.IsLoopback()
	}
	return false
}

// bank returns the cached bank of issuer, discovering it again when missing or stale.
func (w *Wallet) bank(ctx context.Context, issuer string) (*Bank, error) {
	w.mu.Lock()
	b := w.banks[issuer]
	w.mu.Unlock()
	if b != nil && w.cfg.Now().Sub(b.fetched) < w.cfg.MetadataTTL {
		return b, nil
	}
	return w.Discover(ctx, issuer)
}

// Mandate is what a debit consent allows: one payee, caps per charge and per calendar month
// (Asia/Tokyo), in yen.
type Mandate struct {
	Payee     string `json:"payee"`
	PerCharge int64  `json:"per_charge"`
	Monthly   int64  `json:"monthly"`
}

// Request is what the wallet asks the customer to consent to.
type Request struct {
	Scope   []string // e.g. holder, debit, credit
	Mandate Mandate  // required with the debit scope, refused without
}

// Flow is one authorization in progress, from Start to Finish. It is meant to be stored between
// the redirect and the callback (its fields are exported and it marshals to JSON). It holds
// secrets — the PKCE verifier and the per-link DPoP private key — so the stored form MUST be
// sealed (package pii) and deleted or marked spent atomically when the callback is handled.
type Flow struct {
	Issuer      string   `json:"issuer"`
	ClientID    string   `json:"client_id"`
	RedirectURI string   `json:"redirect_uri"`
	Scope       []string `json:"scope"`
	Mandate     Mandate  `json:"mandate,omitzero"`
	// State is the random value the callback must carry back (CSRF and swap protection).
	State string `json:"state"`
	// Verifier is the PKCE code_verifier (secret until the code is redeemed).
	Verifier string `json:"verifier"`
	// Key is the link's own DPoP key: the code and every token are bound to it.
	Key *DPoPKey `json:"dpop_key"`
	// RequestURI is the bank's single-use PAR handle; AuthorizationURL is where to send the
	// customer, before RequestURIExpiresAt.
	RequestURI          string    `json:"request_uri"`
	AuthorizationURL    string    `json:"authorization_url"`
	RequestURIExpiresAt time.Time `json:"request_uri_expires_at"`
	// ExpiresAt is when the flow stops accepting a callback.
	ExpiresAt time.Time `json:"expires_at"`
	// Spent is set by Finish once the callback passed the state and iss checks: a flow
	// redeems at most one code.
	Spent bool `json:"spent"`
}

// String hides the verifier and the key (a logged flow shows what it is, never its secrets).
func (f *Flow) String() string {
	if f == nil {
		return "Flow(nil)"
	}
	return fmt.Sprintf("Flow{issuer=%s scope=%s expires=%s spent=%t jkt=%s}", f.Issuer, strings.Join(f.Scope, " "),
		f.ExpiresAt.Format(time.RFC3339), f.Spent, f.Key.Thumbprint())
}

// GoString is String (%#v).
func (f *Flow) GoString() string { return f.String() }

// checkRequest validates r against the bank's scopes.
func checkRequest(b *Bank, r Request) error {
	if len(r.Scope) == 0 {
		return emoney.FieldError("scope", "scope is required")
	}
	for _, s := range r.Scope {
		if s == "" || strings.ContainsAny(s, " \t\r\n") {
			return emoney.FieldError("scope", "a scope is one word")
		}
		if len(b.Metadata.Scopes) > 0 && !slices.Contains(b.Metadata.Scopes, s) {
			return emoney.FieldError("scope", "bank %s does not offer scope %q", b.Issuer, s)
		}
	}
	m := r.Mandate
	if !slices.Contains(r.Scope, "debit") {
		if m != (Mandate{}) {
			return emoney.FieldError("mandate", "a mandate comes only with the debit scope")
		}
		return nil
	}
	switch {
	case strings.TrimSpace(m.Payee) == "":
		return emoney.FieldError("mandate.payee", "the debit scope needs a mandate payee")
	case m.PerCharge < 1:
		return emoney.FieldError("mandate.per_charge", "the per-charge cap must be at least 1 yen")
	case m.Monthly < m.PerCharge:
		return emoney.FieldError("mandate.monthly", "the monthly cap must be at least the per-charge cap")
	}
	return nil
}

// Start pushes an authorization request to bank b (RFC 9126) and returns the flow, whose
// AuthorizationURL the customer is sent to. The request carries PKCE S256, a fresh state, the
// scope and mandate, dpop_jkt of a fresh per-link DPoP key, and a client assertion. Errors:
// invalid (field named) for a bad request; ErrUnavailable (bank_unavailable); ErrProtocol
// (internal) when the bank refuses the request or answers outside the protocol.
func (w *Wallet) Start(ctx context.Context, b *Bank, r Request) (*Flow, error) {
	if b == nil {
		return nil, emoney.FieldError("bank", "no bank")
	}
	if err := checkRequest(b, r); err != nil {
		return nil, err
	}
	key, err := NewDPoPKey()
	if err != nil {
		return nil, fail(ErrProtocol, emoney.EInternal, "", "", "DPoP key: "+err.Error())
	}
	now := w.cfg.Now()
	f := &Flow{Issuer: b.Issuer, ClientID: b.ClientID, RedirectURI: w.cfg.RedirectURI, Scope: slices.Clone(r.Scope),
		Mandate: r.Mandate, State: randomString(32), Verifier: oauth2.GenerateVerifier(), Key: key,
		ExpiresAt: now.Add(w.cfg.FlowTTL)}
	form := url.Values{
		"response_type":         {"code"},
		"client_id":             {b.ClientID},
		"redirect_uri":          {f.RedirectURI},
		"state":                 {f.State},
		"code_challenge":        {oauth2.S256ChallengeFromVerifier(f.Verifier)},
		"code_challenge_method": {"S256"},
		"scope":                 {strings.Join(f.Scope, " ")},
		"dpop_jkt":              {key.Thumbprint()},
	}
	if slices.Contains(f.Scope, "debit") {
		form.Set("mandate_payee", r.Mandate.Payee)
		form.Set("mandate_per_charge", strconv.FormatInt(r.Mandate.PerCharge, 10))
		form.Set("mandate_monthly", strconv.FormatInt(r.Mandate.Monthly, 10))
	}
	a, err := w.postForm(ctx, b, b.Metadata.PAREndpoint, form, nil, "")
	if err != nil {
		return nil, err
	}
	if a.status != http.StatusCreated && a.status != http.StatusOK {
		return nil, w.oauthFailure(b, "pushed authorization request", a)
	}
	var par struct {
		RequestURI string `json:"request_uri"`
		ExpiresIn  int64  `json:"expires_in"`
	}
	if err := json.Unmarshal(a.body, &par); err != nil || par.RequestURI == "" || par.ExpiresIn <= 0 {
		return nil, fail(ErrProtocol, emoney.EInternal, "", "", "bank "+b.Issuer+": the PAR answer lacks request_uri or expires_in")
	}
	f.RequestURI = par.RequestURI
	f.RequestURIExpiresAt = now.Add(time.Duration(par.ExpiresIn) * time.Second)
	au, err := url.Parse(b.Metadata.AuthorizationEndpoint)
	if err != nil {
		return nil, fail(ErrProtocol, emoney.EInternal, "", "", "bank "+b.Issuer+": bad authorization_endpoint")
	}
	q := au.Query()
	q.Set("client_id", b.ClientID)
	q.Set("request_uri", par.RequestURI)
	au.RawQuery = q.Encode()
	f.AuthorizationURL = au.String()
	return f, nil
}

// Tokens are what a finished flow (or a refresh) yields: a DPoP-bound access token, a refresh
// token, and the DPoP key both are bound to. Marshalled to JSON they hold every secret of the
// link: seal them. String shows neither token nor key.
type Tokens struct {
	Issuer    string    `json:"issuer"`
	Access    string    `json:"access_token"`
	Refresh   string    `json:"refresh_token,omitempty"`
	ExpiresAt time.Time `json:"expires_at"` // of the access token
	Scope     []string  `json:"scope"`
	// JKT is the thumbprint of Key, the DPoP key the tokens are bound to.
	JKT string   `json:"jkt"`
	Key *DPoPKey `json:"dpop_key"`
	// GrantID is the bank's id of the consent behind the tokens (the token answer's grant_id,
	// OAuth 2.0 Grant Management): what its mandate_revoked webhooks name. "" when the bank
	// sends none. Not a secret.
	GrantID string `json:"grant_id,omitempty"`
}

// String hides the tokens and the key.
func (t Tokens) String() string {
	return fmt.Sprintf("Tokens{issuer=%s scope=%s expires=%s jkt=%s}", t.Issuer, strings.Join(t.Scope, " "), t.ExpiresAt.Format(time.RFC3339), t.JKT)
}

// GoString is String (%#v).
func (t Tokens) GoString() string { return t.String() }

// Finish handles the callback of flow f (the query of the request the bank redirected the
// customer to). Before anything else it checks that state is the flow's (constant time) and iss
// is exactly the flow's issuer (RFC 9207): a callback failing either is refused without
// touching the flow, so the honest callback can still finish it. Then the flow must be unspent
// and unexpired; Finish marks it spent (store that before anything else happens with the
// result), handles error=access_denied, and redeems the code with the PKCE verifier, a client
// assertion and a DPoP proof of the flow's key.
//
// Errors: invalid with ErrStateMismatch (field state) or ErrIssuerMismatch (field iss);
// conflict with ErrFlowSpent; invalid with ErrFlowExpired; declined with ErrAccessDenied;
// ErrTokenInvalid when the bank refuses the code (start again); ErrUnavailable; ErrProtocol.
func (w *Wallet) Finish(ctx context.Context, f *Flow, callback url.Values) (Tokens, error) {
	if f == nil || f.State == "" || f.Issuer == "" || f.Key == nil {
		return Tokens{}, emoney.FieldError("flow", "no flow, or one without state, issuer or key")
	}
	st := callback["state"]
	if len(st) != 1 || subtle.ConstantTimeCompare([]byte(st[0]), []byte(f.State)) != 1 {
		return Tokens{}, fail(ErrStateMismatch, emoney.EInvalid, "", "state", "the callback's state is not this flow's")
	}
	iss := callback["iss"]
	if len(iss) != 1 || iss[0] != f.Issuer {
		return Tokens{}, fail(ErrIssuerMismatch, emoney.EInvalid, "", "iss", "the callback's iss is not the flow's bank")
	}
	if f.Spent {
		return Tokens{}, fail(ErrFlowSpent, emoney.EConflict, "", "", "this flow was already finished: a callback is handled once")
	}
	now := w.cfg.Now()
	if !now.Before(f.ExpiresAt) {
		return Tokens{}, fail(ErrFlowExpired, emoney.EInvalid, "", "", "the flow expired before the callback; start again")
	}
	// The bank's metadata before the flow is spent: a bank that cannot be reached now leaves
	// the flow for a retry of the same callback (the code is sent only below).
	b, err := w.bank(ctx, f.Issuer)
	if err != nil {
		return Tokens{}, err
	}
	f.Spent = true
	if e := callback.Get("error"); e != "" {
		if e == "access_denied" {
			return Tokens{}, fail(ErrAccessDenied, emoney.EDeclined, ReasonAccessDenied, "", "the customer did not consent at the bank")
		}
		return Tokens{}, fail(ErrProtocol, emoney.EInternal, "", "", "the bank ended the authorization with error "+redact(e))
	}
	code := callback["code"]
	if len(code) != 1 || code[0] == "" {
		return Tokens{}, fail(ErrProtocol, emoney.EInternal, "", "", "the callback carries no code")
	}
	form := url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code[0]},
		"redirect_uri":  {f.RedirectURI},
		"code_verifier": {f.Verifier},
		"client_id":     {b.ClientID},
	}
	return w.token(ctx, b, form, f.Key, "authorization code", code[0], f.Verifier)
}

// Refresh trades t's refresh token for new tokens (the bank rotates it: keep the returned
// Tokens, the old refresh token is spent). The DPoP key stays the same. Mind that a refresh
// whose answer is lost (ErrUnavailable) may have rotated the token at the bank, and that
// presenting the old one again then revokes the whole grant (RFC 9700 §4.14): after
// ErrUnavailable, expect ErrTokenInvalid and a new consent. Errors: ErrTokenInvalid (the
// customer must consent again), ErrUnavailable, ErrProtocol; invalid without a refresh token.
func (w *Wallet) Refresh(ctx context.Context, t Tokens) (Tokens, error) {
	if t.Refresh == "" || t.Key == nil {
		return Tokens{}, emoney.FieldError("refresh_token", "these tokens have no refresh token or DPoP key")
	}
	b, err := w.bank(ctx, t.Issuer)
	if err != nil {
		return Tokens{}, err
	}
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {t.Refresh}, "client_id": {b.ClientID}}
	nt, err := w.token(ctx, b, form, t.Key, "refresh token", t.Refresh, t.Access)
	if err != nil {
		return Tokens{}, err
	}
	if nt.Refresh == "" { // a bank that does not rotate: the old one stays good (RFC 6749 §6)
		nt.Refresh = t.Refresh
	}
	if nt.GrantID == "" { // a refresh continues the same grant
		nt.GrantID = t.GrantID
	}
	return nt, nil
}

// Revoke revokes t at the bank (RFC 7009): the refresh token (which revokes the grant's token
// family at banks that follow RFC 7009 §2.1) and the access token. Unknown tokens are not an
// error. Errors: ErrUnavailable (revocation may not have happened: retry), ErrProtocol.
func (w *Wallet) Revoke(ctx context.Context, t Tokens) error {
	b, err := w.bank(ctx, t.Issuer)
	if err != nil {
		return err
	}
	for _, x := range []struct{ tok, hint string }{{t.Refresh, "refresh_token"}, {t.Access, "access_token"}} {
		if x.tok == "" {
			continue
		}
		form := url.Values{"token": {x.tok}, "token_type_hint": {x.hint}, "client_id": {b.ClientID}}
		a, err := w.postForm(ctx, b, b.Metadata.RevocationEndpoint, form, nil, "")
		if err != nil {
			return err
		}
		if a.status != http.StatusOK {
			return w.oauthFailure(b, "revocation", a, t.Access, t.Refresh)
		}
	}
	return nil
}

// token posts form to the token endpoint with a DPoP proof of key and reads the tokens; what
// names the grant for errors, secrets are scrubbed from anything the bank says.
func (w *Wallet) token(ctx context.Context, b *Bank, form url.Values, key *DPoPKey, what string, secrets ...string) (Tokens, error) {
	a, err := w.postForm(ctx, b, b.Metadata.TokenEndpoint, form, key, "")
	if err != nil {
		return Tokens{}, err
	}
	if a.status != http.StatusOK {
		if e := oauthErrorOf(a.body); a.status == http.StatusBadRequest && e.Error == "invalid_grant" {
			return Tokens{}, fail(ErrTokenInvalid, emoney.EDeclined, ReasonReconsent, "",
				"the bank refused the "+what+" ("+redact(e.Description, secrets...)+")")
		}
		return Tokens{}, w.oauthFailure(b, "token request", a, secrets...)
	}
	var tr struct {
		AccessToken  string `json:"access_token"`
		TokenType    string `json:"token_type"`
		ExpiresIn    int64  `json:"expires_in"`
		RefreshToken string `json:"refresh_token"`
		Scope        string `json:"scope"`
		GrantID      string `json:"grant_id"`
	}
	if err := json.Unmarshal(a.body, &tr); err != nil || tr.AccessToken == "" {
		return Tokens{}, fail(ErrUnavailable, emoney.EBankUnavailable, "", "", "bank "+b.Issuer+": the token answer cannot be read")
	}
	if !strings.EqualFold(tr.TokenType, "DPoP") {
		// A bearer token would work for whoever steals it: emoney accepts sender-constrained tokens only.
		return Tokens{}, fail(ErrProtocol, emoney.EInternal, "", "", "bank "+b.Issuer+" issued a token of type "+redact(tr.TokenType)+", not DPoP")
	}
	t := Tokens{Issuer: b.Issuer, Access: tr.AccessToken, Refresh: tr.RefreshToken, Scope: strings.Fields(tr.Scope),
		JKT: key.Thumbprint(), Key: key, GrantID: tr.GrantID}
	if tr.ExpiresIn > 0 {
		t.ExpiresAt = w.cfg.Now().Add(time.Duration(tr.ExpiresIn) * time.Second)
	}
	return t, nil
}

// answer is a bank's answer, read whole.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// send does req within Config.Timeout and reads the answer (at most maxAnswer bytes). A transport
// error or timeout is ErrUnavailable: the request may or may not have been acted on.
func (w *Wallet) send(req *http.Request) (answer, error) {
	ctx, cancel := context.WithTimeout(req.Context(), w.cfg.Timeout)
	defer cancel()
	resp, err := w.cfg.HTTP.Do(req.WithContext(ctx))
	if err != nil {
		// The error names the URL and the cause only: never a header, so never a token.
		return answer{}, fail(ErrUnavailable, emoney.EBankUnavailable, "", "", "the bank did not answer "+req.Method+" "+req.URL.Redacted()+": "+causeOf(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return answer{}, fail(ErrUnavailable, emoney.EBankUnavailable, "", "", "the bank's answer to "+req.Method+" "+req.URL.Redacted()+" was cut off")
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: body}, nil
}

// causeOf names why a call failed without the error's own text (which may quote a URL).
func causeOf(err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out"
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timed out"
	}
	return "connection failed"
}

// postForm posts a client-authenticated form to endpoint, with a DPoP proof of key (and ath of
// accessToken) when key is set.
func (w *Wallet) postForm(ctx context.Context, b *Bank, endpoint string, form url.Values, key *DPoPKey, accessToken string) (answer, error) {
	assertion, err := w.assertion(b)
	if err != nil {
		return answer{}, fail(ErrProtocol, emoney.EInternal, "", "", "client assertion: "+err.Error())
	}
	form.Set("client_assertion_type", ClientAssertionType)
	form.Set("client_assertion", assertion)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return answer{}, fail(ErrProtocol, emoney.EInternal, "", "", "bank "+b.Issuer+": bad endpoint")
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if key != nil {
		p, err := key.proof(http.MethodPost, endpoint, accessToken, w.cfg.Now())
		if err != nil {
			return answer{}, fail(ErrProtocol, emoney.EInternal, "", "", "DPoP proof: "+err.Error())
		}
		req.Header.Set("DPoP", p)
	}
	return w.send(req)
}

// assertion is a private_key_jwt client assertion for bank b (RFC 7523 §3): iss = sub =
// client_id, aud = the issuer, a fresh jti, a short exp.
func (w *Wallet) assertion(b *Bank) (string, error) {
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: w.cfg.Key, KeyID: w.cfg.KeyID}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", err
	}
	now := w.cfg.Now()
	c := jwt.Claims{Issuer: b.ClientID, Subject: b.ClientID, Audience: jwt.Audience{b.Issuer}, ID: randomString(16),
		IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(assertionLifetime))}
	return jwt.Signed(sig).Claims(c).Serialize()
}

// oauthError is an RFC 6749 §5.2 error body.
type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

func oauthErrorOf(body []byte) oauthError {
	var e oauthError
	_ = json.Unmarshal(bytes.TrimSpace(body), &e)
	return e
}

// oauthFailure classifies a non-success answer of the authorization server: 5xx and 429 are
// ErrUnavailable, anything else ErrProtocol with the bank's error code and description
// (secrets scrubbed).
func (w *Wallet) oauthFailure(b *Bank, what string, a answer, secrets ...string) error {
	if a.status >= 500 || a.status == http.StatusTooManyRequests {
		return fail(ErrUnavailable, emoney.EBankUnavailable, "", "", fmt.Sprintf("bank %s answered %d to the %s", b.Issuer, a.status, what))
	}
	e := oauthErrorOf(a.body)
	return fail(ErrProtocol, emoney.EInternal, "", "", fmt.Sprintf("bank %s refused the %s: %d %s: %s", b.Issuer, what, a.status,
		redact(e.Error, secrets...), redact(e.Description, secrets...)))
}
