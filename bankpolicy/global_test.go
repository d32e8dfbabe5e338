package bankpolicy_test

import (
	"context"
	"testing"
	"time"

	"emoney"
	"emoney/bankpolicy"
	"emoney/internal/fakeclock"
)

// The global switch stops an operation with every bank, on every instance within MaxAge, and
// is independent of each bank's own switch: releasing either leaves the other pulled.
func TestGlobalKillSwitch(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	clk := fakeclock.New(time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC))
	a := bankpolicy.New(s, bankpolicy.Config{Now: clk.Now})
	b := bankpolicy.New(s, bankpolicy.Config{Now: clk.Now})
	if err := b.Check(ctx, "0002", emoney.SwitchWithdrawals); err != nil { // b caches "nothing pulled"
		t.Fatal(err)
	}
	if _, err := a.PullKillSwitch(ctx, bankpolicy.Global, emoney.SwitchWithdrawals, "core banking outage", clk.Now().Add(time.Hour), "staff:x"); err != nil {
		t.Fatal(err)
	}
	for _, code := range []string{"0001", "0002", "9900"} {
		err := a.Check(ctx, code, emoney.SwitchWithdrawals)
		var susp *bankpolicy.Suspended
		if !asSuspended(err, &susp) || susp.Err.Reason != bankpolicy.ReasonWithdrawalsOff || susp.RetryAfter != 3600 {
			t.Fatalf("bank %s under the global switch: %#v", code, err)
		}
	}
	if err := a.Check(ctx, "0001", emoney.SwitchTopUps); err != nil {
		t.Errorf("the global withdrawals switch stopped top-ups: %v", err)
	}
	clk.Add(bankpolicy.MaxAge)
	wantCode(t, b.Check(ctx, "0002", emoney.SwitchWithdrawals), emoney.ESuspended) // the other instance, within MaxAge

	// A bank's own switch too; releasing the global one leaves the bank's pulled.
	if _, err := a.PullKillSwitch(ctx, "0001", emoney.SwitchWithdrawals, "bank 1 phishing", time.Time{}, "staff:x"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Release(ctx, bankpolicy.Global, emoney.SwitchWithdrawals, "outage over", "staff:y"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, a.Check(ctx, "0001", emoney.SwitchWithdrawals), emoney.ESuspended)
	if err := a.Check(ctx, "0002", emoney.SwitchWithdrawals); err != nil {
		t.Errorf("bank 0002 after the global release: %v", err)
	}
	// And the other way round: a bank's release leaves the global switch pulled.
	if _, err := a.PullKillSwitch(ctx, bankpolicy.Global, emoney.SwitchWithdrawals, "again", time.Time{}, "staff:x"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Release(ctx, "0001", emoney.SwitchWithdrawals, "bank 1 fixed", "staff:y"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, a.Check(ctx, "0001", emoney.SwitchWithdrawals), emoney.ESuspended)

	// The global entry holds switches only; every change is audited on object bank:all.
	_, err := a.Set(ctx, bankpolicy.Global, emoney.DefaultBankPolicy("0001"), "staff:x", 0)
	wantCode(t, err, emoney.EInvalid)
	n := 0
	if err := s.View(ctx, func(tx emoney.ReadTx) error {
		return tx.ScanAudit(ctx, func(e emoney.AuditEntry) error {
			if e.Object == "bank:all" {
				n++
			}
			return nil
		})
	}); err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Errorf("%d audit entries on bank:all, want 3 (pull, release, pull)", n)
	}
}
