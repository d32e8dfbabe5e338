package storetest

import (
	"sync"
	"testing"
	"time"

	"emoney"
)

// runNotify covers holder notifications (one per user and dedupe key, even when two handles
// make it at once; newest first; unread filter; read once, by its owner only), notices to
// banks (claimed once, passed over while leased, outcome recorded only by the claim holding
// them), and links found by when they were consented.
func runNotify(t *testing.T, newDB NewDatabase) {
	t.Run("Notifications", func(t *testing.T) {
		s, _ := open(t, newDB)
		c := ctx(t)
		user, other := ids.NewID(), ids.NewID()
		mk := func(u emoney.ID, key string, sec int) emoney.Notification {
			return emoney.Notification{ID: ids.NewID(), User: u, Kind: "link_created", Text: "text " + key, DedupeKey: key, CreatedAt: at(sec)}
		}
		create := func(n emoney.Notification) (emoney.Notification, bool) {
			var got emoney.Notification
			var created bool
			must(t, s.Update(c, func(tx emoney.Tx) error {
				var err error
				got, created, err = tx.CreateNotification(c, n)
				return err
			}))
			return got, created
		}
		a, b := mk(user, "k1", 1), mk(user, "k2", 2)
		if got, created := create(a); !created || got.ID != a.ID || got.Text != a.Text || !got.CreatedAt.Equal(a.CreatedAt) {
			t.Fatalf("create: %+v %v", got, created)
		}
		again := mk(user, "k1", 5)
		if got, created := create(again); created || got.ID != a.ID {
			t.Fatalf("same dedupe key: %+v %v, want the first", got, created)
		}
		create(b)
		if _, created := create(mk(other, "k1", 3)); !created {
			t.Fatal("another user's key k1 is its own")
		}
		list := func(unread bool, limit int) []emoney.Notification {
			var ns []emoney.Notification
			must(t, s.View(c, func(tx emoney.ReadTx) error {
				var err error
				ns, err = tx.Notifications(c, user, unread, limit)
				return err
			}))
			return ns
		}
		if ns := list(false, 10); len(ns) != 2 || ns[0].ID != b.ID || ns[1].ID != a.ID {
			t.Fatalf("list: %+v, want b then a", ns)
		}
		if ns := list(false, 1); len(ns) != 1 || ns[0].ID != b.ID {
			t.Fatalf("limit 1: %+v", ns)
		}
		read := func(u, id emoney.ID, sec int) (emoney.Notification, error) {
			var n emoney.Notification
			err := s.Update(c, func(tx emoney.Tx) error {
				var err error
				n, err = tx.MarkNotificationRead(c, u, id, at(sec))
				return err
			})
			return n, err
		}
		_, err := read(other, a.ID, 9)
		wantCode(t, err, emoney.ENotFound)
		_, err = read(user, ids.NewID(), 9)
		wantCode(t, err, emoney.ENotFound)
		n, err := read(user, a.ID, 10)
		must(t, err)
		if !n.ReadAt.Equal(at(10)) {
			t.Fatalf("read at %v", n.ReadAt)
		}
		if n, _ = read(user, a.ID, 20); !n.ReadAt.Equal(at(10)) {
			t.Fatalf("read again moved read_at to %v", n.ReadAt)
		}
		if ns := list(true, 10); len(ns) != 1 || ns[0].ID != b.ID || !ns[0].ReadAt.IsZero() {
			t.Fatalf("unread: %+v", ns)
		}
		// A taken id with another key is a conflict.
		dup := mk(user, "k3", 4)
		dup.ID = a.ID
		wantCode(t, s.Update(c, func(tx emoney.Tx) error { _, _, err := tx.CreateNotification(c, dup); return err }), emoney.EConflict)
	})

	t.Run("NotificationRace", func(t *testing.T) {
		_, o := open(t, newDB)
		c := ctx(t)
		user := ids.NewID()
		stores := []emoney.Store{o(t), o(t)}
		var wg sync.WaitGroup
		created := make([]bool, 2)
		errs := make([]error, 2)
		for i := range stores {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = stores[i].Update(c, func(tx emoney.Tx) error {
					var err error
					_, created[i], err = tx.CreateNotification(c, emoney.Notification{ID: ids.NewID(), User: user, Kind: "k", Text: "t", DedupeKey: "once", CreatedAt: at(1)})
					return err
				})
			}()
		}
		wg.Wait()
		must(t, errs[0])
		must(t, errs[1])
		if created[0] == created[1] {
			t.Fatalf("created %v: want exactly one", created)
		}
	})

	t.Run("BankNotices", func(t *testing.T) {
		s, _ := open(t, newDB)
		c := ctx(t)
		pending := emoney.BankNotice{ID: ids.NewID(), Bank: "0001", Kind: "link_created", AccountSealed: []byte("sealed"), Detail: "d",
			Status: emoney.DeliveryPending, NextAt: at(1), CreatedAt: at(1)}
		held := emoney.BankNotice{ID: ids.NewID(), Bank: "0002", Kind: "unlinked", Status: emoney.DeliveryPending,
			Claim: ids.NewID(), NextAt: at(60), CreatedAt: at(1)}
		must(t, s.Update(c, func(tx emoney.Tx) error {
			if err := tx.CreateBankNotice(c, pending); err != nil {
				return err
			}
			return tx.CreateBankNotice(c, held)
		}))
		wantCode(t, s.Update(c, func(tx emoney.Tx) error { return tx.CreateBankNotice(c, pending) }), emoney.EConflict)
		claim := func(now, until int) []emoney.BankNotice {
			var ns []emoney.BankNotice
			id := ids.NewID()
			must(t, s.Update(c, func(tx emoney.Tx) error {
				var err error
				ns, err = tx.ClaimBankNotices(c, id, at(now), at(until), 10)
				return err
			}))
			return ns
		}
		got := claim(2, 32)
		if len(got) != 1 || got[0].ID != pending.ID || got[0].Claim.IsZero() || !got[0].NextAt.Equal(at(32)) || string(got[0].AccountSealed) != "sealed" {
			t.Fatalf("claim: %+v, want only the due notice, leased to 32", got)
		}
		if again := claim(10, 40); len(again) != 0 {
			t.Fatalf("claimed while leased: %+v", again)
		}
		record := func(o emoney.DeliveryOutcome) error {
			return s.Update(c, func(tx emoney.Tx) error { return tx.RecordBankNotice(c, o) })
		}
		wantCode(t, record(emoney.DeliveryOutcome{ID: pending.ID, Claim: ids.NewID(), Status: emoney.DeliveryDelivered, At: at(5)}), emoney.EConflict)
		wantCode(t, record(emoney.DeliveryOutcome{ID: ids.NewID(), Claim: got[0].Claim, Status: emoney.DeliveryDelivered, At: at(5)}), emoney.ENotFound)
		must(t, record(emoney.DeliveryOutcome{ID: pending.ID, Claim: got[0].Claim, Status: emoney.DeliveryPending, NextAt: at(50), LastStatus: 503, LastError: "503", At: at(5)}))
		// The lease of held ends at 60; pending is due again at 50.
		got = claim(55, 85)
		if len(got) != 1 || got[0].ID != pending.ID || got[0].Attempts != 1 || got[0].LastStatus != 503 {
			t.Fatalf("claim after retry: %+v", got)
		}
		must(t, record(emoney.DeliveryOutcome{ID: pending.ID, Claim: got[0].Claim, Status: emoney.DeliveryDelivered, LastStatus: 202, At: at(56)}))
		var n emoney.BankNotice
		must(t, s.View(c, func(tx emoney.ReadTx) error {
			var err error
			n, err = tx.BankNotice(c, pending.ID)
			return err
		}))
		if n.Status != emoney.DeliveryDelivered || n.Attempts != 2 || !n.DeliveredAt.Equal(at(56)) || !n.Claim.IsZero() {
			t.Fatalf("delivered: %+v", n)
		}
		if got = claim(61, 91); len(got) != 1 || got[0].ID != held.ID || len(got[0].AccountSealed) != 0 {
			t.Fatalf("claim after the lease: %+v", got)
		}
		if got = claim(90, 120); len(got) != 0 {
			t.Fatalf("delivered or leased notices claimed again: %+v", got)
		}
	})

	t.Run("LinksConsentedBetween", func(t *testing.T) {
		s, _ := open(t, newDB)
		c := ctx(t)
		mk := func(bank, account string, sec int, status emoney.LinkStatus) emoney.BankLink {
			return emoney.BankLink{ID: ids.NewID(), User: ids.NewID(), Bank: bank, AccountIndex: []byte("idx:" + bank + account),
				AccountSealed: []byte("a"), HolderSealed: []byte("h"), TokensSealed: []byte("t"), Scope: []string{"debit"},
				MandatePayee: "emoney", MandatePerCharge: 1, MandateMonthly: 1, Status: status, CreatedAt: at(sec),
				CoolingOffUntil: at(sec).Add(time.Hour), ConsentedAt: at(sec)}
		}
		early, inside, late := mk("0001", "1", 10, emoney.LinkActive), mk("0001", "2", 20, emoney.LinkReview), mk("0001", "3", 30, emoney.LinkActive)
		revoked, otherBank := mk("0001", "4", 20, emoney.LinkActive), mk("0002", "5", 20, emoney.LinkActive)
		must(t, s.Update(c, func(tx emoney.Tx) error {
			for _, l := range []emoney.BankLink{early, inside, late, revoked, otherBank} {
				if err := tx.CreateLink(c, l); err != nil {
					return err
				}
			}
			_, err := tx.RevokeLink(c, revoked.User, revoked.ID, "user", at(21))
			return err
		}))
		var ls []emoney.BankLink
		must(t, s.View(c, func(tx emoney.ReadTx) error {
			var err error
			ls, err = tx.LinksConsentedBetween(c, "0001", at(10), at(30), 10)
			return err
		}))
		if len(ls) != 2 || ls[0].ID != early.ID || ls[1].ID != inside.ID {
			t.Fatalf("consented in [10, 30) at bank 0001: %+v", ls)
		}
	})
}
