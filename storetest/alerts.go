package storetest

import (
	"testing"

	"emoney"
)

func runAlerts(t *testing.T, newDB NewDatabase) {
	s, _ := open(t, newDB)
	c := ctx(t)
	held := ids.NewID()
	a1 := emoney.Alert{ID: ids.NewID(), Kind: "review_hold", Subject: "wallet:w1", Transfer: held, Reason: "rule:new-link-big-topup", CreatedAt: at(1)}
	a2 := emoney.Alert{ID: ids.NewID(), Kind: "note", Subject: "user:u2", Reason: "shadow rule", CreatedAt: at(2)}
	must(t, s.Update(c, func(tx emoney.Tx) error {
		must(t, tx.CreateAlert(c, a1))
		return tx.CreateAlert(c, a2)
	}))
	wantCode(t, s.Update(c, func(tx emoney.Tx) error { return tx.CreateAlert(c, a1) }), emoney.EConflict)
	must(t, s.Update(c, func(tx emoney.Tx) error { return tx.ResolveAlert(c, a1.ID, emoney.AlertReleased, "staff:1", at(5)) }))
	wantCode(t, s.Update(c, func(tx emoney.Tx) error { return tx.ResolveAlert(c, a1.ID, emoney.AlertRejected, "staff:2", at(6)) }), emoney.EConflict)
	wantCode(t, s.Update(c, func(tx emoney.Tx) error {
		return tx.ResolveAlert(c, ids.NewID(), emoney.AlertRejected, "staff:2", at(6))
	}), emoney.ENotFound)
	must(t, s.View(c, func(tx emoney.ReadTx) error {
		got, err := tx.Alert(c, a1.ID)
		must(t, err)
		if got.Status != emoney.AlertReleased || got.ResolvedBy != "staff:1" || !got.ResolvedAt.Equal(at(5)) || got.Transfer != held || got.Reason != a1.Reason {
			t.Errorf("alert = %+v", got)
		}
		open, err := tx.Alerts(c, emoney.AlertOpen, emoney.ID{}, 10)
		must(t, err)
		if len(open) != 1 || open[0].ID != a2.ID || !open[0].Transfer.IsZero() || open[0].Status != emoney.AlertOpen {
			t.Errorf("open alerts = %+v", open)
		}
		after, err := tx.Alerts(c, emoney.AlertOpen, a2.ID, 10)
		must(t, err)
		if len(after) != 0 {
			t.Errorf("alerts after the last: %+v", after)
		}
		_, err = tx.Alert(c, ids.NewID())
		wantCode(t, err, emoney.ENotFound)
		return nil
	}))

	// Review holds without an alert are found; held ones with an alert, resolved ones and other
	// kinds of hold are not.
	acct := ids.NewID()
	mk := func(hold emoney.HoldKind) emoney.Transfer {
		return emoney.Transfer{ID: ids.NewID(), Batch: ids.NewID(), Kind: emoney.TransferPending, From: acct, To: ids.NewID(), Currency: "JPY", Amount: 5, Code: "p2p", Hold: hold, CreatedAt: at(3)}
	}
	orphan, withAlert, resolved, debit := mk(emoney.HoldReview), mk(emoney.HoldReview), mk(emoney.HoldReview), mk(emoney.HoldBankDebit)
	void := emoney.Transfer{ID: ids.NewID(), Batch: ids.NewID(), Kind: emoney.TransferVoid, From: resolved.From, To: resolved.To, Currency: "JPY", Code: "p2p", PendingID: resolved.ID, CreatedAt: at(4)}
	must(t, s.Update(c, func(tx emoney.Tx) error {
		must(t, tx.InsertTransfers(c, []emoney.Transfer{orphan, withAlert, resolved, debit, void}))
		return tx.CreateAlert(c, emoney.Alert{ID: withAlert.ID, Kind: "review_hold", Subject: "x", Transfer: withAlert.ID, CreatedAt: at(3)})
	}))
	must(t, s.View(c, func(tx emoney.ReadTx) error {
		got, err := tx.OrphanHolds(c, 10)
		must(t, err)
		if len(got) != 1 || got[0] != orphan {
			t.Errorf("OrphanHolds = %+v, want only %s", got, orphan.ID)
		}
		return nil
	}))

	// A decision recorded on an alert whose hold the ledger has not resolved yet is unsettled.
	decided := mk(emoney.HoldReview)
	must(t, s.Update(c, func(tx emoney.Tx) error {
		must(t, tx.InsertTransfers(c, []emoney.Transfer{decided}))
		must(t, tx.CreateAlert(c, emoney.Alert{ID: decided.ID, Kind: "review_hold", Subject: "x", Transfer: decided.ID, CreatedAt: at(3)}))
		return tx.ResolveAlert(c, decided.ID, emoney.AlertReleased, "staff:1", at(4))
	}))
	unsettled := func() []emoney.Alert {
		var got []emoney.Alert
		must(t, s.View(c, func(tx emoney.ReadTx) error {
			var err error
			got, err = tx.UnsettledDecisions(c, 10)
			return err
		}))
		return got
	}
	has := func(as []emoney.Alert, id emoney.ID) bool {
		for _, a := range as {
			if a.ID == id {
				return a.Status == emoney.AlertReleased
			}
		}
		return false
	}
	// (a1, released above, names a hold that never existed: it counts too.)
	if got := unsettled(); len(got) != 2 || !has(got, decided.ID) || !has(got, a1.ID) {
		t.Errorf("UnsettledDecisions = %+v", got)
	}
	post := emoney.Transfer{ID: ids.NewID(), Batch: ids.NewID(), Kind: emoney.TransferPost, From: decided.From, To: decided.To, Currency: "JPY", Amount: 5, Code: "p2p", PendingID: decided.ID, CreatedAt: at(5)}
	must(t, s.Update(c, func(tx emoney.Tx) error { return tx.InsertTransfers(c, []emoney.Transfer{post}) }))
	if got := unsettled(); len(got) != 1 || has(got, decided.ID) {
		t.Errorf("UnsettledDecisions after the post = %+v", got)
	}
}
