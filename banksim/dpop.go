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
	proofs := r.Header.Values("DPoP")
	if len(proofs) != 1 {
		return "", errors.New("exactly one DPoP header is required")
	}
	jws, err := jose.ParseSignedCompact(proofs[0], signingAlgs)
	if err != nil {
		return "", errors.New("the DPoP proof is not a compact JWS signed with " + strings.Join(algNames(), ", "))
	}
	if len(jws.Signatures) != 1 {
		return "", errors.New("the DPoP proof must have one signature")
	}
	h := jws.Signatures[0].Protected
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); typ != "dpop+jwt" {
		return "", errors.New(`the DPoP proof's typ must be "dpop+jwt"`)
	}
	if h.JSONWebKey == nil || !h.JSONWebKey.IsPublic() || !h.JSONWebKey.Valid() {
		return "", errors.New("the DPoP proof's jwk header must hold a public key")
	}
	payload, err := jws.Verify(h.JSONWebKey)
	if err != nil {
		return "", errors.New("the DPoP proof's signature does not verify with its jwk")
	}
	var c dpopClaims
	dec := json.NewDecoder(strings.NewReader(string(payload)))
	dec.UseNumber()
	if err := dec.Decode(&c); err != nil {
		return "", errors.New("the DPoP proof's claims are not a JSON object")
	}
	if c.JTI == "" || len(c.JTI) > 256 {
		return "", errors.New("the DPoP proof needs a jti")
	}
	if c.HTM != r.Method {
		return "", fmt.Errorf("the DPoP proof's htm must be %s", r.Method)
	}
	if !sameURL(c.HTU, wantHTU) {
		return "", fmt.Errorf("the DPoP proof's htu must be %s", wantHTU)
	}
	iatSec, err := c.IAT.Int64()
	if err != nil {
		return "", errors.New("the DPoP proof needs an integer iat")
	}
	now, iat := s.cfg.Now(), time.Unix(iatSec, 0)
	if iat.Before(now.Add(-DPoPWindow)) || iat.After(now.Add(DPoPWindow)) {
		return "", errors.New("the DPoP proof's iat is too far from the bank's clock")
	}
	if accessToken != "" {
		sum := sha256.Sum256([]byte(accessToken))
		if c.ATH != base64.RawURLEncoding.EncodeToString(sum[:]) {
			return "", errors.New("the DPoP proof's ath is not the hash of the access token")
		}
	}
	tp, err := h.JSONWebKey.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", errors.New("the DPoP proof's jwk has no thumbprint")
	}
	jkt := base64.RawURLEncoding.EncodeToString(tp)
	if !s.oauth().once("dpop|"+jkt+"|"+c.JTI, now, iat.Add(DPoPWindow)) {
		return "", errors.New("the DPoP proof was already used (jti replayed)")
	}
	return jkt, nil
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
