package http_test

import (
	"context"
	"errors"
	"testing"

	"emoney"
	emhttp "emoney/http"
)

// The client drives the real server over HTTP and hands back the API's errors as *emoney.Error.
func TestClient(t *testing.T) {
	ctx := context.Background()
	st := newStack(t, nil)
	ids := st.identity
	_, agentKey, err := ids.CreatePartner(ctx, "Agent", emoney.RoleAgent)
	if err != nil {
		t.Fatal(err)
	}

	alice, bob := &emhttp.Client{Base: st.url}, &emhttp.Client{Base: st.url}
	_, aw, err := alice.SignUp(ctx, "alice@example.com", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	_, bw, err := bob.SignUp(ctx, "bob@example.com", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if err := alice.Login(ctx, "alice@example.com", "correct horse battery", "test"); err != nil {
		t.Fatal(err)
	}
	agent := &emhttp.Client{Base: st.url, Token: agentKey}
	if _, err := agent.CashIn(ctx, "c1", aw, 500); err != nil {
		t.Fatal(err)
	}
	tr, err := alice.Transfer(ctx, "t1", bw, 200)
	if err != nil || tr.Amount != 200 || tr.To != bw {
		t.Fatalf("transfer %+v %v", tr, err)
	}
	_, err = alice.Transfer(ctx, "t2", bw, 301)
	var e *emoney.Error
	if !errors.As(err, &e) || e.Code != emoney.EInsufficientFunds || e.Field != "amount" {
		t.Errorf("overdraft error %#v", err)
	}
	items, next, err := alice.History(ctx, "", 1)
	if err != nil || len(items) != 1 || items[0].ID != tr.ID || next == "" {
		t.Errorf("history page 1: %+v %q %v", items, next, err)
	}
	me, err := alice.Me(ctx)
	if err != nil || me.Wallet == nil || me.Wallet.Balance != 300 || me.User.Email != "alice@example.com" {
		t.Errorf("me %+v %v", me, err)
	}
	if err := alice.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Me(ctx); emoney.ErrorCode(err) != emoney.EUnauthorized {
		t.Errorf("after logout: %v", err)
	}
}
