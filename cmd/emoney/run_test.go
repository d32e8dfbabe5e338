package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"emoney"
	"emoney/audit"
	"emoney/ledger"
	"emoney/sqlite"
)

// cli runs the command line in-process and returns stdout, stderr and the error.
func cli(t *testing.T, env map[string]string, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	getenv := func(k string) string { return env[k] }
	err := run(context.Background(), args, getenv, strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), err
}

// lastJSON decodes the last line of stdout, which specs/cli.md promises is one JSON object.
func lastJSON(t *testing.T, stdout string, v any) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), v); err != nil {
		t.Fatalf("last line of stdout is not JSON: %v\n%s", err, stdout)
	}
}

func TestVersionAndUsage(t *testing.T) {
	out, _, err := cli(t, nil, "version")
	if err != nil || !strings.HasPrefix(out, "emoney ") {
		t.Errorf("version: %q %v", out, err)
	}
	if _, _, err := cli(t, nil); err == nil {
		t.Error("no command: want an error")
	}
	if _, _, err := cli(t, nil, "frobnicate"); err == nil || !strings.Contains(err.Error(), "unknown command") {
		t.Errorf("unknown command: %v", err)
	}
	out, _, err = cli(t, nil, "help")
	if err != nil || !strings.Contains(out, "ledger verify") {
		t.Errorf("help: %v\n%s", err, out)
	}
}

func TestDBFlag(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := cli(t, nil, "migrate", "--db", "mysql://x"); err == nil {
		t.Error("unknown --db scheme accepted")
	}
	if _, _, err := cli(t, nil, "migrate", "--db", "sqlite:"); err == nil {
		t.Error("empty sqlite path accepted")
	}
	if _, _, err := cli(t, nil, "migrate", "--db", "sqlite:/proc/nope/emoney.db"); err == nil {
		t.Error("an explicit --db that cannot be opened must fail, not fall back")
	}
	// EMONEY_DB is the fallback for --db.
	db := "sqlite:" + filepath.Join(dir, "env.db")
	out, _, err := cli(t, map[string]string{"EMONEY_DB": db}, "migrate")
	if err != nil || !strings.Contains(out, "sqlite schema at version") {
		t.Fatalf("migrate via EMONEY_DB: %v %s", err, out)
	}
	out, _, err = cli(t, nil, "migrate", "--db", db) // again: idempotent
	if err != nil || !strings.Contains(out, "schema at version") {
		t.Fatalf("second migrate: %v %s", err, out)
	}
	// Reading commands refuse a database without a schema rather than create one.
	missing := filepath.Join(dir, "typo", "emoney.db")
	_, _, err = cli(t, nil, "ledger", "verify", "--db", "sqlite:"+missing)
	if err == nil || !strings.Contains(err.Error(), "emoney migrate") {
		t.Errorf("verify of a missing database: %v", err)
	}
	if _, err := os.Stat(filepath.Dir(missing)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("verify created %s", filepath.Dir(missing))
	}
	if _, _, err := cli(t, nil, "migrate", "--db", "sqlite:"+filepath.Join(dir, "a?mode=memory")); err == nil {
		t.Error("a path SQLite would read as URI parameters was accepted")
	}
	if _, stderr, err := cli(t, nil, "migrate", "-h"); err != nil || !strings.Contains(stderr, "-db") {
		t.Errorf("migrate -h: %v\n%s", err, stderr)
	}
}

// migrated makes a database with `emoney migrate` and opens it directly, as another program
// sharing the file would.
func migrated(t *testing.T) (db, path string, s *sqlite.Store) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "emoney.db")
	db = "sqlite:" + path
	if _, _, err := cli(t, nil, "migrate", "--db", db); err != nil {
		t.Fatal(err)
	}
	s, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return db, path, s
}

func TestLedgerVerify(t *testing.T) {
	db, path, s := migrated(t)
	ctx := context.Background()
	l := ledger.New(s, ledger.Config{})
	bank, _ := l.OpenAccount(ctx, ledger.AccountSpec{Name: "bank:0005", Kind: emoney.AccountBank})
	w, _ := l.OpenAccount(ctx, ledger.AccountSpec{Name: "wallet:alice", Kind: emoney.AccountWallet})
	if _, err := l.Transfer(ctx, "system:test", "k", ledger.Op{From: bank.ID, To: w.ID, Amount: 500, Code: "topup"}); err != nil {
		t.Fatal(err)
	}
	l.Close()
	s.Close()

	out, _, err := cli(t, nil, "ledger", "verify", "--db", db, "--json")
	if err != nil {
		t.Fatalf("verify of a good ledger: %v\n%s", err, out)
	}
	var r ledger.Report
	lastJSON(t, out, &r)
	if r.Accounts != 2 || r.Transfers != 1 || r.Totals[emoney.JPY].Balance != 0 {
		t.Errorf("report %+v", r)
	}

	// Someone edits a balance behind the ledger's back.
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`UPDATE balances SET balance = balance + 1000 WHERE account_id = ?`, w.ID.Bytes()); err != nil {
		t.Fatal(err)
	}
	out, _, err = cli(t, nil, "ledger", "verify", "--db", db)
	if err == nil {
		t.Fatal("verify passed an edited balance")
	}
	if !strings.Contains(out, "wallet:alice") || !strings.Contains(out, "sum to 1000") {
		t.Errorf("report does not name the account and the sum:\n%s", out)
	}
	if out, _, _ := cli(t, nil, "ledger", "verify", "--db", db, "--json"); strings.Contains(out, "{") {
		t.Errorf("a failing command must print no JSON line:\n%s", out)
	}
}

func TestAuditVerify(t *testing.T) {
	db, path, s := migrated(t)
	ctx := context.Background()
	for _, action := range []string{"staff.create", "killswitch.pull", "wallet.freeze", "killswitch.release"} {
		if err := s.Update(ctx, func(tx emoney.Tx) error {
			_, err := audit.Append(ctx, tx, emoney.AuditEntry{At: time.Now(), Actor: "staff:1", Action: action, Object: "bank:0005", Detail: []byte(`{"why":"test"}`)})
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	out, _, err := cli(t, nil, "audit", "verify", "--db", db, "--json")
	if err != nil {
		t.Fatalf("verify of an untouched log: %v\n%s", err, out)
	}
	var r audit.Report
	lastJSON(t, out, &r)
	if r.Entries != 4 || r.HeadSeq != 4 || len(r.HeadHash) != 64 {
		t.Errorf("report %+v", r)
	}

	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	// The triggers refuse edits; an insider with the file drops them first.
	if _, err := raw.Exec(`UPDATE audit_log SET actor = 'staff:2' WHERE seq = 2`); err == nil {
		t.Fatal("the audit log accepted an UPDATE")
	}
	mustExec := func(q string) {
		t.Helper()
		if _, err := raw.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	mustExec(`DROP TRIGGER audit_log_no_update`)
	mustExec(`DROP TRIGGER audit_log_no_delete`)
	mustExec(`UPDATE audit_log SET actor = 'staff:2' WHERE seq = 2`)
	out, _, err = cli(t, nil, "audit", "verify", "--db", db)
	if err == nil || !strings.Contains(out, "entry 2 was changed") {
		t.Errorf("edited entry not reported: %v\n%s", err, out)
	}
	mustExec(`UPDATE audit_log SET actor = 'staff:1' WHERE seq = 2`)
	mustExec(`DELETE FROM audit_log WHERE seq = 3`)
	out, _, err = cli(t, nil, "audit", "verify", "--db", db)
	if err == nil || !strings.Contains(out, "1 entries missing") {
		t.Errorf("removed entry not reported: %v\n%s", err, out)
	}
	mustExec(`DELETE FROM audit_log WHERE seq >= 3`)
	out, _, err = cli(t, nil, "audit", "verify", "--db", db)
	if err == nil || !strings.Contains(out, "removed from the end") {
		t.Errorf("entries removed from the end not reported: %v\n%s", err, out)
	}
}

func TestBenchLedgerJSON(t *testing.T) {
	out, _, err := cli(t, nil, "bench", "ledger", "--duration", "1s", "--accounts", "50", "--concurrency", "16", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Name        string   `json:"name"`
		Store       string   `json:"store"`
		Concurrency int      `json:"concurrency"`
		Ops         int64    `json:"ops"`
		Errors      *int64   `json:"errors"`
		Seconds     float64  `json:"seconds"`
		OpsPerSec   float64  `json:"ops_per_sec"`
		P50         *float64 `json:"p50_ms"`
		P99         *float64 `json:"p99_ms"`
	}
	lastJSON(t, out, &r)
	if r.Name != "ledger" || r.Store != "sqlite" || r.Concurrency != 16 || r.Ops <= 0 || r.Errors == nil || *r.Errors != 0 || r.OpsPerSec <= 0 || r.P50 == nil || r.P99 == nil || *r.P99 < *r.P50 {
		t.Errorf("bench result %+v", r)
	}
}

func TestBenchHTTPJSON(t *testing.T) {
	out, _, err := cli(t, nil, "bench", "http", "--duration", "1s", "--concurrency", "4", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Name        string  `json:"name"`
		Store       string  `json:"store"`
		Concurrency int     `json:"concurrency"`
		Ops         int64   `json:"ops"`
		Errors      int64   `json:"errors"`
		P99         float64 `json:"p99_ms"`
	}
	lastJSON(t, out, &r)
	if r.Name != "http" || r.Store != "sqlite" || r.Concurrency != 4 || r.Ops <= 0 || r.Errors != 0 || r.P99 <= 0 {
		t.Errorf("bench result %+v", r)
	}
	if _, _, err := cli(t, nil, "bench", "http", "--url", "http://127.0.0.1:1"); err == nil {
		t.Error("--url without --agent-key accepted")
	}
}

// bench topup links its users through the bank's pages and tops up through the links: a run
// acknowledges posted top-ups only, in both of its modes.
func TestBenchTopUpJSON(t *testing.T) {
	for _, args := range [][]string{nil, {"--cooling-off"}} {
		out, stderr, err := cli(t, nil, append([]string{"bench", "topup", "--duration", "1s", "--concurrency", "3", "--json"}, args...)...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, stderr)
		}
		var r struct {
			Name        string  `json:"name"`
			Store       string  `json:"store"`
			Concurrency int     `json:"concurrency"`
			Ops         int64   `json:"ops"`
			Errors      int64   `json:"errors"`
			P99         float64 `json:"p99_ms"`
		}
		lastJSON(t, out, &r)
		if r.Name != "topup" || r.Store != "sqlite" || r.Concurrency != 3 || r.Ops <= 0 || r.Errors != 0 || r.P99 <= 0 {
			t.Errorf("%v: bench result %+v", args, r)
		}
		if !strings.Contains(stderr, "raised for the run") {
			t.Errorf("%v: the raised limits are not said on stderr:\n%s", args, stderr)
		}
	}
}

func TestBenchRiskJSON(t *testing.T) {
	for _, args := range [][]string{nil, {"--record=false"}} {
		out, stderr, err := cli(t, nil, append([]string{"bench", "risk", "--duration", "1s", "--concurrency", "2", "--wallets", "100", "--json"}, args...)...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, stderr)
		}
		var r struct {
			Name   string  `json:"name"`
			Ops    int64   `json:"ops"`
			Errors int64   `json:"errors"`
			P99    float64 `json:"p99_ms"`
		}
		lastJSON(t, out, &r)
		if r.Name != "risk" || r.Ops <= 0 || r.Errors != 0 || r.P99 <= 0 {
			t.Errorf("%v: bench result %+v", args, r)
		}
	}
}
