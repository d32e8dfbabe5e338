package alerts_test

import (
	"context"
	"path/filepath"
	"testing"

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
	svc := alerts.New(s, l, nil)
	// A hold raised properly, and one whose raiser died before its alert.
	_, _, err = svc.Hold(ctx, "risk", "ok", ledger.Op{From: bank.ID, To: w.ID, Amount: 10, Code: "topup"}, "wallet:1", "rule:x")
	if err != nil {
		t.Fatal(err)
	}
	orphan, err := l.Transfer(ctx, "risk", "died", ledger.Op{Kind: emoney.TransferPending, Hold: emoney.HoldReview, From: bank.ID, To: w.ID, Amount: 20, Code: "topup"})
	if err != nil {
		t.Fatal(err)
	}
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
}
