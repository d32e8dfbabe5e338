package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

const usage = `emoney — e-money wallet platform

Usage: emoney COMMAND [flags]

Commands:
  serve           run the API (development mode: embedded store, on 127.0.0.1:8080)
  migrate         create or update the database schema
  banksim         run the bank simulator (20 banks, OAuth, admin API) on 127.0.0.1:9000
  ledger verify   check the ledger's invariants; exit 1 naming every account that differs
  audit verify    check the audit log's hash chain; exit 1 on any edited or removed entry
  bench ledger    measure durable transfers per second through the ledger
  bench http      measure authenticated P2P transfers per second over the API
  bench topup     measure top-ups through linked bank accounts per second over the API
  bench risk      measure risk decisions per second (default rules, decisions recorded)
  partner create  register a cash-in agent or merchant; prints its API key once
  partner revoke  stop a partner's API key working (audited)
  partner webhook set where a merchant's events are POSTed; prints a new signing secret once
  backup          copy a SQLite database consistently while servers run (never overwrites)
  staff create    make a staff account; prints its one-time enrolment code
  staff disable   stop a staff account signing in and revoke its sessions (audited)
  staff reissue   a new enrolment code for staff who never enrolled (audited)
  keys create     write a new keyset file for personal data (production needs one)
  keys rotate     seal personal data under a new key (servers stopped; keeps the old keys)
  reconcile       compare the ledger with each bank's statement; exit 1 naming every difference
  bank killswitch pull or release a bank's topups/withdrawals/new_links switch (audited, actor "cli")
  version         print the version

Every command that touches data takes --db (env EMONEY_DB): sqlite:PATH or postgres://…
(default sqlite:./emoney-data/emoney.db). Run "emoney COMMAND -h" for its flags.
`

// run is the whole program; main only calls it, and tests call it directly. SIGINT and SIGTERM
// cancel ctx, so a command stops cleanly (a benchmark reports what it measured so far).
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The ledger's committer allocates a lot that dies young: collect less often than Go's
	// default (GOGC=100), which at full load spent a tenth of the CPU marking. GOGC overrides.
	if getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	e := env{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	err := dispatch(ctx, e, args[0], args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return nil // COMMAND -h printed its flags
	}
	return err
}

func dispatch(ctx context.Context, e env, cmd string, rest []string) error {
	switch cmd {
	case "help", "-h", "--help":
		fmt.Fprint(e.stdout, usage)
		return nil
	case "version", "--version":
		fmt.Fprintf(e.stdout, "emoney %s (%s)\n", version, runtime.Version())
		return nil
	case "migrate":
		return cmdMigrate(ctx, e, rest)
	case "serve":
		return cmdServe(ctx, e, rest)
	case "backup":
		return cmdBackup(ctx, e, rest)
	case "banksim":
		return cmdBanksim(ctx, e, rest)
	case "reconcile":
		return cmdReconcile(ctx, e, rest)
	case "ledger", "audit", "bench", "partner", "staff", "keys", "bank":
		if len(rest) == 0 {
			return fmt.Errorf("%s: which one? see emoney help", cmd)
		}
		sub := cmd + " " + rest[0]
		switch sub {
		case "ledger verify":
			return cmdLedgerVerify(ctx, e, rest[1:])
		case "audit verify":
			return cmdAuditVerify(ctx, e, rest[1:])
		case "bench ledger":
			return cmdBenchLedger(ctx, e, rest[1:])
		case "bench http":
			return cmdBenchHTTP(ctx, e, rest[1:])
		case "bench topup":
			return cmdBenchTopUp(ctx, e, rest[1:])
		case "bench risk":
			return cmdBenchRisk(ctx, e, rest[1:])
		case "partner create":
			return cmdPartnerCreate(ctx, e, rest[1:])
		case "partner revoke":
			return cmdPartnerRevoke(ctx, e, rest[1:])
		case "partner webhook":
			return cmdPartnerWebhook(ctx, e, rest[1:])
		case "staff create":
			return cmdStaffCreate(ctx, e, rest[1:])
		case "staff disable":
			return cmdStaffDisable(ctx, e, rest[1:])
		case "staff reissue":
			return cmdStaffReissue(ctx, e, rest[1:])
		case "keys create":
			return cmdKeysCreate(ctx, e, rest[1:])
		case "keys rotate":
			return cmdKeysRotate(ctx, e, rest[1:])
		case "bank killswitch":
			return cmdBankKillSwitch(ctx, e, rest[1:])
		}
		return fmt.Errorf("unknown command %q; see emoney help", sub)
	}
	return fmt.Errorf("unknown command %q; see emoney help", cmd)
}

// env is what a command may touch of the outside world.
type env struct {
	getenv         func(string) string
	stdin          io.Reader
	stdout, stderr io.Writer
}

// flags returns a FlagSet that prints its usage to stderr and does not exit.
func (e env) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("emoney "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	return fs
}

// dbFlag adds --db with its environment fallback.
func (e env) dbFlag(fs *flag.FlagSet) *string {
	def := e.getenv("EMONEY_DB")
	if def == "" {
		def = defaultDB
	}
	return fs.String("db", def, "database: sqlite:PATH or postgres://… (env EMONEY_DB)")
}

// printJSON writes v as the one JSON line that ends stdout (specs/cli.md).
func (e env) printJSON(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(e.stdout, string(b))
	return err
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	return nil
}
