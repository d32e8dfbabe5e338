package money_test

import (
	"context"
	"net/netip"
	"sync"
	"testing"

	"emoney"
	"emoney/alerts"
	"emoney/bank"
	"emoney/identity"
	"emoney/internal/testkit"
	"emoney/ledger"
	"emoney/money"
)

// Concurrent requests with one Idempotency-Key make one top-up: one hold, the money moved at
// the bank once, every caller told the same operation.
func TestTopUpSameKeyConcurrently(t *testing.T) {
	ctx := context.Background()
	k := testkit.New(t, nil, nil)
	s, l, ids := k.Store, k.Ledger, k.Identity
	sim := bank.NewSim()
	reg, _ := bank.NewRegistry(bank.Bank{Code: "0001", Connector: sim.Connector("0001")})
	tiers := money.DefaultTiers
	tiers[2].AddDaily = 5000
	ops := money.NewBankOps(money.New(l, ids, money.Config{Tiers: &tiers}), money.BankConfig{Banks: reg, Store: s, Alerts: alerts.New(s, l, nil)})
	u, w, err := ids.SignUp(ctx, "alice@example.com", "correct horse battery", netip.MustParseAddr("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	p := identity.Principal{User: u.ID, Role: emoney.RoleCustomer, KYCTier: 2}
	if _, err := ops.TopUp(ctx, identity.Principal{User: u.ID, Role: emoney.RoleCustomer, KYCTier: 1}, "unverified", "0001", 3000); emoney.ErrorCode(err) != emoney.EForbidden {
		t.Errorf("a tier 1 top-up: %v, want forbidden", err)
	}

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

	// The daily limit is checked before anything is sent to the bank.
	if _, err := ops.TopUp(ctx, p, "big", "0001", 2001); emoney.ErrorCode(err) != emoney.ELimitExceeded {
		t.Errorf("past the daily limit: %v", err)
	}
	if c := sim.Calls("0001"); c.Debited != 3000 {
		t.Errorf("a refused top-up reached the bank: %+v", c)
	}
	if r, err := ledger.Verify(ctx, s); err != nil || !r.OK() {
		t.Errorf("verify: %+v %v", r, err)
	}
}
