package main

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"time"

	"emoney"
	"emoney/bench"
	emhttp "emoney/http"
	"emoney/identity"
	"emoney/ledger"
)

func cmdBenchLedger(ctx context.Context, e env, args []string) error {
	fs := e.flags("bench ledger")
	db := fs.String("db", "", "database (default: a fresh SQLite file in a temporary folder, removed afterwards)")
	duration := fs.Duration("duration", 10*time.Second, "how long to run")
	concurrency := fs.Int("concurrency", 2048, "concurrent clients (requests in flight)")
	accounts := fs.Int("accounts", 10_000, "wallets to transfer between")
	committers := fs.Int("committers", 0, "batches committing at once (default: 1 on SQLite, 2 on PostgreSQL)")
	asJSON := fs.Bool("json", false, "end stdout with the result as one JSON line")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file")
	if err := parse(fs, args); err != nil {
		return err
	}
	stop, err := startProfile(*cpuprofile)
	if err != nil {
		return err
	}
	defer stop()
	dsn, cleanup, err := scratchDB(e, "bench ledger", *db, fmt.Sprintf("%d wallets and their transfers", *accounts))
	if err != nil {
		return err
	}
	defer cleanup()
	s, err := openAndMigrate(ctx, dsn)
	if err != nil {
		return err
	}
	defer s.Close()
	l := ledger.New(s, ledgerConfig(s, *committers))
	defer l.Close()
	logf := func(format string, args ...any) { fmt.Fprintf(e.stderr, format+"\n", args...) }
	r, err := bench.Ledger(ctx, l, s.Kind(), bench.LedgerConfig{Accounts: *accounts, Concurrency: *concurrency, Duration: *duration, Log: logf})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "bench ledger (%s): %d transfers in %.1fs = %.0f/s, %d errors, p50 %.2f ms, p99 %.2f ms\n",
		r.Store, r.Ops, r.Seconds, r.OpsPerSec, r.Errors, r.P50ms, r.P99ms)
	if *asJSON {
		return e.printJSON(r)
	}
	return nil
}

func cmdBenchHTTP(ctx context.Context, e env, args []string) error {
	fs := e.flags("bench http")
	urls := fs.String("url", "", "comma-separated base URLs of running servers (default: start one in-process on a free port)")
	agentKey := fs.String("agent-key", e.getenv("EMONEY_BENCH_AGENT_KEY"), "with --url: a cash-in agent's API key to fund the bench wallets (env EMONEY_BENCH_AGENT_KEY)")
	db := fs.String("db", "", "in-process server's database (default: a fresh SQLite file in a temporary folder, removed afterwards)")
	duration := fs.Duration("duration", 10*time.Second, "how long to run")
	concurrency := fs.Int("concurrency", 64, "keep-alive clients")
	asJSON := fs.Bool("json", false, "end stdout with the result as one JSON line")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file")
	if err := parse(fs, args); err != nil {
		return err
	}
	stop, err := startProfile(*cpuprofile)
	if err != nil {
		return err
	}
	defer stop()
	logf := func(format string, args ...any) { fmt.Fprintf(e.stderr, format+"\n", args...) }
	cfg := bench.HTTPConfig{Concurrency: *concurrency, Duration: *duration, Log: logf, AgentKey: *agentKey}
	store := "remote"
	if *urls != "" {
		if *agentKey == "" {
			return errors.New("--url needs --agent-key: the bench funds its wallets through a cash-in agent")
		}
		cfg.URLs = strings.Split(*urls, ",")
	} else {
		dsn, cleanup, err := scratchDB(e, "bench http", *db, "users, wallets and transfers")
		if err != nil {
			return err
		}
		defer cleanup()
		// The clients stand for customers behind a proxy on this host (see bench.HTTP).
		svc, err := openService(ctx, dsn, "", identity.WebAuthnConfig{}, emhttp.Config{Mode: "development", TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
		if err != nil {
			return err
		}
		defer svc.Close()
		store = svc.store.Kind()
		_, key, err := svc.identity.CreatePartner(ctx, fmt.Sprintf("bench agent %d", time.Now().UnixNano()), emoney.RoleAgent)
		if err != nil {
			return err
		}
		cfg.AgentKey = key
		if err := svc.server.Listen("127.0.0.1:0"); err != nil {
			return err
		}
		go svc.server.Serve("", "")
		defer svc.server.Shutdown(context.Background())
		cfg.URLs = []string{"http://" + svc.server.Addr()}
	}
	r, err := bench.HTTP(ctx, cfg)
	if err != nil {
		return err
	}
	r.Store = store
	fmt.Fprintf(e.stderr, "bench http (%s): %d transfers in %.1fs = %.0f/s, %d errors, p50 %.2f ms, p99 %.2f ms\n",
		r.Store, r.Ops, r.Seconds, r.OpsPerSec, r.Errors, r.P50ms, r.P99ms)
	if *asJSON {
		return e.printJSON(r)
	}
	return nil
}

// startProfile starts a CPU profile into path (nothing if path is empty) and returns its stop.
func startProfile(path string) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// scratchDB is where a benchmark writes: dsn if given (after saying what it will add there for
// good), else a fresh SQLite file in a temporary folder that cleanup removes.
func scratchDB(e env, bench, dsn, what string) (string, func(), error) {
	if dsn != "" {
		fmt.Fprintf(e.stderr, "%s: adds %s to %s for good (ledger history is append-only)\n", bench, what, dsn)
		return dsn, func() {}, nil
	}
	dir, err := os.MkdirTemp("", "emoney-bench-")
	if err != nil {
		return "", nil, err
	}
	return "sqlite:" + filepath.Join(dir, "bench.db"), func() { os.RemoveAll(dir) }, nil
}
