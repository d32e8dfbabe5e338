package alerts_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"emoney"
	"emoney/alerts"
	"emoney/ledger"
	"emoney/sqlite"
)

func TestSweepRaisesAlertsForOrphanHolds(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.Open(filepath.Join(t.TempDir(), "a.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	l := ledger.New(s, ledger.Config{})
	defer l.Close()
	bank, _ := l.OpenAccount(ctx, ledger.AccountSpec{Name: "bank:1", Kind: emoney.AccountBank})
	w, _ := l.OpenAccount(ctx, ledger.AccountSpec{Name: "wallet:1", Kind: emoney.AccountWallet})
	now := time.Now()
	svc := alerts.New(s, l, func() time.Time { return now })
	// A hold raised properly, and one whose raiser died before its alert.
	_, _, err = svc.Hold(ctx, "risk", "ok", ledger.Op{From: bank.ID, To: w.ID, Amount: 10, Code: "topup"}, "wallet:1", "rule:x")
	if err != nil {
		t.Fatal(err)
	}
	orphan, err := l.Transfer(ctx, "risk", "died", ledger.Op{Kind: emoney.TransferPending, Hold: emoney.HoldReview, From: bank.ID, To: w.ID, Amount: 20, Code: "topup"})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := svc.Sweep(ctx); err != nil || n != 0 {
		t.Fatalf("sweep within the grace period raised %d (%v): Hold may be between its two writes", n, err)
	}
	now = now.Add(alerts.SweepGrace + time.Second)
	n, err := svc.Sweep(ctx)
	if err != nil || n != 1 {
		t.Fatalf("sweep raised %d (%v), want 1", n, err)
	}
	a, err := svc.Get(ctx, orphan.ID)
	if err != nil || a.Status != emoney.AlertOpen || a.Transfer != orphan.ID {
		t.Errorf("alert for the orphan: %+v %v", a, err)
	}
	if n, _ := svc.Sweep(ctx); n != 0 {
		t.Errorf("second sweep raised %d", n)
	}
	if _, _, err := svc.Resolve(ctx, orphan.ID, false, "staff:1"); err != nil {
		t.Fatal(err)
	}
	if n, _ := svc.Sweep(ctx); n != 0 {
		t.Errorf("sweep after the hold was rejected raised %d", n)
	}

	// A decision recorded whose ledger side never ran (the process died in between) is settled by
	// the sweeper.
	h, a, err := svc.Hold(ctx, "risk", "h3", ledger.Op{From: bank.ID, To: w.ID, Amount: 30, Code: "topup"}, "wallet:1", "rule:y")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Update(ctx, func(tx emoney.Tx) error { return tx.ResolveAlert(ctx, a.ID, emoney.AlertReleased, "staff:2", now) }); err != nil {
		t.Fatal(err)
	}
	if n, err := svc.Sweep(ctx); err != nil || n != 1 {
		t.Fatalf("sweep settled %d (%v), want 1", n, err)
	}
	bal, _ := l.Balance(ctx, w.ID, emoney.JPY)
	if bal.Balance != 30 || bal.CreditsPending != 10 { // the released 30 posted; the first hold (10) still held
		t.Errorf("wallet after the sweep settled the release of %s: %+v", h.ID, bal)
	}
	if n, _ := svc.Sweep(ctx); n != 0 {
		t.Errorf("a settled decision was settled again: %d", n)
	}
}
