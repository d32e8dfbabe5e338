package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"emoney"
	"emoney/ledger"
)

// LedgerConfig sets up the ledger benchmark.
type LedgerConfig struct {
	Accounts    int           // wallets to spread transfers over (default 10,000)
	Concurrency int           // closed-loop clients (default 2048)
	Duration    time.Duration // default 10s
	Seed        uint64        // picks accounts and amounts
	Log         func(format string, args ...any)
}

// Ledger measures P2P transfers between cfg.Accounts wallets through l, each a durable commit
// with its own idempotency key. It opens and funds its own wallets (names carry a run id, so a
// shared database is not disturbed beyond the added accounts and transfers).
func Ledger(ctx context.Context, l *ledger.Ledger, storeKind string, cfg LedgerConfig) (Result, error) {
	if cfg.Accounts < 2 {
		cfg.Accounts = 10_000
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 2048
	}
	if cfg.Duration <= 0 {
		cfg.Duration = 10 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = func(string, ...any) {}
	}
	run := emoney.Monotonic{}
	runID := run.NewID().String()
	cfg.Log("bench ledger: opening and funding %d wallets (run %s)", cfg.Accounts, runID)
	bank, err := l.OpenAccount(ctx, ledger.AccountSpec{Name: "bench:" + runID + ":bank", Kind: emoney.AccountBank})
	if err != nil {
		return Result{}, err
	}
	specs := make([]ledger.AccountSpec, cfg.Accounts)
	for i := range specs {
		specs[i] = ledger.AccountSpec{Name: fmt.Sprintf("bench:%s:w%d", runID, i), Kind: emoney.AccountWallet}
	}
	wallets := make([]emoney.ID, 0, cfg.Accounts)
	for lo := 0; lo < len(specs); lo += 1000 {
		as, err := l.OpenAccounts(ctx, specs[lo:min(lo+1000, len(specs))])
		if err != nil {
			return Result{}, err
		}
		for _, a := range as {
			wallets = append(wallets, a.ID)
		}
	}
	// Fund every wallet in linked requests of 64 legs, also through the ledger.
	const funding = 10_000_000
	for lo := 0; lo < len(wallets); lo += ledger.MaxOps {
		var ops []ledger.Op
		for _, w := range wallets[lo:min(lo+ledger.MaxOps, len(wallets))] {
			ops = append(ops, ledger.Op{From: bank.ID, To: w, Amount: funding, Code: "topup"})
		}
		if _, err := l.Submit(ctx, ledger.Request{Principal: "system:bench", Key: fmt.Sprintf("%s-fund-%d", runID, lo), Ops: ops}); err != nil {
			return Result{}, err
		}
	}
	cfg.Log("bench ledger: %d clients for %s", cfg.Concurrency, cfg.Duration)
	rngs := make([]*rand.Rand, cfg.Concurrency)
	for i := range rngs {
		rngs[i] = rand.New(rand.NewPCG(cfg.Seed, uint64(i)))
	}
	r := Loop(ctx, cfg.Concurrency, cfg.Duration, func(ctx context.Context, w, n int) error {
		rng := rngs[w]
		from := rng.IntN(len(wallets))
		to := (from + 1 + rng.IntN(len(wallets)-1)) % len(wallets)
		_, err := l.Transfer(ctx, fmt.Sprintf("wallet:bench-%d", w), fmt.Sprintf("%s-%d-%d", runID, w, n),
			ledger.Op{From: wallets[from], To: wallets[to], Amount: 1 + rng.Int64N(1000), Code: "p2p"})
		return err
	})
	r.Name, r.Store = "ledger", storeKind
	return r, nil
}
