package banklink_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"emoney"
	"emoney/banklink"
	"emoney/banksim"
)

// The partner statement lists what this wallet moved at the bank in the period, by the
// Idempotency-Key it sent, and nothing of another wallet's; a wallet whose key the bank does
// not know reads nothing.
func TestStatement(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tok := e.link(banklink.Request{Scope: []string{"holder", "debit", "credit"}, Mandate: debitRequest.Mandate}, e.smsSignIn())
	before := time.Now().Add(-time.Minute)
	if _, err := e.wallet.Debit(ctx, tok, "tr-1", 8000, payee, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.wallet.Credit(ctx, tok, "tr-2", 300, ""); err != nil {
		t.Fatal(err)
	}
	// A replay moves nothing and adds no entry.
	if _, err := e.wallet.Debit(ctx, tok, "tr-1", 8000, payee, ""); err != nil {
		t.Fatal(err)
	}
	after := time.Now().Add(time.Minute)
	st, err := e.wallet.Statement(ctx, e.issuer, before, after)
	must(t, err)
	if len(st.Entries) != 2 {
		t.Fatalf("statement: %+v, want 2 entries", st)
	}
	d, c := st.Entries[0], st.Entries[1]
	if d.Kind != "debit" || d.IdempotencyKey != "tr-1" || d.Amount != 8000 || d.Account != "****567" || d.Grant == "" {
		t.Errorf("debit entry %+v", d)
	}
	if c.Kind != "credit" || c.IdempotencyKey != "tr-2" || c.Amount != 300 {
		t.Errorf("credit entry %+v", c)
	}
	// A period that ends before the movements lists none.
	if st, err := e.wallet.Statement(ctx, e.issuer, before.Add(-time.Hour), before); err != nil || len(st.Entries) != 0 {
		t.Errorf("an earlier period: %+v %v", st, err)
	}

	// Another wallet operator registered at the bank sees none of them.
	other := newKey(t)
	jwks, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &other.PublicKey, KeyID: "o1", Algorithm: "ES256", Use: "sig"}}})
	must(t, e.sim.RegisterClient(bankCode, banksim.Client{ID: "other-wallet", Name: "Other", JWKS: jwks, RedirectURIs: []string{redirect}}))
	ow, err := banklink.New(banklink.Config{ClientIDs: map[string]string{e.issuer: "other-wallet"}, Key: other, KeyID: "o1", RedirectURI: redirect})
	must(t, err)
	if st, err := ow.Statement(ctx, e.issuer, before, after); err != nil || len(st.Entries) != 0 {
		t.Errorf("another wallet's statement: %+v %v, want none", st, err)
	}

	// A key the bank does not know for this client_id is refused.
	impostor, err := banklink.New(banklink.Config{ClientIDs: map[string]string{e.issuer: clientID}, Key: newKey(t), KeyID: "k1", RedirectURI: redirect})
	must(t, err)
	_, err = impostor.Statement(ctx, e.issuer, before, after)
	wantErr(t, err, banklink.ErrProtocol, emoney.EInternal, "")
	// So is a period longer than the bank serves.
	_, err = e.wallet.Statement(ctx, e.issuer, before.Add(-100*24*time.Hour), after)
	wantErr(t, err, banklink.ErrProtocol, emoney.EInternal, "")
}
