package banksim_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"emoney/banksim"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// One negative test per protocol check of the authorization server that no other test would
// notice missing. Each was checked by removing the check and seeing the test fail (but see
// TestDPoPProofJWKMustBePublic).

// rawJWS hand-builds a compact JWS: header and claims as given, signed with key by alg ("ES256"
// with an *ecdsa.PrivateKey, "HS256" with a []byte, "none" unsigned). go-jose's signer would
// refuse several of the broken headers these tests need.
func rawJWS(t *testing.T, header, claims map[string]any, key any) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	input := enc(header) + "." + enc(claims)
	var sig []byte
	switch header["alg"] {
	case "ES256":
		h := sha256.Sum256([]byte(input))
		r, s, err := ecdsa.Sign(rand.Reader, key.(*ecdsa.PrivateKey), h[:])
		if err != nil {
			t.Fatal(err)
		}
		sig = make([]byte, 64)
		r.FillBytes(sig[:32])
		s.FillBytes(sig[32:])
	case "HS256":
		m := hmac.New(sha256.New, key.([]byte))
		m.Write([]byte(input))
		sig = m.Sum(nil)
	case "none":
	default:
		t.Fatalf("rawJWS: alg %v", header["alg"])
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// publicJWK is key's public JWK as a header value.
func publicJWK(t *testing.T, key *ecdsa.PrivateKey) map[string]any {
	t.Helper()
	b, err := json.Marshal(jose.JSONWebKey{Key: &key.PublicKey})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// rawProof is a DPoP proof for a GET of the test resource with token, with header and claims
// edited before signing by e.dpopKey.
func (e *env) rawProof(token string, editHeader, editClaims func(map[string]any)) string {
	e.t.Helper()
	h := sha256.Sum256([]byte(token))
	claims := map[string]any{"jti": e.jti(), "htm": "GET", "htu": e.issuer + "/test/resource", "iat": e.clock.Now().Unix(),
		"ath": base64.RawURLEncoding.EncodeToString(h[:])}
	header := map[string]any{"typ": "dpop+jwt", "alg": "ES256", "jwk": publicJWK(e.t, e.dpopKey)}
	if editHeader != nil {
		editHeader(header)
	}
	if editClaims != nil {
		editClaims(claims)
	}
	var key any = e.dpopKey
	if header["alg"] == "HS256" {
		key = []byte("a shared secret no bank should take")
	}
	return rawJWS(e.t, header, claims, key)
}

func TestDPoPProofHeaderChecks(t *testing.T) {
	e := newEnv(t)
	at := e.tokens().str("access_token")
	// The hand-built proof is a good one when left alone.
	if res := e.resource("DPoP", at, e.rawProof(at, nil, nil)); res.status != 200 {
		t.Fatalf("untouched hand-built proof: %d %v", res.status, res.body)
	}
	for _, tc := range []struct {
		name   string
		header func(map[string]any)
		claims func(map[string]any)
	}{
		{"typ JWT", func(h map[string]any) { h["typ"] = "JWT" }, nil},
		{"no typ", func(h map[string]any) { delete(h, "typ") }, nil},
		{"iat in the future", nil, func(c map[string]any) { c["iat"] = e.clock.Now().Add(banksim.DPoPWindow + 2*time.Second).Unix() }},
		{"alg none", func(h map[string]any) { h["alg"] = "none" }, nil},
		{"alg HS256", func(h map[string]any) { h["alg"] = "HS256" }, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.resource("DPoP", at, e.rawProof(at, tc.header, tc.claims)).wantTokenError(t, "invalid_dpop_proof")
		})
	}
}

// The proof's key must be a public key in the jwk header. A proof naming its key by kid instead
// is refused by the bank's own check (its description says so). An embedded private key is
// refused by go-jose while parsing (RFC 7515 §4.1.3), before the bank's check runs, so that
// case cannot tell whether the bank's check is there.
func TestDPoPProofJWKMustBePublic(t *testing.T) {
	e := newEnv(t)
	at := e.tokens().str("access_token")
	noJWK := e.rawProof(at, func(h map[string]any) { delete(h, "jwk"); h["kid"] = "k1" }, nil)
	ans := e.resource("DPoP", at, noJWK)
	ans.wantTokenError(t, "invalid_dpop_proof")
	if d := ans.str("error_description"); !strings.Contains(d, "public key") {
		t.Errorf("a proof without jwk refused for %q, want the jwk check", d)
	}
	priv, err := json.Marshal(jose.JSONWebKey{Key: e.dpopKey})
	if err != nil {
		t.Fatal(err)
	}
	var pm map[string]any
	_ = json.Unmarshal(priv, &pm)
	e.resource("DPoP", at, e.rawProof(at, func(h map[string]any) { h["jwk"] = pm }, nil)).wantTokenError(t, "invalid_dpop_proof")
}

func TestClientAssertionChecks(t *testing.T) {
	e := newEnv(t)
	signed := func(header map[string]any, edit func(*jwt.Claims)) string {
		now := e.clock.Now()
		c := jwt.Claims{Issuer: clientID, Subject: clientID, Audience: jwt.Audience{e.issuer}, ID: e.jti(),
			IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(time.Minute))}
		if edit != nil {
			edit(&c)
		}
		b, _ := json.Marshal(c)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		var key any = e.clientKey
		if header["alg"] == "HS256" {
			key = jwks(t, e.clientKey, "k1") // the classic confusion: the public key set as an HMAC secret
		}
		return rawJWS(t, header, m, key)
	}
	par := func(t *testing.T, f url.Values, basic bool) answer {
		t.Helper()
		req, _ := http.NewRequest("POST", e.issuer+"/par", strings.NewReader(f.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if basic {
			req.SetBasicAuth(clientID, "secret")
		}
		return e.do(req)
	}
	es256 := map[string]any{"alg": "ES256", "typ": "JWT", "kid": "k1"}
	t.Run("hand-built assertion works", func(t *testing.T) {
		var a authz
		f := e.parForm(&a)
		f.Set("client_assertion", signed(es256, nil))
		if ans := par(t, f, false); ans.status != http.StatusCreated {
			t.Fatalf("%d %v", ans.status, ans.body)
		}
	})
	for _, tc := range []struct {
		name   string
		header map[string]any
		edit   func(*jwt.Claims)
	}{
		{"nbf in the future", es256, func(c *jwt.Claims) { c.NotBefore = jwt.NewNumericDate(e.clock.Now().Add(30 * time.Second)) }},
		{"kid of no registered key", map[string]any{"alg": "ES256", "typ": "JWT", "kid": "k2"}, nil},
		{"alg none", map[string]any{"alg": "none", "typ": "JWT", "kid": "k1"}, nil},
		{"alg HS256", map[string]any{"alg": "HS256", "typ": "JWT", "kid": "k1"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var a authz
			f := e.parForm(&a)
			f.Set("client_assertion", signed(tc.header, tc.edit))
			par(t, f, false).wantError(t, http.StatusUnauthorized, "invalid_client")
		})
	}
	// A valid assertion does not excuse another authentication method beside it.
	t.Run("Basic auth as well", func(t *testing.T) {
		var a authz
		par(t, e.parForm(&a), true).wantError(t, http.StatusUnauthorized, "invalid_client")
	})
	t.Run("client_secret as well", func(t *testing.T) {
		var a authz
		f := e.parForm(&a)
		f.Set("client_secret", "secret")
		par(t, f, false).wantError(t, http.StatusUnauthorized, "invalid_client")
	})
}

// A code_verifier outside RFC 7636's alphabet or length is refused even when its S256 hash is
// the challenge.
func TestCodeVerifierFormat(t *testing.T) {
	e := newEnv(t)
	for name, v := range map[string]string{
		"42 characters":  strings.Repeat("a", 42),
		"129 characters": strings.Repeat("a", 129),
		"not unreserved": strings.Repeat("a", 42) + "+",
		"space inside":   strings.Repeat("a", 30) + " " + strings.Repeat("b", 20),
		"empty":          "",
	} {
		t.Run(name, func(t *testing.T) {
			var a authz
			f := e.parForm(&a)
			a.verifier = v
			h := sha256.Sum256([]byte(v))
			f.Set("code_challenge", base64.RawURLEncoding.EncodeToString(h[:]))
			e.par(&a, f, "")
			cb, err := banksim.NewBrowser().Authorize(e.authorizeURL(&a), banksim.SignIn{LoginID: smsLogin, Password: password, Code: e.smsCode, Account: smsAccount})
			if err != nil {
				t.Fatal(err)
			}
			e.redeem(&a, cb.Query().Get("code"), e.dpopKey).wantError(t, 400, "invalid_grant")
		})
	}
}

func TestRefreshTokenLimits(t *testing.T) {
	e := newEnv(t)
	t.Run("expired", func(t *testing.T) {
		tok := e.tokens()
		e.clock.Advance(banksim.RefreshTokenTTL + time.Second)
		e.refresh(tok.str("refresh_token"), e.dpopKey).wantError(t, 400, "invalid_grant")
	})
	t.Run("grant revoked", func(t *testing.T) {
		tok := e.tokens()
		res := e.use(tok.str("access_token"), e.dpopKey)
		if _, err := e.sim.RevokeGrant(context.Background(), bankCode, res.str("id")); err != nil {
			t.Fatal(err)
		}
		e.refresh(tok.str("refresh_token"), e.dpopKey).wantError(t, 400, "invalid_grant")
	})
	// Someone holding a rotated-away refresh token but not its DPoP key cannot burn the family:
	// the key is checked before reuse is treated.
	t.Run("reuse with another key", func(t *testing.T) {
		tok := e.tokens()
		rt1 := tok.str("refresh_token")
		r2 := e.refresh(rt1, e.dpopKey)
		if r2.status != 200 {
			t.Fatalf("refresh: %d %v", r2.status, r2.body)
		}
		e.refresh(rt1, newKey(t)).wantError(t, 400, "invalid_grant")
		if res := e.use(r2.str("access_token"), e.dpopKey); res.status != 200 {
			t.Fatalf("the family was revoked by a caller without its key: %d %v", res.status, res.body)
		}
		if r3 := e.refresh(r2.str("refresh_token"), e.dpopKey); r3.status != 200 {
			t.Fatalf("the current refresh token after a keyless reuse: %d %v", r3.status, r3.body)
		}
	})
}
