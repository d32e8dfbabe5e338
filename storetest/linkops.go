package storetest

import (
	"reflect"
	"sync"
	"testing"
	"time"

	"emoney"
)

// runLinkOps covers top-ups and withdrawals through bank links: an operation recorded under a
// key once, bound to its transfer, found by either; usage per link, kind and day leaving out
// voided transfers; deleting only an unbound operation; tokens and status of a link; and a cap
// checked under LockLink by two handles at once letting exactly one operation through.
func runLinkOps(t *testing.T, newDB NewDatabase) {
	newLink := func(user emoney.ID, account string) emoney.BankLink {
		return emoney.BankLink{ID: ids.NewID(), User: user, Bank: "0001", AccountIndex: []byte("idx:" + account),
			AccountSealed: []byte("a"), HolderSealed: []byte("h"), TokensSealed: []byte("t1"), Scope: []string{"debit"},
			MandatePayee: "emoney", MandatePerCharge: 100, MandateMonthly: 1000, Status: emoney.LinkActive, Score: 95,
			CreatedAt: at(1), CoolingOffUntil: at(1).Add(time.Hour), ConsentedAt: at(1)}
	}

	t.Run("RecordBindUsage", func(t *testing.T) {
		s, _ := open(t, newDB)
		c := ctx(t)
		user := ids.NewID()
		l := newLink(user, "A")
		must(t, s.Update(c, func(tx emoney.Tx) error { return tx.CreateLink(c, l) }))
		p := "user:" + user.String()
		op := func(key, kind string, amount int64, day int32) emoney.LinkOp {
			return emoney.LinkOp{Principal: p, Key: key, Link: l.ID, User: user, Kind: kind, Amount: amount, Day: day, CreatedAt: at(2)}
		}
		a, b, w, other := op("k1", "topup", 300, 7), op("k2", "topup", 500, 7), op("k3", "withdrawal", 50, 7), op("k4", "topup", 900, 8)
		must(t, s.Update(c, func(tx emoney.Tx) error {
			for _, o := range []emoney.LinkOp{a, b, w, other} {
				if err := tx.CreateLinkOp(c, o); err != nil {
					return err
				}
			}
			return nil
		}))
		wantCode(t, s.Update(c, func(tx emoney.Tx) error { return tx.CreateLinkOp(c, a) }), emoney.EConflict)

		// Bind a and b to pending transfers; void b's: it no longer counts.
		pa, pb := ids.NewID(), ids.NewID()
		bankAcct, wallet := ids.NewID(), ids.NewID()
		pend := func(id emoney.ID) emoney.Transfer {
			return emoney.Transfer{ID: id, Batch: ids.NewID(), Kind: emoney.TransferPending, From: bankAcct, To: wallet, Currency: "JPY",
				Amount: 1, Code: "topup", Hold: emoney.HoldBankDebit, CreatedAt: at(3)}
		}
		must(t, s.Update(c, func(tx emoney.Tx) error {
			if err := tx.InsertTransfers(c, []emoney.Transfer{pend(pa), pend(pb)}); err != nil {
				return err
			}
			if err := tx.BindLinkOp(c, p, "k1", pa); err != nil {
				return err
			}
			if err := tx.BindLinkOp(c, p, "k1", pa); err != nil { // again: fine
				return err
			}
			return tx.BindLinkOp(c, p, "k2", pb)
		}))
		wantCode(t, s.Update(c, func(tx emoney.Tx) error { return tx.BindLinkOp(c, p, "k1", ids.NewID()) }), emoney.ENotFound)
		wantCode(t, s.Update(c, func(tx emoney.Tx) error { return tx.BindLinkOp(c, p, "nope", pa) }), emoney.ENotFound)
		usage := func(kind string, day int32) int64 {
			t.Helper()
			var n int64
			must(t, s.View(c, func(tx emoney.ReadTx) error {
				var err error
				n, err = tx.LinkUsage(c, l.ID, kind, day)
				return err
			}))
			return n
		}
		if got := usage("topup", 7); got != 800 {
			t.Errorf("top-up usage on day 7 = %d, want 800", got)
		}
		must(t, s.Update(c, func(tx emoney.Tx) error {
			return tx.InsertTransfers(c, []emoney.Transfer{{ID: ids.NewID(), Batch: ids.NewID(), Kind: emoney.TransferVoid, From: bankAcct, To: wallet,
				Currency: "JPY", Code: "declined.x", PendingID: pb, CreatedAt: at(4)}})
		}))
		if got := usage("topup", 7); got != 300 {
			t.Errorf("top-up usage on day 7 after a void = %d, want 300", got)
		}
		if got, got2, got3 := usage("withdrawal", 7), usage("topup", 8), usage("topup", 9); got != 50 || got2 != 900 || got3 != 0 {
			t.Errorf("usage withdrawal/7, topup/8, topup/9 = %d %d %d, want 50 900 0", got, got2, got3)
		}

		must(t, s.View(c, func(tx emoney.ReadTx) error {
			got, err := tx.LinkOp(c, p, "k1")
			must(t, err)
			want := a
			want.Transfer = pa
			if !reflect.DeepEqual(got, want) {
				t.Errorf("link op read back:\n got %+v\nwant %+v", got, want)
			}
			byTr, err := tx.LinkOpByTransfer(c, pa)
			if err != nil || !reflect.DeepEqual(byTr, want) {
				t.Errorf("link op by transfer: %+v %v", byTr, err)
			}
			_, err = tx.LinkOpByTransfer(c, ids.NewID())
			wantCode(t, err, emoney.ENotFound)
			_, err = tx.LinkOp(c, "user:other", "k1")
			wantCode(t, err, emoney.ENotFound)
			return nil
		}))

		// Tokens and status.
		must(t, s.Update(c, func(tx emoney.Tx) error {
			if err := tx.SaveLinkTokens(c, l.ID, []byte("t2")); err != nil {
				return err
			}
			return tx.SetLinkStatus(c, l.ID, emoney.LinkActive, emoney.LinkReconsent)
		}))
		wantCode(t, s.Update(c, func(tx emoney.Tx) error { return tx.SetLinkStatus(c, l.ID, emoney.LinkActive, emoney.LinkReconsent) }), emoney.ENotFound)
		wantCode(t, s.Update(c, func(tx emoney.Tx) error { return tx.SaveLinkTokens(c, ids.NewID(), []byte("x")) }), emoney.ENotFound)
		wantCode(t, s.Update(c, func(tx emoney.Tx) error { return tx.LockLink(c, ids.NewID()) }), emoney.ENotFound)
		must(t, s.View(c, func(tx emoney.ReadTx) error {
			got, err := tx.Link(c, l.ID)
			must(t, err)
			if string(got.TokensSealed) != "t2" || got.Status != emoney.LinkReconsent {
				t.Errorf("link after SaveLinkTokens and SetLinkStatus: tokens %q status %s", got.TokensSealed, got.Status)
			}
			return nil
		}))
	})

	t.Run("CapUnderLockRace", func(t *testing.T) {
		s, o := open(t, newDB)
		s2 := o(t)
		c := ctx(t)
		user := ids.NewID()
		l := newLink(user, "B")
		must(t, s.Update(c, func(tx emoney.Tx) error { return tx.CreateLink(c, l) }))
		// Each of 8 writers asks for 400 under a cap of 1000 a day: exactly two fit.
		var wg sync.WaitGroup
		var mu sync.Mutex
		ok := 0
		for i := range 8 {
			st := s
			if i%2 == 1 {
				st = s2
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := st.Update(c, func(tx emoney.Tx) error {
					if err := tx.LockLink(c, l.ID); err != nil {
						return err
					}
					used, err := tx.LinkUsage(c, l.ID, "topup", 1)
					if err != nil {
						return err
					}
					if used+400 > 1000 {
						return emoney.Errorf(emoney.ELimitExceeded, "over")
					}
					return tx.CreateLinkOp(c, emoney.LinkOp{Principal: "p", Key: ids.NewID().String(), Link: l.ID, User: user, Kind: "topup",
						Amount: 400, Day: 1, CreatedAt: at(2)})
				})
				if err == nil {
					mu.Lock()
					ok++
					mu.Unlock()
				} else if emoney.ErrorCode(err) != emoney.ELimitExceeded {
					t.Errorf("reserve: %v", err)
				}
			}()
		}
		wg.Wait()
		if ok != 2 {
			t.Errorf("%d reservations of 400 passed a cap of 1000, want 2", ok)
		}
	})
}
