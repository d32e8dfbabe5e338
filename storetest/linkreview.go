package storetest

import (
	"sync"
	"testing"
	"time"

	"emoney"
)

// runLinkReview covers staff decisions on links (listing by status, review → active with a new
// cooling-off end, review or active → revoked, one winner when two decide at once) and linking
// locks (failures counted from a time, a lock held once, unlocking forgets the failures).
func runLinkReview(t *testing.T, newDB NewDatabase) {
	link := func(user emoney.ID, account string, status emoney.LinkStatus) emoney.BankLink {
		return emoney.BankLink{ID: ids.NewID(), User: user, Bank: "0001", AccountIndex: []byte("review:" + account),
			AccountSealed: []byte("a"), HolderSealed: []byte("h"), TokensSealed: []byte("t"), Scope: []string{"holder", "debit", "credit"},
			MandatePayee: "emoney", MandatePerCharge: 1000, MandateMonthly: 5000, Status: status, Score: 80,
			CreatedAt: at(1), CoolingOffUntil: at(1).Add(time.Hour), ConsentedAt: at(1)}
	}

	t.Run("Decide", func(t *testing.T) {
		s, _ := open(t, newDB)
		c := ctx(t)
		u := ids.NewID()
		r1, r2, a := link(u, "r1", emoney.LinkReview), link(u, "r2", emoney.LinkReview), link(u, "a", emoney.LinkActive)
		must(t, s.Update(c, func(tx emoney.Tx) error {
			for _, l := range []emoney.BankLink{r1, r2, a} {
				if err := tx.CreateLink(c, l); err != nil {
					return err
				}
			}
			return nil
		}))
		must(t, s.View(c, func(tx emoney.ReadTx) error {
			got, err := tx.LinksByStatus(c, emoney.LinkReview, emoney.ID{}, 10)
			if err != nil || len(got) != 2 || got[0].ID != r1.ID || got[1].ID != r2.ID {
				t.Errorf("links in review: %v %v", got, err)
			}
			got, err = tx.LinksByStatus(c, emoney.LinkReview, r1.ID, 10)
			if err != nil || len(got) != 1 || got[0].ID != r2.ID {
				t.Errorf("links in review after r1: %v %v", got, err)
			}
			return nil
		}))
		until := at(50).Add(72 * time.Hour)
		var got emoney.BankLink
		must(t, s.Update(c, func(tx emoney.Tx) error {
			var err error
			got, err = tx.DecideLink(c, r1.ID, emoney.LinkReview, emoney.LinkActive, until, "staff:x", at(50))
			return err
		}))
		if got.Status != emoney.LinkActive || !got.CoolingOffUntil.Equal(until) || !got.RevokedAt.IsZero() {
			t.Errorf("released: %+v", got)
		}
		must(t, s.Update(c, func(tx emoney.Tx) error {
			var err error
			got, err = tx.DecideLink(c, a.ID, emoney.LinkActive, emoney.LinkRevoked, time.Time{}, "staff:y", at(60))
			return err
		}))
		if got.Status != emoney.LinkRevoked || !got.RevokedAt.Equal(at(60)) || got.RevokedBy != "staff:y" || !got.CoolingOffUntil.Equal(a.CoolingOffUntil) {
			t.Errorf("revoked: %+v", got)
		}
		err := s.Update(c, func(tx emoney.Tx) error {
			_, err := tx.DecideLink(c, r1.ID, emoney.LinkReview, emoney.LinkRevoked, time.Time{}, "staff:y", at(61))
			return err
		})
		wantCode(t, err, emoney.EConflict) // released already
		err = s.Update(c, func(tx emoney.Tx) error {
			_, err := tx.DecideLink(c, ids.NewID(), emoney.LinkReview, emoney.LinkActive, until, "staff:y", at(61))
			return err
		})
		wantCode(t, err, emoney.ENotFound)
	})

	t.Run("DecideRace", func(t *testing.T) {
		s, o := open(t, newDB)
		s2 := o(t)
		c := ctx(t)
		l := link(ids.NewID(), "race", emoney.LinkReview)
		must(t, s.Update(c, func(tx emoney.Tx) error { return tx.CreateLink(c, l) }))
		const n = 6
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				st, to := s, emoney.LinkActive
				if i%2 == 1 {
					st, to = s2, emoney.LinkRevoked
				}
				errs[i] = st.Update(c, func(tx emoney.Tx) error {
					_, err := tx.DecideLink(c, l.ID, emoney.LinkReview, to, at(70), "staff:z", at(70))
					return err
				})
			}()
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch emoney.ErrorCode(err) {
			case "":
				won++
			case emoney.EConflict:
			default:
				t.Errorf("racing decision: %v", err)
			}
		}
		if won != 1 {
			t.Errorf("%d of %d decisions on one link won, want exactly 1", won, n)
		}
	})

	t.Run("Locks", func(t *testing.T) {
		s, _ := open(t, newDB)
		c := ctx(t)
		u, other := ids.NewID(), ids.NewID()
		must(t, s.Update(c, func(tx emoney.Tx) error {
			for _, sec := range []int{1, 10, 20} {
				if err := tx.RecordLinkFailure(c, emoney.LinkFailure{User: u, Bank: "0001", Step: "match", Code: "name", At: at(sec)}); err != nil {
					return err
				}
			}
			return tx.RecordLinkFailure(c, emoney.LinkFailure{User: other, Bank: "0001", Step: "holder", Code: "declined", At: at(15)})
		}))
		must(t, s.View(c, func(tx emoney.ReadTx) error {
			if n, err := tx.LinkFailures(c, u, at(10)); err != nil || n != 2 {
				t.Errorf("failures since 10: %d %v, want 2", n, err)
			}
			if n, err := tx.LinkFailures(c, u, at(0)); err != nil || n != 3 {
				t.Errorf("failures since 0: %d %v, want 3", n, err)
			}
			_, err := tx.LinkLock(c, u)
			wantCode(t, err, emoney.ENotFound)
			return nil
		}))
		lock := emoney.LinkLock{User: u, LockedAt: at(20), Failures: 3, Reason: "3 failures"}
		must(t, s.Update(c, func(tx emoney.Tx) error { return tx.LockLinking(c, lock) }))
		wantCode(t, s.Update(c, func(tx emoney.Tx) error { return tx.LockLinking(c, lock) }), emoney.EConflict)
		must(t, s.View(c, func(tx emoney.ReadTx) error {
			got, err := tx.LinkLock(c, u)
			if err != nil || got != lock {
				t.Errorf("lock read back: %+v %v, want %+v", got, err, lock)
			}
			return nil
		}))
		must(t, s.Update(c, func(tx emoney.Tx) error { return tx.UnlockLinking(c, u) }))
		wantCode(t, s.Update(c, func(tx emoney.Tx) error { return tx.UnlockLinking(c, u) }), emoney.ENotFound)
		must(t, s.View(c, func(tx emoney.ReadTx) error {
			if n, err := tx.LinkFailures(c, u, at(0)); err != nil || n != 0 {
				t.Errorf("failures after unlocking: %d %v, want 0", n, err)
			}
			if n, err := tx.LinkFailures(c, other, at(0)); err != nil || n != 1 {
				t.Errorf("another user's failures after unlocking: %d %v, want 1", n, err)
			}
			_, err := tx.LinkLock(c, u)
			wantCode(t, err, emoney.ENotFound)
			return nil
		}))
	})

	t.Run("ExpiredFlows", func(t *testing.T) {
		s, _ := open(t, newDB)
		c := ctx(t)
		u := ids.NewID()
		flow := func(name string, exp int) emoney.LinkFlow {
			return emoney.LinkFlow{StateHash: []byte("expired-" + name), User: u, Bank: "0001", Sealed: []byte("sealed"), CreatedAt: at(1), ExpiresAt: at(exp)}
		}
		must(t, s.Update(c, func(tx emoney.Tx) error {
			for _, f := range []emoney.LinkFlow{flow("b", 5), flow("a", 3), flow("live", 100)} {
				if err := tx.SaveLinkFlow(c, f); err != nil {
					return err
				}
			}
			return nil
		}))
		var got []emoney.LinkFlow
		must(t, s.Update(c, func(tx emoney.Tx) error {
			var err error
			got, err = tx.TakeExpiredLinkFlows(c, at(10), 10)
			return err
		}))
		if len(got) != 2 || string(got[0].StateHash) != "expired-a" || string(got[1].StateHash) != "expired-b" || got[0].User != u || !got[0].ExpiresAt.Equal(at(3)) {
			t.Errorf("expired flows: %+v", got)
		}
		must(t, s.Update(c, func(tx emoney.Tx) error {
			again, err := tx.TakeExpiredLinkFlows(c, at(10), 10)
			if err == nil && len(again) != 0 {
				t.Errorf("expired flows taken twice: %+v", again)
			}
			if _, err := tx.TakeLinkFlow(c, []byte("expired-live"), at(10)); err != nil {
				t.Errorf("the live flow: %v", err)
			}
			return err
		}))
	})
}
