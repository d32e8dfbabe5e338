package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"time"

	"emoney"
	"emoney/bench"
	emhttp "emoney/http"
	"emoney/kyc"
	"emoney/ledger"
	"emoney/money"
	"emoney/risk"
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
	return benchReport(e, r, "transfers", *asJSON)
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
		svc, sms, cleanup, err := benchService(ctx, e, "bench http", *db, "users, wallets and transfers")
		if err != nil {
			return err
		}
		defer cleanup()
		cfg.Verify = func(ctx context.Context, c *emhttp.Client, i int) error {
			phone := fmt.Sprintf("+8190%08d", i)
			if err := c.StartPhone(ctx, phone); err != nil {
				return err
			}
			if _, err := c.ConfirmPhone(ctx, sms.LastCode(phone)); err != nil {
				return err
			}
			birth := time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i) // one person per user
			_, err := c.EKYC(ctx, emhttp.Document{Type: "drivers_licence", Number: fmt.Sprintf("BENCH-%d", i),
				NameKanji: "試験 太郎", NameKana: "シケン タロウ", BirthDate: birth.Format(time.DateOnly)})
			return err
		}
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
	return benchReport(e, r, "transfers", *asJSON)
}

// benchService opens an in-process service in development mode for a benchmark, on dsn or a
// scratch database, whose clients stand for customers behind a proxy on this host (their
// addresses come through X-Forwarded-For from 127.0.0.1). The bench's users verify their phone
// (through the returned SMS sink) and identity through the API (tier 2), and tier 2's limits are
// raised so that a run is not cut short by them, and said so; they are still counted and
// checked. cleanup closes the service and removes a scratch database.
func benchService(ctx context.Context, e env, bench, dsn, what string) (*service, *kyc.DevSMS, func(), error) {
	dsn, rm, err := scratchDB(e, bench, dsn, what)
	if err != nil {
		return nil, nil, nil, err
	}
	sms := &kyc.DevSMS{}
	sc := serviceConfig{config: defaultConfig(), sms: sms}
	raised := money.Limits{PerOperation: money.DefaultMaxAmount, SendDaily: emoney.MaxAmount, SendMonthly: emoney.MaxAmount,
		AddDaily: emoney.MaxAmount, AddMonthly: emoney.MaxAmount, MaxBalance: emoney.MaxAmount}
	sc.Limits.Tier2 = raised
	fmt.Fprintf(e.stderr, "%s: tier 2 limits raised for the run to %d per operation and %d per day, month and balance\n", bench, raised.PerOperation, raised.SendDaily)
	// Internal errors reach stderr (a run with errors says why); nothing else is logged.
	log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	// The bench's personal data is sealed with a keyset of its own, thrown away after the run
	// (any store: PostgreSQL needs one named outside the database).
	keys, err := os.MkdirTemp("", "emoney-bench-keys-")
	if err != nil {
		rm()
		return nil, nil, nil, err
	}
	rm = func(rm func()) func() { return func() { rm(); os.RemoveAll(keys) } }(rm)
	svc, err := openService(ctx, dsn, filepath.Join(keys, "keyset.json"), emhttp.Config{Mode: "development", Logger: log,
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}, sc)
	if err != nil {
		rm()
		return nil, nil, nil, err
	}
	return svc, sms, func() { svc.Close(); rm() }, nil
}

// cmdBenchTopUp runs `emoney bench topup`: top-ups through linked accounts over the API against
// the bank simulator, both in-process.
func cmdBenchTopUp(ctx context.Context, e env, args []string) error {
	fs := e.flags("bench topup")
	db := fs.String("db", "", "database (default: a fresh SQLite file in a temporary folder, removed afterwards)")
	duration := fs.Duration("duration", 10*time.Second, "how long to run")
	concurrency := fs.Int("concurrency", 64, "keep-alive clients")
	users := fs.Int("users", 0, "wallets, each with a linked account (default: --concurrency)")
	cooling := fs.Bool("cooling-off", false, "top up through links still in their cooling-off window (caps raised for the run), not through links past it")
	asJSON := fs.Bool("json", false, "end stdout with the result as one JSON line")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the run (after the users are linked) to this file")
	if err := parse(fs, args); err != nil {
		return err
	}
	svc, sms, cleanup, err := benchService(ctx, e, "bench topup", *db, "users, links and top-ups")
	if err != nil {
		return err
	}
	defer cleanup()
	if err := svc.server.Listen("127.0.0.1:0"); err != nil {
		return err
	}
	bs, err := startBanksim("127.0.0.1:0", "", 0, false)
	if err != nil {
		return err
	}
	defer bs.stop()
	// The mandate each link asks for is tier 2's monthly top-up limit a month, which the bank
	// simulator caps at ¥100,000,000: ask that (far more than a run tops up).
	svc.tiers[2].AddMonthly = min(svc.tiers[2].AddMonthly, 100_000_000)
	if err := svc.attachDevLinker(bs.sim, svc.server.Addr()); err != nil {
		return err
	}
	stop := func() {}
	defer func() { stop() }()
	var later time.Duration // how much later than now top-ups run
	if *cooling {
		// A new link's cooling-off caps would stop each user after a few top-ups: raised, for
		// the run, to the most a policy allows (still counted and checked on every top-up).
		for _, b := range bs.sim.Banks() {
			p, err := svc.policies.Load(ctx, b.Code)
			if err != nil {
				return err
			}
			p.CoolingOffTopUpCap, p.CoolingOffDailyCap = emoney.MaxCoolingOffCap, emoney.MaxCoolingOffCap
			if _, err := svc.policies.Set(ctx, b.Code, p, "cli", p.Version); err != nil {
				return err
			}
		}
		fmt.Fprintf(e.stderr, "bench topup: cooling-off caps raised for the run to %d per top-up and per day at every simulated bank\n", emoney.MaxCoolingOffCap)
	} else {
		// Most top-ups come through links older than their cooling-off window: once the links
		// are made, the clock of top-ups runs that much later (the bank's clock is unchanged).
		later = emoney.DefaultBankPolicy("0001").CoolingOff + time.Hour
		fmt.Fprintf(e.stderr, "bench topup: top-ups run %s after the links were made, past their cooling-off window (--cooling-off for new links)\n", later)
	}
	go svc.server.Serve("", "")
	defer svc.server.Shutdown(context.Background())
	logf := func(format string, args ...any) { fmt.Fprintf(e.stderr, format+"\n", args...) }
	var perr error
	afterLinking := func() {
		if later > 0 {
			svc.banks.SetNow(func() time.Time { return time.Now().Add(later) })
		}
		stop, perr = startProfile(*cpuprofile)
	}
	r, err := bench.TopUp(ctx, bench.TopUpConfig{URL: "http://" + svc.server.Addr(), Sim: bs.sim, Users: *users, Concurrency: *concurrency,
		Duration: *duration, Log: logf, PhoneCode: sms.LastCode, Linked: afterLinking})
	if err = errors.Join(err, perr); err != nil {
		return err
	}
	r.Store = svc.store.Kind()
	return benchReport(e, r, "top-ups", *asJSON)
}

// cmdBenchRisk runs `emoney bench risk`: decisions of the engine with the default rules, each
// recorded in a scratch store as serve records them.
func cmdBenchRisk(ctx context.Context, e env, args []string) error {
	fs := e.flags("bench risk")
	db := fs.String("db", "", "where decisions are recorded (default: a fresh SQLite file in a temporary folder, removed afterwards)")
	duration := fs.Duration("duration", 10*time.Second, "how long to run")
	concurrency := fs.Int("concurrency", 64, "goroutines deciding")
	wallets := fs.Int("wallets", 10_000, "wallets the events come from")
	record := fs.Bool("record", true, "record every decision in the store, as serve does (false: the engine alone, as a backtest runs it)")
	asJSON := fs.Bool("json", false, "end stdout with the result as one JSON line")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file")
	if err := parse(fs, args); err != nil {
		return err
	}
	dsn, cleanup, err := scratchDB(e, "bench risk", *db, "risk decisions")
	if err != nil {
		return err
	}
	defer cleanup()
	s, err := openAndMigrate(ctx, dsn)
	if err != nil {
		return err
	}
	defer s.Close()
	cfg := risk.Config{Store: s}
	if !*record {
		cfg.Store = nil
		fmt.Fprintln(e.stderr, "bench risk: decisions are not recorded (--record=false)")
	}
	eng := risk.New(cfg)
	if err := eng.Start(ctx); err != nil {
		eng.Close()
		return err
	}
	stop, err := startProfile(*cpuprofile)
	if err != nil {
		eng.Close()
		return err
	}
	logf := func(format string, args ...any) { fmt.Fprintf(e.stderr, format+"\n", args...) }
	r, err := bench.Risk(ctx, bench.RiskConfig{Engine: eng, Wallets: *wallets, Concurrency: *concurrency, Duration: *duration, Log: logf})
	stop()
	eng.Close() // the decisions still queued are written
	if err != nil {
		return err
	}
	r.Store = s.Kind()
	return benchReport(e, r, "decisions", *asJSON)
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

// benchReport says a benchmark's result on stderr ("bench NAME (store): N what in …") and, with
// asJSON, as the JSON last line of stdout (specs/cli.md).
func benchReport(e env, r bench.Result, what string, asJSON bool) error {
	fmt.Fprintf(e.stderr, "bench %s (%s): %d %s in %.1fs = %.0f/s, %d errors, p50 %.3f ms, p99 %.3f ms\n",
		r.Name, r.Store, r.Ops, what, r.Seconds, r.OpsPerSec, r.Errors, r.P50ms, r.P99ms)
	if asJSON {
		return e.printJSON(r)
	}
	return nil
}
