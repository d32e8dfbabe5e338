package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"emoney"
	"emoney/ledger"
	"emoney/sqlite"
)

// TestBackupWhileCommitting takes a backup while transfers are being committed, from another
// process's point of view (another handle): the copy opens on its own and its ledger verifies.
func TestBackupWhileCommitting(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "emoney.db")
	db := "sqlite:" + path
	if _, _, err := cli(t, nil, "migrate", "--db", db); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	l := ledger.New(s, ledger.Config{})
	defer l.Close()
	bank, _ := l.OpenAccount(ctx, ledger.AccountSpec{Name: "bank:0005", Kind: emoney.AccountBank})
	var wallets []emoney.ID
	for i := 0; i < 4; i++ {
		a, err := l.OpenAccount(ctx, ledger.AccountSpec{Name: fmt.Sprint("wallet:", i), Kind: emoney.AccountWallet})
		if err != nil {
			t.Fatal(err)
		}
		wallets = append(wallets, a.ID)
	}
	var committed atomic.Int64
	done := make(chan error, 1)
	go func() {
		for i := 0; ctx.Err() == nil; i++ {
			_, err := l.Transfer(ctx, "system:test", fmt.Sprint("t", i), ledger.Op{From: bank.ID, To: wallets[i%len(wallets)], Amount: int64(i%7 + 1), Code: "topup"})
			if err != nil && ctx.Err() == nil {
				done <- err
				return
			}
			committed.Add(1)
		}
		done <- nil
	}()
	waitFor := func(n int64) {
		for committed.Load() < n {
			select {
			case err := <-done:
				t.Fatalf("committing: %v", err)
			case <-time.After(time.Millisecond):
			}
		}
	}
	waitFor(50)
	out := filepath.Join(dir, "backup", "emoney-backup.db")
	os.MkdirAll(filepath.Dir(out), 0o700)
	stdout, _, err := cli(t, nil, "backup", "--db", db, "--out", out)
	if err != nil || !strings.Contains(stdout, "written to") {
		t.Fatalf("backup: %v\n%s", err, stdout)
	}
	atBackup := committed.Load()
	waitFor(atBackup + 50) // the server kept committing after the copy
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	report, _, err := cli(t, nil, "ledger", "verify", "--db", "sqlite:"+out)
	if err != nil {
		t.Fatalf("ledger verify of the backup: %v\n%s", err, report)
	}
	var n int
	fmt.Sscanf(report[strings.Index(report, "balances, ")+len("balances, "):], "%d transfers", &n)
	// The copy is a snapshot: everything committed before the backup began (the funding
	// transfers counted by atBackup, give or take the one in flight) and nothing from well after.
	if int64(n) < 50 || int64(n) > atBackup+1 {
		t.Errorf("the backup holds %d transfers; %d were committed when it was taken, %d in the end", n, atBackup, committed.Load())
	}
	if _, _, err := cli(t, nil, "audit", "verify", "--db", "sqlite:"+out); err != nil {
		t.Errorf("audit verify of the backup: %v", err)
	}

	// A backup never overwrites; PostgreSQL is pg_dump's job; there must be a database.
	before, _ := os.ReadFile(out)
	if _, _, err := cli(t, nil, "backup", "--db", db, "--out", out); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("backup over an existing file: %v", err)
	}
	if after, _ := os.ReadFile(out); string(after) != string(before) {
		t.Error("a refused backup changed the existing file")
	}
	if _, _, err := cli(t, nil, "backup", "--db", "postgres://localhost/emoney", "--out", filepath.Join(dir, "pg.db")); err == nil || !strings.Contains(err.Error(), "pg_dump") {
		t.Errorf("backup of PostgreSQL: %v", err)
	}
	if _, _, err := cli(t, nil, "backup", "--db", "sqlite:"+filepath.Join(dir, "nothing.db"), "--out", filepath.Join(dir, "x.db")); err == nil {
		t.Error("backup of a database that does not exist succeeded")
	}
	if _, _, err := cli(t, nil, "backup", "--db", db); err == nil {
		t.Error("backup without --out succeeded")
	}
	if _, err := os.Stat(filepath.Join(dir, "nothing.db")); err == nil {
		t.Error("backup created the database it was asked to copy")
	}
}
