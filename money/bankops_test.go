package money_test

import (
	"context"
	"net/netip"
	"path/filepath"
	"sync"
	"testing"

	"emoney"
	"emoney/alerts"
	"emoney/bank"
	"emoney/identity"
	"emoney/ledger"
	"emoney/money"
	"emoney/pii"
	"emoney/sqlite"
)

// Concurrent requests with one Idempotency-Key make one top-up: one hold, the money moved at
// the bank once, every caller told the same operation.
func TestTopUpSameKeyConcurrently(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := sqlite.Open(filepath.Join(dir, "emoney.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	keys, _, err := pii.LoadOrCreate(filepath.Join(dir, "keyset.json"))
	if err != nil {
		t.Fatal(err)
	}
	l := ledger.New(s, ledger.Config{})
	t.Cleanup(func() { l.Close() })
	ids, err := identity.New(s, keys, l, identity.Config{Argon2: identity.Argon2{Time: 1, MemoryKiB: 64, Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	sim := bank.NewSim()
	reg, _ := bank.NewRegistry(bank.Bank{Code: "0001", Connector: sim.Connector("0001")})
	limited := 0
	ops := money.NewBankOps(money.New(l, ids, 0), money.BankConfig{Banks: reg, Store: s, Alerts: alerts.New(s, l, nil),
		CheckLimits: func(ctx context.Context, p identity.Principal, kind string, amount int64) error {
			if amount > 5000 {
				limited++
				return &emoney.Error{Code: emoney.ELimitExceeded, Reason: "daily", Message: "over the daily limit"}
			}
			return nil
		}})
	u, w, err := ids.SignUp(ctx, "alice@example.com", "correct horse battery", netip.MustParseAddr("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	p := identity.Principal{User: u.ID, Role: emoney.RoleCustomer}

	var wg sync.WaitGroup
	got := make([]money.BankOp, 8)
	errs := make([]error, 8)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = ops.TopUp(ctx, p, "same", "0001", 3000)
		}()
	}
	wg.Wait()
	for i := range got {
		if errs[i] != nil || got[i].ID != got[0].ID {
			t.Errorf("caller %d: %+v %v", i, got[i], errs[i])
		}
	}
	if c := sim.Calls("0001"); c.Debited != 3000 {
		t.Errorf("the bank moved %d, want 3000 once", c.Debited)
	}
	if b, err := l.Balance(ctx, w.ID, emoney.JPY); err != nil || b.Balance+b.CreditsPending != 3000 {
		t.Errorf("wallet %+v %v", b, err)
	}

	// The limits hook is asked before anything is held or sent.
	if _, err := ops.TopUp(ctx, p, "big", "0001", 6000); emoney.ErrorCode(err) != emoney.ELimitExceeded || limited != 1 {
		t.Errorf("over the hook's limit: %v (hook refused %d)", err, limited)
	}
	if c := sim.Calls("0001"); c.Debited != 3000 {
		t.Errorf("a refused top-up reached the bank: %+v", c)
	}
	if r, err := ledger.Verify(ctx, s); err != nil || !r.OK() {
		t.Errorf("verify: %+v %v", r, err)
	}
}
