package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the server goroutine to write and the test to read.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// startServer runs `emoney serve` on a free port, waits for its URL and returns it with a stop
// function that sends what SIGTERM sends (ctx cancellation) and returns run's error.
func startServer(t *testing.T, args ...string) (string, func() error) {
	t.Helper()
	return startServerOn(t, filepath.Join(t.TempDir(), "emoney.db"), args...)
}

// startServerOn is startServer on the SQLite database at path.
func startServerOn(t *testing.T, path string, args ...string) (string, func() error) {
	t.Helper()
	base, stop, _ := startServerLogged(t, path, args...)
	return base, stop
}

// startServerLogged is startServerOn that also gives what the server writes to stderr (its log,
// and in development mode the simulated SMS messages).
func startServerLogged(t *testing.T, path string, args ...string) (string, func() error, *syncBuffer) {
	t.Helper()
	base, stop, errb, _ := startServerWith(t, path, nil, args...)
	return base, stop, errb
}

// startServerEnv is startServerOn with environment variables.
func startServerEnv(t *testing.T, path string, env map[string]string, args ...string) (string, func() error) {
	t.Helper()
	base, stop, _, _ := startServerWith(t, path, env, args...)
	return base, stop
}

// startServerWith starts serve and returns its URL, its stop, and what it writes to stderr and
// stdout.
func startServerWith(t *testing.T, path string, env map[string]string, args ...string) (string, func() error, *syncBuffer, *syncBuffer) {
	t.Helper()
	args = append([]string{"serve", "--addr", "127.0.0.1:0", "--banksim-addr", "127.0.0.1:0", "--db", "sqlite:" + path}, args...)
	return startCommand(t, env, args...)
}

// startCommand runs `emoney args…` (a command that serves until SIGINT) until the test ends,
// and returns the URL it prints ("serving on URL"), a stop that does what SIGINT does and
// returns run's error, and what it writes to stderr and stdout.
func startCommand(t *testing.T, env map[string]string, args ...string) (string, func() error, *syncBuffer, *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out, errb := &syncBuffer{}, &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, args, func(k string) string { return env[k] }, strings.NewReader(""), out, errb)
	}()
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(30 * time.Second):
			t.Fatalf("%s did not stop", args[0])
			return nil
		}
	}
	t.Cleanup(func() { stop() })
	re := regexp.MustCompile(`serving on (http://127\.0\.0\.1:\d+)`)
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			return m[1], stop, errb, out
		}
		select {
		case err := <-done:
			stopped = true
			t.Fatalf("%s ended before serving: %v\n%s", args[0], err, errb.String())
		default:
		}
	}
	t.Fatalf("%s printed no URL:\n%s\n%s", args[0], out.String(), errb.String())
	return "", nil, nil, nil
}

func getJSON(t *testing.T, url string, v any) *http.Response {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: Content-Type %q", url, ct)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("%s: not JSON: %v\n%s", url, err, body)
	}
	return resp
}

func TestServe(t *testing.T) {
	base, stop := startServer(t)

	var health struct{ Status, Mode, Banner string }
	if resp := getJSON(t, base+"/healthz", &health); resp.StatusCode != 200 || health.Status != "ok" || health.Mode != "development" || !strings.Contains(health.Banner, "DEVELOPMENT") {
		t.Errorf("healthz %d %+v", resp.StatusCode, health)
	}
	var ready struct {
		Status, Store string
		Schema        int
	}
	if resp := getJSON(t, base+"/readyz", &ready); resp.StatusCode != 200 || ready.Store != "sqlite" || ready.Schema < 1 {
		t.Errorf("readyz %d %+v", resp.StatusCode, ready)
	}
	var e struct {
		Error struct {
			Code, Message string
			RequestID     string `json:"request_id"`
		} `json:"error"`
	}
	resp := getJSON(t, base+"/api/v1/nothing-here", &e)
	if resp.StatusCode != 404 || e.Error.Code != "not_found" || e.Error.RequestID == "" || resp.Header.Get("X-Request-Id") != e.Error.RequestID {
		t.Errorf("unknown route: %d %+v (X-Request-Id %q)", resp.StatusCode, e, resp.Header.Get("X-Request-Id"))
	}

	mresp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(mresp.Body)
	mresp.Body.Close()
	if mresp.StatusCode != 200 || !strings.Contains(string(metrics), `emoney_http_request_duration_seconds_count{route="GET /healthz",status="2xx"} 1`) {
		t.Errorf("/metrics %d:\n%.2000s", mresp.StatusCode, metrics)
	}

	if err := stop(); err != nil {
		t.Fatalf("serve after SIGTERM: %v", err)
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("still answering after shutdown")
	}
}

func TestServeFlags(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "x.db")
	for _, args := range [][]string{
		{"serve", "--db", db, "--tls-cert", "x.pem"},
		{"serve", "--db", db, "--trusted-proxies", "10.0.0.0/33"},
		{"serve", "--db", db, "--addr", "127.0.0.1:99999"},
		{"serve", "--db", "nosuch:thing"},
	} {
		if _, _, err := cli(t, nil, args...); err == nil {
			t.Errorf("%v: want an error", args)
		}
	}
}

// decodeBody checks an answer against the OpenAPI document and decodes its JSON into out.
func decodeBody(t *testing.T, resp *http.Response, out any) {
	t.Helper()
	b, _ := io.ReadAll(resp.Body)
	checkAgainstSpec(t, resp.Request, resp, b)
	if len(b) > 0 && out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v\n%s", resp.Request.Method, resp.Request.URL, err, b)
		}
	}
}

// call sends a JSON request and decodes the JSON answer (if any) into out.
func call(t *testing.T, method, url, token, body string, out any) *http.Response {
	t.Helper()
	return send(t, method, url, token, "", body, out)
}

// post sends a money-moving POST with an Idempotency-Key.
func post(t *testing.T, url, token, key, body string, out any) *http.Response {
	t.Helper()
	return send(t, "POST", url, token, key, body, out)
}

// send makes one API request, checks the answer against the OpenAPI document and decodes it.
func send(t *testing.T, method, url, token, key, body string, out any) *http.Response {
	t.Helper()
	return sendWith(t, method, url, token, key, body, out, nil)
}

// sendWith is send with more request headers.
func sendWith(t *testing.T, method, url, token, key, body string, out any, header http.Header) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	decodeBody(t, resp, out)
	return resp
}

type apiError struct {
	Error struct {
		Code       string `json:"code"`
		Field      string `json:"field"`
		Reason     string `json:"reason"`
		RetryAfter int    `json:"retry_after"`
	} `json:"error"`
}

func TestIdentityOverHTTP(t *testing.T) {
	base, _ := startServer(t, "--trusted-proxies", "127.0.0.1/32")
	api := base + "/api/v1"

	var signed struct {
		User struct {
			ID      string `json:"id"`
			Role    string `json:"role"`
			KYCTier int    `json:"kyc_tier"`
		} `json:"user"`
		Wallet string `json:"wallet"`
	}
	if resp := call(t, "POST", api+"/signup", "", `{"email":" Alice@Example.com ","password":"correct horse battery"}`, &signed); resp.StatusCode != 201 || signed.User.Role != "customer" || signed.User.KYCTier != 0 || signed.Wallet == "" {
		t.Fatalf("signup: %d %+v", resp.StatusCode, signed)
	}
	for _, tc := range []struct {
		body, code, field string
		status            int
	}{
		{`{"email":"alice@example.com","password":"another password"}`, "conflict", "email", 409}, // taken
		{`{"email":"bob@example.com","password":"short"}`, "invalid", "password", 400},
		{`{"email":"not-an-address","password":"long enough pass"}`, "invalid", "email", 400},
		{`{"email":"bob@example.com","password":"long enough pass","role":"admin"}`, "invalid", "role", 400},
		{`{"email":"bob@example.com","password":12345678901}`, "invalid", "password", 400},
	} {
		var e apiError
		if resp := call(t, "POST", api+"/signup", "", tc.body, &e); resp.StatusCode != tc.status || e.Error.Code != tc.code || e.Error.Field != tc.field {
			t.Errorf("signup %s: %d %+v", tc.body, resp.StatusCode, e)
		}
	}

	var e apiError
	if resp := call(t, "POST", api+"/login", "", `{"email":"alice@example.com","password":"wrong password!"}`, &e); resp.StatusCode != 401 || e.Error.Code != "unauthorized" {
		t.Errorf("wrong password: %d %+v", resp.StatusCode, e)
	}
	var nobody apiError
	if resp := call(t, "POST", api+"/login", "", `{"email":"nobody@example.com","password":"wrong password!"}`, &nobody); resp.StatusCode != 401 || nobody != e {
		t.Errorf("unknown e-mail answered differently from a wrong password: %d %+v", resp.StatusCode, nobody)
	}
	var login struct {
		Token     string `json:"token"`
		ExpiresAt string `json:"expires_at"`
	}
	if resp := call(t, "POST", api+"/login", "", `{"email":"ALICE@example.com","password":"correct horse battery","device":"phone-1"}`, &login); resp.StatusCode != 200 || !strings.HasPrefix(login.Token, "emt_") || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("login: %d %+v", resp.StatusCode, login)
	}
	var me struct {
		User struct {
			ID    string `json:"id"`
			Email string `json:"email"`
		} `json:"user"`
		Wallet struct {
			Account   string `json:"account"`
			Balance   int64  `json:"balance"`
			Available int64  `json:"available"`
			Currency  string `json:"currency"`
		} `json:"wallet"`
	}
	if resp := call(t, "GET", api+"/me", login.Token, "", &me); resp.StatusCode != 200 || me.User.ID != signed.User.ID || me.User.Email != "alice@example.com" || me.Wallet.Account != signed.Wallet || me.Wallet.Currency != "JPY" {
		t.Errorf("me: %d %+v", resp.StatusCode, me)
	}
	for _, token := range []string{"", "emt_forged", "garbage"} {
		if resp := call(t, "GET", api+"/me", token, "", &e); resp.StatusCode != 401 || e.Error.Code != "unauthorized" || resp.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("me with token %q: %d %+v", token, resp.StatusCode, e)
		}
	}
	if resp := call(t, "POST", api+"/logout", login.Token, "", nil); resp.StatusCode != 204 {
		t.Errorf("logout: %d", resp.StatusCode)
	}
	if resp := call(t, "GET", api+"/me", login.Token, "", &e); resp.StatusCode != 401 {
		t.Errorf("me after logout: %d", resp.StatusCode)
	}

	// Guessing one account is limited wherever the guesses come from (each from another IPv6
	// network here, through the trusted proxy), with Retry-After.
	limited := false
	for i := 0; i < 14 && !limited; i++ {
		var le apiError
		req, _ := http.NewRequest("POST", api+"/login", strings.NewReader(`{"email":"alice@example.com","password":"guess number `+string(rune('a'+i))+`"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", fmt.Sprintf("2001:db8:%x::1", i))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		decodeBody(t, resp, &le)
		resp.Body.Close()
		if resp.StatusCode == 429 {
			limited = le.Error.Code == "rate_limited" && le.Error.RetryAfter > 0 && resp.Header.Get("Retry-After") != ""
			if !limited {
				t.Errorf("429 without retry information: %+v %q", le, resp.Header.Get("Retry-After"))
			}
		}
	}
	if !limited {
		t.Error("14 wrong passwords from 14 networks were never rate limited")
	}
}

// Development mode runs the bank simulator beside the API (specs/cli.md "Modes").
func TestServeRunsBankSimulator(t *testing.T) {
	_, _, _, out := startServerWith(t, filepath.Join(t.TempDir(), "emoney.db"), nil)
	m := regexp.MustCompile(`bank simulator on (http://127\.0\.0\.1:\d+)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("serve printed no bank simulator:\n%s", out.String())
	}
	var meta struct {
		Issuer                             string `json:"issuer"`
		RequirePushedAuthorizationRequests bool   `json:"require_pushed_authorization_requests"`
	}
	resp, err := http.Get(m[1] + "/.well-known/oauth-authorization-server/banks/9900")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&meta); err != nil || resp.StatusCode != 200 || meta.Issuer != m[1]+"/banks/9900" || !meta.RequirePushedAuthorizationRequests {
		t.Errorf("postal bank metadata: %d %+v %v", resp.StatusCode, meta, err)
	}
}
