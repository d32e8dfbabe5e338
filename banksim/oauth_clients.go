package banksim

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// ClientAssertionType is the client_assertion_type of private_key_jwt (RFC 7523 §2.2).
const ClientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// ErrInvalidClient is the error of a client registration that cannot work: no id or name, a
// redirect URI that is not an absolute http(s) URL without fragment, or JWKS that is not a set of
// public signing keys.
var ErrInvalidClient = errors.New("banksim: invalid client registration")

// RegisterClient registers wallet operator c at bank code (the admin API's
// POST /admin/banks/{code}/clients calls it). Registering a client_id again replaces it: that is
// how a wallet rotates its keys. It returns ErrNotFound for an unknown bank and wraps
// ErrInvalidClient for a registration that cannot work. Safe for concurrent use.
func (s *Sim) RegisterClient(code string, c Client) error {
	if err := checkClient(&c); err != nil { // the admin API's rules (admin.go)
		return fmt.Errorf("%w: %v", ErrInvalidClient, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.bank(code)
	if err != nil {
		return err
	}
	c.RedirectURIs = append([]string(nil), c.RedirectURIs...)
	c.JWKS = append([]byte(nil), c.JWKS...)
	b.clients[c.ID] = &c
	return nil
}

// clientKeys parses a client's JWKS: public keys, for signing.
func clientKeys(raw []byte) ([]jose.JSONWebKey, error) {
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(raw, &set); err != nil {
		return nil, errors.New("jwks is not a JSON Web Key Set")
	}
	var out []jose.JSONWebKey
	for _, k := range set.Keys {
		if !k.IsPublic() {
			return nil, errors.New("jwks must hold public keys only")
		}
		if k.Use == "" || k.Use == "sig" {
			out = append(out, k)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("jwks holds no signing key")
	}
	return out, nil
}

// authenticateClient authenticates the client of a PAR, token or revocation request by
// private_key_jwt (RFC 7523 §2.2, §3): a JWT signed by one of the client's registered keys, with
// iss = sub = client_id, aud naming the bank's issuer or this endpoint's URL, an exp in the
// next AssertionMaxLifetime, and a jti never seen before. Every failure is invalid_client (401).
// The caller holds s.mu and has parsed the form.
func (s *Sim) authenticateClient(r *http.Request, b *Bank, endpoint string) (*Client, *oauthError) {
	f := r.PostForm
	if _, _, basic := r.BasicAuth(); basic || f.Has("client_secret") {
		return nil, errInvalidClient("only private_key_jwt client authentication is accepted")
	}
	if f.Get("client_assertion_type") != ClientAssertionType || f.Get("client_assertion") == "" {
		return nil, errInvalidClient("client_assertion_type %s and a client_assertion are required", ClientAssertionType)
	}
	tok, err := jwt.ParseSigned(f.Get("client_assertion"), signingAlgs)
	if err != nil {
		return nil, errInvalidClient("the client assertion is not a JWT signed with an accepted algorithm")
	}
	var unverified jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&unverified); err != nil {
		return nil, errInvalidClient("the client assertion's claims cannot be read")
	}
	c, ok := b.clients[unverified.Issuer]
	if !ok {
		return nil, errInvalidClient("unknown client")
	}
	if id := f.Get("client_id"); id != "" && id != c.ID {
		return nil, errInvalidClient("client_id does not match the client assertion")
	}
	keys, err := clientKeys(c.JWKS)
	if err != nil {
		return nil, errInvalidClient("the client has no usable keys")
	}
	kid := ""
	if len(tok.Headers) == 1 {
		kid = tok.Headers[0].KeyID
	}
	var claims jwt.Claims
	verified := false
	for _, k := range keys {
		if kid != "" && k.KeyID != kid {
			continue
		}
		if err := tok.Claims(k.Key, &claims); err == nil {
			verified = true
			break
		}
	}
	if !verified {
		return nil, errInvalidClient("the client assertion is not signed by a key registered for the client")
	}
	if claims.Issuer != c.ID || claims.Subject != c.ID {
		return nil, errInvalidClient("the client assertion's iss and sub must both be the client_id")
	}
	if iss := s.issuerURL(b.Info.Code); !claims.Audience.Contains(iss) && !claims.Audience.Contains(endpoint) {
		return nil, errInvalidClient("the client assertion's aud must be %s", iss)
	}
	now := s.cfg.Now()
	if claims.Expiry == nil {
		return nil, errInvalidClient("the client assertion needs an exp")
	}
	exp := claims.Expiry.Time()
	if !now.Before(exp) {
		return nil, errInvalidClient("the client assertion expired")
	}
	if exp.Sub(now) > AssertionMaxLifetime {
		return nil, errInvalidClient("the client assertion's exp is more than %v away", AssertionMaxLifetime)
	}
	if claims.NotBefore != nil && now.Before(claims.NotBefore.Time()) {
		return nil, errInvalidClient("the client assertion is not valid yet")
	}
	if claims.ID == "" {
		return nil, errInvalidClient("the client assertion needs a jti")
	}
	if !s.oauth().once("assertion|"+b.Info.Code+"|"+c.ID+"|"+claims.ID, now, exp) {
		return nil, errInvalidClient("the client assertion was already used (jti replayed)")
	}
	return c, nil
}
