package banksim

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// The authorization server of every bank, modelled on FAPI 2.0:
//
//   - discovery: RFC 8414 metadata at /.well-known/oauth-authorization-server/banks/{code}
//     (metadata handler below);
//   - PAR (RFC 9126) is the only way in: POST /banks/{code}/par (oauth_par.go);
//   - the authorization endpoint GET /banks/{code}/authorize takes client_id + request_uri only
//     and runs the login, one-time-code and consent pages (pages.go);
//   - the token endpoint POST /banks/{code}/token: authorization_code with PKCE and
//     refresh_token with rotation, both DPoP-bound (this file);
//   - revocation (RFC 7009): POST /banks/{code}/revoke (this file);
//   - clients authenticate with private_key_jwt only (RFC 7523; oauth_clients.go);
//   - DPoP proofs (RFC 9449) are checked in dpop.go;
//   - checkAccessToken is what the resource APIs call through s.authorize; on error they answer
//     with writeTokenError (both in this file).
//
// Errors on the authorization server are RFC 6749 §5.2 JSON bodies {"error", "error_description"};
// errors on resources are 401/403 with a WWW-Authenticate: DPoP challenge (RFC 6750, RFC 9449 §7.1).
// docs/banksim.md "Authorization server" describes the protocol for wallet developers.

// Lifetimes of the authorization server's artefacts.
const (
	RequestURITTL   = 60 * time.Second    // a PAR request_uri
	CodeTTL         = 60 * time.Second    // an authorization code
	AccessTokenTTL  = 5 * time.Minute     // a DPoP-bound access token
	RefreshTokenTTL = 30 * 24 * time.Hour // a refresh token (rotated on every use)
	FlowTTL         = 10 * time.Minute    // a customer's login-and-consent flow in the pages
	// AssertionMaxLifetime is how far in the future a client assertion's exp may be.
	AssertionMaxLifetime = 5 * time.Minute
	// DPoPWindow is how far a DPoP proof's iat may be from the bank's clock, either way.
	DPoPWindow = 60 * time.Second
)

// Scopes are what a wallet may ask a bank for: the holder's name and date of birth, pulls
// within a mandate, pushes into the account, and statements.
var Scopes = []string{"holder", "debit", "credit", "statements"}

// signingAlgs are the JWS algorithms accepted for client assertions and DPoP proofs (FAPI 2.0's
// list; no RS256, no HMAC, never "none").
var signingAlgs = []jose.SignatureAlgorithm{jose.ES256, jose.ES384, jose.PS256, jose.EdDSA}

func algNames() []string {
	out := make([]string, len(signingAlgs))
	for i, a := range signingAlgs {
		out[i] = string(a)
	}
	return out
}

// authState is everything the authorization servers remember, across all banks; records carry
// their bank's code. Tokens and codes are keyed by their SHA-256, so the maps never hold a
// usable secret. Guarded by Sim.mu.
type authState struct {
	requests map[string]*parRequest  // by request_uri
	flows    map[string]*flow        // by flow id (the cookie)
	codes    map[string]*authCode    // by hash of the code
	access   map[string]*issuedToken // by hash of the access token
	refresh  map[string]*issuedToken // by hash of the refresh token
	seen     map[string]time.Time    // replay caches (assertion and DPoP jti) → until when
	families map[string]*tokenFamily // tokens issued from one code, through every refresh
	clean    time.Time               // when expired entries were last dropped
}

// parRequest is a pushed authorization request, waiting for the customer.
type parRequest struct {
	bank, client string
	redirectURI  string
	state        string
	challenge    string // PKCE S256 code_challenge
	scope        []string
	mandate      Mandate
	jkt          string // the DPoP key the code will be bound to
	expires      time.Time
}

// authCode is an authorization code: single use, bound to the PAR's PKCE challenge and DPoP key.
type authCode struct {
	bank, client string
	redirectURI  string
	challenge    string
	jkt          string
	grant        string
	expires      time.Time
	used         bool
	family       string // the tokens it was redeemed for, revoked if it is replayed
}

// tokenFamily is the tokens that descend from one code.
type tokenFamily struct {
	revoked bool
}

// issuedToken is an access or refresh token.
type issuedToken struct {
	bank, client string
	grant        string
	jkt          string
	family       string
	expires      time.Time
	used         bool // a refresh token that was rotated away
	revoked      bool
}

// oauth returns the authorization servers' state, making it on first use; the caller holds s.mu.
func (s *Sim) oauth() *authState {
	if s.as == nil {
		s.as = &authState{requests: map[string]*parRequest{}, flows: map[string]*flow{}, codes: map[string]*authCode{},
			access: map[string]*issuedToken{}, refresh: map[string]*issuedToken{}, seen: map[string]time.Time{},
			families: map[string]*tokenFamily{}}
	}
	as := s.as
	if now := s.cfg.Now(); now.Sub(as.clean) > time.Minute {
		as.sweep(now)
		as.clean = now
	}
	return as
}

// sweep drops what has expired (a used code is kept until it expires, so a replay is seen).
func (as *authState) sweep(now time.Time) {
	for k, v := range as.requests {
		if now.After(v.expires) {
			delete(as.requests, k)
		}
	}
	for k, v := range as.flows {
		if now.After(v.expires) {
			delete(as.flows, k)
		}
	}
	for k, v := range as.codes {
		if now.After(v.expires.Add(time.Hour)) {
			delete(as.codes, k)
		}
	}
	for k, v := range as.access {
		if now.After(v.expires) {
			delete(as.access, k)
		}
	}
	for k, v := range as.seen {
		if now.After(v) {
			delete(as.seen, k)
		}
	}
}

// once records key in the replay cache until until, and reports whether it was new.
func (as *authState) once(key string, now, until time.Time) bool {
	if t, ok := as.seen[key]; ok && now.Before(t) {
		return false
	}
	as.seen[key] = until
	return true
}

// revokeFamily revokes every token descended from one code.
func (as *authState) revokeFamily(id string) {
	if f := as.families[id]; f != nil {
		f.revoked = true
	}
	for _, t := range as.access {
		if t.family == id {
			t.revoked = true
		}
	}
	for _, t := range as.refresh {
		if t.family == id {
			t.revoked = true
		}
	}
}

// secret returns a new random token (256 bits, base64url).
func secret() string { return base64.RawURLEncoding.EncodeToString(randomBytes(32)) }

// tokenKey is how codes and tokens are indexed.
func tokenKey(t string) string {
	h := sha256.Sum256([]byte(t))
	return hex.EncodeToString(h[:])
}

// oauthError is an RFC 6749 §5.2 error answer of the authorization server.
type oauthError struct {
	status      int
	code        string // "invalid_request", "invalid_client", "invalid_grant", ...
	description string
}

func (e *oauthError) Error() string { return e.code + ": " + e.description }

func errInvalidRequest(format string, args ...any) *oauthError {
	return &oauthError{http.StatusBadRequest, "invalid_request", fmt.Sprintf(format, args...)}
}

func errInvalidClient(format string, args ...any) *oauthError {
	return &oauthError{http.StatusUnauthorized, "invalid_client", fmt.Sprintf(format, args...)}
}

func errInvalidGrant(format string, args ...any) *oauthError {
	return &oauthError{http.StatusBadRequest, "invalid_grant", fmt.Sprintf(format, args...)}
}

func errInvalidDPoP(format string, args ...any) *oauthError {
	return &oauthError{http.StatusBadRequest, "invalid_dpop_proof", fmt.Sprintf(format, args...)}
}

// writeOAuthError answers an authorization-server error as JSON.
func writeOAuthError(w http.ResponseWriter, e *oauthError) {
	// No WWW-Authenticate on invalid_client: RFC 6749 §5.2 asks for one only when the client
	// authenticated through the Authorization header, which private_key_jwt does not use.
	writeOAuthJSON(w, e.status, map[string]string{"error": e.code, "error_description": e.description})
}

func writeOAuthJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// maxFormBytes bounds the body of PAR, token and revocation requests and the pages' forms.
const maxFormBytes = 64 << 10

// parseForm reads an application/x-www-form-urlencoded POST body (never the query string).
func parseForm(w http.ResponseWriter, r *http.Request) *oauthError {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		return errInvalidRequest("the body must be application/x-www-form-urlencoded")
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return errInvalidRequest("the body is not a valid form")
	}
	for k, v := range r.PostForm {
		if len(v) > 1 {
			return errInvalidRequest("parameter %s is repeated", k)
		}
	}
	return nil
}

func (s *Sim) mountOAuth(mux *http.ServeMux) {
	mux.HandleFunc("GET /.well-known/oauth-authorization-server/banks/{code}", s.metadata)
	mux.HandleFunc("POST /banks/{code}/par", s.par)
	mux.HandleFunc("GET /banks/{code}/authorize", s.authorizePage)
	mux.HandleFunc("POST /banks/{code}/authorize/login", s.loginPage)
	mux.HandleFunc("POST /banks/{code}/authorize/code", s.codePage)
	mux.HandleFunc("POST /banks/{code}/authorize/consent", s.consentPage)
	mux.HandleFunc("POST /banks/{code}/token", s.token)
	mux.HandleFunc("POST /banks/{code}/revoke", s.revoke)
}

// endpoints of bank code; the caller holds s.mu.
func (s *Sim) issuerURL(code string) string { return s.cfg.BaseURL + "/banks/" + code }

// metadata answers the RFC 8414 authorization server metadata of one bank.
func (s *Sim) metadata(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	b, err := s.bank(r.PathValue("code"))
	if err != nil {
		s.mu.Unlock()
		writeOAuthError(w, &oauthError{http.StatusNotFound, "invalid_request", "no such bank"})
		return
	}
	iss := s.issuerURL(b.Info.Code)
	s.mu.Unlock()
	writeOAuthJSON(w, http.StatusOK, map[string]any{
		"issuer":                                                iss,
		"pushed_authorization_request_endpoint":                 iss + "/par",
		"require_pushed_authorization_requests":                 true,
		"authorization_endpoint":                                iss + "/authorize",
		"token_endpoint":                                        iss + "/token",
		"revocation_endpoint":                                   iss + "/revoke",
		"response_types_supported":                              []string{"code"},
		"response_modes_supported":                              []string{"query"},
		"grant_types_supported":                                 []string{"authorization_code", "refresh_token"},
		"scopes_supported":                                      Scopes,
		"code_challenge_methods_supported":                      []string{"S256"},
		"token_endpoint_auth_methods_supported":                 []string{"private_key_jwt"},
		"token_endpoint_auth_signing_alg_values_supported":      algNames(),
		"revocation_endpoint_auth_methods_supported":            []string{"private_key_jwt"},
		"revocation_endpoint_auth_signing_alg_values_supported": algNames(),
		"dpop_signing_alg_values_supported":                     algNames(),
		"authorization_response_iss_parameter_supported":        true,
		"bank_name": b.Info.Name,
	})
}

// tokenResponse is the token endpoint's answer (RFC 6749 §5.1, RFC 9449 §5).
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"` // always "DPoP"
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	Scope        string `json:"scope"`
	// GrantID names the consent the tokens stand for (the grant_id of the OAuth 2.0 Grant
	// Management draft): what a mandate_revoked webhook names, so the client can tell which
	// of its links it ends.
	GrantID string `json:"grant_id"`
}

// token is the token endpoint: authorization_code (PKCE, DPoP binding checked against the code)
// and refresh_token (rotation; reuse revokes the family). Every request authenticates the client
// with private_key_jwt and carries a DPoP proof.
func (s *Sim) token(w http.ResponseWriter, r *http.Request) {
	if e := parseForm(w, r); e != nil {
		writeOAuthError(w, e)
		return
	}
	s.mu.Lock()
	resp, e := s.tokenLocked(r)
	s.mu.Unlock()
	if e != nil {
		writeOAuthError(w, e)
		return
	}
	writeOAuthJSON(w, http.StatusOK, resp)
}

func (s *Sim) tokenLocked(r *http.Request) (*tokenResponse, *oauthError) {
	b, err := s.bank(r.PathValue("code"))
	if err != nil {
		return nil, &oauthError{http.StatusNotFound, "invalid_request", "no such bank"}
	}
	url := s.issuerURL(b.Info.Code) + "/token"
	c, e := s.authenticateClient(r, b, url)
	if e != nil {
		return nil, e
	}
	jkt, derr := s.checkDPoP(r, url, "")
	if derr != nil {
		return nil, errInvalidDPoP("%v", derr)
	}
	as, now := s.oauth(), s.cfg.Now()
	switch r.PostForm.Get("grant_type") {
	case "authorization_code":
		key := tokenKey(r.PostForm.Get("code"))
		code, ok := as.codes[key]
		if !ok || code.bank != b.Info.Code || code.client != c.ID {
			return nil, errInvalidGrant("unknown authorization code")
		}
		if code.used {
			// RFC 6749 §4.1.2: a code used twice may have been stolen; what it bought is revoked.
			as.revokeFamily(code.family)
			return nil, errInvalidGrant("authorization code already used; the tokens issued for it are revoked")
		}
		code.used = true // one attempt, whatever its outcome: a wrong verifier cannot be retried
		if now.After(code.expires) {
			return nil, errInvalidGrant("authorization code expired")
		}
		if r.PostForm.Get("redirect_uri") != code.redirectURI {
			return nil, errInvalidGrant("redirect_uri does not match the authorization request")
		}
		v := r.PostForm.Get("code_verifier")
		if !validVerifier(v) {
			return nil, errInvalidGrant("code_verifier missing or malformed (RFC 7636: 43-128 unreserved characters)")
		}
		if h := sha256.Sum256([]byte(v)); base64.RawURLEncoding.EncodeToString(h[:]) != code.challenge {
			return nil, errInvalidGrant("code_verifier does not match the code_challenge")
		}
		if jkt != code.jkt {
			return nil, errInvalidGrant("the DPoP proof's key is not the key the code is bound to")
		}
		g := b.grants[code.grant]
		if g == nil || !g.RevokedAt.IsZero() {
			return nil, errInvalidGrant("the consent behind this code was revoked")
		}
		code.family = newID("f")
		as.families[code.family] = &tokenFamily{}
		return s.issue(as, b, c, g, jkt, code.family), nil
	case "refresh_token":
		key := tokenKey(r.PostForm.Get("refresh_token"))
		rt, ok := as.refresh[key]
		if !ok || rt.bank != b.Info.Code || rt.client != c.ID {
			return nil, errInvalidGrant("unknown refresh token")
		}
		if rt.revoked || as.families[rt.family] == nil || as.families[rt.family].revoked {
			return nil, errInvalidGrant("refresh token revoked")
		}
		// The key before reuse: only the holder of the token's DPoP key (and of the client's key,
		// checked above) can burn the family by replaying an old refresh token.
		if jkt != rt.jkt {
			return nil, errInvalidGrant("the DPoP proof's key is not the key the refresh token is bound to")
		}
		if rt.used {
			// A rotated-away refresh token came back: someone holds a copy. Stop them both.
			as.revokeFamily(rt.family)
			return nil, errInvalidGrant("refresh token already used; every token of this grant is revoked")
		}
		if now.After(rt.expires) {
			return nil, errInvalidGrant("refresh token expired")
		}
		g := b.grants[rt.grant]
		if g == nil || !g.RevokedAt.IsZero() {
			return nil, errInvalidGrant("the consent behind this token was revoked")
		}
		rt.used = true
		return s.issue(as, b, c, g, jkt, rt.family), nil
	case "":
		return nil, errInvalidRequest("grant_type is required")
	default:
		return nil, &oauthError{http.StatusBadRequest, "unsupported_grant_type", "grant_type must be authorization_code or refresh_token"}
	}
}

// issue makes a DPoP-bound access token and a refresh token for grant g.
func (s *Sim) issue(as *authState, b *Bank, c *Client, g *Grant, jkt, family string) *tokenResponse {
	now := s.cfg.Now()
	at, rt := secret(), secret()
	as.access[tokenKey(at)] = &issuedToken{bank: b.Info.Code, client: c.ID, grant: g.ID, jkt: jkt, family: family, expires: now.Add(AccessTokenTTL)}
	as.refresh[tokenKey(rt)] = &issuedToken{bank: b.Info.Code, client: c.ID, grant: g.ID, jkt: jkt, family: family, expires: now.Add(RefreshTokenTTL)}
	return &tokenResponse{AccessToken: at, TokenType: "DPoP", ExpiresIn: int(AccessTokenTTL / time.Second), RefreshToken: rt, Scope: strings.Join(g.Scope, " "), GrantID: g.ID}
}

// validVerifier reports whether v is an RFC 7636 code_verifier.
func validVerifier(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for _, r := range v {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune("-._~", r)) {
			return false
		}
	}
	return true
}

// revoke is the RFC 7009 revocation endpoint. Revoking a refresh token revokes every token of
// its family; revoking an access token revokes that token. Unknown tokens answer 200, as the RFC
// asks; a token issued to another client is refused (unauthorized_client).
func (s *Sim) revoke(w http.ResponseWriter, r *http.Request) {
	if e := parseForm(w, r); e != nil {
		writeOAuthError(w, e)
		return
	}
	s.mu.Lock()
	e := s.revokeLocked(r)
	s.mu.Unlock()
	if e != nil {
		writeOAuthError(w, e)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}

func (s *Sim) revokeLocked(r *http.Request) *oauthError {
	b, err := s.bank(r.PathValue("code"))
	if err != nil {
		return &oauthError{http.StatusNotFound, "invalid_request", "no such bank"}
	}
	c, e := s.authenticateClient(r, b, s.issuerURL(b.Info.Code)+"/revoke")
	if e != nil {
		return e
	}
	tok := r.PostForm.Get("token")
	if tok == "" {
		return errInvalidRequest("token is required")
	}
	as, key := s.oauth(), tokenKey(tok)
	// token_type_hint only speeds the search up (RFC 7009 §2.1); both tables are small.
	if t, ok := as.refresh[key]; ok && t.bank == b.Info.Code {
		if t.client != c.ID {
			return &oauthError{http.StatusBadRequest, "unauthorized_client", "the token was not issued to this client"}
		}
		as.revokeFamily(t.family)
		return nil
	}
	if t, ok := as.access[key]; ok && t.bank == b.Info.Code {
		if t.client != c.ID {
			return &oauthError{http.StatusBadRequest, "unauthorized_client", "the token was not issued to this client"}
		}
		t.revoked = true
	}
	return nil
}

// tokenError is why a resource request was refused: the contract between checkAccessToken (and
// anything else guarding a resource) and the resource handlers. Resource handlers call
//
//	s.mu.Lock()                 // held until the work is done (resources.go: resource)
//	g, err := s.authorize(r, b) // checkAccessToken needs s.mu held
//	if err != nil { writeTokenError(w, err); return }
//	if !g.Has("debit") { writeTokenError(w, insufficientScope("debit")); return }
//
// Code is "invalid_token" (no, unknown, expired or revoked token, or a token presented without
// the DPoP scheme or with another key), "invalid_dpop_proof" (the DPoP proof is missing or
// wrong), "insufficient_scope" (403), or "" when the request carried no credentials at all (RFC
// 6750 §3.1: the challenge then names no error).
type tokenError struct {
	Status      int
	Code        string
	Description string
	Scope       string // the scope that was missing, for insufficient_scope
}

func (e *tokenError) Error() string { return "banksim: " + e.Code + ": " + e.Description }

func errInvalidToken(format string, args ...any) *tokenError {
	return &tokenError{Status: http.StatusUnauthorized, Code: "invalid_token", Description: fmt.Sprintf(format, args...)}
}

// insufficientScope is the error of a valid token whose grant lacks scope.
func insufficientScope(scope string) error {
	return &tokenError{http.StatusForbidden, "insufficient_scope", "the grant does not include the " + scope + " scope", scope}
}

// writeTokenError answers a refused resource request: 401 (or 403 for insufficient_scope) with a
// WWW-Authenticate: DPoP challenge (RFC 9449 §7.1) and an RFC 6750-style JSON body. An error that
// is not a *tokenError answers 401 invalid_token without detail.
func writeTokenError(w http.ResponseWriter, err error) {
	var te *tokenError
	if !errors.As(err, &te) {
		te = errInvalidToken("the access token is not valid")
	}
	challenge := `DPoP algs="` + strings.Join(algNames(), " ") + `"`
	if te.Code != "" {
		challenge += `, error="` + te.Code + `", error_description="` + strings.ReplaceAll(te.Description, `"`, `'`) + `"`
		if te.Scope != "" {
			challenge += `, scope="` + te.Scope + `"`
		}
	}
	w.Header().Set("WWW-Authenticate", challenge)
	body := map[string]string{"error": te.Code, "error_description": te.Description}
	if te.Code == "" {
		body = map[string]string{"error": "invalid_token", "error_description": te.Description}
	}
	status := te.Status
	if status == 0 {
		status = http.StatusUnauthorized
	}
	writeOAuthJSON(w, status, body)
}

// checkAccessToken checks a resource request to bank b: "Authorization: DPoP <token>" with one
// DPoP proof whose htm and htu match the request, whose ath is the token's hash and whose key is
// the one the token is bound to; the token must be the bank's, unexpired and unrevoked, and its
// grant unrevoked. It returns the grant (a pointer into the bank's state: the caller holds s.mu,
// as for every function taking a *Bank) or a *tokenError for writeTokenError.
func (s *Sim) checkAccessToken(r *http.Request, b *Bank) (*Grant, error) {
	authz := r.Header.Get("Authorization")
	if authz == "" {
		return nil, &tokenError{Status: http.StatusUnauthorized, Description: "an access token is required"}
	}
	tok, dpop := accessToken(r)
	if !dpop {
		return nil, errInvalidToken("access tokens are DPoP-bound: use the DPoP authorization scheme with a DPoP proof")
	}
	as, now := s.oauth(), s.cfg.Now()
	t, ok := as.access[tokenKey(tok)]
	if !ok || t.bank != b.Info.Code {
		return nil, errInvalidToken("unknown access token")
	}
	if t.revoked || (as.families[t.family] != nil && as.families[t.family].revoked) {
		return nil, errInvalidToken("access token revoked")
	}
	if now.After(t.expires) {
		return nil, errInvalidToken("access token expired")
	}
	// The proof's signature was checked before the lock was taken, if the caller did (resource
	// calls); against this very URL and token, or it is checked now.
	htu := s.cfg.BaseURL + r.URL.Path
	p, ok := r.Context().Value(verifiedKey{}).(*dpopProof)
	if !ok || p.htu != htu || p.token != tok {
		v := s.verifyDPoP(r, htu, tok)
		p = &v
	}
	jkt, err := s.spendDPoP(*p)
	if err != nil {
		return nil, &tokenError{Status: http.StatusUnauthorized, Code: "invalid_dpop_proof", Description: err.Error()}
	}
	if jkt != t.jkt {
		return nil, errInvalidToken("the access token is bound to another DPoP key")
	}
	g := b.grants[t.grant]
	if g == nil || !g.RevokedAt.IsZero() {
		return nil, errInvalidToken("the consent behind this token was revoked")
	}
	return g, nil
}
