package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"emoney/risk"
)

// RiskConfig sets up the risk benchmark.
type RiskConfig struct {
	Engine      *risk.Engine
	Wallets     int // default 10,000
	Concurrency int // default 64
	Duration    time.Duration
	Log         func(format string, args ...any)
}

// Risk measures risk decisions: each op is one Engine.Decide, the call every judged request
// makes, over a mix of events from a population of wallets (transfers 50%, payments 25%,
// top-ups 10%, withdrawals 5%, logins 10%), with devices, IPs, bank accounts and receivers
// drawn from it, so the features are those of a busy service and not of one hot key.
func Risk(ctx context.Context, cfg RiskConfig) (Result, error) {
	if cfg.Wallets <= 0 {
		cfg.Wallets = 10_000
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 64
	}
	if cfg.Duration <= 0 {
		cfg.Duration = 10 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = func(string, ...any) {}
	}
	run := time.Now().UnixNano()
	opened := time.Now().Add(-400 * 24 * time.Hour)
	wallet := func(i int) string { return fmt.Sprintf("W%07d", i) }
	rngs := make([]*rand.Rand, cfg.Concurrency)
	for i := range rngs {
		rngs[i] = rand.New(rand.NewPCG(uint64(run), uint64(i)))
	}
	cfg.Log("bench risk: %d workers for %s over %d wallets, %d rules", cfg.Concurrency, cfg.Duration, cfg.Wallets, len(cfg.Engine.Rules().Rules()))
	r := Loop(ctx, cfg.Concurrency, cfg.Duration, func(ctx context.Context, w, n int) error {
		rng := rngs[w]
		i := rng.IntN(cfg.Wallets)
		ev := risk.Event{Wallet: wallet(i), Device: fmt.Sprintf("D%07d", i), IP: fmt.Sprintf("198.18.%d.%d", i/250%250, i%250),
			KYCTier: 2, Available: 100_000 + rng.Int64N(100_000), WalletOpenedAt: opened, Amount: 100 + rng.Int64N(20_000)}
		switch k := rng.IntN(20); {
		case k < 10:
			ev.Type, ev.To, ev.ToOpenedAt = risk.Transfer, wallet(rng.IntN(cfg.Wallets)), opened
		case k < 15:
			ev.Type, ev.Merchant = risk.Payment, fmt.Sprintf("M%04d", rng.IntN(1000))
		case k < 17:
			ev.Type, ev.Bank, ev.Account, ev.LinkedAt = risk.TopUp, "0001", fmt.Sprintf("A%07d", i), opened
		case k < 18:
			ev.Type, ev.Bank, ev.Account, ev.LinkedAt = risk.Withdrawal, "0001", fmt.Sprintf("A%07d", i), opened
		default:
			ev.Type, ev.Amount, ev.OK, ev.Factor = risk.Login, 0, true, "password"
		}
		cfg.Engine.Decide(ev, false)
		return nil
	})
	r.Name = "risk"
	return r, nil
}
