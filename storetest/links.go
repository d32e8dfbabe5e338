package storetest

import (
	"reflect"
	"sync"
	"testing"
	"time"

	"emoney"
)

// runLinks covers bank links and linking flows: create and read back, one account for one link
// that is not revoked (also when two handles race for it), revocation by the owner only, and
// flows taken once and not after they expire.
func runLinks(t *testing.T, newDB NewDatabase) {
	link := func(user emoney.ID, account string, status emoney.LinkStatus, sec int) emoney.BankLink {
		return emoney.BankLink{ID: ids.NewID(), User: user, Bank: "0001", AccountIndex: []byte("idx:" + account),
			AccountSealed: []byte("sealed account"), HolderSealed: []byte("sealed holder"), TokensSealed: []byte("sealed tokens"),
			Scope: []string{"holder", "debit", "credit"}, MandatePayee: "emoney", MandatePerCharge: 1_000_000, MandateMonthly: 3_000_000,
			Status: status, Score: 93, CreatedAt: at(sec), CoolingOffUntil: at(sec).Add(72 * time.Hour), ConsentedAt: at(sec)}
	}
	create := func(t *testing.T, s emoney.Store, l emoney.BankLink) error {
		t.Helper()
		return s.Update(ctx(t), func(tx emoney.Tx) error { return tx.CreateLink(ctx(t), l) })
	}

	t.Run("CreateReadRevoke", func(t *testing.T) {
		s, _ := open(t, newDB)
		c := ctx(t)
		alice, bob := ids.NewID(), ids.NewID()
		l1 := link(alice, "A", emoney.LinkActive, 1)
		l2 := link(alice, "B", emoney.LinkReview, 2)
		must(t, create(t, s, l1))
		must(t, create(t, s, l2))
		wantCode(t, create(t, s, l1), emoney.EConflict) // the id is taken
		must(t, s.View(c, func(tx emoney.ReadTx) error {
			got, err := tx.Link(c, l1.ID)
			must(t, err)
			if !reflect.DeepEqual(got, l1) {
				t.Errorf("link read back differs:\nsaved %+v\nread  %+v", l1, got)
			}
			all, err := tx.Links(c, alice)
			must(t, err)
			if len(all) != 2 || all[0].ID != l2.ID || all[1].ID != l1.ID {
				t.Errorf("alice's links: %+v, want l2 then l1", all)
			}
			if none, err := tx.Links(c, bob); err != nil || len(none) != 0 {
				t.Errorf("bob's links: %v %v", none, err)
			}
			byAcct, err := tx.LinkByAccount(c, []byte("idx:B"))
			if err != nil || byAcct.ID != l2.ID {
				t.Errorf("link by account B: %+v %v", byAcct, err)
			}
			_, err = tx.LinkByAccount(c, []byte("idx:nobody"))
			wantCode(t, err, emoney.ENotFound)
			_, err = tx.Link(c, ids.NewID())
			wantCode(t, err, emoney.ENotFound)
			return nil
		}))

		// A second link of account A, for another user, while alice's is active: refused.
		wantCode(t, create(t, s, link(bob, "A", emoney.LinkActive, 3)), emoney.EConflict)
		// A link under review holds its account too.
		wantCode(t, create(t, s, link(bob, "B", emoney.LinkActive, 3)), emoney.EConflict)

		// Only the owner revokes; once.
		revoke := func(user, id emoney.ID) (emoney.BankLink, error) {
			var l emoney.BankLink
			err := s.Update(c, func(tx emoney.Tx) error {
				var err error
				l, err = tx.RevokeLink(c, user, id, "user:"+user.String(), at(9))
				return err
			})
			return l, err
		}
		_, err := revoke(bob, l1.ID)
		wantCode(t, err, emoney.ENotFound)
		_, err = revoke(alice, ids.NewID())
		wantCode(t, err, emoney.ENotFound)
		got, err := revoke(alice, l1.ID)
		must(t, err)
		if got.Status != emoney.LinkRevoked || !got.RevokedAt.Equal(at(9)) || got.RevokedBy != "user:"+alice.String() {
			t.Errorf("revoked link: %+v", got)
		}
		_, err = revoke(alice, l1.ID)
		wantCode(t, err, emoney.EConflict)
		// The account is free again: bob links it.
		must(t, create(t, s, link(bob, "A", emoney.LinkActive, 10)))
		must(t, s.View(c, func(tx emoney.ReadTx) error {
			l, err := tx.LinkByAccount(c, []byte("idx:A"))
			if err != nil || l.User != bob {
				t.Errorf("account A after revocation and relink: %+v %v", l, err)
			}
			return nil
		}))
	})

	t.Run("OneAccountRace", func(t *testing.T) {
		s, o := open(t, newDB)
		s2 := o(t)
		const n = 8
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				st := s
				if i%2 == 1 {
					st = s2
				}
				errs[i] = create(t, st, link(ids.NewID(), "raced", emoney.LinkActive, i))
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
				t.Errorf("racing link: %v", err)
			}
		}
		if won != 1 {
			t.Errorf("%d of %d wallets linked one account, want exactly 1", won, n)
		}
	})

	t.Run("Flows", func(t *testing.T) {
		s, _ := open(t, newDB)
		c := ctx(t)
		user := ids.NewID()
		f := emoney.LinkFlow{StateHash: []byte("state-1-hash"), User: user, Bank: "0001", Sealed: []byte("sealed flow"), CreatedAt: at(1), ExpiresAt: at(11)}
		save := func(f emoney.LinkFlow) error {
			return s.Update(c, func(tx emoney.Tx) error { return tx.SaveLinkFlow(c, f) })
		}
		take := func(h []byte, now time.Time) (emoney.LinkFlow, error) {
			var got emoney.LinkFlow
			err := s.Update(c, func(tx emoney.Tx) error {
				var err error
				got, err = tx.TakeLinkFlow(c, h, now)
				return err
			})
			return got, err
		}
		must(t, save(f))
		wantCode(t, save(f), emoney.EConflict)
		got, err := take(f.StateHash, at(5))
		must(t, err)
		if !reflect.DeepEqual(got, f) {
			t.Errorf("flow read back differs:\nsaved %+v\nread  %+v", f, got)
		}
		_, err = take(f.StateHash, at(5)) // taken once
		wantCode(t, err, emoney.ENotFound)

		// Expired flows are not handed out, and a later save sweeps them.
		old := emoney.LinkFlow{StateHash: []byte("state-2-hash"), User: user, Bank: "0001", Sealed: []byte("x"), CreatedAt: at(1), ExpiresAt: at(3)}
		must(t, save(old))
		_, err = take(old.StateHash, at(3))
		wantCode(t, err, emoney.ENotFound)
		old.StateHash = []byte("state-3-hash")
		must(t, save(old))
		must(t, save(emoney.LinkFlow{StateHash: []byte("state-4-hash"), User: user, Bank: "0001", Sealed: []byte("y"), CreatedAt: at(4), ExpiresAt: at(20)}))
		// Taken with a clock before its expiry, the swept flow is still gone.
		_, err = take(old.StateHash, at(2))
		wantCode(t, err, emoney.ENotFound)
		_, err = take([]byte("state-4-hash"), at(5))
		must(t, err)
	})
}
