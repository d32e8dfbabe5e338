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

// A release above the threshold waits for a second staff member; the maker cannot be it; an
// approval the ledger did not follow (the process died) is posted by the sweeper.
func TestMakerChecker(t *testing.T) {
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
	svc.SetApprovalAbove(1000)
	hold := func(key string, amount int64) emoney.Alert {
		t.Helper()
		_, a, err := svc.Hold(ctx, "risk", key, ledger.Op{From: bank.ID, To: w.ID, Amount: amount, Code: "topup"}, "wallet:1", "rule:x")
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	balance := func() int64 {
		b, _ := l.Balance(ctx, w.ID, emoney.JPY)
		return b.Balance
	}

	// At the threshold one person decides.
	small := hold("small", 1000)
	if a, tr, err := svc.Resolve(ctx, small.ID, true, "staff:maker"); err != nil || a.Status != emoney.AlertReleased || tr.Kind != emoney.TransferPost {
		t.Fatalf("release at the threshold: %v %+v %+v", err, a, tr)
	}

	big := hold("big", 1001)
	a, tr, err := svc.Resolve(ctx, big.ID, true, "staff:maker")
	if err != nil || a.Status != emoney.AlertProposed || a.ProposedBy != "staff:maker" || !tr.ID.IsZero() {
		t.Fatalf("release above the threshold: %v %+v %+v", err, a, tr)
	}
	if _, _, err := svc.Resolve(ctx, big.ID, true, "staff:maker"); err != nil {
		t.Errorf("the maker's retry: %v", err)
	}
	if _, _, err := svc.Resolve(ctx, big.ID, true, "staff:other"); emoney.ErrorCode(err) != emoney.EConflict {
		t.Errorf("a second release instead of an approval: %v", err)
	}
	if _, _, err := svc.Approve(ctx, big.ID, "staff:maker"); emoney.ErrorCode(err) != emoney.EForbidden {
		t.Errorf("self-approval: %v", err)
	}
	if got := balance(); got != 1000 {
		t.Fatalf("balance %d before approval, want only the small release", got)
	}
	// Declined: open again; then rejected by one person.
	if a, err := svc.Decline(ctx, big.ID, "staff:checker"); err != nil || a.Status != emoney.AlertOpen {
		t.Fatalf("decline: %v %+v", err, a)
	}
	if _, _, err := svc.Approve(ctx, big.ID, "staff:checker"); emoney.ErrorCode(err) != emoney.EConflict {
		t.Errorf("approving what is not proposed: %v", err)
	}
	svc.Resolve(ctx, big.ID, true, "staff:maker")
	if a, tr, err := svc.Resolve(ctx, big.ID, false, "staff:other"); err != nil || a.Status != emoney.AlertRejected || tr.Kind != emoney.TransferVoid {
		t.Fatalf("reject over a proposal: %v %+v %+v", err, a, tr)
	}

	// Approved, and the ledger posts; a retry is the same decision.
	third := hold("third", 5000)
	svc.Resolve(ctx, third.ID, true, "staff:maker")
	if a, tr, err := svc.Approve(ctx, third.ID, "staff:checker"); err != nil || a.Status != emoney.AlertReleased || a.ResolvedBy != "staff:checker" || tr.Kind != emoney.TransferPost || tr.Amount != 5000 {
		t.Fatalf("approve: %v %+v %+v", err, a, tr)
	}
	if _, _, err := svc.Approve(ctx, third.ID, "staff:checker"); err != nil {
		t.Errorf("retried approval: %v", err)
	}
	if _, _, err := svc.Approve(ctx, third.ID, "staff:third"); emoney.ErrorCode(err) != emoney.EConflict {
		t.Errorf("a second approver after the first: %v", err)
	}

	// The process dies between recording an approval and posting: the sweeper posts it.
	fourth := hold("fourth", 7000)
	svc.Resolve(ctx, fourth.ID, true, "staff:maker")
	if err := s.Update(ctx, func(tx emoney.Tx) error { return tx.ApproveAlert(ctx, fourth.ID, "staff:checker", time.Now()) }); err != nil {
		t.Fatal(err)
	}
	if got := balance(); got != 6000 {
		t.Fatalf("balance %d before the sweep", got)
	}
	if n, err := svc.Sweep(ctx); err != nil || n != 1 {
		t.Fatalf("sweep: %d %v", n, err)
	}
	if got := balance(); got != 13000 {
		t.Errorf("balance %d after the sweep, want 13000", got)
	}
}
