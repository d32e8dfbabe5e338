package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"time"
)

// HTTPConfig sets up the HTTP benchmark.
type HTTPConfig struct {
	URLs        []string      // servers to spread clients over (base URLs)
	AgentKey    string        // a cash-in agent's API key, to fund the wallets
	Users       int           // wallets (default 2 × Concurrency)
	Concurrency int           // keep-alive clients (default 64)
	Duration    time.Duration // default 10s
	Log         func(format string, args ...any)
}

type benchUser struct {
	token, wallet string
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
	client := &http.Client{Transport: &http.Transport{MaxIdleConns: 4 * cfg.Concurrency, MaxIdleConnsPerHost: 2 * cfg.Concurrency}, Timeout: 30 * time.Second}
	run := time.Now().UnixNano()
	cfg.Log("bench http: signing up and funding %d users", cfg.Users)
	users := make([]benchUser, cfg.Users)
	for i := range users {
		base := cfg.URLs[i%len(cfg.URLs)]
		email := fmt.Sprintf("bench-%d-%d@example.com", run, i)
		// Customers come from addresses of their own (RFC 2544's benchmark range), as the
		// proxy in front of the servers reports them; the in-process server trusts 127.0.0.1.
		fwd := fmt.Sprintf("198.18.%d.%d", i/250, 1+i%250)
		var signed struct {
			Wallet string `json:"wallet"`
		}
		if err := doFrom(ctx, client, fwd, "POST", base+"/api/v1/signup", "", "", map[string]any{"email": email, "password": "bench password 1"}, 201, &signed); err != nil {
			return Result{}, err
		}
		var login struct {
			Token string `json:"token"`
		}
		if err := doFrom(ctx, client, fwd, "POST", base+"/api/v1/login", "", "", map[string]any{"email": email, "password": "bench password 1", "device": "bench"}, 200, &login); err != nil {
			return Result{}, err
		}
		if err := do(ctx, client, "POST", base+"/api/v1/cashins", cfg.AgentKey, fmt.Sprintf("bench-%d-fund-%d", run, i),
			map[string]any{"wallet": signed.Wallet, "amount": 1_000_000}, 201, nil); err != nil {
			return Result{}, err
		}
		users[i] = benchUser{token: login.Token, wallet: signed.Wallet}
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
		base := cfg.URLs[w%len(cfg.URLs)]
		return do(ctx, client, "POST", base+"/api/v1/transfers", users[from].token, fmt.Sprintf("bench-%d-%d-%d", run, w, n),
			map[string]any{"to": users[to].wallet, "amount": 1 + rng.Int64N(100)}, 201, nil)
	})
	r.Name = "http"
	return r, nil
}

// do sends one JSON request and wants the given status.
func do(ctx context.Context, c *http.Client, method, url, token, key string, body any, want int, out any) error {
	return doFrom(ctx, c, "", method, url, token, key, body, want, out)
}

// doFrom is do with an X-Forwarded-For address.
func doFrom(ctx context.Context, c *http.Client, fwd, method, url, token, key string, body any, want int, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	if fwd != "" {
		req.Header.Set("X-Forwarded-For", fwd)
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %d %s", method, url, resp.StatusCode, bytes.TrimSpace(data))
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}
