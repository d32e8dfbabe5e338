package ledger_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"emoney"
	"emoney/ledger"
	"emoney/postgres"
	"emoney/sqlite"
)

// newLedger opens a store with a ledger over it: where is a PostgreSQL DSN, a SQLite path, or
// "" for a fresh SQLite file in a temp dir. PostgreSQL runs two committers, as emoney does.
func newLedger(t *testing.T, where string) (*ledger.Ledger, emoney.Store) {
	t.Helper()
	ctx := context.Background()
	var (
		s   emoney.Store
		err error
		cfg ledger.Config
	)
	switch {
	case strings.HasPrefix(where, "postgres://"):
		s, err = postgres.Open(ctx, where, postgres.Config{})
		cfg.Committers = 2
	case where == "":
		s, err = sqlite.Open(filepath.Join(t.TempDir(), "emoney.db"))
	default:
		s, err = sqlite.Open(where)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	l := ledger.New(s, cfg)
	t.Cleanup(func() { l.Close(); s.Close() })
	return l, s
}

type accOp struct {
	acct   int
	kind   string // debit, credit, read
	amount int64
}

type accOut struct {
	ok  bool
	bal int64
}

// accountModel is one wallet account: debits succeed exactly when the balance covers them,
// credits always land (unless the transfer they belong to was refused), reads see the balance.
var accountModel = porcupine.Model{
	Partition: func(h []porcupine.Operation) [][]porcupine.Operation {
		by := map[int][]porcupine.Operation{}
		for _, op := range h {
			a := op.Input.(accOp).acct
			by[a] = append(by[a], op)
		}
		var out [][]porcupine.Operation
		for _, ops := range by {
			out = append(out, ops)
		}
		return out
	},
	Init: func() any { return int64(0) },
	Step: func(state, input, output any) (bool, any) {
		bal, in, out := state.(int64), input.(accOp), output.(accOut)
		switch in.kind {
		case "debit":
			if out.ok {
				return bal >= in.amount, bal - in.amount
			}
			return bal < in.amount, bal
		case "credit":
			if out.ok {
				return true, bal + in.amount
			}
			return true, bal
		default:
			return out.bal == bal, bal
		}
	},
	DescribeOperation: func(input, output any) string {
		in, out := input.(accOp), output.(accOut)
		return fmt.Sprintf("%s %d on %d -> %v %d", in.kind, in.amount, in.acct, out.ok, out.bal)
	},
}

// Per-account histories of concurrent transfers and balance reads must be linearizable: every
// read sees a state some serial order of the acknowledged transfers produces, and no debit
// succeeds that the balance could not cover.
func TestLinearizablePerAccountHistories(t *testing.T) {
	l, _ := newLedger(t, "")
	ctx := context.Background()
	const accounts, clients, opsPerClient = 3, 8, 50
	ids := make([]emoney.ID, accounts)
	for i := range ids {
		a, err := l.OpenAccount(ctx, ledger.AccountSpec{Name: fmt.Sprint("wallet:", i), Kind: emoney.AccountWallet})
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = a.ID
	}
	var mu sync.Mutex
	var history []porcupine.Operation
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(c), 7))
			for i := 0; i < opsPerClient; i++ {
				from, to := rng.IntN(accounts), rng.IntN(accounts)
				amount := 1 + rng.Int64N(40)
				call := time.Now().UnixNano()
				switch {
				case from == to: // read
					b, err := l.Balance(ctx, ids[from], emoney.JPY)
					ret := time.Now().UnixNano()
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					history = append(history, porcupine.Operation{ClientId: c, Input: accOp{from, "read", 0}, Call: call, Output: accOut{true, b.Balance}, Return: ret})
					mu.Unlock()
				default: // a transfer between two wallets
					_, err := l.Transfer(ctx, "wallet:x", fmt.Sprintf("t-%d-%d", c, i), ledger.Op{From: ids[from], To: ids[to], Amount: amount, Code: "p2p"})
					ret := time.Now().UnixNano()
					ok := err == nil
					if err != nil && emoney.ErrorCode(err) != emoney.EInsufficientFunds {
						t.Error(err)
						return
					}
					mu.Lock()
					history = append(history,
						porcupine.Operation{ClientId: c, Input: accOp{from, "debit", amount}, Call: call, Output: accOut{ok, 0}, Return: ret},
						porcupine.Operation{ClientId: c, Input: accOp{to, "credit", amount}, Call: call, Output: accOut{ok, 0}, Return: ret})
					mu.Unlock()
				}
			}
		}()
	}
	// Money enters from a bank account, concurrently with the rest.
	bank, err := l.OpenAccount(ctx, ledger.AccountSpec{Name: "bank:0001", Kind: emoney.AccountBank})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 30; i++ {
		to := ids[i%accounts]
		call := time.Now().UnixNano()
		_, err := l.Transfer(ctx, "system:bank", fmt.Sprint("dep-", i), ledger.Op{From: bank.ID, To: to, Amount: 25, Code: "topup"})
		ret := time.Now().UnixNano()
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		history = append(history, porcupine.Operation{ClientId: clients, Input: accOp{i % accounts, "credit", 25}, Call: call, Output: accOut{true, 0}, Return: ret})
		mu.Unlock()
	}
	wg.Wait()
	res := porcupine.CheckOperationsTimeout(accountModel, history, time.Minute)
	if res != porcupine.Ok {
		t.Fatalf("per-account histories are not linearizable (%v) over %d operations", res, len(history))
	}
	r, err := l.Verify(ctx)
	if err != nil || !r.OK() {
		t.Fatalf("verify: %v %+v", err, r.Problems)
	}
}

// The checker itself must catch a history that no serial order explains: a debit that
// succeeded on an empty account.
func TestLinearizabilityCheckerCatchesOverdraft(t *testing.T) {
	bad := []porcupine.Operation{
		{Input: accOp{0, "credit", 10}, Call: 0, Output: accOut{true, 0}, Return: 1},
		{Input: accOp{0, "debit", 8}, Call: 2, Output: accOut{true, 0}, Return: 3},
		{Input: accOp{0, "debit", 8}, Call: 4, Output: accOut{true, 0}, Return: 5},
	}
	if porcupine.CheckOperations(accountModel, bad) {
		t.Fatal("checker accepted two debits of 8 from 10")
	}
}
