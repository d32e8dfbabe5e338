package main

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"emoney"
	"emoney/bank"
	emhttp "emoney/http"
	"emoney/kyc"
	"emoney/ledger"
	"emoney/money"
)

// startBanked runs the service wired as `emoney serve` wires it (simulated banks, reconciler) on
// a free port over a fresh SQLite file, and returns it, so that the test can tell the simulated
// banks how to answer and run the reconciler at a time of its choosing, with the API's base URL
// and the --db value.
func startBanked(t *testing.T) (svc *service, api, db string) {
	t.Helper()
	dir := t.TempDir()
	db = "sqlite:" + filepath.Join(dir, "emoney.db")
	svc, err := openService(context.Background(), db, filepath.Join(dir, "keyset.json"), emhttp.Config{Mode: "development"}, serviceConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.server.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- svc.server.Serve("", "") }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		svc.server.Shutdown(ctx)
		<-served
		svc.Close()
	})
	return svc, "http://" + svc.server.Addr() + "/api/v1", db
}

// verifiedUser is user raised to tier 2 through the API (phone code read from the simulated SMS
// sink, eKYC by the simulated provider): only a verified identity moves money to or from a bank.
func verifiedUser(t *testing.T, svc *service, api, email string, n int) (token, wallet string) {
	t.Helper()
	token, wallet = user(t, api, email)
	phone := fmt.Sprintf("+81700000%04d", n)
	if resp := call(t, "POST", api+"/kyc/phone", token, `{"phone":"`+phone+`"}`, nil); resp.StatusCode != 202 {
		t.Fatalf("send code: %d", resp.StatusCode)
	}
	code := svc.sms.(*kyc.DevSMS).LastCode(phone)
	if resp := call(t, "POST", api+"/kyc/phone/confirm", token, `{"code":"`+code+`"}`, nil); resp.StatusCode != 200 {
		t.Fatalf("confirm: %d", resp.StatusCode)
	}
	doc := fmt.Sprintf(`{"type":"passport","number":"TK%04d","name_kanji":"利用 者","name_kana":"リヨウ シャ","birth_date":"1980-01-%02d"}`, n, 1+n%28)
	if resp := call(t, "POST", api+"/kyc/ekyc", token, doc, nil); resp.StatusCode != 200 {
		t.Fatalf("eKYC: %d", resp.StatusCode)
	}
	return token, wallet
}

type bankOp struct {
	ID, Kind, Bank, Wallet, Status, Reason string
	Amount                                 int64
}

type wallet struct {
	Wallet struct{ Balance, Available int64 } `json:"wallet"`
}

func TestTopUpsAndWithdrawalsOverHTTP(t *testing.T) {
	svc, api, db := startBanked(t)
	sim := svc.sim
	ctx := context.Background()
	alice, aliceWallet := verifiedUser(t, svc, api, "alice@example.com", 1)
	bob, _ := verifiedUser(t, svc, api, "bob@example.com", 2)
	carol, _ := user(t, api, "carol@example.com")
	var e apiError
	if resp := post(t, api+"/topups", carol, "c1", `{"bank":"0001","amount":5000}`, &e); resp.StatusCode != 403 || e.Error.Code != "forbidden" {
		t.Errorf("a top-up from an unverified wallet: %d %+v", resp.StatusCode, e)
	}
	later := func() time.Time { return time.Now().Add(2 * money.DefaultBankGrace) } // past the reconciler's grace
	balance := func(wantBalance, wantAvailable int64) {
		t.Helper()
		var me wallet
		call(t, "GET", api+"/me", alice, "", &me)
		if me.Wallet.Balance != wantBalance || me.Wallet.Available != wantAvailable {
			t.Errorf("alice's wallet %+v, want balance %d, available %d", me.Wallet, wantBalance, wantAvailable)
		}
	}
	reconcile := func(at time.Time, resolved, alerted int) {
		t.Helper()
		st, err := svc.banks.Reconcile(ctx, at)
		if err != nil || st.Resolved != resolved || st.Alerted != alerted {
			t.Errorf("reconcile: %+v %v, want %d resolved, %d alerted", st, err, resolved, alerted)
		}
	}

	// A top-up the bank confirms: 201, the money is in the wallet, the bank was called once.
	var op bankOp
	if resp := post(t, api+"/topups", alice, "t1", `{"bank":"0001","amount":5000}`, &op); resp.StatusCode != 201 || op.Status != "succeeded" || op.Kind != "topup" || op.Bank != "0001" || op.Wallet != aliceWallet || op.Amount != 5000 {
		t.Fatalf("top-up: %d %+v", resp.StatusCode, op)
	}
	balance(5000, 5000)
	// The same key again: the same operation, and the bank is not called again.
	var again bankOp
	if resp := post(t, api+"/topups", alice, "t1", `{"bank":"0001","amount":5000}`, zeroed(&again)); resp.StatusCode != 201 || again.ID != op.ID || again.Status != "succeeded" {
		t.Errorf("retried top-up: %d %+v", resp.StatusCode, again)
	}
	if c := sim.Calls("0001"); c.Debit != 1 || c.Debited != 5000 {
		t.Errorf("bank 0001 after a top-up and its retry: %+v", c)
	}
	balance(5000, 5000)

	for _, tc := range []struct {
		key, body, code, field string
		status                 int
	}{
		{"t1", `{"bank":"0001","amount":5001}`, "conflict", "idempotency_key", 409},
		{"v1", `{"bank":"12","amount":100}`, "invalid", "bank", 400},
		{"v2", `{"bank":"0002","amount":100}`, "invalid", "bank", 400}, // not configured
		{"v3", `{"bank":"0001","amount":0}`, "invalid", "amount", 400},
		{"v4", `{"bank":"0001","amount":-1}`, "invalid", "amount", 400},
		{"v5", `{"bank":"0001","amount":1000001}`, "limit_exceeded", "amount", 422},
		{"v6", `{"bank":"0001","amount":100,"wallet":"x"}`, "invalid", "wallet", 400},
		{"", `{"bank":"0001","amount":100}`, "invalid", "Idempotency-Key", 400},
	} {
		for _, path := range []string{"/topups", "/withdrawals"} {
			var e apiError
			if resp := post(t, api+path, alice, tc.key, tc.body, zeroed(&e)); resp.StatusCode != tc.status || e.Error.Code != tc.code || e.Error.Field != tc.field {
				t.Errorf("%s %s %s: %d %+v", path, tc.key, tc.body, resp.StatusCode, e)
			}
		}
	}
	if c := sim.Calls("0001"); c.Debit != 1 || c.Credit != 0 {
		t.Errorf("refused requests reached the bank: %+v", c)
	}
	if resp := post(t, api+"/topups", "", "x", `{"bank":"0001","amount":100}`, zeroed(&e)); resp.StatusCode != 401 {
		t.Errorf("top-up without a token: %d", resp.StatusCode)
	}

	// Declined by the bank: voided, nothing moved, the reason said; the same key says it again
	// without asking the bank again.
	if resp := post(t, api+"/topups", alice, "t2", `{"bank":"9900","amount":3000}`, zeroed(&e)); resp.StatusCode != 403 || e.Error.Code != "declined" || e.Error.Reason != "insufficient_balance" {
		t.Errorf("declined top-up: %d %+v", resp.StatusCode, e)
	}
	if resp := post(t, api+"/topups", alice, "t2", `{"bank":"9900","amount":3000}`, zeroed(&e)); resp.StatusCode != 403 || e.Error.Reason != "insufficient_balance" {
		t.Errorf("retried declined top-up: %d %+v", resp.StatusCode, e)
	}
	var lim struct {
		AddedToday int64 `json:"added_today"`
	}
	if call(t, "GET", api+"/limits", alice, "", &lim); lim.AddedToday != 5000 {
		t.Errorf("added today %d after a 5000 top-up and a declined one, want 5000: a decline gives its count back", lim.AddedToday)
	}
	if c := sim.Calls("9900"); c.Debit != 1 || c.Debited != 0 {
		t.Errorf("bank 9900 after a declined top-up and its retry: %+v", c)
	}
	balance(5000, 5000)
	declinedID := newestPending(t, api, alice)
	var got bankOp
	if resp := call(t, "GET", api+"/topups/"+declinedID, alice, "", zeroed(&got)); resp.StatusCode != 200 || got.Status != "declined" || got.Reason != "insufficient_balance" || got.Bank != "9900" {
		t.Errorf("GET declined top-up: %d %+v", resp.StatusCode, got)
	}

	// The bank times out: 202 pending, the money held but not spendable; the reconciler leaves it
	// while the bank stays silent, and posts it once the bank answers.
	sim.Set("0001", bank.SimBank{Behaviour: bank.TimeOut})
	var slow bankOp
	if resp := post(t, api+"/topups", alice, "t3", `{"bank":"0001","amount":2000}`, zeroed(&slow)); resp.StatusCode != 202 || slow.Status != "pending" {
		t.Fatalf("timed-out top-up: %d %+v", resp.StatusCode, slow)
	}
	if resp := post(t, api+"/topups", alice, "t3", `{"bank":"0001","amount":2000}`, zeroed(&again)); resp.StatusCode != 202 || again.ID != slow.ID {
		t.Errorf("retried pending top-up: %d %+v", resp.StatusCode, again)
	}
	if c := sim.Calls("0001"); c.Debit != 2 {
		t.Errorf("bank 0001 debits after a timed-out top-up and its retry: %d, want 2 in all", c.Debit)
	}
	balance(5000, 5000)
	reconcile(time.Now(), 0, 0) // within the grace period: the request may still be at it
	if c := sim.Calls("0001"); c.Status != 0 {
		t.Errorf("the reconciler asked about a hold within its grace period: %+v", c)
	}
	reconcile(later(), 0, 0) // the bank still does not answer
	if resp := call(t, "GET", api+"/topups/"+slow.ID, alice, "", zeroed(&got)); resp.StatusCode != 200 || got.Status != "pending" {
		t.Errorf("GET while the bank is silent: %d %+v", resp.StatusCode, got)
	}
	sim.Set("0001", bank.SimBank{Behaviour: bank.Succeed})
	reconcile(later(), 1, 0) // never received: sent again under the same reference
	if resp := call(t, "GET", api+"/topups/"+slow.ID, alice, "", zeroed(&got)); resp.StatusCode != 200 || got.Status != "succeeded" {
		t.Errorf("GET after reconciling: %d %+v", resp.StatusCode, got)
	}
	balance(7000, 7000)

	// The bank takes the money and the answer is lost: pending, and the reconciler posts it on
	// the bank's word (never voids it), without sending it again.
	sim.Set("0001", bank.SimBank{Behaviour: bank.FailAfter})
	if resp := post(t, api+"/topups", alice, "t4", `{"bank":"0001","amount":1000}`, zeroed(&slow)); resp.StatusCode != 202 || slow.Status != "pending" {
		t.Fatalf("top-up whose answer was lost: %d %+v", resp.StatusCode, slow)
	}
	reconcile(later(), 1, 0)
	if c := sim.Calls("0001"); c.Debited != 8000 || c.Debit != 4 {
		t.Errorf("bank 0001 after a lost answer: %+v (8000 debited in 4 calls)", c)
	}
	balance(8000, 8000)
	sim.Set("0001", bank.SimBank{Behaviour: bank.Succeed})

	// Withdrawals: more than the wallet holds is refused before the bank hears of it.
	if resp := post(t, api+"/withdrawals", alice, "w1", `{"bank":"0001","amount":9000}`, zeroed(&e)); resp.StatusCode != 422 || e.Error.Code != "insufficient_funds" {
		t.Errorf("withdrawing too much: %d %+v", resp.StatusCode, e)
	}
	if c := sim.Calls("0001"); c.Credit != 0 {
		t.Errorf("the bank was asked to credit money the wallet does not hold: %+v", c)
	}
	// Declined: the money comes back.
	sim.Set("0001", bank.SimBank{Behaviour: bank.Decline, Reason: "account_closed"})
	if resp := post(t, api+"/withdrawals", alice, "w2", `{"bank":"0001","amount":3000}`, zeroed(&e)); resp.StatusCode != 403 || e.Error.Code != "declined" || e.Error.Reason != "account_closed" {
		t.Errorf("declined withdrawal: %d %+v", resp.StatusCode, e)
	}
	balance(8000, 8000)
	sim.Set("0001", bank.SimBank{Behaviour: bank.Succeed})
	var w bankOp
	if resp := post(t, api+"/withdrawals", alice, "w3", `{"bank":"0001","amount":2000}`, &w); resp.StatusCode != 201 || w.Status != "succeeded" || w.Kind != "withdrawal" {
		t.Fatalf("withdrawal: %d %+v", resp.StatusCode, w)
	}
	balance(6000, 6000)
	if c := sim.Calls("0001"); c.Credit != 2 || c.Credited != 2000 {
		t.Errorf("bank 0001 after a declined and a confirmed withdrawal: %+v", c)
	}
	// Only the owner sees an operation, and only under its own kind.
	if resp := call(t, "GET", api+"/withdrawals/"+w.ID, alice, "", zeroed(&got)); resp.StatusCode != 200 || got.Status != "succeeded" || got.Amount != 2000 {
		t.Errorf("GET withdrawal: %d %+v", resp.StatusCode, got)
	}
	for _, tc := range []struct{ who, path string }{
		{bob, "/withdrawals/" + w.ID}, {bob, "/topups/" + op.ID}, {alice, "/topups/" + w.ID}, {alice, "/withdrawals/" + op.ID}, {alice, "/topups/nonsense"},
	} {
		if resp := call(t, "GET", api+tc.path, tc.who, "", zeroed(&e)); resp.StatusCode != 404 || e.Error.Code != "not_found" {
			t.Errorf("GET %s by someone else or under another kind: %d %+v", tc.path, resp.StatusCode, e)
		}
	}

	// A withdrawal the bank made but whose answer was lost, and then the bank is unreachable for
	// a day: staff are alerted, once; when the bank answers at last, the hold follows and the
	// alert is closed with the bank's answer (even above the approval threshold: the bank's word
	// is not a staff judgement).
	sim.Set("0001", bank.SimBank{Behaviour: bank.FailAfter})
	if resp := post(t, api+"/withdrawals", alice, "w4", `{"bank":"0001","amount":1000}`, zeroed(&slow)); resp.StatusCode != 202 || slow.Status != "pending" {
		t.Fatalf("withdrawal with its answer lost: %d %+v", resp.StatusCode, slow)
	}
	sim.Set("0001", bank.SimBank{Behaviour: bank.TimeOut})
	svc.alerts.SetApprovalAbove(500)
	defer svc.alerts.SetApprovalAbove(100_000)
	balance(6000, 5000) // reserved while unknown
	reconcile(later(), 0, 0)
	dayLater := time.Now().Add(25 * time.Hour)
	reconcile(dayLater, 0, 1)
	reconcile(dayLater, 0, 0)
	slowID, _ := emoney.ParseID(slow.ID)
	if a, err := svc.alerts.Get(ctx, slowID); err != nil || a.Kind != "bank_unresolved" || a.Status != emoney.AlertOpen || a.Transfer != slowID || a.Subject != "wallet:"+aliceWallet {
		t.Errorf("alert for the silent withdrawal: %+v %v", a, err)
	}
	sim.Set("0001", bank.SimBank{Behaviour: bank.Succeed})
	reconcile(dayLater, 1, 0)
	if a, err := svc.alerts.Get(ctx, slowID); err != nil || a.Status != emoney.AlertReleased || a.ResolvedBy != "system:bank" {
		t.Errorf("alert once the bank answered: %+v %v", a, err)
	}
	if resp := call(t, "GET", api+"/withdrawals/"+slow.ID, alice, "", zeroed(&got)); resp.StatusCode != 200 || got.Status != "succeeded" {
		t.Errorf("GET the withdrawal after the bank answered: %d %+v", resp.StatusCode, got)
	}
	balance(5000, 5000)

	// Another stays silent; staff learn from the bank that it did not move the money and reject
	// it: the money is back, and the operation reads declined.
	sim.Set("0001", bank.SimBank{Behaviour: bank.TimeOut})
	var sent struct {
		SentToday int64 `json:"sent_today"`
	}
	call(t, "GET", api+"/limits", alice, "", &sent)
	sentBefore := sent.SentToday
	if resp := post(t, api+"/withdrawals", alice, "w5", `{"bank":"0001","amount":500}`, zeroed(&slow)); resp.StatusCode != 202 {
		t.Fatalf("timed-out withdrawal: %d %+v", resp.StatusCode, slow)
	}
	reconcile(time.Now().Add(25*time.Hour), 0, 1)
	slowID, _ = emoney.ParseID(slow.ID)
	if _, _, err := svc.alerts.Resolve(ctx, slowID, false, "staff:test"); err != nil {
		t.Fatal(err)
	}
	if resp := call(t, "GET", api+"/withdrawals/"+slow.ID, alice, "", zeroed(&got)); resp.StatusCode != 200 || got.Status != "declined" || got.Reason != "not_completed" {
		t.Errorf("GET a withdrawal staff rejected: %d %+v", resp.StatusCode, got)
	}
	reconcile(time.Now().Add(25*time.Hour), 0, 0) // nothing left to ask about
	balance(5000, 5000)
	if call(t, "GET", api+"/limits", alice, "", &sent); sent.SentToday != sentBefore {
		t.Errorf("sent today %d after staff rejected a withdrawal, want %d: a void gives its count back", sent.SentToday, sentBefore)
	}
	sim.Set("0001", bank.SimBank{Behaviour: bank.Succeed})

	out, _, err := cli(t, nil, "ledger", "verify", "--db", db)
	if err != nil {
		t.Errorf("ledger verify: %v\n%s", err, out)
	}
	settlement, err := svc.ledger.AccountByName(ctx, bank.AccountName("0001"))
	if err != nil {
		t.Fatal(err)
	}
	if b, err := svc.ledger.Balance(ctx, settlement.ID, emoney.JPY); err != nil || b.Balance != -5000 || b.DebitsPending != 0 || b.CreditsPending != 0 {
		t.Errorf("bank 0001's settlement account: %+v %v, want -5000 (8000 in, 3000 out) and nothing pending", b, err)
	}
}

// TestTopUpRecoveredAfterACrash: the process died between the pending hold and the bank call.
// A retry of the request does not call the bank (the hold exists: the reconciler owns it); the
// reconciler finds the bank never received it, sends it under the same reference and posts.
func TestTopUpRecoveredAfterACrash(t *testing.T) {
	svc, api, db := startBanked(t)
	ctx := context.Background()
	alice, aliceWallet := verifiedUser(t, svc, api, "alice@example.com", 1)
	var me struct {
		User struct{ ID string } `json:"user"`
	}
	call(t, "GET", api+"/me", alice, "", &me)
	settlement, err := svc.ledger.OpenAccount(ctx, ledger.AccountSpec{Name: bank.AccountName("0001"), Kind: emoney.AccountBank})
	if err != nil {
		t.Fatal(err)
	}
	aw, _ := emoney.ParseID(aliceWallet)
	// What TopUp does before it calls the bank, and no more.
	hold, err := svc.ledger.Transfer(ctx, "user:"+me.User.ID, "crash-1", ledger.Op{Kind: emoney.TransferPending, From: settlement.ID, To: aw,
		Amount: 700, Currency: emoney.JPY, Code: "topup", Hold: emoney.HoldBankDebit})
	if err != nil {
		t.Fatal(err)
	}
	var op bankOp
	if resp := post(t, api+"/topups", alice, "crash-1", `{"bank":"0001","amount":700}`, &op); resp.StatusCode != 202 || op.ID != hold.ID.String() || op.Status != "pending" {
		t.Errorf("retry after the crash: %d %+v", resp.StatusCode, op)
	}
	if c := svc.sim.Calls("0001"); c.Debit != 0 {
		t.Errorf("the retry called the bank: %+v", c)
	}
	st, err := svc.banks.Reconcile(ctx, time.Now().Add(2*money.DefaultBankGrace))
	if err != nil || st.Resolved != 1 {
		t.Errorf("reconcile: %+v %v", st, err)
	}
	if c := svc.sim.Calls("0001"); c.Status != 1 || c.Debit != 1 || c.Debited != 700 {
		t.Errorf("bank 0001 after reconciling: %+v", c)
	}
	if resp := call(t, "GET", api+"/topups/"+op.ID, alice, "", &op); resp.StatusCode != 200 || op.Status != "succeeded" {
		t.Errorf("GET after reconciling: %d %+v", resp.StatusCode, op)
	}
	if out, _, err := cli(t, nil, "ledger", "verify", "--db", db); err != nil {
		t.Errorf("ledger verify: %v\n%s", err, out)
	}
}

// zeroed zeroes *v and returns v, so that a decoded answer shows only what the answer held.
func zeroed[T any](v *T) *T {
	var zero T
	*v = zero
	return v
}

// newestPending returns the pending transfer the newest record of the caller's history resolves
// (or is): how a client finds an operation whose answer was an error.
func newestPending(t *testing.T, api, token string) string {
	t.Helper()
	var page struct {
		Items []struct {
			ID        string `json:"id"`
			Kind      string `json:"kind"`
			PendingID string `json:"pending_id"`
		} `json:"items"`
	}
	if resp := call(t, "GET", api+"/history?limit=1", token, "", &page); resp.StatusCode != 200 || len(page.Items) != 1 {
		t.Fatalf("history: %d %+v", resp.StatusCode, page)
	}
	if it := page.Items[0]; it.PendingID != "" {
		return it.PendingID
	}
	return page.Items[0].ID
}
