package storetest

import (
	"reflect"
	"sync"
	"testing"
	"time"

	"emoney"
)

// runBankWebhooks covers webhooks from banks (migration 0019): a link's grant id stored and
// found by bank and grant (revoked links too, the newest first, never by an empty grant); a
// received event recorded once, also when two handles race to record it, and its outcome set;
// fraud reports kept whole, one per event, listed by link.
func runBankWebhooks(t *testing.T, newDB NewDatabase) {
	newLink := func(user emoney.ID, bank, account, grant string, sec int) emoney.BankLink {
		return emoney.BankLink{ID: ids.NewID(), User: user, Bank: bank, AccountIndex: []byte("idx:" + bank + account),
			AccountSealed: []byte("a"), HolderSealed: []byte("h"), TokensSealed: []byte("t"), Scope: []string{"debit"},
			MandatePayee: "emoney", MandatePerCharge: 100, MandateMonthly: 1000, Status: emoney.LinkActive, Score: 95,
			CreatedAt: at(sec), CoolingOffUntil: at(sec).Add(time.Hour), ConsentedAt: at(sec), GrantID: grant}
	}

	t.Run("LinkByGrant", func(t *testing.T) {
		s, _ := open(t, newDB)
		c := ctx(t)
		alice := ids.NewID()
		old := newLink(alice, "0001", "A", "g-1", 1)
		other := newLink(alice, "0002", "A", "g-1", 1) // the same grant id at another bank
		none := newLink(alice, "0001", "B", "", 1)
		must(t, s.Update(c, func(tx emoney.Tx) error {
			for _, l := range []emoney.BankLink{old, other, none} {
				if err := tx.CreateLink(c, l); err != nil {
					return err
				}
			}
			_, err := tx.RevokeLink(c, alice, old.ID, "bank", at(2))
			return err
		}))
		newer := newLink(alice, "0001", "A", "g-1", 3) // the account linked again under the same grant id
		must(t, s.Update(c, func(tx emoney.Tx) error { return tx.CreateLink(c, newer) }))
		must(t, s.View(c, func(tx emoney.ReadTx) error {
			got, err := tx.LinkByGrant(c, "0001", "g-1")
			must(t, err)
			if got.ID != newer.ID || got.GrantID != "g-1" {
				t.Errorf("link of grant g-1 at 0001: %v %q, want the newest %v", got.ID, got.GrantID, newer.ID)
			}
			if got, err := tx.LinkByGrant(c, "0002", "g-1"); err != nil || got.ID != other.ID {
				t.Errorf("link of grant g-1 at 0002: %v %v, want %v", got.ID, err, other.ID)
			}
			if got, err := tx.Link(c, old.ID); err != nil || got.GrantID != "g-1" || got.Status != emoney.LinkRevoked {
				t.Errorf("revoked link: %+v %v", got, err)
			}
			_, err = tx.LinkByGrant(c, "0001", "")
			wantCode(t, err, emoney.ENotFound)
			_, err = tx.LinkByGrant(c, "0001", "g-unknown")
			wantCode(t, err, emoney.ENotFound)
			return nil
		}))
		// A revoked link is still found by its grant (a mandate_revoked after the customer
		// unlinked here finds the link revoked already).
		must(t, s.Update(c, func(tx emoney.Tx) error {
			_, err := tx.RevokeLink(c, alice, newer.ID, "user:x", at(4))
			return err
		}))
		must(t, s.View(c, func(tx emoney.ReadTx) error {
			if got, err := tx.LinkByGrant(c, "0001", "g-1"); err != nil || got.ID != newer.ID || got.Status != emoney.LinkRevoked {
				t.Errorf("after revoking: %v %v %v", got.ID, got.Status, err)
			}
			return nil
		}))
	})

	t.Run("EventsOnce", func(t *testing.T) {
		s, _ := open(t, newDB)
		c := ctx(t)
		e := emoney.BankEvent{Bank: "0001", EventID: "evt_1", Type: "mandate_revoked", Outcome: "received", ReceivedAt: at(1)}
		var first, again bool
		must(t, s.Update(c, func(tx emoney.Tx) error {
			var err error
			if first, err = tx.RecordBankEvent(c, e); err != nil {
				return err
			}
			other := e
			other.Bank = "0002" // the same id from another bank is another event
			if ok, err := tx.RecordBankEvent(c, other); err != nil || !ok {
				t.Errorf("the same event id at another bank: %v %v", ok, err)
			}
			return nil
		}))
		must(t, s.Update(c, func(tx emoney.Tx) error {
			var err error
			again, err = tx.RecordBankEvent(c, emoney.BankEvent{Bank: "0001", EventID: "evt_1", Type: "fraud_report", Outcome: "x", ReceivedAt: at(2)})
			return err
		}))
		if !first || again {
			t.Fatalf("recorded first %v, again %v; want true, false", first, again)
		}
		link := ids.NewID()
		must(t, s.Update(c, func(tx emoney.Tx) error { return tx.SetBankEventOutcome(c, "0001", "evt_1", "revoked", link) }))
		wantCode(t, s.Update(c, func(tx emoney.Tx) error { return tx.SetBankEventOutcome(c, "0001", "evt_none", "revoked", link) }), emoney.ENotFound)
		must(t, s.View(c, func(tx emoney.ReadTx) error {
			got, err := tx.BankEvent(c, "0001", "evt_1")
			must(t, err)
			want := e
			want.Outcome, want.Link = "revoked", link
			if !reflect.DeepEqual(got, want) {
				t.Errorf("event: %+v, want %+v", got, want)
			}
			if got, err := tx.BankEvent(c, "0002", "evt_1"); err != nil || !got.Link.IsZero() || got.Outcome != "received" {
				t.Errorf("event at 0002: %+v %v", got, err)
			}
			_, err = tx.BankEvent(c, "0001", "evt_2")
			wantCode(t, err, emoney.ENotFound)
			return nil
		}))
	})

	t.Run("EventRace", func(t *testing.T) {
		s, o := open(t, newDB)
		s2 := o(t)
		const n = 8
		var wg sync.WaitGroup
		recorded := make([]bool, n)
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				st := s
				if i%2 == 1 {
					st = s2
				}
				errs[i] = st.Update(ctx(t), func(tx emoney.Tx) error {
					var err error
					recorded[i], err = tx.RecordBankEvent(ctx(t), emoney.BankEvent{Bank: "0001", EventID: "evt_raced", Type: "fraud_report", Outcome: "received", ReceivedAt: at(i)})
					return err
				})
			}()
		}
		wg.Wait()
		won := 0
		for i := range n {
			if errs[i] != nil {
				t.Errorf("racing record: %v", errs[i])
			}
			if recorded[i] {
				won++
			}
		}
		if won != 1 {
			t.Errorf("%d of %d deliveries recorded one event, want exactly 1", won, n)
		}
	})

	t.Run("FraudReports", func(t *testing.T) {
		s, _ := open(t, newDB)
		c := ctx(t)
		link, user := ids.NewID(), ids.NewID()
		r1 := emoney.BankFraudReport{ID: ids.NewID(), Bank: "0001", EventID: "evt_1", Link: link, User: user, AccountIndex: []byte("idx:A"),
			EntryID: "e-1", Amount: 8_000, DebitedAt: at(1), Grant: "g-1", ReceivedAt: at(5)}
		r2 := r1
		r2.ID, r2.EventID, r2.EntryID, r2.Amount, r2.ReceivedAt = ids.NewID(), "evt_2", "e-2", 1, at(6)
		orphan := emoney.BankFraudReport{ID: ids.NewID(), Bank: "0001", EventID: "evt_3", AccountIndex: []byte("idx:B"),
			EntryID: "e-3", Amount: 500, DebitedAt: at(2), ReceivedAt: at(7)} // no link matched
		must(t, s.Update(c, func(tx emoney.Tx) error {
			for _, r := range []emoney.BankFraudReport{r1, r2, orphan} {
				if err := tx.CreateBankFraudReport(c, r); err != nil {
					return err
				}
			}
			return nil
		}))
		dup := r1
		dup.ID = ids.NewID()
		wantCode(t, s.Update(c, func(tx emoney.Tx) error { return tx.CreateBankFraudReport(c, dup) }), emoney.EConflict)
		must(t, s.View(c, func(tx emoney.ReadTx) error {
			got, err := tx.BankFraudReports(c, link)
			must(t, err)
			if len(got) != 2 || !reflect.DeepEqual(got[0], r2) || !reflect.DeepEqual(got[1], r1) {
				t.Errorf("reports of the link: %+v, want r2, r1", got)
			}
			if none, err := tx.BankFraudReports(c, ids.NewID()); err != nil || len(none) != 0 {
				t.Errorf("reports of another link: %+v %v", none, err)
			}
			return nil
		}))
	})
}
