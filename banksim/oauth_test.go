package banksim_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"emoney/banksim"

	"github.com/go-jose/go-jose/v4/jwt"
)

func TestMetadata(t *testing.T) {
	e := newEnv(t)
	resp, err := http.Get(e.srv.URL + "/.well-known/oauth-authorization-server/banks/" + bankCode)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil || resp.StatusCode != 200 {
		t.Fatalf("metadata: %d %v", resp.StatusCode, err)
	}
	want := map[string]any{
		"issuer":                                         e.issuer,
		"pushed_authorization_request_endpoint":          e.issuer + "/par",
		"authorization_endpoint":                         e.issuer + "/authorize",
		"token_endpoint":                                 e.issuer + "/token",
		"revocation_endpoint":                            e.issuer + "/revoke",
		"require_pushed_authorization_requests":          true,
		"authorization_response_iss_parameter_supported": true,
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %v, want %v", k, m[k], v)
		}
	}
	for k, v := range map[string]string{"code_challenge_methods_supported": "S256", "token_endpoint_auth_methods_supported": "private_key_jwt",
		"dpop_signing_alg_values_supported": "ES256", "token_endpoint_auth_signing_alg_values_supported": "ES256", "scopes_supported": "debit"} {
		if list, _ := m[k].([]any); !contains(list, v) || (k == "code_challenge_methods_supported" && len(list) != 1) {
			t.Errorf("%s = %v, want it to hold %s", k, m[k], v)
		}
	}
	resp2, err := http.Get(e.srv.URL + "/.well-known/oauth-authorization-server/banks/1234")
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if resp2.StatusCode != http.StatusNotFound {
		t.Errorf("unknown bank's metadata: %d, want 404", resp2.StatusCode)
	}
}

func contains(list []any, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// The whole way: PAR → login → SMS code → consent → code → token → a DPoP-protected resource.
func TestHappyPathSMS(t *testing.T) {
	e := newEnv(t)
	var a authz
	q := e.authorize(&a)
	if q.Get("state") != a.state || q.Get("iss") != e.issuer || q.Get("code") == "" || q.Get("error") != "" {
		t.Fatalf("callback %v: want code, state %q and iss %q", q, a.state, e.issuer)
	}
	tok := e.redeem(&a, q.Get("code"), e.dpopKey)
	if tok.status != 200 || tok.str("token_type") != "DPoP" || tok.str("access_token") == "" || tok.str("refresh_token") == "" || tok.body["expires_in"] != float64(300) {
		t.Fatalf("token: %d %v", tok.status, tok.body)
	}
	if tok.header.Get("Cache-Control") != "no-store" {
		t.Errorf("token answer Cache-Control %q, want no-store", tok.header.Get("Cache-Control"))
	}
	res := e.use(tok.str("access_token"), e.dpopKey)
	if res.status != 200 {
		t.Fatalf("resource: %d %v", res.status, res.body)
	}
	if res.str("account") != smsAccount || res.str("customer") != smsLogin || res.str("client") != clientID || res.str("jkt") != thumbprint(t, e.dpopKey) {
		t.Errorf("grant %v", res.body)
	}
	if m, _ := res.body["mandate"].(map[string]any); m["payee"] != "emoney top-up" || m["per_charge"] != float64(10000) || m["monthly"] != float64(50000) {
		t.Errorf("grant mandate %v", res.body["mandate"])
	}
	if sc, _ := res.body["scope"].([]any); len(sc) != 2 || sc[0] != "holder" || sc[1] != "debit" {
		t.Errorf("grant scope %v", res.body["scope"])
	}
	// A scope the grant lacks: 403 insufficient_scope.
	req, _ := http.NewRequest("GET", e.issuer+"/test/resource?need=credit", nil)
	req.Header.Set("Authorization", "DPoP "+tok.str("access_token"))
	req.Header.Set("DPoP", e.proof(e.dpopKey, "GET", e.issuer+"/test/resource", tok.str("access_token"), nil))
	ans := e.do(req)
	ans.wantError(t, http.StatusForbidden, "insufficient_scope")
	if ch := ans.header.Get("WWW-Authenticate"); !strings.Contains(ch, `scope="credit"`) {
		t.Errorf("insufficient_scope challenge %q", ch)
	}
}

// A TOTP customer, with the code bound by a DPoP proof on the PAR request instead of dpop_jkt.
func TestHappyPathTOTPWithDPoPAtPAR(t *testing.T) {
	e := newEnv(t)
	var a authz
	f := e.parForm(&a)
	f.Del("dpop_jkt")
	f.Set("scope", "holder statements")
	for _, k := range []string{"mandate_payee", "mandate_per_charge", "mandate_monthly"} {
		f.Del(k)
	}
	e.par(&a, f, e.proof(e.dpopKey, "POST", e.issuer+"/par", "", nil))
	if !strings.HasPrefix(a.requestURI, "urn:ietf:params:oauth:request_uri:") {
		t.Errorf("request_uri %q", a.requestURI)
	}
	cb, err := banksim.NewBrowser().Authorize(e.authorizeURL(&a), banksim.SignIn{LoginID: totpLogin, Password: password, Code: e.totpCode})
	if err != nil {
		t.Fatal(err)
	}
	if e.sim.LastSMSForTest(bankCode, "+819087654321") != "" {
		t.Error("a TOTP customer was sent an SMS code")
	}
	tok := e.redeem(&a, cb.Query().Get("code"), e.dpopKey)
	if tok.status != 200 || tok.str("scope") != "holder statements" {
		t.Fatalf("token: %d %v", tok.status, tok.body)
	}
	if res := e.use(tok.str("access_token"), e.dpopKey); res.status != 200 || res.str("customer") != totpLogin || res.str("account") != "002-1000002" {
		t.Fatalf("resource: %d %v", res.status, res.body)
	}
}

func TestPARChecks(t *testing.T) {
	e := newEnv(t)
	other := newKey(t)
	cases := []struct {
		name   string
		edit   func(url.Values)
		dpop   func() string
		status int
		code   string
	}{
		{"wrong redirect_uri", func(f url.Values) { f.Set("redirect_uri", redirect+"/x") }, nil, 400, "invalid_request"},
		{"redirect_uri prefix only", func(f url.Values) { f.Set("redirect_uri", "https://wallet.example/bank/") }, nil, 400, "invalid_request"},
		{"no PKCE", func(f url.Values) { f.Del("code_challenge"); f.Del("code_challenge_method") }, nil, 400, "invalid_request"},
		{"PKCE without method (plain by default)", func(f url.Values) { f.Del("code_challenge_method") }, nil, 400, "invalid_request"},
		{"PKCE plain", func(f url.Values) { f.Set("code_challenge_method", "plain") }, nil, 400, "invalid_request"},
		{"short challenge", func(f url.Values) { f.Set("code_challenge", "abc") }, nil, 400, "invalid_request"},
		{"no state", func(f url.Values) { f.Del("state") }, nil, 400, "invalid_request"},
		{"unknown scope", func(f url.Values) { f.Set("scope", "holder admin") }, nil, 400, "invalid_scope"},
		{"no scope", func(f url.Values) { f.Del("scope") }, nil, 400, "invalid_scope"},
		{"debit without mandate", func(f url.Values) { f.Del("mandate_monthly") }, nil, 400, "invalid_request"},
		{"monthly below per charge", func(f url.Values) { f.Set("mandate_monthly", "9999") }, nil, 400, "invalid_request"},
		{"negative cap", func(f url.Values) { f.Set("mandate_per_charge", "-1") }, nil, 400, "invalid_request"},
		{"mandate without debit", func(f url.Values) { f.Set("scope", "holder") }, nil, 400, "invalid_request"},
		{"no DPoP binding", func(f url.Values) { f.Del("dpop_jkt") }, nil, 400, "invalid_request"},
		{"dpop_jkt not a thumbprint", func(f url.Values) { f.Set("dpop_jkt", "not-a-thumbprint") }, nil, 400, "invalid_request"},
		{"dpop_jkt and proof disagree", nil, func() string { return e.proof(other, "POST", e.issuer+"/par", "", nil) }, 400, "invalid_dpop_proof"},
		{"response_type token", func(f url.Values) { f.Set("response_type", "token") }, nil, 400, "unsupported_response_type"},
		{"request_uri pushed", func(f url.Values) { f.Set("request_uri", "urn:x") }, nil, 400, "invalid_request"},
		{"client_id not the assertion's", func(f url.Values) { f.Set("client_id", "other") }, nil, 401, "invalid_client"},
		{"no client authentication", func(f url.Values) { f.Del("client_assertion") }, nil, 401, "invalid_client"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var a authz
			f := e.parForm(&a)
			if c.edit != nil {
				c.edit(f)
			}
			dpop := ""
			if c.dpop != nil {
				dpop = c.dpop()
			}
			e.post("/par", f, dpop).wantError(t, c.status, c.code)
		})
	}
	var a authz
	ans := e.post("/par", e.parForm(&a), "")
	if ans.status != http.StatusCreated || ans.body["expires_in"] != float64(60) {
		t.Errorf("PAR: %d %v, want 201 with expires_in 60", ans.status, ans.body)
	}
}

func TestClientAssertion(t *testing.T) {
	e := newEnv(t)
	stranger := newKey(t)
	cases := []struct {
		name string
		key  func() string
	}{
		{"signed by another key", func() string { return e.assertion(stranger, nil) }},
		{"wrong aud", func() string {
			return e.assertion(e.clientKey, func(c *jwt.Claims) { c.Audience = jwt.Audience{e.srv.URL + "/banks/9900"} })
		}},
		{"expired", func() string {
			return e.assertion(e.clientKey, func(c *jwt.Claims) { c.Expiry = jwt.NewNumericDate(e.clock.Now().Add(-time.Second)) })
		}},
		{"exp too far", func() string {
			return e.assertion(e.clientKey, func(c *jwt.Claims) { c.Expiry = jwt.NewNumericDate(e.clock.Now().Add(time.Hour)) })
		}},
		{"no exp", func() string { return e.assertion(e.clientKey, func(c *jwt.Claims) { c.Expiry = nil }) }},
		{"no jti", func() string { return e.assertion(e.clientKey, func(c *jwt.Claims) { c.ID = "" }) }},
		{"sub not the client", func() string { return e.assertion(e.clientKey, func(c *jwt.Claims) { c.Subject = "someone" }) }},
		{"unknown client", func() string {
			return e.assertion(e.clientKey, func(c *jwt.Claims) { c.Issuer, c.Subject = "nobody", "nobody" })
		}},
		{"not a JWT", func() string { return "not.a.jwt" }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var a authz
			f := e.parForm(&a)
			f.Set("client_assertion", c.key())
			ans := e.post("/par", f, "")
			ans.wantError(t, http.StatusUnauthorized, "invalid_client")
		})
	}
	t.Run("replayed jti", func(t *testing.T) {
		var a authz
		f := e.parForm(&a)
		if ans := e.post("/par", f, ""); ans.status != http.StatusCreated {
			t.Fatalf("first use: %d %v", ans.status, ans.body)
		}
		e.post("/par", f, "").wantError(t, http.StatusUnauthorized, "invalid_client")
	})
	t.Run("aud the endpoint URL", func(t *testing.T) {
		var a authz
		f := e.parForm(&a)
		f.Set("client_assertion", e.assertion(e.clientKey, func(c *jwt.Claims) { c.Audience = jwt.Audience{e.issuer + "/par"} }))
		if ans := e.post("/par", f, ""); ans.status != http.StatusCreated {
			t.Fatalf("aud = PAR endpoint: %d %v", ans.status, ans.body)
		}
	})
	t.Run("bad assertion at the token endpoint", func(t *testing.T) {
		var a authz
		q := e.authorize(&a)
		f := url.Values{"client_assertion_type": {banksim.ClientAssertionType}, "client_assertion": {e.assertion(stranger, nil)},
			"grant_type": {"authorization_code"}, "code": {q.Get("code")}, "code_verifier": {a.verifier}, "redirect_uri": {redirect}}
		e.post("/token", f, e.proof(e.dpopKey, "POST", e.issuer+"/token", "", nil)).wantError(t, http.StatusUnauthorized, "invalid_client")
	})
}

func TestWrongCodeVerifier(t *testing.T) {
	e := newEnv(t)
	var a authz
	q := e.authorize(&a)
	right := a.verifier
	a.verifier = strings.Repeat("A", 43)
	e.redeem(&a, q.Get("code"), e.dpopKey).wantError(t, 400, "invalid_grant")
	// The code had its one chance: the right verifier does not rescue it.
	a.verifier = right
	e.redeem(&a, q.Get("code"), e.dpopKey).wantError(t, 400, "invalid_grant")
}

func TestReplayedCodeRevokesTokens(t *testing.T) {
	e := newEnv(t)
	var a authz
	q := e.authorize(&a)
	tok := e.redeem(&a, q.Get("code"), e.dpopKey)
	if tok.status != 200 {
		t.Fatalf("token: %d %v", tok.status, tok.body)
	}
	if res := e.use(tok.str("access_token"), e.dpopKey); res.status != 200 {
		t.Fatalf("resource before the replay: %d", res.status)
	}
	e.redeem(&a, q.Get("code"), e.dpopKey).wantError(t, 400, "invalid_grant")
	e.use(tok.str("access_token"), e.dpopKey).wantTokenError(t, "invalid_token")
	e.refresh(tok.str("refresh_token"), e.dpopKey).wantError(t, 400, "invalid_grant")
}

func TestCodeChecksAtTheTokenEndpoint(t *testing.T) {
	e := newEnv(t)
	t.Run("wrong redirect_uri", func(t *testing.T) {
		var a authz
		q := e.authorize(&a)
		f := e.clientAuth()
		for k, v := range map[string]string{"grant_type": "authorization_code", "code": q.Get("code"), "code_verifier": a.verifier, "redirect_uri": "https://evil.example/cb"} {
			f.Set(k, v)
		}
		e.post("/token", f, e.proof(e.dpopKey, "POST", e.issuer+"/token", "", nil)).wantError(t, 400, "invalid_grant")
	})
	t.Run("another DPoP key than the code's", func(t *testing.T) {
		var a authz
		q := e.authorize(&a)
		e.redeem(&a, q.Get("code"), newKey(t)).wantError(t, 400, "invalid_grant")
	})
	t.Run("no DPoP proof", func(t *testing.T) {
		var a authz
		q := e.authorize(&a)
		f := e.clientAuth()
		for k, v := range map[string]string{"grant_type": "authorization_code", "code": q.Get("code"), "code_verifier": a.verifier, "redirect_uri": redirect} {
			f.Set(k, v)
		}
		e.post("/token", f, "").wantError(t, 400, "invalid_dpop_proof")
	})
	t.Run("expired code", func(t *testing.T) {
		var a authz
		q := e.authorize(&a)
		e.clock.Advance(banksim.CodeTTL + time.Second)
		e.redeem(&a, q.Get("code"), e.dpopKey).wantError(t, 400, "invalid_grant")
	})
	t.Run("unknown grant_type", func(t *testing.T) {
		f := e.clientAuth()
		f.Set("grant_type", "password")
		e.post("/token", f, e.proof(e.dpopKey, "POST", e.issuer+"/token", "", nil)).wantError(t, 400, "unsupported_grant_type")
	})
}

func TestAccessTokenNeedsItsDPoPKey(t *testing.T) {
	e := newEnv(t)
	tok := e.tokens()
	at := tok.str("access_token")
	u := e.issuer + "/test/resource"
	e.resource("Bearer", at, "").wantTokenError(t, "invalid_token")
	e.resource("Bearer", at, e.proof(e.dpopKey, "GET", u, at, nil)).wantTokenError(t, "invalid_token")
	e.resource("DPoP", at, "").wantTokenError(t, "invalid_dpop_proof")
	e.use(at, newKey(t)).wantTokenError(t, "invalid_token")
	e.resource("DPoP", at, e.proof(e.dpopKey, "POST", u, at, nil)).wantTokenError(t, "invalid_dpop_proof")
	e.resource("DPoP", at, e.proof(e.dpopKey, "GET", e.issuer+"/token", at, nil)).wantTokenError(t, "invalid_dpop_proof")
	e.resource("DPoP", at, e.proof(e.dpopKey, "GET", u, "another token", nil)).wantTokenError(t, "invalid_dpop_proof")
	e.resource("DPoP", at, e.proof(e.dpopKey, "GET", u, "", nil)).wantTokenError(t, "invalid_dpop_proof")
	old := func(c map[string]any) { c["iat"] = e.clock.Now().Add(-banksim.DPoPWindow - time.Second).Unix() }
	e.resource("DPoP", at, e.proof(e.dpopKey, "GET", u, at, old)).wantTokenError(t, "invalid_dpop_proof")
	e.resource("DPoP", "made-up", e.proof(e.dpopKey, "GET", u, "made-up", nil)).wantTokenError(t, "invalid_token")
	// No credentials at all: a challenge without an error code (RFC 6750 §3.1).
	if ans := e.resource("DPoP", "", ""); ans.status != 401 || strings.Contains(ans.header.Get("WWW-Authenticate"), "error=") || !strings.HasPrefix(ans.header.Get("WWW-Authenticate"), "DPoP ") {
		t.Errorf("no credentials: %d %q", ans.status, ans.header.Get("WWW-Authenticate"))
	}
	// A token of bank 0001 is nothing at bank 9900.
	req, _ := http.NewRequest("GET", e.srv.URL+"/banks/9900/test/resource", nil)
	req.Header.Set("Authorization", "DPoP "+at)
	req.Header.Set("DPoP", e.proof(e.dpopKey, "GET", e.srv.URL+"/banks/9900/test/resource", at, nil))
	e.do(req).wantTokenError(t, "invalid_token")
	// The right way still works, and the same proof cannot be played twice.
	p := e.proof(e.dpopKey, "GET", u, at, nil)
	if res := e.resource("DPoP", at, p); res.status != 200 {
		t.Fatalf("proper use: %d %v", res.status, res.body)
	}
	e.resource("DPoP", at, p).wantTokenError(t, "invalid_dpop_proof")
	// And the token dies after its lifetime.
	e.clock.Advance(banksim.AccessTokenTTL + time.Second)
	e.use(at, e.dpopKey).wantTokenError(t, "invalid_token")
}

func TestDPoPProofReplayAtTokenEndpoint(t *testing.T) {
	e := newEnv(t)
	tok := e.tokens()
	p := e.proof(e.dpopKey, "POST", e.issuer+"/token", "", nil)
	f := e.clientAuth()
	f.Set("grant_type", "refresh_token")
	f.Set("refresh_token", tok.str("refresh_token"))
	if ans := e.post("/token", f, p); ans.status != 200 {
		t.Fatalf("refresh: %d %v", ans.status, ans.body)
	}
	f.Set("client_assertion", e.assertion(e.clientKey, nil))
	e.post("/token", f, p).wantError(t, 400, "invalid_dpop_proof")
	// A proof with the wrong typ, well signed, is not a DPoP proof.
	bad := rawJWS(t, map[string]any{"typ": "JWT", "alg": "ES256", "jwk": publicJWK(t, e.dpopKey)},
		map[string]any{"jti": e.jti(), "htm": "POST", "htu": e.issuer + "/par", "iat": e.clock.Now().Unix()}, e.dpopKey)
	var a authz
	pf := e.parForm(&a)
	pf.Del("dpop_jkt")
	e.post("/par", pf, bad).wantError(t, 400, "invalid_dpop_proof")
	// The same proof with typ dpop+jwt binds the code.
	good := rawJWS(t, map[string]any{"typ": "dpop+jwt", "alg": "ES256", "jwk": publicJWK(t, e.dpopKey)},
		map[string]any{"jti": e.jti(), "htm": "POST", "htu": e.issuer + "/par", "iat": e.clock.Now().Unix()}, e.dpopKey)
	pf = e.parForm(&a)
	pf.Del("dpop_jkt")
	if ans := e.post("/par", pf, good); ans.status != http.StatusCreated {
		t.Errorf("the same proof with typ dpop+jwt: %d %v", ans.status, ans.body)
	}
}

func TestRefreshRotationAndReuse(t *testing.T) {
	e := newEnv(t)
	tok := e.tokens()
	rt1 := tok.str("refresh_token")
	e.refresh(rt1, newKey(t)).wantError(t, 400, "invalid_grant") // another key
	r2 := e.refresh(rt1, e.dpopKey)
	if r2.status != 200 || r2.str("refresh_token") == rt1 || r2.str("access_token") == tok.str("access_token") || r2.str("token_type") != "DPoP" {
		t.Fatalf("refresh: %d %v", r2.status, r2.body)
	}
	if res := e.use(r2.str("access_token"), e.dpopKey); res.status != 200 {
		t.Fatalf("refreshed access token: %d", res.status)
	}
	// The old refresh token comes back: someone has a copy, so the whole family goes.
	e.refresh(rt1, e.dpopKey).wantError(t, 400, "invalid_grant")
	e.refresh(r2.str("refresh_token"), e.dpopKey).wantError(t, 400, "invalid_grant")
	e.use(r2.str("access_token"), e.dpopKey).wantTokenError(t, "invalid_token")
	e.use(tok.str("access_token"), e.dpopKey).wantTokenError(t, "invalid_token")
}

func TestRevocation(t *testing.T) {
	e := newEnv(t)
	revoke := func(token string) answer {
		f := e.clientAuth()
		f.Set("token", token)
		return e.post("/revoke", f, "")
	}
	t.Run("access token", func(t *testing.T) {
		tok := e.tokens()
		if ans := revoke(tok.str("access_token")); ans.status != 200 {
			t.Fatalf("revoke: %d %v", ans.status, ans.body)
		}
		e.use(tok.str("access_token"), e.dpopKey).wantTokenError(t, "invalid_token")
		if r := e.refresh(tok.str("refresh_token"), e.dpopKey); r.status != 200 {
			t.Errorf("refresh after revoking only the access token: %d %v", r.status, r.body)
		}
	})
	t.Run("refresh token revokes its family", func(t *testing.T) {
		tok := e.tokens()
		if ans := revoke(tok.str("refresh_token")); ans.status != 200 {
			t.Fatalf("revoke: %d %v", ans.status, ans.body)
		}
		e.refresh(tok.str("refresh_token"), e.dpopKey).wantError(t, 400, "invalid_grant")
		e.use(tok.str("access_token"), e.dpopKey).wantTokenError(t, "invalid_token")
	})
	t.Run("unknown token", func(t *testing.T) {
		if ans := revoke("no-such-token"); ans.status != 200 {
			t.Errorf("unknown token: %d, want 200 (RFC 7009 §2.2)", ans.status)
		}
	})
	t.Run("needs client authentication", func(t *testing.T) {
		tok := e.tokens()
		e.post("/revoke", url.Values{"token": {tok.str("access_token")}}, "").wantError(t, 401, "invalid_client")
		if res := e.use(tok.str("access_token"), e.dpopKey); res.status != 200 {
			t.Errorf("an unauthenticated revocation revoked: %d", res.status)
		}
	})
}

func TestAuthorizationEndpoint(t *testing.T) {
	e := newEnv(t)
	t.Run("without PAR", func(t *testing.T) {
		p, err := banksim.NewBrowser().Get(e.issuer + "/authorize?" + url.Values{"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {redirect}, "state": {"s"}}.Encode())
		if err != nil {
			t.Fatal(err)
		}
		if p.Status != 400 || p.Name != "error" || p.Error != "invalid_request" || len(p.Forms) != 0 {
			t.Errorf("authorize without PAR: %d %s %s", p.Status, p.Name, p.Error)
		}
	})
	t.Run("expired request_uri", func(t *testing.T) {
		var a authz
		e.par(&a, e.parForm(&a), "")
		e.clock.Advance(banksim.RequestURITTL + time.Second)
		p, err := banksim.NewBrowser().Get(e.authorizeURL(&a))
		if err != nil {
			t.Fatal(err)
		}
		if p.Status != 400 || p.Error != "invalid_request_uri" || len(p.Forms) != 0 {
			t.Errorf("expired request_uri: %d %s %s", p.Status, p.Name, p.Error)
		}
	})
	t.Run("request_uri is single use", func(t *testing.T) {
		var a authz
		e.par(&a, e.parForm(&a), "")
		if p, err := banksim.NewBrowser().Get(e.authorizeURL(&a)); err != nil || p.Name != "login" {
			t.Fatalf("first use: %v %+v", err, p)
		}
		p, err := banksim.NewBrowser().Get(e.authorizeURL(&a))
		if err != nil || p.Error != "invalid_request_uri" {
			t.Errorf("second use: %v %s", err, p.Error)
		}
	})
	t.Run("client_id of another client", func(t *testing.T) {
		var a authz
		e.par(&a, e.parForm(&a), "")
		p, err := banksim.NewBrowser().Get(e.issuer + "/authorize?" + url.Values{"client_id": {"other"}, "request_uri": {a.requestURI}}.Encode())
		if err != nil || p.Error != "invalid_request" {
			t.Errorf("other client_id: %v %s", err, p.Error)
		}
	})
}

// The consent page names the wallet, the scopes, the caps and the customer's accounts, and a
// form without its anti-CSRF token or cookie goes nowhere.
func TestPages(t *testing.T) {
	e := newEnv(t)
	var a authz
	e.par(&a, e.parForm(&a), "")
	br := banksim.NewBrowser()
	login, err := br.Get(e.authorizeURL(&a))
	if err != nil || login.Name != "login" || !strings.Contains(login.Body, clientName) {
		t.Fatalf("login page: %v %+v", err, login)
	}
	f := login.Forms["login"]
	if f == nil || f.Fields.Get("csrf") == "" {
		t.Fatalf("login form %+v", f)
	}
	// Without the cookie (another browser) and with a forged token, the form is refused.
	if p, _ := banksim.NewBrowser().Submit(f, url.Values{"login_id": {smsLogin}, "password": {password}}); p.Error != "session_expired" {
		t.Errorf("form from another browser: %s %s", p.Name, p.Error)
	}
	if p, _ := br.Submit(f, url.Values{"login_id": {smsLogin}, "password": {password}, "csrf": {"forged"}}); p.Error != "session_expired" {
		t.Errorf("forged csrf: %s %s", p.Name, p.Error)
	}
	p, err := br.Submit(f, url.Values{"login_id": {smsLogin}, "password": {"wrong"}})
	if err != nil || p.Name != "login" || p.Error != "wrong_password" {
		t.Fatalf("wrong password: %v %s %s", err, p.Name, p.Error)
	}
	if e.sim.LastSMSForTest(bankCode, smsPhone) != "" {
		t.Fatal("an SMS code was sent before the password was right")
	}
	code, err := br.Submit(p.Forms["login"], url.Values{"login_id": {smsLogin}, "password": {password}})
	if err != nil || code.Name != "code" || !strings.Contains(code.Body, "5678") || code.Forms["resend"] == nil {
		t.Fatalf("code page: %v %+v", err, code)
	}
	if e.sim.LastSMSForTest(bankCode, smsPhone) == "" {
		t.Fatal("no SMS code sent")
	}
	if p, _ := br.Submit(code.Forms["resend"], nil); p.Name != "code" || p.Error != "" {
		t.Errorf("resend: %s %s", p.Name, p.Error)
	}
	sms, _ := e.smsCode()
	consent, err := br.Submit(code.Forms["code"], url.Values{"code": {sms}})
	if err != nil || consent.Name != "consent" {
		t.Fatalf("consent page: %v %+v", err, consent)
	}
	for _, want := range []string{clientName, "emoney top-up", "¥10,000", "¥50,000", `data-scope="holder"`, `data-scope="debit"`} {
		if !strings.Contains(consent.Body, want) {
			t.Errorf("consent page lacks %q", want)
		}
	}
	cf := consent.Forms["consent"]
	if got := strings.Join(cf.Choices["account"], ","); got != "001-1234567,001-7654321" {
		t.Errorf("accounts offered: %s", got)
	}
	// An account that is not the customer's.
	if p, _ := br.Submit(cf, url.Values{"decision": {"allow"}, "account": {"002-1000002"}}); p.Error != "choose_account" {
		t.Errorf("someone else's account: %s %s", p.Name, p.Error)
	}
	done, err := br.Submit(cf, url.Values{"decision": {"allow"}, "account": {"001-7654321"}})
	if err != nil || done.Location == nil || done.Status != http.StatusSeeOther {
		t.Fatalf("consent: %v %+v", err, done)
	}
	if got := done.Location.Scheme + "://" + done.Location.Host + done.Location.Path; got != redirect {
		t.Errorf("redirected to %s, want exactly %s", got, redirect)
	}
	tok := e.redeem(&a, done.Location.Query().Get("code"), e.dpopKey)
	if res := e.use(tok.str("access_token"), e.dpopKey); res.str("account") != "001-7654321" {
		t.Errorf("grant for %v, want the chosen account", res.body)
	}
	// The flow is over: its forms are dead.
	if p, _ := br.Submit(cf, url.Values{"decision": {"allow"}}); p.Error != "session_expired" {
		t.Errorf("consent form after the flow ended: %s %s", p.Name, p.Error)
	}
}

func TestConsentDenied(t *testing.T) {
	e := newEnv(t)
	var a authz
	e.par(&a, e.parForm(&a), "")
	cb, err := banksim.NewBrowser().Authorize(e.authorizeURL(&a), banksim.SignIn{LoginID: smsLogin, Password: password, Code: e.smsCode, Deny: true})
	if err != nil {
		t.Fatal(err)
	}
	q := cb.Query()
	if q.Get("error") != "access_denied" || q.Get("state") != a.state || q.Get("iss") != e.issuer || q.Get("code") != "" {
		t.Errorf("denial callback %v", q)
	}
	if n := e.sim.GrantsForTest(bankCode); n != 0 {
		t.Errorf("%d grants after a denial", n)
	}
}

func TestLockoutAfterFiveWrongCodes(t *testing.T) {
	e := newEnv(t)
	start := func() (*banksim.Browser, *banksim.Page) {
		var a authz
		e.par(&a, e.parForm(&a), "")
		br := banksim.NewBrowser()
		login, err := br.Get(e.authorizeURL(&a))
		if err != nil {
			t.Fatal(err)
		}
		p, err := br.Submit(login.Forms["login"], url.Values{"login_id": {totpLogin}, "password": {password}})
		if err != nil {
			t.Fatal(err)
		}
		return br, p
	}
	br, p := start()
	right, _ := e.totpCode()
	wrong := "000000"
	if right == wrong {
		wrong = "111111"
	}
	for i := 1; i < banksim.MaxWrongCodes; i++ {
		if p.Name != "code" {
			t.Fatalf("attempt %d: page %s %s", i, p.Name, p.Error)
		}
		p, _ = br.Submit(p.Forms["code"], url.Values{"code": {wrong}})
		if p.Error != "wrong_code" {
			t.Fatalf("wrong code %d: %s %s", i, p.Name, p.Error)
		}
	}
	p, _ = br.Submit(p.Forms["code"], url.Values{"code": {wrong}})
	if p.Status != http.StatusForbidden || p.Error != "locked" || len(p.Forms) != 0 {
		t.Fatalf("fifth wrong code: %d %s %s", p.Status, p.Name, p.Error)
	}
	// Locked: even the right password and a right code get nowhere.
	_, p = start()
	if p.Error != "locked" || len(p.Forms) != 0 {
		t.Fatalf("locked customer after the password: %s %s", p.Name, p.Error)
	}
	if err := e.sim.Unlock(bankCode, totpLogin); err != nil {
		t.Fatal(err)
	}
	br, p = start()
	if p.Name != "code" {
		t.Fatalf("after unlock: %s %s", p.Name, p.Error)
	}
	if p, _ = br.Submit(p.Forms["code"], url.Values{"code": {right}}); p.Name != "consent" {
		t.Errorf("right code after unlock: %s %s", p.Name, p.Error)
	}
}

func TestTooManyWrongPasswordsEndTheFlow(t *testing.T) {
	e := newEnv(t)
	var a authz
	e.par(&a, e.parForm(&a), "")
	br := banksim.NewBrowser()
	p, err := br.Get(e.authorizeURL(&a))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		f := p.Forms["login"]
		if f == nil {
			t.Fatalf("attempt %d: no login form on %s %s", i, p.Name, p.Error)
		}
		p, _ = br.Submit(f, url.Values{"login_id": {smsLogin}, "password": {"guess"}})
	}
	if p.Error != "too_many_attempts" || len(p.Forms) != 0 {
		t.Errorf("after five wrong passwords: %s %s", p.Name, p.Error)
	}
}

func TestRegisterClient(t *testing.T) {
	e := newEnv(t)
	good := banksim.Client{ID: "w2", Name: "Wallet 2", JWKS: jwks(t, newKey(t), "a"), RedirectURIs: []string{"https://w2.example/cb"}}
	if err := e.sim.RegisterClient("9999", good); err == nil {
		t.Error("unknown bank accepted")
	}
	for name, edit := range map[string]func(*banksim.Client){
		"no id":            func(c *banksim.Client) { c.ID = "" },
		"relative URI":     func(c *banksim.Client) { c.RedirectURIs = []string{"/cb"} },
		"URI fragment":     func(c *banksim.Client) { c.RedirectURIs = []string{"https://w2.example/cb#x"} },
		"no redirect URIs": func(c *banksim.Client) { c.RedirectURIs = nil },
		"bad JWKS":         func(c *banksim.Client) { c.JWKS = []byte(`{"keys":"x"}`) },
	} {
		c := good
		edit(&c)
		if err := e.sim.RegisterClient(bankCode, c); err == nil || !strings.Contains(err.Error(), "invalid client") {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := e.sim.RegisterClient(bankCode, good); err != nil {
		t.Error(err)
	}
}
