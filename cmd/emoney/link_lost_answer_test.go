package main

import (
	"context"
	"testing"
	"time"

	"emoney/banksim"
	"emoney/ledger"
	"emoney/money"
)

// A withdrawal whose bank answer is lost after the bank credited the account; the customer then
// unlinks, so the reconciler's re-send meets a revoked grant. That refusal says nothing about the
// reference the bank may already have used: the hold must stay pending (for staff, with the
// bank's statement), never be voided into paying the customer twice (found by review).
func TestLostWithdrawalAnswerThenUnlinkStaysPending(t *testing.T) {
	e := startLinkingMandate(t, 8_000)
	ctx := context.Background()
	hanako := e.customer("hanako", "ﾘﾖｳ ｼｬ", "1980-01-02", "+819011110001", "1000567")
	alice, _ := e.walletUser("alice@example.com", 1, "リヨウ シャ", "1980-01-02", true)
	if status, _, _ := e.link(alice, hanako); status != 200 {
		t.Fatalf("link: %d", status)
	}
	link := e.links(alice)[0].ID
	bankBalance := func() int64 {
		st, err := e.sim.AccountStatement("0001", "001-1000567")
		if err != nil {
			t.Fatal(err)
		}
		return st.Balance
	}
	var op bankOp
	if resp := post(t, e.api+"/topups", alice, "t1", `{"link":"`+link+`","amount":5000}`, &op); resp.StatusCode != 201 {
		t.Fatalf("top-up %d", resp.StatusCode)
	}
	if err := e.sim.InjectFailures("0001", banksim.Failures{LoseAnswer: 1}); err != nil {
		t.Fatal(err)
	}
	if resp := post(t, e.api+"/withdrawals", alice, "w1", `{"link":"`+link+`","amount":5000}`, &op); resp.StatusCode != 202 {
		t.Fatalf("withdrawal: %d %+v", resp.StatusCode, op)
	}
	if resp := call(t, "DELETE", e.api+"/links/"+link, alice, "", nil); resp.StatusCode != 200 {
		t.Fatalf("unlink: %d", resp.StatusCode)
	}
	rs, err := e.svc.banks.Reconcile(ctx, time.Now().Add(2*money.DefaultBankGrace))
	if err != nil || rs.Resolved != 0 {
		t.Errorf("reconcile after the grant was revoked: %+v %v, want nothing resolved", rs, err)
	}
	var got bankOp
	if resp := call(t, "GET", e.api+"/withdrawals/"+op.ID, alice, "", &got); resp.StatusCode != 200 || got.Status != "pending" {
		t.Errorf("the withdrawal after a refused re-send: %d %+v, want pending", resp.StatusCode, got)
	}
	var me wallet
	call(t, "GET", e.api+"/me", alice, "", &me)
	// The bank holds 100,000 again (5,000 out, 5,000 back); the wallet's 5,000 stays reserved:
	// nothing is spendable twice.
	if bankBalance() != 100_000 || me.Wallet.Balance != 5_000 || me.Wallet.Available != 0 {
		t.Errorf("bank %d, wallet %+v: want bank 100000 and the wallet's 5000 held", bankBalance(), me.Wallet)
	}
	if r, err := ledger.Verify(ctx, e.svc.store); err != nil || !r.OK() {
		t.Errorf("verify: %+v %v", r.Problems, err)
	}
}

// A link whose consent is older than the bank policy's re-consent days (180 by default) moves
// nothing until the customer links again (DESIGN.md step 8).
func TestLinkPastReconsentMovesNothing(t *testing.T) {
	e := startLinkingMandate(t, 8_000)
	hanako := e.customer("hanako", "ﾘﾖｳ ｼｬ", "1980-01-02", "+819011110001", "1000567")
	alice, _ := e.walletUser("alice@example.com", 1, "リヨウ シャ", "1980-01-02", true)
	if status, _, _ := e.link(alice, hanako); status != 200 {
		t.Fatalf("link: %d", status)
	}
	link := e.links(alice)[0].ID
	var ae apiError
	e.svc.banks.SetNow(func() time.Time { return time.Now().Add(179 * 24 * time.Hour) })
	if resp := post(t, e.api+"/topups", alice, "t1", `{"link":"`+link+`","amount":1000}`, &ae); resp.StatusCode != 201 {
		t.Fatalf("top-up on day 179: %d %+v", resp.StatusCode, ae)
	}
	e.svc.banks.SetNow(func() time.Time { return time.Now().Add(181 * 24 * time.Hour) })
	if resp := post(t, e.api+"/topups", alice, "t2", `{"link":"`+link+`","amount":1000}`, &ae); resp.StatusCode != 403 || ae.Error.Code != "declined" || ae.Error.Reason != "relink_required" {
		t.Errorf("top-up on day 181: %d %+v, want declined relink_required", resp.StatusCode, ae)
	}
}
