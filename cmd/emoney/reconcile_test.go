package main

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"emoney"
	"emoney/banklink"
	"emoney/banksim"
	"emoney/ledger"
)

// reconcileCLI runs emoney reconcile against e's database and simulator, as a second process
// would: with the wallet key serve keeps beside the keyset.
func (e *linkEnv) reconcileCLI(args ...string) (string, error) {
	e.t.Helper()
	dir := filepath.Dir(e.svc.walletKeyPath)
	base := strings.TrimSuffix(e.sim.Issuer("0001"), "/banks/0001")
	out, _, err := cli(e.t, nil, append([]string{"reconcile", "--db", "sqlite:" + filepath.Join(dir, "emoney.db"),
		"--keyset", filepath.Join(dir, "keyset.json"), "--banksim-url", base}, args...)...)
	return out, err
}

// handResolve posts (amount > 0) or voids (amount 0) a pending bank hold as staff would by
// hand, outside the bank operation's own flow.
func (e *linkEnv) handResolve(pending string, amount int64) {
	e.t.Helper()
	id, err := emoney.ParseID(pending)
	if err != nil {
		e.t.Fatal(err)
	}
	kind := emoney.TransferVoid
	if amount > 0 {
		kind = emoney.TransferPost
	}
	if _, err := e.svc.ledger.Submit(context.Background(), ledger.Request{Principal: "staff:test", Key: "hand-" + pending,
		Ops: []ledger.Op{{Kind: kind, PendingID: id, Amount: amount}}}); err != nil {
		e.t.Fatal(err)
	}
}

func TestReconcile(t *testing.T) {
	e := startLinkingMandate(t, 8_000)
	hanako := e.customer("hanako", "ﾘﾖｳ ｼｬ", "1980-01-02", "+819011110001", "1000567")
	alice, _ := e.walletUser("alice@example.com", 1, "リヨウ シャ", "1980-01-02", true)
	if status, _, _ := e.link(alice, hanako); status != 200 {
		t.Fatalf("link: %d", status)
	}
	link := e.links(alice)[0].ID
	var op, first bankOp
	if resp := post(t, e.api+"/topups", alice, "t1", `{"link":"`+link+`","amount":5000}`, &first); resp.StatusCode != 201 {
		t.Fatalf("top-up: %d", resp.StatusCode)
	}
	if resp := post(t, e.api+"/withdrawals", alice, "w1", `{"link":"`+link+`","amount":1000}`, &op); resp.StatusCode != 201 {
		t.Fatalf("withdrawal: %d %+v", resp.StatusCode, op)
	}

	// Clean: both operations match, exit 0, the report on the last line.
	out, err := e.reconcileCLI("--json")
	if err != nil {
		t.Fatalf("a clean reconcile: %v\n%s", err, out)
	}
	var r banklink.ReconcileReport
	lastJSON(t, out, &r)
	if !r.OK() || r.Matched != 2 || r.LedgerOps != 2 || r.BankEntries != 2 || strings.Join(r.Banks, ",") != "0001" {
		t.Errorf("a clean reconcile: %+v", r)
	}

	// A top-up the bank made whose answer was lost: pending in the ledger, settled at the bank.
	if err := e.sim.InjectFailures("0001", banksim.Failures{LoseAnswer: 1}); err != nil {
		t.Fatal(err)
	}
	var lost bankOp
	if resp := post(t, e.api+"/topups", alice, "t2", `{"link":"`+link+`","amount":2000}`, &lost); resp.StatusCode != 202 || lost.Status != "pending" {
		t.Fatalf("top-up with a lost answer: %d %+v", resp.StatusCode, lost)
	}
	out, err = e.reconcileCLI()
	if err == nil || !strings.Contains(out, "DIFFERENCE pending_settled_at_bank bank 0001 operation "+lost.ID) || !strings.Contains(out, "reconciler") {
		t.Errorf("reconcile with the lost answer pending: %v\n%s", err, out)
	}
	if strings.Contains(out, "{") {
		t.Errorf("a reconcile that fails printed JSON:\n%s", out)
	}
	// Staff void the hold by hand: the bank took ¥2,000 the ledger does not show.
	e.handResolve(lost.ID, 0)
	out, err = e.reconcileCLI("--json")
	if err == nil || !strings.Contains(out, "DIFFERENCE void_in_ledger bank 0001 operation "+lost.ID+" (topup) ledger 2000 bank 2000") {
		t.Errorf("reconcile after the hold was voided: %v\n%s", err, out)
	}

	// Another lost answer, posted by hand for less than the bank took: the amounts differ.
	if err := e.sim.InjectFailures("0001", banksim.Failures{LoseAnswer: 1}); err != nil {
		t.Fatal(err)
	}
	var short bankOp
	if resp := post(t, e.api+"/topups", alice, "t3", `{"link":"`+link+`","amount":3000}`, &short); resp.StatusCode != 202 {
		t.Fatalf("top-up with a lost answer: %d %+v", resp.StatusCode, short)
	}
	e.handResolve(short.ID, 2500)
	out, err = e.reconcileCLI("--bank", "0001")
	if err == nil || !strings.Contains(out, "DIFFERENCE amount_differs bank 0001 operation "+short.ID+" (topup) ledger 2500 bank 3000") ||
		strings.Count(out, "DIFFERENCE") != 2 {
		t.Errorf("reconcile after a short post: %v\n%s", err, out)
	}

	// A withdrawal the bank never made (it answered 503 before doing anything), posted by hand:
	// the ledger paid out what the bank's statement does not show.
	if err := e.sim.InjectFailures("0001", banksim.Failures{Status5xx: 1}); err != nil {
		t.Fatal(err)
	}
	var unpaid bankOp
	if resp := post(t, e.api+"/withdrawals", alice, "w2", `{"link":"`+link+`","amount":700}`, &unpaid); resp.StatusCode != 202 {
		t.Fatalf("withdrawal the bank did not answer: %d %+v", resp.StatusCode, unpaid)
	}
	e.handResolve(unpaid.ID, 700)
	// And the first top-up's record removed from the ledger's database.
	raw, err := sql.Open("sqlite", "file:"+filepath.Join(filepath.Dir(e.svc.walletKeyPath), "emoney.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`DELETE FROM link_ops WHERE idem_key = 't1'`); err != nil {
		t.Fatal(err)
	}
	out, err = e.reconcileCLI()
	if err == nil || !strings.Contains(out, "DIFFERENCE missing_at_bank bank 0001 operation "+unpaid.ID+" (withdrawal) ledger 700 bank 0") ||
		!strings.Contains(out, "DIFFERENCE missing_in_ledger bank 0001 operation "+first.ID+" (debit) ledger 0 bank 5000") {
		t.Errorf("reconcile after an unpaid withdrawal and a removed record: %v\n%s", err, out)
	}

	// A period before any of it, and another bank, find nothing to differ.
	if out, err := e.reconcileCLI("--from", "2020-01-01", "--to", "2020-01-31"); err != nil {
		t.Errorf("an empty period: %v\n%s", err, out)
	}
	if out, err := e.reconcileCLI("--bank", "0005"); err != nil {
		t.Errorf("another bank: %v\n%s", err, out)
	}
	// Bad flags are refused before anything is read.
	if _, err := e.reconcileCLI("--from", "yesterday"); err == nil {
		t.Error("--from yesterday was accepted")
	}
	if _, err := e.reconcileCLI("--from", "2026-01-01", "--to", "2025-01-01"); err == nil {
		t.Error("a period ending before it starts was accepted")
	}
}
