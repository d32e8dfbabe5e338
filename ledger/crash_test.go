package ledger_test

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"emoney"
	"emoney/ledger"
	"emoney/postgres/pgtest"
)

var (
	crashRounds = flag.Int("crash.rounds", 20, "how many times TestCrashRecovery kills the writer")
	crashSeed   = flag.Uint64("crash.seed", 0, "seed for the kill times (0: from the clock; logged)")
)

const crashWallets = 10

// crashRequest is the request a key stands for: two linked legs, so that a half-applied request
// would show as a batch with one leg. The same key always makes the same request.
func crashRequest(key string, wallets []emoney.ID) ledger.Request {
	h := fnv.New64a()
	h.Write([]byte(key))
	v := h.Sum64()
	a, b, c := int(v%crashWallets), int(v/7%crashWallets), int(v/53%crashWallets)
	if b == a {
		b = (a + 1) % crashWallets
	}
	if c == b {
		c = (b + 1) % crashWallets
	}
	return ledger.Request{Principal: "wallet:crash", Key: key, Ops: []ledger.Op{
		{From: wallets[a], To: wallets[b], Amount: int64(1 + v%97), Code: "p2p"},
		{From: wallets[b], To: wallets[c], Amount: int64(1 + v%89), Code: "p2p"},
	}}
}

func crashAccounts(t *testing.T, l *ledger.Ledger) (bank emoney.ID, wallets []emoney.ID) {
	t.Helper()
	ctx := context.Background()
	specs := []ledger.AccountSpec{{Name: "bank:crash", Kind: emoney.AccountBank}}
	for i := 0; i < crashWallets; i++ {
		specs = append(specs, ledger.AccountSpec{Name: fmt.Sprint("wallet:crash-", i), Kind: emoney.AccountWallet})
	}
	as, err := l.OpenAccounts(ctx, specs)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range as[1:] {
		wallets = append(wallets, a.ID)
	}
	return as[0].ID, wallets
}

// TestCrashChild is the writer TestCrashRecovery kills. It does nothing unless started by it.
func TestCrashChild(t *testing.T) {
	path := os.Getenv("EMONEY_CRASH_DB")
	if path == "" {
		t.Skip("started only by TestCrashRecovery")
	}
	round := os.Getenv("EMONEY_CRASH_ROUND")
	l, _ := newLedger(t, path)
	_, wallets := crashAccounts(t, l)
	var out sync.Mutex
	say := func(format string, args ...any) {
		out.Lock()
		fmt.Fprintf(os.Stdout, format+"\n", args...) // one write per line: atomic on a pipe
		out.Unlock()
	}
	say("ready")
	var wg sync.WaitGroup
	for g := 0; g < 32; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var keys []string
			if prev := os.Getenv("EMONEY_CRASH_PREV"); prev != "" {
				for i := 0; i < 4; i++ { // retry some keys of the round before, acknowledged or not
					keys = append(keys, fmt.Sprintf("r%s-g%d-%d", prev, g, i))
				}
			}
			for i := 0; ; i++ {
				key := fmt.Sprintf("r%s-g%d-%d", round, g, i)
				if len(keys) > 0 {
					key, keys = keys[0], keys[1:]
				}
				trs, err := l.Submit(context.Background(), crashRequest(key, wallets))
				if err != nil {
					say("refused %s %s", key, emoney.ErrorCode(err))
					continue
				}
				say("ack %s %s,%s", key, trs[0].ID, trs[1].ID)
			}
		}()
	}
	wg.Wait()
}

// A writer SIGKILLed at random moments under concurrent load loses no acknowledged transfer,
// applies none twice or by halves, answers retries with the first result, and leaves a ledger
// that verifies: on SQLite, and on PostgreSQL.
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns and kills processes")
	}
	t.Run("sqlite", func(t *testing.T) { crashRecovery(t, filepath.Join(t.TempDir(), "crash.db")) })
	t.Run("postgres", func(t *testing.T) { crashRecovery(t, pgtest.Database(t)) })
}

func crashRecovery(t *testing.T, path string) {
	seed := *crashSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("crash seed %d (rerun with -crash.seed=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	ctx := context.Background()
	{
		l, s := newLedger(t, path)
		bank, wallets := crashAccounts(t, l)
		var ops []ledger.Op
		for _, w := range wallets {
			ops = append(ops, ledger.Op{From: bank, To: w, Amount: 1_000_000_000, Code: "topup"})
		}
		if _, err := l.Submit(ctx, ledger.Request{Principal: "system:test", Key: "fund", Ops: ops}); err != nil {
			t.Fatal(err)
		}
		l.Close()
		s.Close()
	}

	acked := map[string]string{} // key -> "id1,id2"
	for round := 0; round < *crashRounds; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), "EMONEY_CRASH_DB="+path, fmt.Sprint("EMONEY_CRASH_ROUND=", round))
		if round > 0 {
			cmd.Env = append(cmd.Env, fmt.Sprint("EMONEY_CRASH_PREV=", round-1))
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 1024)
		go func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		ready := false
		var killed atomic.Bool
		kill := func() { killed.Store(true); cmd.Process.Signal(syscall.SIGKILL) }
		stuck := time.AfterFunc(time.Minute, kill) // a child that hangs is killed too, and fails below
		for line := range lines {
			if line == "ready" && !ready {
				ready = true
				stuck.Stop()
				time.AfterFunc(time.Duration(20+rng.IntN(300))*time.Millisecond, kill)
			}
			f := strings.Fields(line)
			if len(f) == 3 && f[0] == "ack" {
				if prev, ok := acked[f[1]]; ok && prev != f[2] {
					t.Fatalf("round %d: key %s acknowledged as %s, earlier as %s", round, f[1], f[2], prev)
				}
				acked[f[1]] = f[2]
			}
			if len(f) == 3 && f[0] == "refused" {
				t.Errorf("round %d: %s refused: %s", round, f[1], f[2])
			}
		}
		err = cmd.Wait()
		if !ready {
			t.Fatalf("round %d: child never became ready: %v", round, err)
		}
		if !killed.Load() {
			t.Fatalf("round %d: child ended by itself: %v", round, err)
		}
	}
	if len(acked) == 0 {
		t.Fatal("no transfer was acknowledged")
	}

	// Recover in this process and check everything the children said. A killed child's
	// PostgreSQL sessions may still be finishing a commit it sent: wait for them, or their
	// records would land between the two counts below.
	if strings.HasPrefix(path, "postgres://") {
		pgtest.WaitIdle(t, path)
	}
	l, s := newLedger(t, path)
	_, wallets := crashAccounts(t, l)
	r, err := l.Verify(ctx)
	if err != nil || !r.OK() {
		t.Fatalf("verify after %d kills: %v %+v", *crashRounds, err, r.Problems)
	}
	legs := map[emoney.ID]int{}
	if err := s.View(ctx, func(tx emoney.ReadTx) error {
		return tx.ScanTransfers(ctx, func(tr emoney.Transfer) error { legs[tr.Batch]++; return nil })
	}); err != nil {
		t.Fatal(err)
	}
	for batch, n := range legs {
		if n != 2 && n != crashWallets { // the funding request had one leg per wallet
			t.Errorf("batch %s has %d legs: a linked request was half applied", batch, n)
		}
	}
	for key, ids := range acked {
		trs, err := l.Submit(ctx, crashRequest(key, wallets))
		if err != nil {
			t.Fatalf("retry of acknowledged %s: %v", key, err)
		}
		if got := trs[0].ID.String() + "," + trs[1].ID.String(); got != ids {
			t.Fatalf("retry of %s returned %s, first result was %s", key, got, ids)
		}
	}
	r2, err := l.Verify(ctx)
	if err != nil || !r2.OK() {
		t.Fatalf("verify after retries: %v %+v", err, r2.Problems)
	}
	if r2.Transfers != r.Transfers {
		t.Fatalf("retrying %d acknowledged keys changed the history from %d to %d records", len(acked), r.Transfers, r2.Transfers)
	}
	t.Logf("%d kills, %d acknowledged requests, %d transfer records, verify OK", *crashRounds, len(acked), r.Transfers)
}
