package banksim

import (
	"crypto"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// dpopClaims are the claims of a DPoP proof (RFC 9449 §4.2).
type dpopClaims struct {
	JTI   string      `json:"jti"`
	HTM   string      `json:"htm"`
	HTU   string      `json:"htu"`
	IAT   json.Number `json:"iat"`
	ATH   string      `json:"ath"`
	Nonce string      `json:"nonce"`
}

// checkDPoP checks the request's DPoP proof (RFC 9449 §4.3) and returns the thumbprint of its
// key (RFC 7638, SHA-256, base64url). wantHTU is the URL the proof must name (without query);
// accessToken, when not empty, must be what the proof's ath hashes. A proof's jti is accepted
// once per key within the iat window. The caller holds s.mu. Errors describe what is wrong, for
// the error_description of invalid_dpop_proof.
func (s *Sim) checkDPoP(r *http.Request, wantHTU, accessToken string) (string, error) {
	p := s.verifyDPoP(r, wantHTU, accessToken)
	return s.spendDPoP(p)
}

// dpopProof is a DPoP proof whose signature and claims were checked (err nil), not yet spent.
type dpopProof struct {
	htu, token string // what it was checked against
	jkt, jti   string
	iat        time.Time
	err        error
}

// verifyDPoP does checkDPoP's checks that need nothing of the simulator's state (the signature
// above all, the expensive part), so that they can run before s.mu is taken.
func (s *Sim) verifyDPoP(r *http.Request, wantHTU, accessToken string) dpopProof {
	p := dpopProof{htu: wantHTU, token: accessToken}
	fail := func(err error) dpopProof { p.err = err; return p }
	proofs := r.Header.Values("DPoP")
	if len(proofs) != 1 {
		return fail(errors.New("exactly one DPoP header is required"))
	}
	jws, err := jose.ParseSignedCompact(proofs[0], signingAlgs)
	if err != nil {
		return fail(errors.New("the DPoP proof is not a compact JWS signed with " + strings.Join(algNames(), ", ")))
	}
	if len(jws.Signatures) != 1 {
		return fail(errors.New("the DPoP proof must have one signature"))
	}
	h := jws.Signatures[0].Protected
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); typ != "dpop+jwt" {
		return fail(errors.New(`the DPoP proof's typ must be "dpop+jwt"`))
	}
	if h.JSONWebKey == nil || !h.JSONWebKey.IsPublic() || !h.JSONWebKey.Valid() {
		return fail(errors.New("the DPoP proof's jwk header must hold a public key"))
	}
	payload, err := jws.Verify(h.JSONWebKey)
	if err != nil {
		return fail(errors.New("the DPoP proof's signature does not verify with its jwk"))
	}
	var c dpopClaims
	dec := json.NewDecoder(strings.NewReader(string(payload)))
	dec.UseNumber()
	if err := dec.Decode(&c); err != nil {
		return fail(errors.New("the DPoP proof's claims are not a JSON object"))
	}
	if c.JTI == "" || len(c.JTI) > 256 {
		return fail(errors.New("the DPoP proof needs a jti"))
	}
	if c.HTM != r.Method {
		return fail(fmt.Errorf("the DPoP proof's htm must be %s", r.Method))
	}
	if !sameURL(c.HTU, wantHTU) {
		return fail(fmt.Errorf("the DPoP proof's htu must be %s", wantHTU))
	}
	iatSec, err := c.IAT.Int64()
	if err != nil {
		return fail(errors.New("the DPoP proof needs an integer iat"))
	}
	now, iat := s.cfg.Now(), time.Unix(iatSec, 0)
	if iat.Before(now.Add(-DPoPWindow)) || iat.After(now.Add(DPoPWindow)) {
		return fail(errors.New("the DPoP proof's iat is too far from the bank's clock"))
	}
	if accessToken != "" {
		sum := sha256.Sum256([]byte(accessToken))
		if c.ATH != base64.RawURLEncoding.EncodeToString(sum[:]) {
			return fail(errors.New("the DPoP proof's ath is not the hash of the access token"))
		}
	}
	tp, err := h.JSONWebKey.Thumbprint(crypto.SHA256)
	if err != nil {
		return fail(errors.New("the DPoP proof's jwk has no thumbprint"))
	}
	p.jkt, p.jti, p.iat = base64.RawURLEncoding.EncodeToString(tp), c.JTI, iat
	return p
}

// spendDPoP accepts a verified proof's jti once per key within the iat window and returns the
// key's thumbprint, or the proof's error. The caller holds s.mu.
func (s *Sim) spendDPoP(p dpopProof) (string, error) {
	if p.err != nil {
		return "", p.err
	}
	if !s.oauth().once("dpop|"+p.jkt+"|"+p.jti, s.cfg.Now(), p.iat.Add(DPoPWindow)) {
		return "", errors.New("the DPoP proof was already used (jti replayed)")
	}
	return p.jkt, nil
}

// verifiedKey carries a request's DPoP proof verified before s.mu was taken (resource calls).
type verifiedKey struct{}

// accessToken returns the token of a request's "Authorization: DPoP <token>" header, and
// whether it uses that scheme.
func accessToken(r *http.Request) (string, bool) {
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	return strings.TrimSpace(tok), strings.EqualFold(scheme, "DPoP")
}

// sameURL compares an htu with the URL it should name: scheme and host case-insensitively, the
// path exactly, query and fragment ignored (RFC 9449 §4.3).
func sameURL(got, want string) bool {
	g, err1 := url.Parse(got)
	w, err2 := url.Parse(want)
	if err1 != nil || err2 != nil || g.Scheme == "" || g.Host == "" {
		return false
	}
	return strings.EqualFold(g.Scheme, w.Scheme) && strings.EqualFold(g.Host, w.Host) && g.EscapedPath() == w.EscapedPath()
}

// validJKT reports whether s looks like a base64url SHA-256 JWK thumbprint.
func validJKT(s string) bool {
	b, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil && len(b) == sha256.Size
}
