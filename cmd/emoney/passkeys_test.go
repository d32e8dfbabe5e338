package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/descope/virtualwebauthn"

	"emoney/internal/testkit"
)

// The relying party a development server is configured as (the serve defaults), as the browser
// would present it.
var devRP = virtualwebauthn.RelyingParty{Name: "emoney", ID: "localhost", Origin: "http://localhost:8080"}

type challengeError struct {
	Error struct {
		Code      string `json:"code"`
		Message   string `json:"message"`
		Field     string `json:"field"`
		Challenge string `json:"challenge"`
	} `json:"error"`
}

type meJSON struct {
	Fresh    bool `json:"step_up_fresh"`
	Passkeys int  `json:"passkeys"`
}

func me(t *testing.T, api, token string) meJSON {
	t.Helper()
	var m meJSON
	if resp := call(t, "GET", api+"/me", token, "", &m); resp.StatusCode != 200 {
		t.Fatalf("me: %d", resp.StatusCode)
	}
	return m
}

// registerPasskey runs the registration ceremony for token's user with a new credential on auth,
// answering as a browser at rp would, and returns the new passkey's id and the credential.
func registerPasskey(t *testing.T, api, token string, rp virtualwebauthn.RelyingParty, auth *virtualwebauthn.Authenticator, name string) (string, virtualwebauthn.Credential) {
	t.Helper()
	var opts json.RawMessage
	if resp := call(t, "POST", api+"/passkeys/register/begin", token, "", &opts); resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("register begin: %d %s", resp.StatusCode, opts)
	}
	parsed, err := virtualwebauthn.ParseAttestationOptions(string(opts))
	if err != nil {
		t.Fatal(err)
	}
	cred := testkit.PasskeyCredential()
	answer := virtualwebauthn.CreateAttestationResponse(rp, *auth, cred, *parsed)
	var pk struct {
		ID         string   `json:"id"`
		Name       string   `json:"name"`
		AAGUID     string   `json:"aaguid"`
		Transports []string `json:"transports"`
	}
	if resp := call(t, "POST", api+"/passkeys/register/finish", token, fmt.Sprintf(`{"name":%q,"credential":%s}`, name, answer), &pk); resp.StatusCode != 201 || pk.Name != name || pk.ID == "" {
		t.Fatalf("register finish: %d %+v", resp.StatusCode, pk)
	}
	if want := fmt.Sprintf("%x-%x-%x-%x-%x", auth.Aaguid[0:4], auth.Aaguid[4:6], auth.Aaguid[6:8], auth.Aaguid[8:10], auth.Aaguid[10:16]); pk.AAGUID != want {
		t.Errorf("aaguid %s, want %s", pk.AAGUID, want)
	}
	auth.AddCredential(cred)
	return pk.ID, cred
}

// beginStepUp asks for a passkey step-up on token's session and returns the parsed options.
func beginStepUp(t *testing.T, api, token string) virtualwebauthn.AssertionOptions {
	t.Helper()
	var opts json.RawMessage
	if resp := call(t, "POST", api+"/stepup/passkey/begin", token, "", &opts); resp.StatusCode != 200 {
		t.Fatalf("step-up begin: %d %s", resp.StatusCode, opts)
	}
	parsed, err := virtualwebauthn.ParseAssertionOptions(string(opts))
	if err != nil {
		t.Fatal(err)
	}
	return *parsed
}

// finishStepUp sends answer and returns the status and the error code, if any.
func finishStepUp(t *testing.T, api, token, answer string) (int, string) {
	t.Helper()
	status, e := finishStepUpErr(t, api, token, answer)
	return status, e.Error.Code
}

func finishStepUpErr(t *testing.T, api, token, answer string) (int, challengeError) {
	t.Helper()
	var e challengeError
	resp := call(t, "POST", api+"/stepup/passkey/finish", token, `{"credential":`+answer+`}`, &e)
	return resp.StatusCode, e
}

func TestPasskeysOverHTTP(t *testing.T) {
	base, _ := startServer(t)
	api := base + "/api/v1"
	alice, _ := user(t, api, "alice@example.com")
	bob, _ := user(t, api, "bob@example.com")

	if m := me(t, api, alice); m.Passkeys != 0 || m.Fresh {
		t.Fatalf("me before: %+v", m)
	}
	var e challengeError
	if resp := call(t, "POST", api+"/stepup/passkey/begin", alice, "", &e); resp.StatusCode != 409 || e.Error.Code != "conflict" {
		t.Errorf("step-up begin without passkeys: %d %+v", resp.StatusCode, e)
	}
	if resp := call(t, "POST", api+"/stepup/passkey/finish", alice, `{"credential":{"id":"x","type":"public-key","response":{}}}`, &e); resp.StatusCode != 400 || e.Error.Field != "credential" {
		t.Errorf("step-up finish with a malformed credential: %d %+v", resp.StatusCode, e)
	}
	if resp := call(t, "POST", api+"/passkeys/register/finish", alice, `{"name":"x"}`, &e); resp.StatusCode != 400 || e.Error.Field != "credential" {
		t.Errorf("register finish without a credential: %d %+v", resp.StatusCode, e)
	}

	// A registration answered from another origin is refused, and spends its challenge.
	auth := virtualwebauthn.NewAuthenticator()
	{
		var opts json.RawMessage
		call(t, "POST", api+"/passkeys/register/begin", alice, "", &opts)
		parsed, err := virtualwebauthn.ParseAttestationOptions(string(opts))
		if err != nil {
			t.Fatal(err)
		}
		if parsed.RelyingPartyID != "localhost" {
			t.Errorf("rp id %q", parsed.RelyingPartyID)
		}
		evil := devRP
		evil.Origin = "https://emoney.example.net"
		answer := virtualwebauthn.CreateAttestationResponse(evil, auth, testkit.PasskeyCredential(), *parsed)
		if resp := call(t, "POST", api+"/passkeys/register/finish", alice, `{"name":"phone","credential":`+answer+`}`, &e); resp.StatusCode != 400 || e.Error.Field != "credential" {
			t.Errorf("registration from another origin: %d %+v", resp.StatusCode, e)
		}
		good := virtualwebauthn.CreateAttestationResponse(devRP, auth, testkit.PasskeyCredential(), *parsed)
		if resp := call(t, "POST", api+"/passkeys/register/finish", alice, `{"name":"phone","credential":`+good+`}`, &e); resp.StatusCode != 409 {
			t.Errorf("finishing a spent registration: %d %+v", resp.StatusCode, e)
		}
	}

	// A first factor needs no step-up to add.
	pkID, cred := registerPasskey(t, api, alice, devRP, &auth, "phone")
	if m := me(t, api, alice); m.Passkeys != 1 || m.Fresh {
		t.Errorf("me after registering: %+v", m)
	}
	// A second one does: a stolen session must not add its own.
	e = challengeError{}
	if resp := call(t, "POST", api+"/passkeys/register/begin", alice, "", &e); resp.StatusCode != 403 || e.Error.Code != "challenge_required" || e.Error.Challenge != "passkey" {
		t.Errorf("second passkey without a step-up: %d %+v", resp.StatusCode, e)
	}

	// Step up with the passkey: /me reports it fresh, the list shows it used.
	cred.Counter = 1
	opts := beginStepUp(t, api, alice)
	if len(opts.AllowCredentials) != 1 || auth.FindAllowedCredential(opts) == nil {
		t.Fatalf("allowCredentials %v do not name the passkey", opts.AllowCredentials)
	}
	answer := virtualwebauthn.CreateAssertionResponse(devRP, auth, cred, opts)
	var up struct {
		At    string `json:"stepped_up_at"`
		Fresh int    `json:"fresh_for_seconds"`
	}
	if resp := call(t, "POST", api+"/stepup/passkey/finish", alice, `{"credential":`+answer+`}`, &up); resp.StatusCode != 200 || up.Fresh != 300 || up.At == "" {
		t.Fatalf("step-up: %d %+v", resp.StatusCode, up)
	}
	if m := me(t, api, alice); !m.Fresh || m.Passkeys != 1 {
		t.Errorf("me after the step-up: %+v", m)
	}
	var list struct {
		Items []map[string]any `json:"items"`
	}
	if resp := call(t, "GET", api+"/passkeys", alice, "", &list); resp.StatusCode != 200 || len(list.Items) != 1 || list.Items[0]["id"] != pkID || list.Items[0]["last_used_at"] == nil {
		t.Errorf("list: %d %+v", resp.StatusCode, list)
	}
	for _, secret := range []string{"public_key", "publicKey", "credential_id", "sign_count"} {
		if len(list.Items) > 0 && list.Items[0][secret] != nil {
			t.Errorf("the list shows %s", secret)
		}
	}

	// The same answer again is refused: with no ceremony open, and against a new challenge.
	if status, code := finishStepUp(t, api, alice, answer); status != 409 || code != "conflict" {
		t.Errorf("replay with nothing begun: %d %s", status, code)
	}
	beginStepUp(t, api, alice)
	if status, code := finishStepUp(t, api, alice, answer); status != 401 || code != "unauthorized" {
		t.Errorf("replay against a new challenge: %d %s", status, code)
	}

	// An answer from another origin is refused.
	cred.Counter = 2
	opts = beginStepUp(t, api, alice)
	evil := devRP
	evil.Origin = "https://emoney.example.net"
	if status, e := finishStepUpErr(t, api, alice, virtualwebauthn.CreateAssertionResponse(evil, auth, cred, opts)); status != 401 || e.Error.Code != "unauthorized" || !strings.Contains(e.Error.Message, "origin") {
		t.Errorf("assertion from another origin: %d %+v", status, e)
	}

	// Bob's passkey does not step Alice up, though it signs her challenge.
	bobAuth := virtualwebauthn.NewAuthenticator()
	_, bobCred := registerPasskey(t, api, bob, devRP, &bobAuth, "bob's key")
	bobCred.Counter = 5
	opts = beginStepUp(t, api, alice)
	if status, code := finishStepUp(t, api, alice, virtualwebauthn.CreateAssertionResponse(devRP, bobAuth, bobCred, opts)); status != 401 || code != "unauthorized" {
		t.Errorf("another user's passkey: %d %s", status, code)
	}

	// A second session of Alice's steps up with the counter moving on; then a copy of the key,
	// its counter behind, is refused.
	var login struct{ Token string }
	call(t, "POST", api+"/login", "", `{"email":"alice@example.com","password":"correct horse battery"}`, &login)
	alice2 := login.Token
	cred.Counter = 7
	opts = beginStepUp(t, api, alice2)
	if status, _ := finishStepUp(t, api, alice2, virtualwebauthn.CreateAssertionResponse(devRP, auth, cred, opts)); status != 200 {
		t.Fatalf("step-up at counter 7: %d", status)
	}
	clone := cred
	clone.Counter = 3
	call(t, "POST", api+"/login", "", `{"email":"alice@example.com","password":"correct horse battery"}`, &login)
	alice3 := login.Token
	opts = beginStepUp(t, api, alice3)
	if status, e := finishStepUpErr(t, api, alice3, virtualwebauthn.CreateAssertionResponse(devRP, auth, clone, opts)); status != 401 || e.Error.Code != "unauthorized" || !strings.Contains(e.Error.Message, "counter") {
		t.Errorf("cloned authenticator: %d %+v", status, e)
	}
	if m := me(t, api, alice3); m.Fresh {
		t.Error("a cloned key's assertion stepped the session up")
	}

	// Deleting needs a fresh step-up; another user's passkey is not found.
	e = challengeError{}
	if resp := call(t, "DELETE", api+"/passkeys/"+pkID, alice3, "", &e); resp.StatusCode != 403 || e.Error.Code != "challenge_required" {
		t.Errorf("delete without a step-up: %d %+v", resp.StatusCode, e)
	}
	bobCred.Counter = 6
	opts = beginStepUp(t, api, bob)
	if status, _ := finishStepUp(t, api, bob, virtualwebauthn.CreateAssertionResponse(devRP, bobAuth, bobCred, opts)); status != 200 {
		t.Fatalf("bob's step-up: %d", status)
	}
	for _, id := range []string{pkID, "01M7YWNQEX4CHP0EGY26KFJQV3", "not-an-id"} {
		e = challengeError{}
		if resp := call(t, "DELETE", api+"/passkeys/"+id, bob, "", &e); resp.StatusCode != 404 || e.Error.Code != "not_found" {
			t.Errorf("bob deleting %s: %d %+v", id, resp.StatusCode, e)
		}
	}
	if resp := call(t, "DELETE", api+"/passkeys/"+pkID, alice2, "", nil); resp.StatusCode != 204 {
		t.Fatalf("delete after a step-up: %d", resp.StatusCode)
	}
	if m := me(t, api, alice); m.Passkeys != 0 {
		t.Errorf("me after delete: %+v", m)
	}
	if resp := call(t, "POST", api+"/stepup/passkey/begin", alice, "", &e); resp.StatusCode != 409 {
		t.Errorf("step-up with the passkey gone: %d %+v", resp.StatusCode, e)
	}
}

// Passkey answers and one-time codes draw on one limit: guessing one does not reset the other.
func TestPasskeyStepUpSharesTheGuessingLimit(t *testing.T) {
	base, _ := startServer(t)
	api := base + "/api/v1"
	carol, _ := user(t, api, "carol@example.com")
	auth := virtualwebauthn.NewAuthenticator()
	_, cred := registerPasskey(t, api, carol, devRP, &auth, "key")
	limited := false
	for i := 0; i < 12 && !limited; i++ {
		cred.Counter = uint32(i + 1)
		opts := beginStepUp(t, api, carol)
		opts.Challenge = []byte("a challenge the server never set") // a wrong answer
		status, code := finishStepUp(t, api, carol, virtualwebauthn.CreateAssertionResponse(devRP, auth, cred, opts))
		switch {
		case status == 429 && code == "rate_limited":
			limited = true
		case status != 401:
			t.Fatalf("wrong answer %d: %d %s", i, status, code)
		}
	}
	if !limited {
		t.Fatal("12 wrong passkey answers were never rate limited")
	}
	var e apiError
	if resp := call(t, "POST", api+"/stepup", carol, `{"code":"123456"}`, &e); resp.StatusCode != 429 || e.Error.Code != "rate_limited" {
		t.Errorf("a one-time code after the passkey guesses: %d %+v", resp.StatusCode, e)
	}
}

// The relying party is the deployment's: a server for wallet.example takes passkeys made for it
// and refuses ones from the development defaults.
func TestPasskeyRelyingPartyFlags(t *testing.T) {
	db := "sqlite:" + t.TempDir() + "/x.db"
	for _, args := range [][]string{
		{"--webauthn-origins", "wallet.example"},
		{"--webauthn-origins", "https://wallet.example/login"},
		{"--webauthn-origins", " , "},
		{"--webauthn-rp-id", "https://wallet.example"},
		{"--webauthn-rp-id", ""},
	} {
		if _, _, err := cli(t, nil, append([]string{"serve", "--db", db, "--addr", "127.0.0.1:0"}, args...)...); err == nil {
			t.Errorf("serve %v: want an error", args)
		}
	}
	// The environment is read when the flag is not given (a bad value shows it was).
	if _, _, err := cli(t, map[string]string{"EMONEY_WEBAUTHN_ORIGINS": "not-an-origin"}, "serve", "--db", db, "--addr", "127.0.0.1:0"); err == nil || !strings.Contains(err.Error(), "not-an-origin") {
		t.Errorf("EMONEY_WEBAUTHN_ORIGINS was not read: %v", err)
	}

	base, _ := startServer(t, "--webauthn-rp-id", "wallet.example", "--webauthn-origins", "https://wallet.example, https://m.wallet.example")
	api := base + "/api/v1"
	dave, _ := user(t, api, "dave@example.com")
	rp := virtualwebauthn.RelyingParty{Name: "emoney", ID: "wallet.example", Origin: "https://m.wallet.example"}

	var opts json.RawMessage
	call(t, "POST", api+"/passkeys/register/begin", dave, "", &opts)
	parsed, err := virtualwebauthn.ParseAttestationOptions(string(opts))
	if err != nil {
		t.Fatal(err)
	}
	if parsed.RelyingPartyID != "wallet.example" {
		t.Errorf("rp id %q", parsed.RelyingPartyID)
	}
	auth := virtualwebauthn.NewAuthenticator()
	var e challengeError
	answer := virtualwebauthn.CreateAttestationResponse(devRP, auth, testkit.PasskeyCredential(), *parsed)
	if resp := call(t, "POST", api+"/passkeys/register/finish", dave, `{"name":"k","credential":`+answer+`}`, &e); resp.StatusCode != 400 {
		t.Errorf("a development origin's passkey on wallet.example: %d %+v", resp.StatusCode, e)
	}
	_, cred := registerPasskey(t, api, dave, rp, &auth, "k")
	cred.Counter = 1
	opts2 := beginStepUp(t, api, dave)
	if opts2.RelyingPartyID != "wallet.example" {
		t.Errorf("step-up rp id %q", opts2.RelyingPartyID)
	}
	if status, _ := finishStepUp(t, api, dave, virtualwebauthn.CreateAssertionResponse(rp, auth, cred, opts2)); status != 200 {
		t.Errorf("step-up on wallet.example: %d", status)
	}
}
