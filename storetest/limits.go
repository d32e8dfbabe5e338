package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"emoney"
	"emoney/ledger"
)

// runLimits checks wallet limits: counted in the batch transaction, kept in the store with the
// balance, per Asia/Tokyo day and month, given back by voids, and never passed by requests racing
// each other from two handles (two processes).
func runLimits(t *testing.T, newDB NewDatabase) {
	t.Run("DayMonthAndRollover", func(t *testing.T) {
		w := newWorld(t, newDB) // the clock starts at 18:00 in Tokyo
		c := ctx(t)
		alice, bob := w.funded("alice", 10_000), w.funded("bob", 0)
		lim := &ledger.Limit{Count: true, Day: 1000, Month: 1500}
		send := func(key string, amount int64) error {
			_, err := w.l.Transfer(c, "wallet:alice", key, ledger.Op{From: alice, To: bob, Amount: amount, Code: "p2p", FromLimit: lim})
			return err
		}
		must(t, send("a", 600))
		err := send("b", 500)
		wantCode(t, err, emoney.ELimitExceeded)
		if e, _ := err.(*emoney.Error); e == nil || e.Reason != "daily" {
			t.Fatalf("error %v, want reason daily", err)
		}
		if u := w.balance(alice).Usage; u.DayOut != 600 || u.MonthOut != 600 || u.Day != emoney.TokyoDay(w.clock.Now()) {
			t.Fatalf("usage after a refused request = %+v", u)
		}
		w.wantBalance(alice, 9400, 9400)
		must(t, send("c", 400))
		w.clock.Add(6 * time.Hour) // midnight in Tokyo: a new day, the same month
		must(t, send("d", 500))
		err = send("e", 1)
		if e, _ := err.(*emoney.Error); e == nil || e.Code != emoney.ELimitExceeded || e.Reason != "monthly" {
			t.Fatalf("error %v, want limit_exceeded monthly", err)
		}
		if u := w.balance(alice).Usage; u.DayOut != 500 || u.MonthOut != 1500 || u.DayIn != 0 {
			t.Fatalf("usage on the second day = %+v", u)
		}
		if got := w.balance(bob).Usage; got != (emoney.Usage{}) {
			t.Fatalf("bob's usage %+v: nothing counted on his side", got)
		}
		w.clock.Add(30 * 24 * time.Hour) // December
		must(t, send("f", 1000))
		w.verify()
	})

	t.Run("PendingCountedVoidGivesBack", func(t *testing.T) {
		w := newWorld(t, newDB)
		c := ctx(t)
		bob := w.funded("bob", 0)
		in := &ledger.Limit{Count: true, Day: 1000, MaxBalance: 1500}
		topup := func(key string, amount int64) (emoney.Transfer, error) {
			return w.l.Transfer(c, "wallet:bob", key, ledger.Op{Kind: emoney.TransferPending, Hold: emoney.HoldBankDebit, From: w.bank, To: bob, Amount: amount, Code: "topup", ToLimit: in})
		}
		p1, err := topup("t1", 800)
		must(t, err)
		if p1.Counted != emoney.CountedTo {
			t.Fatalf("pending top-up counted %v, want the credited side", p1.Counted)
		}
		if got, err := w.l.GetTransfer(c, p1.ID); err != nil || got.Counted != emoney.CountedTo {
			t.Fatalf("stored pending top-up counted %v (%v)", got.Counted, err)
		}
		_, err = topup("t2", 300)
		wantCode(t, err, emoney.ELimitExceeded)
		// Whoever voids it (here with no limits of its own, as staff do) gives the count back.
		_, err = w.l.Transfer(c, "system:bank", "v1", ledger.Op{Kind: emoney.TransferVoid, PendingID: p1.ID})
		must(t, err)
		if u := w.balance(bob).Usage; u.DayIn != 0 || u.MonthIn != 0 {
			t.Fatalf("usage after the void = %+v, want it given back", u)
		}
		p2, err := topup("t3", 1000)
		must(t, err)
		_, err = w.l.Transfer(c, "system:bank", "p2", ledger.Op{Kind: emoney.TransferPost, PendingID: p2.ID, Amount: 700})
		must(t, err)
		if u := w.balance(bob).Usage; u.DayIn != 700 {
			t.Fatalf("usage after posting 700 of 1000 = %+v", u)
		}
		// The balance cap counts what is pending in too.
		_, err = topup("t4", 300)
		must(t, err)
		_, err = w.l.Transfer(c, "wallet:x", "cap", ledger.Op{From: w.funded("carol", 600), To: bob, Amount: 501, Code: "p2p", ToLimit: &ledger.Limit{MaxBalance: 1500}})
		if e, _ := err.(*emoney.Error); e == nil || e.Code != emoney.ELimitExceeded || e.Reason != "max_balance" {
			t.Fatalf("error %v, want limit_exceeded max_balance", err)
		}
		_, err = w.l.Transfer(c, "wallet:x", "cap2", ledger.Op{From: w.wallet["carol"], To: bob, Amount: 500, Code: "p2p", ToLimit: &ledger.Limit{MaxBalance: 1500}})
		must(t, err)
		if u := w.balance(bob).Usage; u.DayIn != 1000 {
			t.Fatalf("an uncounted limit changed usage: %+v", u)
		}
		_, err = w.l.Transfer(c, "wallet:x", "bad", ledger.Op{From: bob, To: w.bank, Amount: 1, FromLimit: &ledger.Limit{MaxBalance: 5}})
		wantCode(t, err, emoney.EInvalid)
		_, err = w.l.Transfer(c, "wallet:x", "bad2", ledger.Op{Kind: emoney.TransferVoid, PendingID: p2.ID, ToLimit: &ledger.Limit{Count: true}})
		wantCode(t, err, emoney.EInvalid)
		// An uncounted hold voided gives nothing back: usage cannot be pushed below what was
		// counted.
		plain, err := w.l.Transfer(c, "system:risk", "h1", ledger.Op{Kind: emoney.TransferPending, Hold: emoney.HoldReview, From: w.wallet["carol"], To: bob, Amount: 50, Code: "p2p"})
		must(t, err)
		_, err = w.l.Transfer(c, "system:risk", "h1v", ledger.Op{Kind: emoney.TransferVoid, PendingID: plain.ID})
		must(t, err)
		if u := w.balance(bob).Usage; u.DayIn != 1000 {
			t.Fatalf("voiding an uncounted hold changed usage: %+v", u)
		}
		w.verify()
	})

	t.Run("RacingRequestsTwoHandles", func(t *testing.T) {
		w := newWorld(t, newDB)
		c := ctx(t)
		alice, bob := w.funded("alice", 100_000), w.funded("bob", 0)
		other := ledger.New(w.open(t), ledger.Config{Now: w.clock.Now})
		t.Cleanup(func() { other.Close() })
		lim := &ledger.Limit{Count: true, Day: 1000}
		var wg sync.WaitGroup
		var mu sync.Mutex
		ok, refused := 0, 0
		for i := 0; i < 40; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				l := w.l
				if i%2 == 1 {
					l = other
				}
				_, err := l.Transfer(c, "wallet:alice", fmt.Sprint("r", i), ledger.Op{From: alice, To: bob, Amount: 100, Code: "p2p", FromLimit: lim})
				mu.Lock()
				defer mu.Unlock()
				switch emoney.ErrorCode(err) {
				case "":
					ok++
				case emoney.ELimitExceeded:
					refused++
				default:
					t.Errorf("transfer %d: %v", i, err)
				}
			}()
		}
		wg.Wait()
		if ok != 10 || refused != 30 {
			t.Fatalf("%d sent and %d refused, want 10 and 30 under a daily limit of 10 transfers", ok, refused)
		}
		if u := w.balance(alice).Usage; u.DayOut != 1000 {
			t.Fatalf("usage %+v, want 1000 out", u)
		}
		w.wantBalance(bob, 1000, 1000)
		w.verify()
	})
}
