package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"

	emhttp "emoney/http"
)

// HTTPConfig sets up the HTTP benchmark.
type HTTPConfig struct {
	URLs        []string      // servers to spread clients over (base URLs)
	AgentKey    string        // a cash-in agent's API key, to fund the wallets
	Users       int           // wallets (default 2 × Concurrency)
	Concurrency int           // keep-alive clients (default 64)
	Duration    time.Duration // default 10s
	Log         func(format string, args ...any)
	// Verify, if set, raises user i (signed in as c) to KYC tier 2 through the API before it is
	// funded; without it the servers' tier 0 limits must allow the run.
	Verify func(ctx context.Context, c *emhttp.Client, i int) error
}

// HTTP measures authenticated P2P transfers over the API: each op is a 2xx answer to
// POST /api/v1/transfers with its own Idempotency-Key, sent by one of cfg.Concurrency keep-alive
// clients. It signs its users up and funds them through the API first.
func HTTP(ctx context.Context, cfg HTTPConfig) (Result, error) {
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 64
	}
	if cfg.Users < 2 {
		cfg.Users = 2 * cfg.Concurrency
	}
	if cfg.Duration <= 0 {
		cfg.Duration = 10 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = func(string, ...any) {}
	}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConns: 4 * cfg.Concurrency, MaxIdleConnsPerHost: 2 * cfg.Concurrency}, Timeout: 30 * time.Second}
	run := time.Now().UnixNano()
	cfg.Log("bench http: signing up and funding %d users", cfg.Users)
	users := make([]*emhttp.Client, cfg.Users)
	wallets := make([]string, cfg.Users)
	for i := range users {
		base := cfg.URLs[i%len(cfg.URLs)]
		// Customers come from addresses of their own (RFC 2544's benchmark range), as the
		// proxy in front of the servers reports them; the in-process server trusts 127.0.0.1.
		c := &emhttp.Client{Base: base, HTTP: hc, ForwardedFor: fmt.Sprintf("198.18.%d.%d", i/250, 1+i%250)}
		email := fmt.Sprintf("bench-%d-%d@example.com", run, i)
		_, wallet, err := c.SignUp(ctx, email, "bench password 1")
		if err != nil {
			return Result{}, err
		}
		if err := c.Login(ctx, email, "bench password 1", "bench"); err != nil {
			return Result{}, err
		}
		if cfg.Verify != nil {
			if err := cfg.Verify(ctx, c, i); err != nil {
				return Result{}, fmt.Errorf("bench http: verifying user %d: %w", i, err)
			}
		}
		agent := &emhttp.Client{Base: base, HTTP: hc, Token: cfg.AgentKey}
		if _, err := agent.CashIn(ctx, fmt.Sprintf("bench-%d-fund-%d", run, i), wallet, 1_000_000); err != nil {
			return Result{}, err
		}
		users[i], wallets[i] = c, wallet
	}
	cfg.Log("bench http: %d keep-alive clients for %s against %v", cfg.Concurrency, cfg.Duration, cfg.URLs)
	rngs := make([]*rand.Rand, cfg.Concurrency)
	for i := range rngs {
		rngs[i] = rand.New(rand.NewPCG(uint64(run), uint64(i)))
	}
	r := Loop(ctx, cfg.Concurrency, cfg.Duration, func(ctx context.Context, w, n int) error {
		rng := rngs[w]
		from := rng.IntN(len(users))
		to := (from + 1 + rng.IntN(len(users)-1)) % len(users)
		_, err := users[from].Transfer(ctx, fmt.Sprintf("bench-%d-%d-%d", run, w, n), wallets[to], 1+rng.Int64N(100))
		return err
	})
	r.Name = "http"
	return r, nil
}
