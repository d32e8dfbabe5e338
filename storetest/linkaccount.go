package storetest

import (
	"testing"
	"time"

	"emoney"
)

// runLinkAccount covers one bank account across its links (issue 6): every link of an account,
// revoked ones too, newest first; a link revoked and its account linked again in one
// transaction (how a re-consent replaces its link); and the account's usage summed over all
// its links and users, leaving out voided transfers, other kinds, days and accounts.
func runLinkAccount(t *testing.T, newDB NewDatabase) {
	s, _ := open(t, newDB)
	c := ctx(t)
	alice, bob := ids.NewID(), ids.NewID()
	newLink := func(user emoney.ID, account string, sec int) emoney.BankLink {
		return emoney.BankLink{ID: ids.NewID(), User: user, Bank: "0001", AccountIndex: []byte("idx:" + account),
			AccountSealed: []byte("a"), HolderSealed: []byte("h"), TokensSealed: []byte("t"), Scope: []string{"debit"},
			MandatePayee: "emoney", MandatePerCharge: 100, MandateMonthly: 1000, Status: emoney.LinkReconsent, Score: 95,
			CreatedAt: at(sec), CoolingOffUntil: at(sec).Add(time.Hour), ConsentedAt: at(sec)}
	}
	l1, other := newLink(alice, "A", 1), newLink(alice, "B", 1)
	must(t, s.Update(c, func(tx emoney.Tx) error {
		if err := tx.CreateLink(c, l1); err != nil {
			return err
		}
		return tx.CreateLink(c, other)
	}))
	// Revoke l1 and link account A again, to bob, in one transaction.
	l2 := newLink(bob, "A", 2)
	l2.Status = emoney.LinkActive
	must(t, s.Update(c, func(tx emoney.Tx) error {
		if _, err := tx.RevokeLink(c, alice, l1.ID, "user:"+alice.String(), at(2)); err != nil {
			return err
		}
		return tx.CreateLink(c, l2)
	}))
	must(t, s.View(c, func(tx emoney.ReadTx) error {
		ls, err := tx.LinksByAccount(c, []byte("idx:A"))
		must(t, err)
		if len(ls) != 2 || ls[0].ID != l2.ID || ls[1].ID != l1.ID || ls[1].Status != emoney.LinkRevoked || ls[0].Status != emoney.LinkActive {
			t.Errorf("links of account A: %+v, want l2 (active) then l1 (revoked)", ls)
		}
		if none, err := tx.LinksByAccount(c, []byte("idx:nobody")); err != nil || len(none) != 0 {
			t.Errorf("links of an unknown account: %+v %v", none, err)
		}
		return nil
	}))

	op := func(l emoney.BankLink, key, kind string, amount int64, day int32) emoney.LinkOp {
		return emoney.LinkOp{Principal: "user:" + l.User.String(), Key: key, Link: l.ID, User: l.User, Kind: kind, Amount: amount, Day: day, CreatedAt: at(3)}
	}
	ops := []emoney.LinkOp{op(l1, "a1", "topup", 300, 7), op(l1, "a2", "withdrawal", 50, 7), op(l2, "b1", "topup", 200, 7),
		op(l2, "b2", "topup", 4000, 7), op(l2, "b3", "topup", 900, 8), op(other, "a3", "topup", 1000, 7)}
	must(t, s.Update(c, func(tx emoney.Tx) error {
		for _, o := range ops {
			if err := tx.CreateLinkOp(c, o); err != nil {
				return err
			}
		}
		return nil
	}))
	usage := func(account, kind string, day int32) int64 {
		t.Helper()
		var n int64
		must(t, s.View(c, func(tx emoney.ReadTx) error {
			var err error
			n, err = tx.AccountLinkUsage(c, []byte("idx:"+account), kind, day)
			return err
		}))
		return n
	}
	if got := usage("A", "topup", 7); got != 4500 {
		t.Errorf("account A's top-ups on day 7 = %d, want 4500 (300 revoked link + 200 + 4000)", got)
	}
	// Void b2's pending transfer: it no longer counts.
	pb := ids.NewID()
	bankAcct, wallet := ids.NewID(), ids.NewID()
	must(t, s.Update(c, func(tx emoney.Tx) error {
		if err := tx.InsertTransfers(c, []emoney.Transfer{{ID: pb, Batch: ids.NewID(), Kind: emoney.TransferPending, From: bankAcct, To: wallet,
			Currency: "JPY", Amount: 1, Code: "topup", Hold: emoney.HoldBankDebit, CreatedAt: at(3)}}); err != nil {
			return err
		}
		if err := tx.BindLinkOp(c, "user:"+bob.String(), "b2", pb); err != nil {
			return err
		}
		return tx.InsertTransfers(c, []emoney.Transfer{{ID: ids.NewID(), Batch: ids.NewID(), Kind: emoney.TransferVoid, From: bankAcct, To: wallet,
			Currency: "JPY", Code: "declined.x", PendingID: pb, CreatedAt: at(4)}})
	}))
	if got, w, d8, b, none := usage("A", "topup", 7), usage("A", "withdrawal", 7), usage("A", "topup", 8), usage("B", "topup", 7), usage("C", "topup", 7); got != 500 || w != 50 || d8 != 900 || b != 1000 || none != 0 {
		t.Errorf("usage A topup/7, A withdrawal/7, A topup/8, B topup/7, C topup/7 = %d %d %d %d %d, want 500 50 900 1000 0", got, w, d8, b, none)
	}
}
