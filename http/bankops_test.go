package http_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"

	"emoney"
	"emoney/alerts"
	"emoney/bank"
	emhttp "emoney/http"
	"emoney/internal/testkit"
	"emoney/money"
)

// bankStack is the service with simulated banks 0001 and 9900, served on a real port.
func bankStack(t *testing.T) (url string, sim *bank.Sim, store emoney.Store) {
	t.Helper()
	k := testkit.New(t, nil, nil)
	s, l, ids := k.Store, k.Ledger, k.Identity
	sim = bank.NewSim()
	sim.Set("9900", bank.SimBank{Behaviour: bank.Decline, Reason: "account_closed"})
	reg, err := bank.NewRegistry(bank.Bank{Code: "0001", Connector: sim.Connector("0001")}, bank.Bank{Code: "9900", Connector: sim.Connector("9900")})
	if err != nil {
		t.Fatal(err)
	}
	al := alerts.New(s, l, nil)
	mon := money.New(l, ids, money.Config{})
	banks := money.NewBankOps(mon, money.BankConfig{Banks: reg, Store: s, Alerts: al})
	srv := emhttp.New(emhttp.Config{}, emhttp.Deps{Store: s, Ledger: l, Identity: ids, Money: mon, Alerts: al, Banks: banks})
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return ts.URL, sim, s
}

// The client's bank operations: answers decoded, a decline as *emoney.Error with its reason.
func TestClientBankOps(t *testing.T) {
	ctx := context.Background()
	url, sim, store := bankStack(t)
	alice := &emhttp.Client{Base: url}
	uid, _, err := alice.SignUp(ctx, "alice@example.com", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	// Only tier 2 reaches a bank; the KYC flows have tests of their own.
	id, _ := emoney.ParseID(uid)
	if err := store.Update(ctx, func(tx emoney.Tx) error { return tx.SetKYCTier(ctx, id, 2) }); err != nil {
		t.Fatal(err)
	}
	if err := alice.Login(ctx, "alice@example.com", "correct horse battery", "test"); err != nil {
		t.Fatal(err)
	}
	top, err := alice.TopUp(ctx, "t1", "0001", 1000)
	if err != nil || top.Status != "succeeded" || top.Amount != 1000 || top.Bank != "0001" || top.Kind != "topup" {
		t.Fatalf("top-up %+v %v", top, err)
	}
	if got, err := alice.GetTopUp(ctx, top.ID); err != nil || got != top {
		t.Errorf("GetTopUp %+v %v, want %+v", got, err, top)
	}
	_, err = alice.Withdraw(ctx, "w1", "9900", 400)
	var e *emoney.Error
	if !errors.As(err, &e) || e.Code != emoney.EDeclined || e.Reason != "account_closed" {
		t.Errorf("declined withdrawal: %#v", err)
	}
	sim.Set("0001", bank.SimBank{Behaviour: bank.TimeOut})
	w, err := alice.Withdraw(ctx, "w2", "0001", 400)
	if err != nil || w.Status != "pending" || w.Kind != "withdrawal" {
		t.Fatalf("withdrawal without an answer: %+v %v", w, err)
	}
	if got, err := alice.GetWithdrawal(ctx, w.ID); err != nil || got.Status != "pending" {
		t.Errorf("GetWithdrawal %+v %v", got, err)
	}
	if _, err := alice.GetWithdrawal(ctx, top.ID); emoney.ErrorCode(err) != emoney.ENotFound {
		t.Errorf("a top-up read as a withdrawal: %v", err)
	}
	me, err := alice.Me(ctx)
	if err != nil || me.Wallet.Balance != 1000 || me.Wallet.Available != 600 {
		t.Errorf("wallet after a declined and a pending withdrawal: %+v %v", me.Wallet, err)
	}
}
