package main

import (
	"context"
	"strconv"
	"testing"
	"time"

	"emoney/banksim"
	"emoney/ledger"
	"emoney/money"
)

func TestTopUpsThroughLinksOverHTTP(t *testing.T) {
	e := startLinkingMandate(t, 8_000)
	ctx := context.Background()
	hanako := e.customer("hanako", "ﾘﾖｳ ｼｬ", "1980-01-02", "+819011110001", "1000567") // ¥100,000 at the bank
	alice, _ := e.walletUser("alice@example.com", 1, "リヨウ シャ", "1980-01-02", true)
	if status, _, _ := e.link(alice, hanako); status != 200 {
		t.Fatalf("link: %d", status)
	}
	ls := e.links(alice)
	if len(ls) != 1 || ls[0].Status != "active" {
		t.Fatalf("alice's links: %+v", ls)
	}
	link := ls[0].ID
	bankBalance := func() int64 {
		t.Helper()
		st, err := e.sim.AccountStatement("0001", "001-1000567")
		if err != nil {
			t.Fatal(err)
		}
		return st.Balance
	}
	walletBalance := func(token string) (int64, int64) {
		t.Helper()
		var me wallet
		call(t, "GET", e.api+"/me", token, "", &me)
		return me.Wallet.Balance, me.Wallet.Available
	}
	topUp := func(token, key, link string, amount int64) (int, bankOp, apiError) {
		t.Helper()
		var out struct {
			bankOp
			apiError
		}
		resp := post(t, e.api+"/topups", token, key, `{"link":"`+link+`","amount":`+strconv.FormatInt(amount, 10)+`}`, &out)
		return resp.StatusCode, out.bankOp, out.apiError
	}

	// A top-up through the link moves money from the bank account to the wallet.
	if st, op, ae := topUp(alice, "t1", link, 5_000); st != 201 || op.Status != "succeeded" || op.Bank != "0001" || op.Amount != 5_000 {
		t.Fatalf("top-up: %d %+v %+v", st, op, ae)
	}
	if b, a := walletBalance(alice); b != 5_000 || a != 5_000 {
		t.Errorf("wallet after the top-up: %d / %d, want 5000", b, a)
	}
	if got := bankBalance(); got != 95_000 {
		t.Errorf("bank account after the top-up: %d, want 95000", got)
	}
	// The same key again: the same operation, the bank not asked again.
	if st, op, _ := topUp(alice, "t1", link, 5_000); st != 201 || op.Status != "succeeded" || bankBalance() != 95_000 {
		t.Errorf("replayed top-up: %d %+v, bank %d", st, op, bankBalance())
	}
	// The same key for another amount: conflict.
	if st, _, ae := topUp(alice, "t1", link, 4_000); st != 409 || ae.Error.Code != "conflict" {
		t.Errorf("key reused for another amount: %d %+v", st, ae)
	}

	// Cooling-off (defaults: ¥10,000 a top-up, ¥30,000 a day): over the per-top-up cap is
	// refused before the bank hears of it.
	if st, _, ae := topUp(alice, "t2", link, 10_001); st != 422 || ae.Error.Code != "limit_exceeded" || ae.Error.Reason != "cooling_off" || ae.Error.Field != "amount" {
		t.Errorf("over the cooling-off cap: %d %+v", st, ae)
	}
	// Under it but over the mandate's per-charge cap (¥8,000 here): the bank declines, nothing
	// moved, and it does not count against the day.
	if st, _, ae := topUp(alice, "t3", link, 9_000); st != 403 || ae.Error.Code != "declined" || ae.Error.Reason != "mandate_per_charge" {
		t.Errorf("over the mandate: %d %+v", st, ae)
	}
	if got := bankBalance(); got != 95_000 {
		t.Errorf("bank account after a declined top-up: %d, want 95000", got)
	}
	for i, key := range []string{"t4", "t5", "t6"} { // 5,000 + 3 × 8,000 = 29,000 today
		if st, op, ae := topUp(alice, key, link, 8_000); st != 201 || op.Status != "succeeded" {
			t.Fatalf("top-up %d under the caps: %d %+v %+v", i, st, op, ae)
		}
	}
	if st, _, ae := topUp(alice, "t7", link, 2_000); st != 422 || ae.Error.Reason != "cooling_off" {
		t.Errorf("over the cooling-off daily cap: %d %+v", st, ae)
	}
	if b, _ := walletBalance(alice); b != 29_000 || bankBalance() != 71_000 {
		t.Errorf("after the cooling-off top-ups: wallet %d, bank %d; want 29000, 71000", b, bankBalance())
	}

	// A withdrawal back to the account.
	var w bankOp
	if resp := post(t, e.api+"/withdrawals", alice, "w1", `{"link":"`+link+`","amount":4000}`, &w); resp.StatusCode != 201 || w.Status != "succeeded" || w.Kind != "withdrawal" {
		t.Fatalf("withdrawal: %d %+v", resp.StatusCode, w)
	}
	if b, _ := walletBalance(alice); b != 25_000 || bankBalance() != 75_000 {
		t.Errorf("after the withdrawal: wallet %d, bank %d; want 25000, 75000", b, bankBalance())
	}

	// The bank's answer is lost after it moved the money: 202 pending, the money held; the
	// reconciler sends the same request again by key, the bank answers the original, and the
	// money moved once.
	if err := e.sim.InjectFailures("0001", banksim.Failures{LoseAnswer: 1}); err != nil {
		t.Fatal(err)
	}
	st, lost, ae := topUp(alice, "t8", link, 1_000)
	if st != 202 || lost.Status != "pending" {
		t.Fatalf("top-up whose answer is lost: %d %+v %+v", st, lost, ae)
	}
	if b, a := walletBalance(alice); b != 25_000 || a != 25_000 || bankBalance() != 74_000 {
		t.Errorf("while pending: wallet %d / %d, bank %d; want 25000 / 25000, 74000", b, a, bankBalance())
	}
	rs, err := e.svc.banks.Reconcile(ctx, time.Now().Add(2*money.DefaultBankGrace))
	if err != nil || rs.Resolved != 1 {
		t.Fatalf("reconcile: %+v %v, want 1 resolved", rs, err)
	}
	if b, _ := walletBalance(alice); b != 26_000 || bankBalance() != 74_000 {
		t.Errorf("after reconciling: wallet %d, bank %d; want 26000, 74000 (moved once)", b, bankBalance())
	}
	var got bankOp
	if resp := call(t, "GET", e.api+"/topups/"+lost.ID, alice, "", &got); resp.StatusCode != 200 || got.Status != "succeeded" {
		t.Errorf("the reconciled top-up: %d %+v", resp.StatusCode, got)
	}
	if rs, err := e.svc.banks.Reconcile(ctx, time.Now().Add(2*money.DefaultBankGrace)); err != nil || rs.Resolved != 0 {
		t.Errorf("second reconcile: %+v %v, want nothing to do", rs, err)
	}

	// Another wallet cannot use alice's link: it does not exist for bob.
	bob, _ := e.walletUser("bob@example.com", 2, "ボブ", "1990-03-04", false)
	if st, _, ae := topUp(bob, "b1", link, 1_000); st != 404 || ae.Error.Code != "not_found" {
		t.Errorf("bob with alice's link: %d %+v", st, ae)
	}
	if resp := post(t, e.api+"/topups", bob, "b2", `{"link":"nonsense","amount":1000}`, &ae); resp.StatusCode != 400 || ae.Error.Field != "link" {
		t.Errorf("a malformed link: %d %+v", resp.StatusCode, ae)
	}

	// A revoked link moves nothing.
	if resp := call(t, "DELETE", e.api+"/links/"+link, alice, "", nil); resp.StatusCode != 200 {
		t.Fatalf("unlink: %d", resp.StatusCode)
	}
	if st, _, ae := topUp(alice, "t9", link, 1_000); st != 403 || ae.Error.Code != "declined" || ae.Error.Reason != "link_revoked" {
		t.Errorf("top-up through a revoked link: %d %+v", st, ae)
	}
	if resp := post(t, e.api+"/withdrawals", alice, "w2", `{"link":"`+link+`","amount":1000}`, &ae); resp.StatusCode != 403 || ae.Error.Reason != "link_revoked" {
		t.Errorf("withdrawal through a revoked link: %d %+v", resp.StatusCode, ae)
	}

	r, err := ledger.Verify(ctx, e.svc.store)
	if err != nil || !r.OK() {
		t.Errorf("ledger verify: %+v %v", r.Problems, err)
	}
}

// TestTopUpThroughALinkTheBankRevoked: the customer withdrew consent at the bank. The top-up is
// declined relink_required (the refresh the connector tries is refused too), the hold voided,
// and the link marked reconsent, which refuses further operations before the bank is called.
func TestTopUpThroughALinkTheBankRevoked(t *testing.T) {
	e := startLinking(t)
	hanako := e.customer("hanako", "ﾘﾖｳ ｼｬ", "1980-01-02", "+819011110001", "1000567")
	alice, _ := e.walletUser("alice@example.com", 1, "リヨウ シャ", "1980-01-02", true)
	if status, _, _ := e.link(alice, hanako); status != 200 {
		t.Fatalf("link: %d", status)
	}
	link := e.links(alice)[0].ID
	gs, err := e.sim.Grants("0001")
	if err != nil || len(gs) != 1 {
		t.Fatalf("grants: %+v %v", gs, err)
	}
	// The grant is revoked but its mandate_revoked webhook is lost (sent under a cancelled
	// context): the wallet learns of it only when the bank refuses the link's token.
	_, _ = e.sim.RevokeGrant(lostWebhook(), "0001", gs[0].ID)
	var ae apiError
	if resp := post(t, e.api+"/topups", alice, "t1", `{"link":"`+link+`","amount":1000}`, &ae); resp.StatusCode != 403 || ae.Error.Code != "declined" || ae.Error.Reason != "relink_required" {
		t.Fatalf("top-up through a link revoked at the bank: %d %+v", resp.StatusCode, ae)
	}
	if ls := e.links(alice); ls[0].Status != "reconsent" {
		t.Errorf("the link after the bank refused its token: %+v", ls[0])
	}
	if resp := post(t, e.api+"/topups", alice, "t2", `{"link":"`+link+`","amount":1000}`, &ae); resp.StatusCode != 403 || ae.Error.Code != "declined" || ae.Error.Reason != "relink_required" {
		t.Errorf("top-up through a link needing re-consent: %d %+v", resp.StatusCode, ae)
	}
	var me wallet
	call(t, "GET", e.api+"/me", alice, "", &me)
	if me.Wallet.Balance != 0 || me.Wallet.Available != 0 {
		t.Errorf("wallet after the refused top-ups: %+v", me.Wallet)
	}
	if e.audited("link.reconsent") != 1 {
		t.Error("marking the link for re-consent is not audited")
	}
}
