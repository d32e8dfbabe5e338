package storetest

import (
	"bytes"
	"context"
	"testing"
	"time"

	"emoney"
)

// runLinkReseal covers what emoney reconcile and keys rotate read and write of bank links: the
// bound link operations of a period, in time order; every link and flow, page by page; and the
// sealed parts of a link or flow replaced, nothing else changed.
func runLinkReseal(t *testing.T, newDB NewDatabase) {
	newLink := func(user emoney.ID, account string, status emoney.LinkStatus) emoney.BankLink {
		return emoney.BankLink{ID: ids.NewID(), User: user, Bank: "0001", AccountIndex: []byte("idx:" + account),
			AccountSealed: []byte("a"), HolderSealed: []byte("h"), TokensSealed: []byte("t"), Scope: []string{"debit"},
			MandatePayee: "emoney", MandatePerCharge: 100, MandateMonthly: 1000, Status: status, Score: 95,
			CreatedAt: at(1), CoolingOffUntil: at(1).Add(time.Hour), ConsentedAt: at(1)}
	}

	t.Run("LinkOpsCreated", func(t *testing.T) {
		s, _ := open(t, newDB)
		c := ctx(t)
		user := ids.NewID()
		l := newLink(user, "A", emoney.LinkActive)
		p := "user:" + user.String()
		op := func(key string, sec int) emoney.LinkOp {
			return emoney.LinkOp{Principal: p, Key: key, Link: l.ID, User: user, Kind: "topup", Amount: 10, Day: 7, CreatedAt: at(sec)}
		}
		// k0 before the period, k1 and k2 in it (k2 first), k3 at its end (out), k4 unbound.
		ops := []emoney.LinkOp{op("k0", 1), op("k1", 6), op("k2", 5), op("k3", 10), op("k4", 6)}
		must(t, s.Update(c, func(tx emoney.Tx) error {
			if err := tx.CreateLink(c, l); err != nil {
				return err
			}
			for i, o := range ops {
				if err := tx.CreateLinkOp(c, o); err != nil {
					return err
				}
				if o.Key != "k4" {
					ops[i].Transfer = ids.NewID()
					if err := tx.BindLinkOp(c, p, o.Key, ops[i].Transfer); err != nil {
						return err
					}
				}
			}
			return nil
		}))
		must(t, s.View(c, func(tx emoney.ReadTx) error {
			got, err := tx.LinkOpsCreated(c, at(5), at(10))
			must(t, err)
			if len(got) != 2 || got[0].Key != "k2" || got[1].Key != "k1" {
				t.Fatalf("operations of [5s, 10s): %+v, want k2 then k1", got)
			}
			if got[1].Transfer != ops[1].Transfer || got[1].Link != l.ID || got[1].Amount != 10 || !got[1].CreatedAt.Equal(at(6)) {
				t.Errorf("k1 read back: %+v, want %+v", got[1], ops[1])
			}
			none, err := tx.LinkOpsCreated(c, at(20), at(30))
			if err != nil || len(none) != 0 {
				t.Errorf("an empty period: %+v %v", none, err)
			}
			return nil
		}))
	})

	t.Run("ResealLinksAndFlows", func(t *testing.T) {
		s, _ := open(t, newDB)
		c := ctx(t)
		var made []emoney.BankLink
		for i, acct := range []string{"A", "B", "C"} {
			status := emoney.LinkActive
			if i == 1 {
				status = emoney.LinkRevoked
			}
			made = append(made, newLink(ids.NewID(), acct, status))
		}
		flows := []emoney.LinkFlow{
			{StateHash: bytes.Repeat([]byte{2}, 32), User: ids.NewID(), Bank: "0001", Sealed: []byte("f2"), CreatedAt: at(1), ExpiresAt: at(100)},
			{StateHash: bytes.Repeat([]byte{1}, 32), User: ids.NewID(), Bank: "0001", Sealed: []byte("f1"), CreatedAt: at(1), ExpiresAt: at(100)},
		}
		must(t, s.Update(c, func(tx emoney.Tx) error {
			for _, l := range made {
				if err := tx.CreateLink(c, l); err != nil {
					return err
				}
			}
			for _, f := range flows {
				if err := tx.SaveLinkFlow(c, f); err != nil {
					return err
				}
			}
			return nil
		}))
		// Every link, revoked ones too, two to a page.
		var seen []emoney.BankLink
		var after emoney.ID
		for {
			var page []emoney.BankLink
			must(t, s.View(c, func(tx emoney.ReadTx) error {
				var err error
				page, err = tx.LinksAfter(c, after, 2)
				return err
			}))
			seen = append(seen, page...)
			if len(page) < 2 {
				break
			}
			after = page[len(page)-1].ID
		}
		if len(seen) != 3 || seen[0].ID != made[0].ID || seen[2].ID != made[2].ID {
			t.Fatalf("links page by page: %d, want the 3 in id order", len(seen))
		}
		var fs []emoney.LinkFlow
		must(t, s.View(c, func(tx emoney.ReadTx) error {
			first, err := tx.LinkFlowsAfter(c, nil, 1)
			must(t, err)
			rest, err := tx.LinkFlowsAfter(c, first[0].StateHash, 10)
			fs = append(first, rest...)
			return err
		}))
		if len(fs) != 2 || string(fs[0].Sealed) != "f1" || string(fs[1].Sealed) != "f2" {
			t.Fatalf("flows in state hash order: %+v", fs)
		}

		must(t, s.Update(c, func(tx emoney.Tx) error {
			if err := tx.ResealLink(c, made[1].ID, []byte("a2"), []byte("h2"), []byte("t2")); err != nil {
				return err
			}
			return tx.ResealLinkFlow(c, flows[0].StateHash, []byte("f2-new"))
		}))
		wantCode(t, s.Update(c, func(tx emoney.Tx) error { return tx.ResealLink(c, ids.NewID(), nil, nil, nil) }), emoney.ENotFound)
		wantCode(t, s.Update(c, func(tx emoney.Tx) error { return tx.ResealLinkFlow(c, []byte("gone"), nil) }), emoney.ENotFound)
		must(t, s.View(c, func(tx emoney.ReadTx) error {
			l, err := tx.Link(c, made[1].ID)
			must(t, err)
			want := made[1]
			want.AccountSealed, want.HolderSealed, want.TokensSealed = []byte("a2"), []byte("h2"), []byte("t2")
			if string(l.AccountSealed) != "a2" || string(l.HolderSealed) != "h2" || string(l.TokensSealed) != "t2" ||
				l.Status != want.Status || l.User != want.User || !bytes.Equal(l.AccountIndex, want.AccountIndex) {
				t.Errorf("resealed link: %+v", l)
			}
			other, err := tx.Link(c, made[0].ID)
			if err != nil || string(other.AccountSealed) != "a" {
				t.Errorf("another link changed: %+v %v", other, err)
			}
			return nil
		}))
		f, err := takeFlow(c, s, flows[0].StateHash)
		if err != nil || string(f.Sealed) != "f2-new" {
			t.Errorf("resealed flow: %+v %v", f, err)
		}
	})
}

func takeFlow(c context.Context, s emoney.Store, stateHash []byte) (emoney.LinkFlow, error) {
	var f emoney.LinkFlow
	err := s.Update(c, func(tx emoney.Tx) error {
		var err error
		f, err = tx.TakeLinkFlow(c, stateHash, at(2))
		return err
	})
	return f, err
}
