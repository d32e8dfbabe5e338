package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"emoney"
	"emoney/ledger"
	"emoney/postgres/pgtest"
)

const twoProcWallets = 6

func twoProcAccounts(t *testing.T, l *ledger.Ledger) (emoney.ID, []emoney.ID) {
	t.Helper()
	specs := []ledger.AccountSpec{{Name: "bank:0009", Kind: emoney.AccountBank}}
	for i := 0; i < twoProcWallets; i++ {
		specs = append(specs, ledger.AccountSpec{Name: fmt.Sprint("wallet:p", i), Kind: emoney.AccountWallet})
	}
	as, err := l.OpenAccounts(context.Background(), specs)
	if err != nil {
		t.Fatal(err)
	}
	var ws []emoney.ID
	for _, a := range as[1:] {
		ws = append(ws, a.ID)
	}
	return as[0].ID, ws
}

// twoProcRequest is what key k asks for; both processes send the same keys.
func twoProcRequest(g, i int, ws []emoney.ID) ledger.Request {
	from, to := (g+i)%twoProcWallets, (g+2*i+1)%twoProcWallets
	if from == to {
		to = (to + 1) % twoProcWallets
	}
	return ledger.Request{Principal: "wallet:p", Key: fmt.Sprintf("g%d-%d", g, i), Ops: []ledger.Op{
		{From: ws[from], To: ws[to], Amount: int64(7 + (g*31+i)%40), Code: "p2p"},
	}}
}

// TestTwoProcessChild is one of the writers TestTwoProcessesOneDatabase starts.
func TestTwoProcessChild(t *testing.T) {
	dsn := os.Getenv("EMONEY_TWOPROC_DB")
	if dsn == "" {
		t.Skip("started only by TestTwoProcessesOneDatabase")
	}
	ctx := context.Background()
	s, err := openStore(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	l := ledger.New(s, ledgerConfig(s, 0))
	defer l.Close()
	_, ws := twoProcAccounts(t, l)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 60; i++ {
				trs, err := l.Submit(ctx, twoProcRequest(g, i, ws))
				mu.Lock()
				switch emoney.ErrorCode(err) {
				case "":
					fmt.Printf("ack g%d-%d %s\n", g, i, trs[0].ID)
				case emoney.EInsufficientFunds:
					fmt.Printf("refused g%d-%d\n", g, i)
				default:
					fmt.Printf("error g%d-%d %v\n", g, i, err)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

// Two processes writing the same accounts of one database, with the same idempotency keys:
// no key takes effect twice, no wallet is overdrawn, money is neither made nor lost, and
// `emoney ledger verify` passes.
func TestTwoProcessesOneDatabase(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	t.Run("sqlite", func(t *testing.T) { twoProcesses(t, "sqlite:"+filepath.Join(t.TempDir(), "two.db")) })
	t.Run("postgres", func(t *testing.T) { twoProcesses(t, pgtest.Database(t)) })
}

func twoProcesses(t *testing.T, dsn string) {
	ctx := context.Background()
	if _, _, err := cli(t, nil, "migrate", "--db", dsn); err != nil {
		t.Fatal(err)
	}
	const funding = 400
	{
		s, err := openStore(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		l := ledger.New(s, ledger.Config{})
		bank, ws := twoProcAccounts(t, l)
		for i, w := range ws {
			if _, err := l.Transfer(ctx, "system:test", fmt.Sprint("fund-", i), ledger.Op{From: bank, To: w, Amount: funding, Code: "topup"}); err != nil {
				t.Fatal(err)
			}
		}
		l.Close()
		s.Close()
	}

	outputs := make([]string, 2)
	var wg sync.WaitGroup
	for p := range outputs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(os.Args[0], "-test.run=^TestTwoProcessChild$", "-test.count=1")
			cmd.Env = append(os.Environ(), "EMONEY_TWOPROC_DB="+dsn)
			cmd.Stderr = os.Stderr
			out, err := cmd.Output()
			if err != nil {
				t.Errorf("process %d: %v", p, err)
			}
			outputs[p] = string(out)
		}()
	}
	wg.Wait()

	acked := map[string]string{}
	committed := 0
	for p, out := range outputs {
		sc := bufio.NewScanner(strings.NewReader(out))
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			switch {
			case len(f) >= 1 && f[0] == "error":
				t.Errorf("process %d: %s", p, sc.Text())
			case len(f) == 3 && f[0] == "ack":
				if prev, ok := acked[f[1]]; ok {
					if prev != f[2] {
						t.Errorf("key %s took effect twice: %s and %s", f[1], prev, f[2])
					}
					continue
				}
				acked[f[1]] = f[2]
				committed++
			}
		}
	}
	if committed == 0 {
		t.Fatal("nothing committed")
	}
	out, _, err := cli(t, nil, "ledger", "verify", "--db", dsn, "--json")
	if err != nil {
		t.Fatalf("ledger verify: %v\n%s", err, out)
	}
	var r ledger.Report
	lastJSON(t, out, &r)
	if r.Transfers != twoProcWallets+committed {
		t.Errorf("history has %d records, want %d fundings + %d distinct committed keys", r.Transfers, twoProcWallets, committed)
	}
	s, err := openStore(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	l := ledger.New(s, ledger.Config{})
	defer l.Close()
	_, ws := twoProcAccounts(t, l)
	var total int64
	for _, w := range ws {
		b, err := l.Balance(ctx, w, emoney.JPY)
		if err != nil {
			t.Fatal(err)
		}
		if b.Available() < 0 {
			t.Errorf("wallet overdrawn: %+v", b)
		}
		total += b.Balance
	}
	if total != funding*twoProcWallets {
		t.Errorf("wallets hold %d, want %d", total, funding*twoProcWallets)
	}
	t.Logf("%s: %d distinct keys committed by two processes; verify OK", strings.SplitN(dsn, ":", 2)[0], committed)
}
