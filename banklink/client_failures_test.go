package banklink_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"emoney"
	"emoney/banklink"
	"emoney/banksim"
)

// Injected failures: a 5xx moves nothing and is "unknown" to the client; a lost answer moved the
// money, and the retry with the same key returns the original movement (money moved once); a
// timeout is "unknown" too and nothing moved.
func TestDebitUnderInjectedFailures(t *testing.T) {
	e := newEnv(t)
	tok := e.link(debitRequest, e.smsSignIn())

	must(t, e.sim.InjectFailures(bankCode, banksim.Failures{Status5xx: 1}))
	_, err := e.wallet.Debit(ctx, tok, "k-5xx", 1000, payee, "")
	wantErr(t, err, banklink.ErrUnavailable, emoney.EBankUnavailable, "")
	if b := e.balance(smsAccount); b != 50000 {
		t.Fatalf("balance after a 503: %d", b)
	}
	if _, err := e.wallet.Debit(ctx, tok, "k-5xx", 1000, payee, ""); err != nil {
		t.Fatalf("retry after a 503: %v", err)
	}

	must(t, e.sim.InjectFailures(bankCode, banksim.Failures{LoseAnswer: 1}))
	_, err = e.wallet.Debit(ctx, tok, "k-lost", 2000, payee, "")
	wantErr(t, err, banklink.ErrUnavailable, emoney.EBankUnavailable, "")
	if b := e.balance(smsAccount); b != 47000 {
		t.Fatalf("balance after a lost answer (applied): %d", b)
	}
	m, err := e.wallet.Debit(ctx, tok, "k-lost", 2000, payee, "")
	must(t, err)
	if !m.Replayed || m.Amount != 2000 || m.ID == "" {
		t.Errorf("retry after a lost answer: %+v", m)
	}
	if b := e.balance(smsAccount); b != 47000 {
		t.Errorf("balance after the retry: %d (the money must move once)", b)
	}

	// A wallet that gives up quickly: the bank holds the call until then and does nothing.
	quick := e.newWallet(banklink.Config{Timeout: 200 * time.Millisecond})
	must(t, e.sim.InjectFailures(bankCode, banksim.Failures{Timeout: 1}))
	_, err = quick.Debit(ctx, tok, "k-timeout", 3000, payee, "")
	wantErr(t, err, banklink.ErrUnavailable, emoney.EBankUnavailable, "")
	if b := e.balance(smsAccount); b != 47000 {
		t.Fatalf("balance after a timeout: %d", b)
	}
	m, err = quick.Debit(ctx, tok, "k-timeout", 3000, payee, "")
	must(t, err)
	if m.Replayed {
		t.Errorf("a timed-out call that did nothing came back as a replay: %+v", m)
	}
	if b := e.balance(smsAccount); b != 44000 {
		t.Errorf("balance after the retried timeout: %d", b)
	}
}

// fakeBank serves a copy of the simulator's metadata for bank 0001 under its own issuer,
// changed by edit, and answers any other request with handle (nil: 404).
func fakeBank(t *testing.T, e *env, edit func(md map[string]any), handle http.HandlerFunc) (issuer string) {
	t.Helper()
	resp, err := http.Get(e.srv.URL + "/.well-known/oauth-authorization-server/banks/" + bankCode)
	must(t, err)
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	must(t, err)
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/oauth-authorization-server/banks/fake" {
			if handle == nil {
				http.NotFound(w, r)
				return
			}
			handle(w, r)
			return
		}
		var md map[string]any
		if err := json.Unmarshal(raw, &md); err != nil {
			t.Error(err)
		}
		md["issuer"] = srv.URL + "/banks/fake"
		if edit != nil {
			edit(md)
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(md)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/banks/fake"
}

// Discover refuses a bank whose metadata lacks any requirement, naming it; the unchanged
// metadata passes, so each case fails only on its own lack.
func TestDiscoverRefusesIncompleteMetadata(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name    string
		edit    func(md map[string]any)
		missing string
	}{
		{"complete", nil, ""},
		{"no PAR endpoint", func(md map[string]any) { delete(md, "pushed_authorization_request_endpoint") }, "pushed_authorization_request_endpoint"},
		{"PAR optional", func(md map[string]any) { md["require_pushed_authorization_requests"] = false }, "require_pushed_authorization_requests: true"},
		{"plain PKCE only", func(md map[string]any) { md["code_challenge_methods_supported"] = []string{"plain"} }, "code_challenge_methods_supported: S256"},
		{"no PKCE", func(md map[string]any) { delete(md, "code_challenge_methods_supported") }, "code_challenge_methods_supported: S256"},
		{"client secrets", func(md map[string]any) { md["token_endpoint_auth_methods_supported"] = []string{"client_secret_basic"} }, "token_endpoint_auth_methods_supported: private_key_jwt"},
		{"no ES256 assertions", func(md map[string]any) { md["token_endpoint_auth_signing_alg_values_supported"] = []string{"PS256"} }, "token_endpoint_auth_signing_alg_values_supported: ES256"},
		{"no DPoP", func(md map[string]any) { delete(md, "dpop_signing_alg_values_supported") }, "dpop_signing_alg_values_supported: ES256"},
		{"no iss parameter", func(md map[string]any) { delete(md, "authorization_response_iss_parameter_supported") }, "authorization_response_iss_parameter_supported: true"},
		{"no refresh", func(md map[string]any) { md["grant_types_supported"] = []string{"authorization_code"} }, "grant_types_supported: refresh_token"},
		{"no revocation", func(md map[string]any) { delete(md, "revocation_endpoint") }, "revocation_endpoint"},
		{"revocation with secrets", func(md map[string]any) { delete(md, "revocation_endpoint_auth_methods_supported") }, "revocation_endpoint_auth_methods_supported: private_key_jwt"},
		{"plain http token endpoint", func(md map[string]any) { md["token_endpoint"] = "http://bank.example/token" }, "token_endpoint"},
		{"another issuer", func(md map[string]any) { md["issuer"] = "https://evil.example/banks/fake" }, "issuer"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			iss := fakeBank(t, e, c.edit, nil)
			w := e.newWallet(banklink.Config{ClientIDs: map[string]string{iss: clientID}})
			b, err := w.Discover(ctx, iss)
			if c.missing == "" {
				if err != nil || b.Issuer != iss || b.ClientID != clientID {
					t.Fatalf("complete metadata: %v %+v", err, b)
				}
				return
			}
			var me *banklink.MetadataError
			if !errors.As(err, &me) {
				t.Fatalf("Discover: %v, want a MetadataError", err)
			}
			if len(me.Missing) != 1 || !strings.HasPrefix(me.Missing[0], c.missing) {
				t.Fatalf("missing %q, want only %q", me.Missing, c.missing)
			}
			if !strings.Contains(err.Error(), c.missing) {
				t.Errorf("the error does not name what is missing: %v", err)
			}
		})
	}
}

// A bank that is not configured, or not reached over https, is refused before any request.
func TestDiscoverRefusesUnconfiguredBank(t *testing.T) {
	e := newEnv(t)
	for _, iss := range []string{"https://bank.example/banks/0001", e.sim.Issuer("9900")} {
		_, err := e.wallet.Discover(ctx, iss)
		var fe *emoney.Error
		if !errors.As(err, &fe) || fe.Field != "issuer" {
			t.Errorf("%s: %v, want invalid issuer", iss, err)
		}
	}
	w := e.newWallet(banklink.Config{ClientIDs: map[string]string{"http://bank.example/x": clientID}})
	if _, err := w.Discover(ctx, "http://bank.example/x"); emoney.ErrorCode(err) != emoney.EInvalid {
		t.Errorf("plain http to a remote bank: %v", err)
	}
}

// Start checks the request before anything goes to the bank.
func TestStartRefusesBadRequests(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		name  string
		r     banklink.Request
		field string
	}{
		{"no scope", banklink.Request{}, "scope"},
		{"unknown scope", banklink.Request{Scope: []string{"everything"}}, "scope"},
		{"debit without mandate", banklink.Request{Scope: []string{"debit"}}, "mandate.payee"},
		{"mandate without debit", banklink.Request{Scope: []string{"holder"}, Mandate: banklink.Mandate{Payee: payee, PerCharge: 1, Monthly: 1}}, "mandate"},
		{"zero per charge", banklink.Request{Scope: []string{"debit"}, Mandate: banklink.Mandate{Payee: payee, Monthly: 1}}, "mandate.per_charge"},
		{"monthly below per charge", banklink.Request{Scope: []string{"debit"}, Mandate: banklink.Mandate{Payee: payee, PerCharge: 10, Monthly: 9}}, "mandate.monthly"},
	} {
		_, err := e.wallet.Start(ctx, e.bank, c.r)
		var fe *emoney.Error
		if !errors.As(err, &fe) || fe.Code != emoney.EInvalid || fe.Field != c.field {
			t.Errorf("%s: %v, want invalid %s", c.name, err, c.field)
		}
	}
}

// Tokens, codes, verifiers and keys never appear in errors or in a printed Flow or Tokens,
// even when a bank echoes them back.
func TestSecretsStayOutOfErrorsAndLogs(t *testing.T) {
	e := newEnv(t)
	tok := e.link(debitRequest, e.smsSignIn())
	// A bank that echoes the credentials it was sent in its error descriptions.
	echo := func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		w.Header().Set("Content-Type", "application/json")
		code := "invalid_token"
		switch {
		case strings.HasSuffix(r.URL.Path, "/token"):
			w.WriteHeader(http.StatusBadRequest)
			code = "invalid_grant"
		case strings.HasSuffix(r.URL.Path, "/revoke"):
			w.WriteHeader(http.StatusBadRequest)
			code = "unauthorized_client"
		default:
			w.WriteHeader(http.StatusUnauthorized)
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"error": code,
			"error_description": "bad " + r.Header.Get("Authorization") + " " + r.PostForm.Get("refresh_token") + " " + r.PostForm.Get("token")})
	}
	toFake := func(md map[string]any) {
		for ep, path := range map[string]string{"pushed_authorization_request_endpoint": "/par", "token_endpoint": "/token", "revocation_endpoint": "/revoke"} {
			md[ep] = md["issuer"].(string) + path
		}
	}
	iss := fakeBank(t, e, toFake, echo)
	w := e.newWallet(banklink.Config{ClientIDs: map[string]string{iss: clientID}})
	fake := tok
	fake.Issuer = iss
	var errs []error
	_, err := w.Holder(ctx, fake)
	errs = append(errs, err)
	_, err = w.Debit(ctx, fake, "k", 1, payee, "")
	errs = append(errs, err)
	_, err = w.Refresh(ctx, fake)
	errs = append(errs, err)
	errs = append(errs, w.Revoke(ctx, fake))

	f := e.start(debitRequest)
	printed := fmt.Sprintf("%v %+v %#v %s %v %+v %#v", f, f, f, tok, tok, tok, tok)
	keyJSON, err := json.Marshal(tok.Key)
	must(t, err)
	var jwk map[string]any
	must(t, json.Unmarshal(keyJSON, &jwk))
	d, _ := jwk["d"].(string)
	if d == "" {
		t.Fatal("the marshalled DPoP key has no private part: it would not survive storage")
	}
	secrets := []string{tok.Access, tok.Refresh, f.Verifier, d, f.State}
	for i, err := range errs {
		if err == nil {
			t.Errorf("call %d against the echoing bank succeeded", i)
			continue
		}
		for _, s := range secrets {
			if strings.Contains(err.Error(), s) {
				t.Errorf("call %d: an error carries a secret: %v", i, err)
			}
		}
	}
	for _, s := range secrets {
		if strings.Contains(printed, s) {
			t.Errorf("a printed flow or tokens carries a secret: %s", printed)
		}
	}
	for i, kind := range []error{banklink.ErrTokenInvalid, banklink.ErrTokenInvalid, banklink.ErrTokenInvalid, banklink.ErrProtocol} {
		if !errors.Is(errs[i], kind) {
			t.Errorf("call %d against the echoing bank: %v, want %v", i, errs[i], kind)
		}
	}
}

// A bank that issues a bearer token (not sender-constrained) is refused: whoever stole such a
// token could use it.
func TestFinishRefusesBearerTokens(t *testing.T) {
	e := newEnv(t)
	toFake := func(md map[string]any) { md["token_endpoint"] = md["issuer"].(string) + "/token" }
	bearer := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "at", "token_type": "Bearer", "expires_in": 300, "refresh_token": "rt"})
	}
	iss := fakeBank(t, e, toFake, bearer)
	w := e.newWallet(banklink.Config{ClientIDs: map[string]string{iss: clientID}})
	key, err := banklink.NewDPoPKey()
	must(t, err)
	f := &banklink.Flow{Issuer: iss, ClientID: clientID, RedirectURI: redirect, State: "s1", Verifier: strings.Repeat("v", 43),
		Key: key, ExpiresAt: time.Now().Add(time.Hour)}
	_, err = w.Finish(ctx, f, map[string][]string{"state": {"s1"}, "iss": {iss}, "code": {"c1"}})
	wantErr(t, err, banklink.ErrProtocol, emoney.EInternal, "")
}

// A callback after the flow's lifetime is refused, and leaves the flow as it was.
func TestFinishRefusesExpiredFlow(t *testing.T) {
	e := newEnv(t)
	f := e.start(debitRequest)
	cb := e.authorize(f, e.smsSignIn())
	late := e.newWallet(banklink.Config{Now: func() time.Time { return f.ExpiresAt }})
	_, err := late.Finish(ctx, f, cb)
	wantErr(t, err, banklink.ErrFlowExpired, emoney.EInvalid, "")
	if _, err := e.wallet.Finish(ctx, f, cb); err != nil {
		t.Fatalf("the same callback in time: %v", err)
	}
}
