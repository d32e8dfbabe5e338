package banksim_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"emoney/banksim"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/pquerna/otp/totp"
)

// clock is the simulator's fake clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

const (
	bankCode   = "0001"
	clientID   = "emoney-wallet"
	clientName = "emoney Wallet"
	redirect   = "https://wallet.example/bank/callback"
	smsLogin   = "hanako"
	smsPhone   = "+819012345678"
	totpLogin  = "taro"
	password   = "correct horse battery"
	smsAccount = "001-1234567"
)

// env is a simulator on an httptest server with one registered wallet and two customers: an
// SMS customer (smsLogin, account smsAccount) and a TOTP customer (totpLogin).
type env struct {
	t          *testing.T
	sim        *banksim.Sim
	srv        *httptest.Server
	clock      *clock
	issuer     string
	clientKey  *ecdsa.PrivateKey
	dpopKey    *ecdsa.PrivateKey
	totpSecret string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ck := &clock{t: time.Date(2026, 11, 5, 1, 0, 0, 0, time.UTC)}
	sim := banksim.New(banksim.Config{Now: ck.Now, Banks: []banksim.BankInfo{{Code: bankCode, Name: "Sakura City Bank", Kind: "city"}, {Code: "9900", Name: "Post", Kind: "postal"}}})
	srv := httptest.NewServer(sim.HandlerWithTestResource())
	t.Cleanup(srv.Close)
	sim.SetBaseURL(srv.URL)
	e := &env{t: t, sim: sim, srv: srv, clock: ck, issuer: sim.Issuer(bankCode), clientKey: newKey(t), dpopKey: newKey(t)}
	if err := sim.RegisterClient(bankCode, banksim.Client{ID: clientID, Name: clientName, JWKS: jwks(t, e.clientKey, "k1"), RedirectURIs: []string{redirect}}); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.AddCustomer(bankCode, banksim.NewCustomer{LoginID: smsLogin, Password: password, NameKanji: "山田花子", HolderKana: "ﾔﾏﾀﾞ ﾊﾅｺ", BirthDate: "1990-04-01", Phone: smsPhone}); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.AddAccount(bankCode, smsLogin, "001", "1234567", "1234", 50000); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.AddAccount(bankCode, smsLogin, "001", "7654321", "1234", 0); err != nil {
		t.Fatal(err)
	}
	c, err := sim.AddCustomer(bankCode, banksim.NewCustomer{LoginID: totpLogin, Password: password, NameKanji: "鈴木太郎", HolderKana: "ｽｽﾞｷ ﾀﾛｳ", BirthDate: "1985-12-24", Phone: "+819087654321", TOTP: true})
	if err != nil {
		t.Fatal(err)
	}
	e.totpSecret = c.TOTPSecret
	if _, err := sim.AddAccount(bankCode, totpLogin, "002", "", "1234", 1000); err != nil {
		t.Fatal(err)
	}
	return e
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func jwks(t *testing.T, k *ecdsa.PrivateKey, kid string) []byte {
	t.Helper()
	b, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &k.PublicKey, KeyID: kid, Algorithm: "ES256", Use: "sig"}}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func thumbprint(t *testing.T, k *ecdsa.PrivateKey) string {
	t.Helper()
	tp, err := (&jose.JSONWebKey{Key: &k.PublicKey}).Thumbprint(crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(tp)
}

func (e *env) jti() string { return base64.RawURLEncoding.EncodeToString(randomN(e.t, 12)) }

// assertionClaims are a client assertion's claims, editable by a test before signing.
type assertionClaims = jwt.Claims

// assertion is a private_key_jwt client assertion signed by key (kid k1) for aud.
func (e *env) assertion(key *ecdsa.PrivateKey, edit func(*assertionClaims)) string {
	e.t.Helper()
	now := e.clock.Now()
	c := assertionClaims{Issuer: clientID, Subject: clientID, Audience: jwt.Audience{e.issuer}, ID: e.jti(),
		IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(time.Minute))}
	if edit != nil {
		edit(&c)
	}
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: "k1"}}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		e.t.Fatal(err)
	}
	s, err := jwt.Signed(sig).Claims(c).Serialize()
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

// proof is a DPoP proof by key for method and URL; token, if set, is hashed into ath.
func (e *env) proof(key *ecdsa.PrivateKey, method, u, token string, edit func(map[string]any)) string {
	e.t.Helper()
	c := map[string]any{"jti": e.jti(), "htm": method, "htu": u, "iat": e.clock.Now().Unix()}
	if token != "" {
		h := sha256.Sum256([]byte(token))
		c["ath"] = base64.RawURLEncoding.EncodeToString(h[:])
	}
	if edit != nil {
		edit(c)
	}
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, (&jose.SignerOptions{EmbedJWK: true}).WithType("dpop+jwt"))
	if err != nil {
		e.t.Fatal(err)
	}
	payload, _ := json.Marshal(c)
	jws, err := sig.Sign(payload)
	if err != nil {
		e.t.Fatal(err)
	}
	s, err := jws.CompactSerialize()
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

// answer is an HTTP answer with its JSON body.
type answer struct {
	status int
	header http.Header
	body   map[string]any
}

func (a answer) str(k string) string { s, _ := a.body[k].(string); return s }

// wantError fails unless the answer is status with OAuth error code.
func (a answer) wantError(t *testing.T, status int, code string) {
	t.Helper()
	if a.status != status || a.str("error") != code {
		t.Fatalf("answer %d %v, want %d error %q", a.status, a.body, status, code)
	}
	if a.str("error_description") == "" {
		t.Errorf("error %s has no error_description", code)
	}
}

func (e *env) do(req *http.Request) answer {
	e.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	a := answer{status: resp.StatusCode, header: resp.Header}
	_ = json.NewDecoder(resp.Body).Decode(&a.body)
	return a
}

// post posts a form to the bank's endpoint (e.g. "/token") with an optional DPoP proof.
func (e *env) post(endpoint string, form url.Values, dpop string) answer {
	e.t.Helper()
	req, err := http.NewRequest("POST", e.issuer+endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if dpop != "" {
		req.Header.Set("DPoP", dpop)
	}
	return e.do(req)
}

// clientAuth is a form with a fresh client assertion for the issuer.
func (e *env) clientAuth() url.Values {
	return url.Values{"client_assertion_type": {banksim.ClientAssertionType}, "client_assertion": {e.assertion(e.clientKey, nil)}}
}

// authz is one authorization in progress.
type authz struct {
	verifier, state, requestURI string
}

// parForm is a valid PAR form for the debit+holder scopes, bound by dpop_jkt to e.dpopKey.
func (e *env) parForm(a *authz) url.Values {
	a.verifier = base64.RawURLEncoding.EncodeToString(randomN(e.t, 32))
	a.state = base64.RawURLEncoding.EncodeToString(randomN(e.t, 16))
	h := sha256.Sum256([]byte(a.verifier))
	f := e.clientAuth()
	for k, v := range map[string]string{"response_type": "code", "client_id": clientID, "redirect_uri": redirect, "state": a.state,
		"code_challenge": base64.RawURLEncoding.EncodeToString(h[:]), "code_challenge_method": "S256", "scope": "holder debit",
		"mandate_payee": "emoney top-up", "mandate_per_charge": "10000", "mandate_monthly": "50000", "dpop_jkt": thumbprint(e.t, e.dpopKey)} {
		f.Set(k, v)
	}
	return f
}

func randomN(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// par pushes form (from parForm, maybe edited) and returns the request_uri.
func (e *env) par(a *authz, form url.Values, dpop string) {
	e.t.Helper()
	ans := e.post("/par", form, dpop)
	if ans.status != http.StatusCreated {
		e.t.Fatalf("PAR: %d %v", ans.status, ans.body)
	}
	a.requestURI = ans.str("request_uri")
}

func (e *env) authorizeURL(a *authz) string {
	return e.issuer + "/authorize?" + url.Values{"client_id": {clientID}, "request_uri": {a.requestURI}}.Encode()
}

// smsCode reads the SMS customer's latest code from the bank's outbox.
func (e *env) smsCode() (string, error) { return e.sim.LastSMSForTest(bankCode, smsPhone), nil }

func (e *env) totpCode() (string, error) { return totp.GenerateCode(e.totpSecret, e.clock.Now()) }

// authorize runs PAR and the pages for the SMS customer, allowing, and returns the callback's
// query.
func (e *env) authorize(a *authz) url.Values {
	e.t.Helper()
	e.par(a, e.parForm(a), "")
	cb, err := banksim.NewBrowser().Authorize(e.authorizeURL(a), banksim.SignIn{LoginID: smsLogin, Password: password, Code: e.smsCode, Account: smsAccount})
	if err != nil {
		e.t.Fatal(err)
	}
	return cb.Query()
}

// redeem exchanges a code at the token endpoint with a DPoP proof by key.
func (e *env) redeem(a *authz, code string, key *ecdsa.PrivateKey) answer {
	e.t.Helper()
	f := e.clientAuth()
	f.Set("grant_type", "authorization_code")
	f.Set("code", code)
	f.Set("code_verifier", a.verifier)
	f.Set("redirect_uri", redirect)
	return e.post("/token", f, e.proof(key, "POST", e.issuer+"/token", "", nil))
}

func (e *env) refresh(rt string, key *ecdsa.PrivateKey) answer {
	e.t.Helper()
	f := e.clientAuth()
	f.Set("grant_type", "refresh_token")
	f.Set("refresh_token", rt)
	return e.post("/token", f, e.proof(key, "POST", e.issuer+"/token", "", nil))
}

// tokens runs a whole authorization and returns the token answer.
func (e *env) tokens() answer {
	e.t.Helper()
	var a authz
	q := e.authorize(&a)
	ans := e.redeem(&a, q.Get("code"), e.dpopKey)
	if ans.status != http.StatusOK {
		e.t.Fatalf("token: %d %v", ans.status, ans.body)
	}
	return ans
}

// resource calls the resource-shaped test endpoint with an access token (scheme "DPoP" or
// "Bearer") and a DPoP proof ("" for none).
func (e *env) resource(scheme, token, proof string) answer {
	e.t.Helper()
	req, err := http.NewRequest("GET", e.issuer+"/test/resource", nil)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", scheme+" "+token)
	}
	if proof != "" {
		req.Header.Set("DPoP", proof)
	}
	return e.do(req)
}

// use calls the resource properly: the DPoP scheme and a proof by key.
func (e *env) use(token string, key *ecdsa.PrivateKey) answer {
	e.t.Helper()
	return e.resource("DPoP", token, e.proof(key, "GET", e.issuer+"/test/resource", token, nil))
}

// wantTokenError fails unless a resource answer is 401 with a DPoP challenge naming code.
func (a answer) wantTokenError(t *testing.T, code string) {
	t.Helper()
	a.wantError(t, http.StatusUnauthorized, code)
	if ch := a.header.Get("WWW-Authenticate"); !strings.HasPrefix(ch, "DPoP ") || !strings.Contains(ch, `error="`+code+`"`) {
		t.Errorf("WWW-Authenticate %q, want a DPoP challenge with error=%q", ch, code)
	}
}
