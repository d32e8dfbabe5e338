package main

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"emoney"
	"emoney/bank"
	"emoney/banksim"
	"emoney/ledger"
	"emoney/money"
)

// TestBankCircuitBreakerOverHTTP: a bank that stops answering (503 to every call) leaves the
// first top-ups pending; after bank.DefaultBreakerFailures of them its breaker opens, and new
// top-ups and withdrawals with it are refused bank_unavailable before anything is held, while
// the reconciler leaves the pending ones alone. After the cool-down one top-up goes through as
// the probe; its answer closes the breaker and the reconciler finishes the pending ones, each
// moving money once.
func TestBankCircuitBreakerOverHTTP(t *testing.T) {
	e := startLinking(t)
	ctx := context.Background()
	alice, _, link, _ := e.linkedAlice()
	bankBalance := func() int64 {
		t.Helper()
		st, err := e.sim.AccountStatement("0001", "001-1000567")
		if err != nil {
			t.Fatal(err)
		}
		return st.Balance
	}
	pendingHolds := func() int {
		t.Helper()
		var n int
		if err := e.svc.store.View(ctx, func(tx emoney.ReadTx) error {
			for _, h := range []emoney.HoldKind{emoney.HoldBankDebit, emoney.HoldBankCredit} {
				hs, err := tx.PendingHolds(ctx, h, time.Now().Add(time.Hour), 1000)
				if err != nil {
					return err
				}
				n += len(hs)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return n
	}
	breakerMetric := func() string {
		t.Helper()
		resp, err := http.Get(strings.TrimSuffix(e.api, "/api/v1") + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		for _, line := range strings.Split(string(raw), "\n") {
			if v, ok := strings.CutPrefix(line, `emoney_bank_breaker_state{bank="0001"} `); ok {
				return v
			}
		}
		return ""
	}
	before := bankBalance()

	if err := e.sim.InjectFailures("0001", banksim.Failures{Status5xx: bank.DefaultBreakerFailures}); err != nil {
		t.Fatal(err)
	}
	for i := range bank.DefaultBreakerFailures {
		var op bankOp
		resp := post(t, e.api+"/topups", alice, "down-"+strconv.Itoa(i), `{"link":"`+link.ID.String()+`","amount":1000}`, &op)
		if resp.StatusCode != 202 || op.Status != "pending" {
			t.Fatalf("top-up %d while the bank answers 503: %d %+v", i, resp.StatusCode, op)
		}
	}
	if n := pendingHolds(); n != bank.DefaultBreakerFailures {
		t.Fatalf("pending holds: %d, want %d", n, bank.DefaultBreakerFailures)
	}
	if v := breakerMetric(); v != "2" {
		t.Errorf("breaker metric: %q, want 2 (open)", v)
	}

	// Open: refused before anything is held, and the bank is not called (had it been, the
	// simulator, whose injected failures are spent, would have answered).
	var ae apiError
	resp := post(t, e.api+"/topups", alice, "while-open", `{"link":"`+link.ID.String()+`","amount":1000}`, &ae)
	if resp.StatusCode != 502 || ae.Error.Code != "bank_unavailable" || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("top-up while the breaker is open: %d %+v (Retry-After %q)", resp.StatusCode, ae, resp.Header.Get("Retry-After"))
	}
	if ra, _ := strconv.Atoi(resp.Header.Get("Retry-After")); ra < 1 || ra > int(bank.DefaultBreakerCooldown/time.Second) {
		t.Errorf("Retry-After %d, want within the cool-down", ra)
	}
	resp = post(t, e.api+"/withdrawals", alice, "w-open", `{"link":"`+link.ID.String()+`","amount":1}`, &ae)
	if resp.StatusCode != 502 || ae.Error.Code != "bank_unavailable" {
		t.Errorf("withdrawal while the breaker is open: %d %+v", resp.StatusCode, ae)
	}
	if n := pendingHolds(); n != bank.DefaultBreakerFailures || bankBalance() != before {
		t.Errorf("after refusals: %d pending holds, bank %d; want %d, %d", n, bankBalance(), bank.DefaultBreakerFailures, before)
	}
	// Staff see the breaker open on the bank's page.
	staff := enrolStaff(t, e.svc, e.api, "ops@example.com", emoney.RoleSupport).token
	var b struct {
		Breaker struct {
			State   string    `json:"state"`
			ProbeAt time.Time `json:"probe_at"`
		} `json:"breaker"`
	}
	if resp := call(t, "GET", e.api+"/staff/banks/0001", staff, "", &b); resp.StatusCode != 200 || b.Breaker.State != "open" || b.Breaker.ProbeAt.IsZero() {
		t.Errorf("staff view of bank 0001: %d %+v", resp.StatusCode, b)
	}

	// The reconciler waits too while the breaker is open.
	rs, err := e.svc.banks.Reconcile(ctx, time.Now().Add(2*money.DefaultBankGrace))
	if err != nil || rs.Resolved != 0 {
		t.Fatalf("reconcile while open: %+v %v, want nothing resolved", rs, err)
	}

	// After the cool-down the next top-up is the probe: the bank answers, the breaker closes.
	later := time.Now().Add(bank.DefaultBreakerCooldown + time.Second)
	e.svc.banks.SetNow(func() time.Time { return later })
	var op bankOp
	if resp := post(t, e.api+"/topups", alice, "while-open", `{"link":"`+link.ID.String()+`","amount":1000}`, &op); resp.StatusCode != 201 || op.Status != "succeeded" {
		t.Fatalf("the probe top-up: %d %+v", resp.StatusCode, op)
	}
	if st, _ := e.svc.banks.Breakers().State("0001"); st != bank.BreakerClosed {
		t.Errorf("after the probe: %s, want closed", st)
	}
	if v := breakerMetric(); v != "0" {
		t.Errorf("breaker metric: %q, want 0 (closed)", v)
	}
	rs, err = e.svc.banks.Reconcile(ctx, later.Add(2*money.DefaultBankGrace))
	if err != nil || rs.Resolved != bank.DefaultBreakerFailures {
		t.Fatalf("reconcile once closed: %+v %v, want %d resolved", rs, err, bank.DefaultBreakerFailures)
	}
	moved := int64(1000 * (bank.DefaultBreakerFailures + 1))
	var me wallet
	call(t, "GET", e.api+"/me", alice, "", &me)
	if me.Wallet.Balance != moved || bankBalance() != before-moved || pendingHolds() != 0 {
		t.Errorf("after recovery: wallet %d, bank %d, %d pending; want %d, %d, 0", me.Wallet.Balance, bankBalance(), pendingHolds(), moved, before-moved)
	}
	r, err := ledger.Verify(ctx, e.svc.store)
	if err != nil || !r.OK() {
		t.Errorf("ledger verify: %+v %v", r.Problems, err)
	}
}
