package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"emoney"
	"emoney/audit"
	"emoney/internal/fakeclock"
	"emoney/ledger"
)

// retryOnce is a store that, once armed, runs the next Update's fn in a transaction it rolls
// back, calls between, and then runs fn again for real: what a store may do on a lost race.
type retryOnce struct {
	emoney.Store
	armed   atomic.Bool
	between func()
}

func (r *retryOnce) Update(ctx context.Context, fn func(emoney.Tx) error) error {
	if r.armed.CompareAndSwap(true, false) {
		errRetry := errors.New("retry")
		err := r.Store.Update(ctx, func(tx emoney.Tx) error {
			if err := fn(tx); err != nil {
				return err
			}
			return errRetry
		})
		if !errors.Is(err, errRetry) {
			return err
		}
		r.between()
	}
	return r.Store.Update(ctx, fn)
}

type world struct {
	t      *testing.T
	store  emoney.Store
	open   Opener
	l      *ledger.Ledger
	clock  *fakeclock.Clock
	bank   emoney.ID
	wallet map[string]emoney.ID
}

func newWorld(t *testing.T, newDB NewDatabase) *world {
	s, o := open(t, newDB)
	w := &world{t: t, store: s, open: o, clock: fakeclock.New(at(0)), wallet: map[string]emoney.ID{}}
	w.l = ledger.New(s, ledger.Config{Now: w.clock.Now})
	t.Cleanup(func() { w.l.Close() })
	w.bank = w.account("bank:0001", emoney.AccountBank)
	return w
}

func (w *world) account(name string, kind emoney.AccountKind) emoney.ID {
	w.t.Helper()
	a, err := w.l.OpenAccount(ctx(w.t), ledger.AccountSpec{Name: name, Kind: kind})
	must(w.t, err)
	return a.ID
}

// funded opens a wallet topped up with amount from the bank.
func (w *world) funded(name string, amount int64) emoney.ID {
	w.t.Helper()
	id := w.account("wallet:"+name, emoney.AccountWallet)
	w.wallet[name] = id
	if amount > 0 {
		_, err := w.l.Transfer(ctx(w.t), "system:test", "fund-"+name, ledger.Op{From: w.bank, To: id, Amount: amount, Code: "topup"})
		must(w.t, err)
	}
	return id
}

func (w *world) balance(id emoney.ID) emoney.Balance {
	w.t.Helper()
	b, err := w.l.Balance(ctx(w.t), id, emoney.JPY)
	must(w.t, err)
	return b
}

func (w *world) wantBalance(id emoney.ID, balance, available int64) {
	w.t.Helper()
	b := w.balance(id)
	if b.Balance != balance || b.Available() != available {
		w.t.Errorf("balance %d available %d, want %d and %d", b.Balance, b.Available(), balance, available)
	}
}

// verify fails the test unless every ledger invariant holds.
func (w *world) verify() ledger.Report {
	w.t.Helper()
	r, err := w.l.Verify(ctx(w.t))
	must(w.t, err)
	if !r.OK() {
		w.t.Fatalf("ledger verify: %+v", r.Problems)
	}
	if tot := r.Totals[emoney.JPY]; tot.Balance != 0 {
		w.t.Fatalf("JPY balances sum to %d", tot.Balance)
	}
	return r
}

func runLedger(t *testing.T, newDB NewDatabase) {
	t.Run("TransferAndFunds", func(t *testing.T) {
		w := newWorld(t, newDB)
		c := ctx(t)
		alice, bob := w.funded("alice", 1000), w.funded("bob", 0)
		tr, err := w.l.Transfer(c, "wallet:alice", "k1", ledger.Op{From: alice, To: bob, Amount: 300, Code: "p2p"})
		must(t, err)
		if tr.Kind != emoney.TransferPosted || tr.Amount != 300 || tr.From != alice || tr.To != bob || tr.Currency != emoney.JPY {
			t.Errorf("transfer = %+v", tr)
		}
		_, err = w.l.Transfer(c, "wallet:alice", "k2", ledger.Op{From: alice, To: bob, Amount: 701, Code: "p2p"})
		wantCode(t, err, emoney.EInsufficientFunds)
		w.wantBalance(alice, 700, 700)
		w.wantBalance(bob, 300, 300)
		w.wantBalance(w.bank, -1000, -1000) // system accounts may go below zero
		got, err := w.l.GetTransfer(c, tr.ID)
		must(t, err)
		if got != tr {
			t.Errorf("GetTransfer = %+v, want %+v", got, tr)
		}
		hist, err := w.l.History(c, bob, emoney.JPY, emoney.ID{}, 10)
		must(t, err)
		if len(hist) != 1 || hist[0] != tr {
			t.Errorf("History(bob) = %+v", hist)
		}
		_, err = w.l.Transfer(c, "wallet:alice", "k3", ledger.Op{From: alice, To: ids.NewID(), Amount: 1, Code: "p2p"})
		wantCode(t, err, emoney.ENotFound)
		r := w.verify()
		if r.Transfers != 2 || r.Accounts != 3 {
			t.Errorf("verify counted %d transfers, %d accounts", r.Transfers, r.Accounts)
		}
	})

	t.Run("HistoryPages", func(t *testing.T) {
		w := newWorld(t, newDB)
		c := ctx(t)
		a, b, m := w.funded("a", 1000), w.funded("b", 0), w.account("merchant:m", emoney.AccountMerchant)
		var want []emoney.Transfer // a's records, newest first
		for i := 0; i < 7; i++ {
			to := b
			if i%3 == 0 {
				to = m
			}
			tr, err := w.l.Transfer(c, "wallet:a", fmt.Sprint("h", i), ledger.Op{From: a, To: to, Amount: int64(10 + i), Code: "p2p"})
			must(t, err)
			want = append([]emoney.Transfer{tr}, want...)
		}
		back, err := w.l.Transfer(c, "wallet:b", "back", ledger.Op{From: b, To: a, Amount: 5, Code: "p2p"})
		must(t, err)
		want = append([]emoney.Transfer{back}, want...)
		var got []emoney.Transfer
		var before emoney.ID
		for {
			page, err := w.l.History(c, a, emoney.JPY, before, 3)
			must(t, err)
			got = append(got, page...)
			if len(page) < 3 {
				break
			}
			before = page[len(page)-1].ID
		}
		if len(got) != len(want)+1 { // + the funding top-up
			t.Fatalf("history has %d records, want %d", len(got), len(want)+1)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("record %d = %s, want %s", i, got[i].ID, want[i].ID)
			}
		}
		_, err = w.l.History(c, m, emoney.JPY, back.ID, 3) // back did not touch m
		wantCode(t, err, emoney.EInvalid)
		none, err := w.l.History(c, a, "USD", emoney.ID{}, 3)
		must(t, err)
		if len(none) != 0 {
			t.Errorf("USD history of a JPY-only account: %d records", len(none))
		}
		w.verify()
	})

	t.Run("InvalidRequests", func(t *testing.T) {
		w := newWorld(t, newDB)
		c := ctx(t)
		a, b := w.funded("a", 10), w.funded("b", 0)
		cases := []struct {
			name, field string
			req         ledger.Request
		}{
			{"no principal", "principal", ledger.Request{Key: "k", Ops: []ledger.Op{{From: a, To: b, Amount: 1}}}},
			{"principal with NUL", "principal", ledger.Request{Principal: "wallet:\x00", Key: "k", Ops: []ledger.Op{{From: a, To: b, Amount: 1}}}},
			{"principal not UTF-8", "principal", ledger.Request{Principal: "wallet:\xff", Key: "k", Ops: []ledger.Op{{From: a, To: b, Amount: 1}}}},
			{"no key", "idempotency_key", ledger.Request{Principal: "p", Ops: []ledger.Op{{From: a, To: b, Amount: 1}}}},
			{"key with space", "idempotency_key", ledger.Request{Principal: "p", Key: "a b", Ops: []ledger.Op{{From: a, To: b, Amount: 1}}}},
			{"no ops", "ops", ledger.Request{Principal: "p", Key: "k"}},
			{"zero amount", "ops[0].amount", ledger.Request{Principal: "p", Key: "k", Ops: []ledger.Op{{From: a, To: b}}}},
			{"negative amount", "ops[0].amount", ledger.Request{Principal: "p", Key: "k", Ops: []ledger.Op{{From: a, To: b, Amount: -5}}}},
			{"huge amount", "ops[0].amount", ledger.Request{Principal: "p", Key: "k", Ops: []ledger.Op{{From: a, To: b, Amount: emoney.MaxAmount + 1}}}},
			{"same account", "ops[0].to", ledger.Request{Principal: "p", Key: "k", Ops: []ledger.Op{{From: a, To: a, Amount: 1}}}},
			{"bad currency", "ops[0].currency", ledger.Request{Principal: "p", Key: "k", Ops: []ledger.Op{{From: a, To: b, Amount: 1, Currency: "yen"}}}},
			{"bad code", "ops[0].code", ledger.Request{Principal: "p", Key: "k", Ops: []ledger.Op{{From: a, To: b, Amount: 1, Code: "P2P!"}}}},
			{"pending without hold", "ops[1].hold", ledger.Request{Principal: "p", Key: "k", Ops: []ledger.Op{{From: a, To: b, Amount: 1}, {Kind: emoney.TransferPending, From: a, To: b, Amount: 1}}}},
			{"review hold may not expire", "ops[0].timeout", ledger.Request{Principal: "p", Key: "k", Ops: []ledger.Op{{Kind: emoney.TransferPending, Hold: emoney.HoldReview, Timeout: time.Hour, From: a, To: b, Amount: 1}}}},
			{"bank debit may not expire", "ops[0].timeout", ledger.Request{Principal: "p", Key: "k", Ops: []ledger.Op{{Kind: emoney.TransferPending, Hold: emoney.HoldBankDebit, Timeout: time.Hour, From: a, To: b, Amount: 1}}}},
			{"post without pending id", "ops[0].pending_id", ledger.Request{Principal: "p", Key: "k", Ops: []ledger.Op{{Kind: emoney.TransferPost}}}},
			{"void with amount", "ops[0].amount", ledger.Request{Principal: "p", Key: "k", Ops: []ledger.Op{{Kind: emoney.TransferVoid, PendingID: a, Amount: 3}}}},
			{"unknown kind", "ops[0].kind", ledger.Request{Principal: "p", Key: "k", Ops: []ledger.Op{{Kind: "steal", From: a, To: b, Amount: 1}}}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				_, err := w.l.Submit(c, tc.req)
				wantCode(t, err, emoney.EInvalid)
				if f := emoney.ErrorField(err); f != tc.field {
					t.Errorf("field %q, want %q", f, tc.field)
				}
			})
		}
		w.wantBalance(a, 10, 10)
		for _, name := range []string{"wallet:\xff", "wallet:\x00", "wallet:a b", ""} {
			_, err := w.l.OpenAccount(c, ledger.AccountSpec{Name: name, Kind: emoney.AccountWallet})
			wantCode(t, err, emoney.EInvalid)
		}
		_, err := w.l.OpenAccount(c, ledger.AccountSpec{Name: "x", Kind: "piggybank"})
		wantCode(t, err, emoney.EInvalid)
		w.verify()
	})

	t.Run("Idempotency", func(t *testing.T) {
		w := newWorld(t, newDB)
		c := ctx(t)
		a, b := w.funded("a", 1000), w.funded("b", 0)
		op := ledger.Op{From: a, To: b, Amount: 100, Code: "p2p"}
		first, err := w.l.Transfer(c, "wallet:a", "same", op)
		must(t, err)
		again, err := w.l.Transfer(c, "wallet:a", "same", op)
		must(t, err)
		if again != first {
			t.Errorf("retry returned %+v, want the first result %+v", again, first)
		}
		w.wantBalance(a, 900, 900)
		changed := op
		changed.Amount = 200
		_, err = w.l.Transfer(c, "wallet:a", "same", changed)
		wantCode(t, err, emoney.EConflict)
		if emoney.ErrorField(err) != "idempotency_key" {
			t.Errorf("conflict names field %q", emoney.ErrorField(err))
		}
		// The same key from another principal is another request.
		other, err := w.l.Transfer(c, "wallet:b-device", "same", op)
		must(t, err)
		if other.ID == first.ID {
			t.Error("keys are not scoped per principal")
		}
		w.wantBalance(a, 800, 800)
		// A refused request records nothing: after a top-up the same key may succeed.
		big := ledger.Op{From: a, To: b, Amount: 5000, Code: "p2p"}
		_, err = w.l.Transfer(c, "wallet:a", "big", big)
		wantCode(t, err, emoney.EInsufficientFunds)
		_, err = w.l.Transfer(c, "system:test", "more", ledger.Op{From: w.bank, To: a, Amount: 5000, Code: "topup"})
		must(t, err)
		_, err = w.l.Transfer(c, "wallet:a", "big", big)
		must(t, err)
		// Concurrent retries of one key (same batch or not) take effect once.
		var wg sync.WaitGroup
		results := make([]emoney.Transfer, 50)
		for i := range results {
			wg.Add(1)
			go func() {
				defer wg.Done()
				tr, err := w.l.Transfer(c, "wallet:a", "storm", ledger.Op{From: a, To: b, Amount: 1, Code: "p2p"})
				if err != nil {
					t.Error(err)
				}
				results[i] = tr
			}()
		}
		wg.Wait()
		for _, r := range results {
			if r.ID != results[0].ID {
				t.Fatalf("concurrent retries got different transfers %s and %s", r.ID, results[0].ID)
			}
		}
		w.wantBalance(a, 799, 799)
		w.verify()
	})

	t.Run("PendingPostVoid", func(t *testing.T) {
		w := newWorld(t, newDB)
		c := ctx(t)
		a, m := w.funded("a", 1000), w.account("merchant:m", emoney.AccountMerchant)
		hold := func(key string, amount int64) emoney.Transfer {
			t.Helper()
			tr, err := w.l.Transfer(c, "wallet:a", key, ledger.Op{Kind: emoney.TransferPending, Hold: emoney.HoldReview, From: a, To: m, Amount: amount, Code: "payment"})
			must(t, err)
			return tr
		}
		p1 := hold("h1", 400)
		w.wantBalance(a, 1000, 600)
		_, err := w.l.Transfer(c, "wallet:a", "too-much", ledger.Op{From: a, To: m, Amount: 601, Code: "payment"})
		wantCode(t, err, emoney.EInsufficientFunds) // pending debits reserve funds
		post, err := w.l.Transfer(c, "staff:1", "post-1", ledger.Op{Kind: emoney.TransferPost, PendingID: p1.ID, Amount: 250})
		must(t, err)
		if post.Kind != emoney.TransferPost || post.PendingID != p1.ID || post.Amount != 250 || post.From != a || post.To != m || post.Code != "payment" {
			t.Errorf("post = %+v", post)
		}
		w.wantBalance(a, 750, 750) // the rest of the hold is released
		w.wantBalance(m, 250, 250)
		_, err = w.l.Transfer(c, "staff:1", "post-again", ledger.Op{Kind: emoney.TransferPost, PendingID: p1.ID})
		wantCode(t, err, emoney.EConflict)
		_, err = w.l.Transfer(c, "staff:1", "void-posted", ledger.Op{Kind: emoney.TransferVoid, PendingID: p1.ID})
		wantCode(t, err, emoney.EConflict)

		p2 := hold("h2", 100)
		_, err = w.l.Transfer(c, "staff:1", "post-over", ledger.Op{Kind: emoney.TransferPost, PendingID: p2.ID, Amount: 101})
		wantCode(t, err, emoney.EInvalid)
		void, err := w.l.Transfer(c, "staff:1", "void-2", ledger.Op{Kind: emoney.TransferVoid, PendingID: p2.ID})
		must(t, err)
		if void.Amount != 0 || void.PendingID != p2.ID {
			t.Errorf("void = %+v", void)
		}
		w.wantBalance(a, 750, 750)
		_, err = w.l.Transfer(c, "staff:1", "post-voided", ledger.Op{Kind: emoney.TransferPost, PendingID: p2.ID})
		wantCode(t, err, emoney.EConflict)
		_, err = w.l.Transfer(c, "staff:1", "post-plain", ledger.Op{Kind: emoney.TransferPost, PendingID: post.ID})
		wantCode(t, err, emoney.EConflict)
		_, err = w.l.Transfer(c, "staff:1", "post-ghost", ledger.Op{Kind: emoney.TransferPost, PendingID: ids.NewID()})
		wantCode(t, err, emoney.ENotFound)

		// Post and void of one pending transfer racing: exactly one wins.
		p3 := hold("h3", 50)
		var wins atomic.Int32
		var wg sync.WaitGroup
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				op := ledger.Op{Kind: emoney.TransferPost, PendingID: p3.ID}
				if i%2 == 1 {
					op = ledger.Op{Kind: emoney.TransferVoid, PendingID: p3.ID}
				}
				_, err := w.l.Transfer(c, "staff:1", fmt.Sprint("race-", i), op)
				if err == nil {
					wins.Add(1)
				} else if emoney.ErrorCode(err) != emoney.EConflict {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Errorf("%d of the racing posts and voids won, want 1", wins.Load())
		}
		w.verify()
	})

	t.Run("Expiry", func(t *testing.T) {
		w := newWorld(t, newDB)
		c := ctx(t)
		a, m := w.funded("a", 1000), w.account("merchant:m", emoney.AccountMerchant)
		auth, err := w.l.Transfer(c, "wallet:a", "auth", ledger.Op{Kind: emoney.TransferPending, Hold: emoney.HoldAuthorization, Timeout: time.Minute, From: a, To: m, Amount: 300, Code: "payment"})
		must(t, err)
		if !auth.ExpiresAt.Equal(w.clock.Now().Add(time.Minute)) {
			t.Errorf("expires at %v", auth.ExpiresAt)
		}
		review, err := w.l.Transfer(c, "wallet:a", "review", ledger.Op{Kind: emoney.TransferPending, Hold: emoney.HoldReview, From: a, To: m, Amount: 200, Code: "payment"})
		must(t, err)
		debit, err := w.l.Transfer(c, "system:bank", "debit", ledger.Op{Kind: emoney.TransferPending, Hold: emoney.HoldBankDebit, From: w.bank, To: a, Amount: 500, Code: "topup"})
		must(t, err)
		n, err := w.l.ExpirePending(c, 100)
		must(t, err)
		if n != 0 {
			t.Errorf("voided %d before the expiry", n)
		}
		w.clock.Add(time.Minute)
		_, err = w.l.Transfer(c, "system:x", "late-post", ledger.Op{Kind: emoney.TransferPost, PendingID: auth.ID})
		wantCode(t, err, emoney.EConflict)
		w.clock.Add(365 * 24 * time.Hour) // a year on, holds for review and bank debits are still there
		n, err = w.l.ExpirePending(c, 100)
		must(t, err)
		if n != 1 {
			t.Errorf("voided %d, want 1 (only the authorization)", n)
		}
		w.wantBalance(a, 1000, 800)
		for _, p := range []emoney.Transfer{review, debit} {
			_, err := w.l.Transfer(c, "staff:1", "resolve-"+p.ID.String(), ledger.Op{Kind: emoney.TransferPost, PendingID: p.ID})
			must(t, err)
		}
		w.wantBalance(a, 1300, 1300)
		n, err = w.l.ExpirePending(c, 100)
		must(t, err)
		if n != 0 {
			t.Errorf("second sweep voided %d", n)
		}
		w.verify()
	})

	t.Run("LinkedBatch", func(t *testing.T) {
		w := newWorld(t, newDB)
		c := ctx(t)
		a, b, fee := w.funded("a", 1000), w.funded("b", 0), w.account("fee", emoney.AccountFee)
		_, err := w.l.Submit(c, ledger.Request{Principal: "wallet:a", Key: "fail", Ops: []ledger.Op{
			{From: a, To: b, Amount: 600, Code: "p2p"},
			{From: a, To: fee, Amount: 10, Code: "fee"},
			{From: a, To: b, Amount: 500, Code: "p2p"}, // breaks the bank: all three must fail
		}})
		wantCode(t, err, emoney.EInsufficientFunds)
		if emoney.ErrorField(err) != "ops[2].amount" {
			t.Errorf("field %q, want ops[2].amount", emoney.ErrorField(err))
		}
		w.wantBalance(a, 1000, 1000)
		w.wantBalance(b, 0, 0)
		trs, err := w.l.Submit(c, ledger.Request{Principal: "wallet:a", Key: "ok", Ops: []ledger.Op{
			{From: a, To: b, Amount: 600, Code: "p2p"},
			{From: a, To: fee, Amount: 10, Code: "fee"},
			{From: b, To: a, Amount: 590, Code: "p2p"}, // spends what the first leg brought
		}})
		must(t, err)
		if len(trs) != 3 || trs[0].Batch != trs[2].Batch || trs[0].Batch.IsZero() {
			t.Errorf("linked legs = %+v", trs)
		}
		w.wantBalance(a, 980, 980)
		w.wantBalance(b, 10, 10)
		w.verify()
	})

	t.Run("Reversal", func(t *testing.T) {
		w := newWorld(t, newDB)
		c := ctx(t)
		a, b := w.funded("a", 1000), w.funded("b", 0)
		tr, err := w.l.Transfer(c, "wallet:a", "pay", ledger.Op{From: a, To: b, Amount: 400, Code: "p2p"})
		must(t, err)
		r1, err := w.l.Transfer(c, "staff:1", "rev-1", ledger.Op{ReversalOf: tr.ID, Amount: 100})
		must(t, err)
		if r1.From != b || r1.To != a || r1.Amount != 100 || r1.ReversalOf != tr.ID || r1.Code != "reversal" {
			t.Errorf("reversal = %+v", r1)
		}
		_, err = w.l.Transfer(c, "staff:1", "rev-2", ledger.Op{ReversalOf: tr.ID, Amount: 301})
		wantCode(t, err, emoney.EConflict)
		r2, err := w.l.Transfer(c, "staff:1", "rev-3", ledger.Op{ReversalOf: tr.ID}) // the rest
		must(t, err)
		if r2.Amount != 300 {
			t.Errorf("rest reversed = %d, want 300", r2.Amount)
		}
		_, err = w.l.Transfer(c, "staff:1", "rev-4", ledger.Op{ReversalOf: tr.ID})
		wantCode(t, err, emoney.EConflict)
		// The history keeps all three records; nothing was changed or deleted.
		hist, err := w.l.History(c, b, emoney.JPY, emoney.ID{}, 100)
		must(t, err)
		if len(hist) != 3 || hist[0] != r2 || hist[1] != r1 || hist[2] != tr {
			t.Errorf("history has %d records, want the payment and both reversals, newest first", len(hist))
		}
		// A reversal cannot take money the receiver no longer has.
		tr2, err := w.l.Transfer(c, "wallet:a", "pay-2", ledger.Op{From: a, To: b, Amount: 50, Code: "p2p"})
		must(t, err)
		_, err = w.l.Transfer(c, "wallet:b", "spend", ledger.Op{From: b, To: a, Amount: 50, Code: "p2p"})
		must(t, err)
		_, err = w.l.Transfer(c, "staff:1", "rev-5", ledger.Op{ReversalOf: tr2.ID})
		wantCode(t, err, emoney.EInsufficientFunds)
		w.wantBalance(a, 1000, 1000)
		w.verify()
	})

	t.Run("OneFailureFailsOnlyItself", func(t *testing.T) {
		w := newWorld(t, newDB)
		c := ctx(t)
		rich, poor, sink := w.funded("rich", 1_000_000), w.funded("poor", 5), w.funded("sink", 0)
		var wg sync.WaitGroup
		var ok, refused atomic.Int32
		for i := 0; i < 400; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				from := rich
				if i%4 == 0 {
					from = poor
				}
				_, err := w.l.Transfer(c, "p", fmt.Sprint("k", i), ledger.Op{From: from, To: sink, Amount: 10, Code: "p2p"})
				switch emoney.ErrorCode(err) {
				case "":
					ok.Add(1)
				case emoney.EInsufficientFunds:
					refused.Add(1)
				default:
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if ok.Load() != 300 || refused.Load() != 100 {
			t.Errorf("%d committed and %d refused, want 300 and 100", ok.Load(), refused.Load())
		}
		w.wantBalance(sink, 3000, 3000)
		w.verify()
	})

	t.Run("NoOverdraftUnderConcurrency", func(t *testing.T) {
		w := newWorld(t, newDB)
		c := ctx(t)
		src := w.funded("src", 1000)
		dst := make([]emoney.ID, 8)
		for i := range dst {
			dst[i] = w.funded(fmt.Sprint("dst", i), 0)
		}
		var wg sync.WaitGroup
		var ok atomic.Int64
		for g := 0; g < 32; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 20; i++ {
					_, err := w.l.Transfer(c, "wallet:src", fmt.Sprintf("g%d-%d", g, i), ledger.Op{From: src, To: dst[(g+i)%len(dst)], Amount: 7, Code: "p2p"})
					if err == nil {
						ok.Add(1)
					} else if emoney.ErrorCode(err) != emoney.EInsufficientFunds {
						t.Error(err)
					}
				}
			}()
		}
		wg.Wait()
		if ok.Load() != 1000/7 {
			t.Errorf("%d spends of 7 from 1000 committed, want %d", ok.Load(), 1000/7)
		}
		w.wantBalance(src, 1000%7, 1000%7)
		w.verify()
	})

	t.Run("TwoWriters", func(t *testing.T) {
		// Two handles on one database stand in for two processes: neither may assume it is
		// the only writer.
		w := newWorld(t, newDB)
		c := ctx(t)
		const wallets = 10
		ws := make([]emoney.ID, wallets)
		for i := range ws {
			ws[i] = w.funded(fmt.Sprint("w", i), 100)
		}
		second := w.open(t)
		t.Cleanup(func() { second.Close() })
		l2 := ledger.New(second, ledger.Config{})
		t.Cleanup(func() { l2.Close() })
		var wg sync.WaitGroup
		var committed atomic.Int64
		seen := sync.Map{}
		for g := 0; g < 16; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				l := w.l
				if g%2 == 1 {
					l = l2
				}
				for i := 0; i < 40; i++ {
					from, to := ws[(g+i)%wallets], ws[(g+3*i+1)%wallets]
					if from == to {
						continue
					}
					// Both handles send the same keys: each key must take effect once.
					key := fmt.Sprintf("k%d-%d", g/2, i)
					tr, err := l.Transfer(c, "p", key, ledger.Op{From: from, To: to, Amount: 9, Code: "p2p"})
					switch emoney.ErrorCode(err) {
					case "":
						if prev, loaded := seen.LoadOrStore(key, tr.ID); !loaded {
							committed.Add(1)
						} else if prev.(emoney.ID) != tr.ID {
							t.Errorf("key %s committed twice: %s and %s", key, prev, tr.ID)
						}
					case emoney.EInsufficientFunds, emoney.EConflict:
					default:
						t.Error(err)
					}
				}
			}()
		}
		wg.Wait()
		r := w.verify()
		if int64(r.Transfers) != wallets+committed.Load() {
			t.Errorf("%d transfers in the history, want %d funding + %d committed", r.Transfers, wallets, committed.Load())
		}
		var total int64
		for _, id := range ws {
			b := w.balance(id)
			if b.Available() < 0 {
				t.Errorf("wallet overdrawn: %+v", b)
			}
			total += b.Balance
		}
		if total != 100*wallets {
			t.Errorf("wallets hold %d, want %d", total, 100*wallets)
		}
	})

	t.Run("SecondWriterSeen", func(t *testing.T) {
		// A ledger must never act on balances another writer has changed since it last looked.
		w := newWorld(t, newDB)
		c := ctx(t)
		a, b := w.funded("a", 100), w.funded("b", 0)
		second := w.open(t)
		t.Cleanup(func() { second.Close() })
		l2 := ledger.New(second, ledger.Config{})
		t.Cleanup(func() { l2.Close() })
		_, err := l2.Transfer(c, "wallet:a", "spend-all", ledger.Op{From: a, To: b, Amount: 100, Code: "p2p"})
		must(t, err)
		_, err = w.l.Transfer(c, "wallet:a", "spend-again", ledger.Op{From: a, To: b, Amount: 50, Code: "p2p"})
		wantCode(t, err, emoney.EInsufficientFunds)
		_, err = w.l.Transfer(c, "wallet:b", "back", ledger.Op{From: b, To: a, Amount: 30, Code: "p2p"})
		must(t, err)
		_, err = l2.Transfer(c, "wallet:a", "spend-31", ledger.Op{From: a, To: b, Amount: 31, Code: "p2p"})
		wantCode(t, err, emoney.EInsufficientFunds)
		w.wantBalance(a, 30, 30)
		w.verify()
	})

	t.Run("TwoLedgersOneHandle", func(t *testing.T) {
		// Ledgers sharing one store handle must see each other's writes too.
		w := newWorld(t, newDB)
		c := ctx(t)
		a, b := w.funded("a", 100), w.funded("b", 0)
		l2 := ledger.New(w.store, ledger.Config{})
		t.Cleanup(func() { l2.Close() })
		_, err := l2.Transfer(c, "wallet:a", "spend-all", ledger.Op{From: a, To: b, Amount: 100, Code: "p2p"})
		must(t, err)
		_, err = w.l.Transfer(c, "wallet:a", "spend-again", ledger.Op{From: a, To: b, Amount: 100, Code: "p2p"})
		wantCode(t, err, emoney.EInsufficientFunds)
		// And balances written straight through the handle (an operator's repair, say).
		must(t, w.store.Update(c, func(tx emoney.Tx) error {
			bs, err := tx.LockBalances(c, []emoney.BalanceKey{{Account: b, Currency: emoney.JPY}})
			must(t, err)
			bs[0].Balance -= 60
			return tx.SaveBalances(c, bs)
		}))
		_, err = w.l.Transfer(c, "wallet:b", "spend-b", ledger.Op{From: b, To: a, Amount: 41, Code: "p2p"})
		wantCode(t, err, emoney.EInsufficientFunds)
	})

	t.Run("RetriedTransactionLeavesNoTrace", func(t *testing.T) {
		// Store.Update may run fn again; nothing of the attempt that was rolled back may
		// survive, not even in a ledger's memory.
		w := newWorld(t, newDB)
		c := ctx(t)
		a, cc := w.funded("a", 100), w.funded("c", 0)
		b := w.funded("b", 0)
		second := w.open(t)
		t.Cleanup(func() { second.Close() })
		l2 := ledger.New(second, ledger.Config{})
		t.Cleanup(func() { l2.Close() })
		rs := &retryOnce{Store: w.store, between: func() { // runs on the committer's goroutine
			if _, err := l2.Transfer(c, "wallet:a", "meanwhile", ledger.Op{From: a, To: b, Amount: 100, Code: "p2p"}); err != nil {
				t.Error(err)
			}
		}}
		lr := ledger.New(rs, ledger.Config{})
		t.Cleanup(func() { lr.Close() })
		rs.armed.Store(true)
		_, err := lr.Transfer(c, "wallet:a", "r", ledger.Op{From: a, To: cc, Amount: 100, Code: "p2p"})
		wantCode(t, err, emoney.EInsufficientFunds) // the second attempt saw the money gone
		_, err = lr.Transfer(c, "wallet:c", "phantom", ledger.Op{From: cc, To: a, Amount: 100, Code: "p2p"})
		wantCode(t, err, emoney.EInsufficientFunds) // c never received the first attempt's 100
		w.verify()
	})

	t.Run("OutboxInSameTransaction", func(t *testing.T) {
		w := newWorld(t, newDB)
		c := ctx(t)
		a, b := w.funded("a", 100), w.funded("b", 0)
		_, err := w.l.Transfer(c, "wallet:a", "x", ledger.Op{From: a, To: b, Amount: 10, Code: "p2p"})
		must(t, err)
		_, err = w.l.Transfer(c, "wallet:a", "y", ledger.Op{From: a, To: b, Amount: 1000, Code: "p2p"})
		wantCode(t, err, emoney.EInsufficientFunds)
		must(t, w.store.View(c, func(tx emoney.ReadTx) error {
			ev, err := tx.Outbox(c, 0, 100)
			must(t, err)
			var topics []string
			for _, e := range ev {
				topics = append(topics, e.Topic)
			}
			// bank and a opened, a funded, b opened, the transfer; nothing for the refused one.
			want := "[ledger.account_opened ledger.account_opened ledger.committed ledger.account_opened ledger.committed]"
			if fmt.Sprint(topics) != want {
				t.Errorf("outbox topics %v\nwant %v", topics, want)
			}
			return nil
		}))
	})

	t.Run("AttachCommitsWithTheMoney", func(t *testing.T) {
		// A request's Attach writes the caller's records in the batch transaction: they commit
		// with the money or not at all, and a refusal from it fails that request alone.
		w := newWorld(t, newDB)
		c := ctx(t)
		a, b := w.funded("a", 1_000), w.funded("b", 0)
		var calls atomic.Int32
		attach := func(refuse error) func(context.Context, emoney.Tx, []emoney.Transfer) error {
			return func(ctx context.Context, tx emoney.Tx, trs []emoney.Transfer) error {
				calls.Add(1)
				if refuse != nil {
					return refuse
				}
				return tx.AppendOutbox(ctx, []emoney.OutboxEvent{{Topic: "test.attached", Key: "k", Payload: []byte(`"` + trs[0].ID.String() + `"`), CreatedAt: at(0)}})
			}
		}
		submit := func(key, tag string, amount int64, refuse error) ([]emoney.Transfer, error) {
			return w.l.Submit(c, ledger.Request{Principal: "wallet:a", Key: key, Tag: tag, Attach: attach(refuse),
				Ops: []ledger.Op{{From: a, To: b, Amount: amount, Code: "p2p"}}})
		}
		attached := func() []string {
			var got []string
			must(t, w.store.View(c, func(tx emoney.ReadTx) error {
				ev, err := tx.Outbox(c, 0, 1000)
				for _, e := range ev {
					if e.Topic == "test.attached" {
						got = append(got, string(e.Payload))
					}
				}
				return err
			}))
			return got
		}
		trs, err := submit("k1", "link:1", 100, nil)
		must(t, err)
		if got := attached(); len(got) != 1 || got[0] != `"`+trs[0].ID.String()+`"` {
			t.Fatalf("attached records %v, want the transfer %s", got, trs[0].ID)
		}
		// A retry is answered from the ledger: Attach does not run again. Another tag under
		// the same key is another request.
		n := calls.Load()
		again, err := submit("k1", "link:1", 100, nil)
		must(t, err)
		if again[0].ID != trs[0].ID || calls.Load() != n {
			t.Errorf("retry: %s (first %s), attach ran %d more times", again[0].ID, trs[0].ID, calls.Load()-n)
		}
		_, err = submit("k1", "link:2", 100, nil)
		wantCode(t, err, emoney.EConflict)
		// Ops that fail never reach Attach.
		n = calls.Load()
		_, err = submit("k2", "", 5_000, nil)
		wantCode(t, err, emoney.EInsufficientFunds)
		if calls.Load() != n {
			t.Errorf("attach ran for a request whose ops failed")
		}
		// Attach refuses: the request fails alone, with nothing of it written, and its key is
		// free again; requests in the same batch commit.
		var wg sync.WaitGroup
		errs := make([]error, 20)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var refuse error
				switch i {
				case 3:
					refuse = emoney.Errorf(emoney.ELimitExceeded, "over a cap of the caller's")
				case 7:
					refuse = errors.New("the caller's record could not be written")
				}
				_, errs[i] = submit(fmt.Sprint("batch-", i), "", 10, refuse)
			}()
		}
		wg.Wait()
		for i, err := range errs {
			switch i {
			case 3:
				wantCode(t, err, emoney.ELimitExceeded)
			case 7:
				wantCode(t, err, emoney.EInternal)
			default:
				must(t, err)
			}
		}
		w.wantBalance(b, 100+18*10, 100+18*10)
		if got := attached(); len(got) != 19 {
			t.Errorf("%d attached records, want 19", len(got))
		}
		_, err = submit("batch-3", "", 10, nil)
		must(t, err)
		w.wantBalance(b, 100+19*10, 100+19*10)
		// Prior tells what a key committed, and whether it was used.
		prior, used, err := w.l.Prior(c, "wallet:a", "k1")
		must(t, err)
		if !used || len(prior) != 1 || prior[0].ID != trs[0].ID || prior[0].Amount != 100 {
			t.Errorf("prior of k1: %v %+v", used, prior)
		}
		if _, used, err := w.l.Prior(c, "wallet:a", "k2"); err != nil || used { // refused: given back
			t.Errorf("prior of a refused request: %v %v", used, err)
		}
		if _, used, err := w.l.Prior(c, "wallet:other", "k1"); err != nil || used {
			t.Errorf("prior of another principal's key: %v %v", used, err)
		}
		w.verify()
	})

	t.Run("VerifyFindsTampering", func(t *testing.T) {
		w := newWorld(t, newDB)
		c := ctx(t)
		a := w.funded("a", 100)
		w.verify()
		// Someone adds money to a balance without a transfer.
		must(t, w.store.Update(c, func(tx emoney.Tx) error {
			lb, err := tx.LockBalances(c, []emoney.BalanceKey{{Account: a, Currency: emoney.JPY}})
			must(t, err)
			lb[0].Balance += 50
			return tx.SaveBalances(c, lb)
		}))
		r, err := w.l.Verify(c)
		must(t, err)
		if r.OK() {
			t.Fatal("verify passed a tampered balance")
		}
		var named, sum bool
		for _, p := range r.Problems {
			named = named || (p.Account == a && p.Name == "wallet:a")
			sum = sum || (p.Account.IsZero() && p.Currency == emoney.JPY)
		}
		if !named || !sum {
			t.Errorf("problems %+v: want the account named and the non-zero sum", r.Problems)
		}
	})

	t.Run("AuditChain", func(t *testing.T) {
		s, o := open(t, newDB)
		c := ctx(t)
		s2 := o(t)
		t.Cleanup(func() { s2.Close() })
		// Appends from two handles at once still form one chain.
		var wg sync.WaitGroup
		for i := 0; i < 10; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				st := s
				if i%2 == 1 {
					st = s2
				}
				err := st.Update(c, func(tx emoney.Tx) error {
					_, err := audit.Append(c, tx, emoney.AuditEntry{At: at(i), Actor: "staff:1", Action: "killswitch.pull", Object: fmt.Sprint("bank:000", i)})
					return err
				})
				if err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		r, err := audit.Verify(c, s)
		must(t, err)
		if !r.OK() || r.Entries != 10 || r.HeadSeq != 10 {
			t.Errorf("audit verify = %+v", r)
		}
	})

	t.Run("ClosedLedger", func(t *testing.T) {
		w := newWorld(t, newDB)
		a, b := w.funded("a", 10), w.funded("b", 0)
		must(t, w.l.Close())
		_, err := w.l.Transfer(context.Background(), "p", "k", ledger.Op{From: a, To: b, Amount: 1})
		wantCode(t, err, emoney.EInternal)
	})
}
