package banksim_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"emoney/banksim"
)

// Helpers of the core half's tests (resources, webhooks, notifications, admin, legacy). Names
// start with "core" so they cannot clash with the authorization server's tests in this package.

const (
	coreBank    = "0001"
	coreAdmin   = "admin-secret-token"
	coreClient  = "emoney-wallet"
	coreSecret  = "whsec_test_secret_0123456789"
	coreAccount = "001-1234567"
	coreJWKS    = `{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}`
)

// coreClock is a settable clock.
type coreClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *coreClock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *coreClock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

// coreReceiver is the wallet operator's webhook endpoint: it verifies signatures on its clock,
// fails the first `fail` deliveries with 500, and keeps the events it accepted.
type coreReceiver struct {
	mu       sync.Mutex
	clock    *coreClock
	fail     int
	rejected int
	events   []banksim.Event
}

func (rc *coreReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if err := banksim.VerifyWebhook(coreSecret, r.Header.Get("X-Bank-Signature"), body, rc.clock.Now()); err != nil {
		rc.rejected++
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	if rc.fail > 0 {
		rc.fail--
		http.Error(w, "down", http.StatusInternalServerError)
		return
	}
	var ev banksim.Event
	if err := json.Unmarshal(body, &ev); err != nil || ev.ID != r.Header.Get("X-Bank-Event-Id") {
		http.Error(w, "bad event", http.StatusBadRequest)
		return
	}
	rc.events = append(rc.events, ev)
}

func (rc *coreReceiver) got() []banksim.Event {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]banksim.Event(nil), rc.events...)
}

// coreWorld is one simulator on a real listener with a customer, an account (¥100,000, PIN
// 4321), a registered wallet operator whose webhooks reach hooks, and two grants: "g-full" (all
// scopes; mandate payee "emoney", ¥30,000 a charge, ¥50,000 a month) and "g-holder" (holder only).
type coreWorld struct {
	t     *testing.T
	sim   *banksim.Sim
	url   string
	clock *coreClock
	hooks *coreReceiver
	admin *banksim.AdminClient
}

func newCoreWorld(t *testing.T) *coreWorld {
	t.Helper()
	return newCoreWorldWith(t, nil)
}

// newCoreWorldWith is newCoreWorld with the simulator's Config edited first (e.g. Legacy on).
func newCoreWorldWith(t *testing.T, edit func(*banksim.Config)) *coreWorld {
	t.Helper()
	clock := &coreClock{t: time.Date(2026, 11, 10, 3, 0, 0, 0, time.UTC)}
	cfg := banksim.Config{AdminToken: coreAdmin, Now: clock.Now}
	if edit != nil {
		edit(&cfg)
	}
	sim := banksim.New(cfg)
	sim.UseTestTokens()
	sim.SetWebhookBackoff(5 * time.Millisecond)
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	sim.SetBaseURL(srv.URL)
	hooks := &coreReceiver{clock: clock}
	hsrv := httptest.NewServer(hooks)
	t.Cleanup(hsrv.Close)

	if _, err := sim.AddCustomer(coreBank, banksim.NewCustomer{LoginID: "taro", Password: "pw-taro-1", NameKanji: "山田 太郎",
		HolderKana: "ﾔﾏﾀﾞ ﾀﾛｳ", BirthDate: "1990-04-01", Phone: "+819012345678"}); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.AddAccount(coreBank, "taro", "001", "1234567", "4321", 100_000); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.AddClient(coreBank, banksim.Client{ID: coreClient, Name: "emoney", JWKS: []byte(coreJWKS),
		RedirectURIs: []string{"https://wallet.example/cb"}, WebhookURL: hsrv.URL + "/hooks/bank", WebhookSecret: coreSecret}); err != nil {
		t.Fatal(err)
	}
	m := banksim.Mandate{Payee: "emoney", PerCharge: 30_000, Monthly: 50_000}
	sim.AddTestGrant(banksim.Grant{ID: "g-full", Bank: coreBank, Client: coreClient, Customer: "taro", Account: coreAccount,
		Scope: []string{"holder", "debit", "credit", "statements"}, Mandate: m, JKT: "jkt", CreatedAt: clock.Now()})
	sim.AddTestGrant(banksim.Grant{ID: "g-holder", Bank: coreBank, Client: coreClient, Customer: "taro", Account: coreAccount,
		Scope: []string{"holder"}, Mandate: m, JKT: "jkt", CreatedAt: clock.Now()})
	return &coreWorld{t: t, sim: sim, url: srv.URL, clock: clock, hooks: hooks, admin: banksim.NewAdminClient(srv.URL, coreAdmin)}
}

// coreAnswer is an HTTP answer with its JSON decoded.
type coreAnswer struct {
	Status int
	Header http.Header
	JSON   map[string]any
	Raw    string
}

// errCode is the code of a {"error":{"code"}} answer, or the error of an OAuth one.
func (a coreAnswer) errCode() string {
	switch e := a.JSON["error"].(type) {
	case map[string]any:
		s, _ := e["code"].(string)
		return s
	case string:
		return e
	}
	return ""
}

func (a coreAnswer) errField(k string) string {
	e, _ := a.JSON["error"].(map[string]any)
	s, _ := e[k].(string)
	return s
}

// do sends a request: token "" sends no Authorization, a token starting "Bearer " is sent as is,
// anything else as "DPoP <token>" (the test seam's grant id).
func (w *coreWorld) do(method, path, token, key, body string, hdr ...string) coreAnswer {
	w.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, w.url+path, rd)
	if err != nil {
		w.t.Fatal(err)
	}
	switch {
	case token == "":
	case strings.HasPrefix(token, "Bearer "):
		req.Header.Set("Authorization", token)
	default:
		req.Header.Set("Authorization", "DPoP "+token)
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := coreAnswer{Status: resp.StatusCode, Header: resp.Header, Raw: string(b)}
	if len(b) > 0 {
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			w.t.Errorf("%s %s: Content-Type %q", method, path, ct)
		}
		if err := json.Unmarshal(b, &a.JSON); err != nil {
			w.t.Fatalf("%s %s: not JSON: %s", method, path, b)
		}
	}
	return a
}

// balance reads the account's balance through the admin helper.
func (w *coreWorld) balance() int64 {
	w.t.Helper()
	st, err := w.sim.AccountStatement(coreBank, coreAccount)
	if err != nil {
		w.t.Fatal(err)
	}
	return st.Balance
}

func decodeInto(t *testing.T, raw string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(raw), v); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
}

// startSim serves sim on a real listener and returns its URL.
func startSim(t *testing.T, sim *banksim.Sim) string {
	t.Helper()
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	sim.SetBaseURL(srv.URL)
	return srv.URL
}
