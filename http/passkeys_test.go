package http_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/descope/virtualwebauthn"

	"emoney"
	emhttp "emoney/http"
	"emoney/internal/testkit"
)

// The client's passkey calls, with the server's clock under the test's hand: a ceremony dies
// after five minutes, a step-up goes stale after five, and a copied key raises an alert.
func TestClientPasskeys(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Now()}
	st := newStack(t, clk.Now)
	rp := virtualwebauthn.RelyingParty{Name: "emoney", ID: "localhost", Origin: "http://localhost:8080"}

	alice := &emhttp.Client{Base: st.url}
	if _, _, err := alice.SignUp(ctx, "alice@example.com", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	if err := alice.Login(ctx, "alice@example.com", "correct horse battery", "test"); err != nil {
		t.Fatal(err)
	}
	auth := virtualwebauthn.NewAuthenticator()
	cred := testkit.PasskeyCredential()
	register := func() (emhttp.Passkey, error) {
		opts, err := alice.BeginPasskeyRegistration(ctx)
		if err != nil {
			return emhttp.Passkey{}, err
		}
		parsed, err := virtualwebauthn.ParseAttestationOptions(string(opts))
		if err != nil {
			t.Fatal(err)
		}
		return alice.FinishPasskeyRegistration(ctx, "laptop", json.RawMessage(virtualwebauthn.CreateAttestationResponse(rp, auth, cred, *parsed)))
	}
	stepUp := func(c virtualwebauthn.Credential, wait time.Duration) error {
		opts, err := alice.BeginPasskeyStepUp(ctx)
		if err != nil {
			return err
		}
		parsed, err := virtualwebauthn.ParseAssertionOptions(string(opts))
		if err != nil {
			t.Fatal(err)
		}
		clk.Add(wait)
		return alice.PasskeyStepUp(ctx, json.RawMessage(virtualwebauthn.CreateAssertionResponse(rp, auth, c, *parsed)))
	}

	if _, err := alice.FinishPasskeyRegistration(ctx, "laptop", json.RawMessage(`{"id":"x","type":"public-key","response":{}}`)); emoney.ErrorCode(err) != emoney.EInvalid {
		t.Errorf("finish with a bad credential: %v", err)
	}
	pk, err := register()
	if err != nil || pk.Name != "laptop" || pk.ID == "" || pk.LastUsedAt != "" {
		t.Fatalf("register: %+v %v", pk, err)
	}
	auth.AddCredential(cred)
	if _, err := register(); emoney.ErrorCode(err) != emoney.EChallengeRequired || err.(*emoney.Error).Reason != "passkey" {
		t.Errorf("a second passkey without a step-up: %#v", err)
	}

	// A ceremony left open five minutes is over.
	cred.Counter = 1
	if err := stepUp(cred, 5*time.Minute); emoney.ErrorCode(err) != emoney.EConflict {
		t.Errorf("finishing an expired ceremony: %v", err)
	}
	if err := stepUp(cred, 4*time.Minute); err != nil {
		t.Fatalf("step-up: %v", err)
	}
	me, err := alice.Me(ctx)
	if err != nil || !me.StepUpFresh || me.Passkeys != 1 {
		t.Errorf("me after the step-up: %+v %v", me, err)
	}
	list, err := alice.Passkeys(ctx)
	if err != nil || len(list) != 1 || list[0].ID != pk.ID || list[0].LastUsedAt == "" {
		t.Errorf("passkeys: %+v %v", list, err)
	}

	// Five minutes on, the step-up is stale, and removing the passkey is challenged.
	clk.Add(5 * time.Minute)
	if me, _ := alice.Me(ctx); me.StepUpFresh {
		t.Error("a five-minute-old step-up is still fresh")
	}
	if err := alice.DeletePasskey(ctx, pk.ID); emoney.ErrorCode(err) != emoney.EChallengeRequired {
		t.Errorf("delete with a stale step-up: %v", err)
	}

	// A copy of the key, its counter behind, is refused and leaves an alert for staff.
	clone := cred
	clone.Counter = 0
	if err := stepUp(clone, 0); emoney.ErrorCode(err) != emoney.EUnauthorized {
		t.Errorf("cloned key: %v", err)
	}
	alerts, err := st.alerts.List(ctx, emoney.AlertOpen, emoney.ID{}, 10)
	if err != nil || len(alerts) != 1 || alerts[0].Kind != "passkey_clone" || alerts[0].Subject != "user:"+me.User.ID {
		t.Errorf("alerts after the clone: %+v %v", alerts, err)
	}

	cred.Counter = 2
	if err := stepUp(cred, 0); err != nil {
		t.Fatalf("step-up with the genuine key: %v", err)
	}
	if _, err := register(); emoney.ErrorCode(err) != emoney.EConflict { // the same credential again
		t.Errorf("registering a passkey twice: %v", err)
	}
	if err := alice.DeletePasskey(ctx, pk.ID); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if err := alice.DeletePasskey(ctx, pk.ID); emoney.ErrorCode(err) != emoney.ENotFound {
		t.Errorf("delete twice: %v", err)
	}
	if list, err := alice.Passkeys(ctx); err != nil || len(list) != 0 {
		t.Errorf("passkeys after delete: %+v %v", list, err)
	}
}
