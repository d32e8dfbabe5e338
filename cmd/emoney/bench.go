package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"time"

	"emoney/bench"
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
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	dsn := *db
	if dsn != "" {
		fmt.Fprintf(e.stderr, "bench ledger: adds %d wallets and their transfers to %s for good (ledger history is append-only)\n", *accounts, dsn)
	}
	if dsn == "" {
		dir, err := os.MkdirTemp("", "emoney-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		dsn = "sqlite:" + filepath.Join(dir, "bench.db")
	}
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
