package storetest

import (
	"testing"

	"emoney"
)

// runBankOps checks what the bank reconciler reads: unresolved bank holds past a cut-off, of
// one hold kind, oldest first.
func runBankOps(t *testing.T, newDB NewDatabase) {
	s, _ := open(t, newDB)
	c := ctx(t)
	bank, wallet := ids.NewID(), ids.NewID()
	mk := func(hold emoney.HoldKind, sec int) emoney.Transfer {
		from, to, code := bank, wallet, "topup"
		if hold == emoney.HoldBankCredit {
			from, to, code = wallet, bank, "withdrawal"
		}
		return emoney.Transfer{ID: ids.NewID(), Batch: ids.NewID(), Kind: emoney.TransferPending, From: from, To: to,
			Currency: "JPY", Amount: 100, Code: code, Hold: hold, CreatedAt: at(sec)}
	}
	// Created out of id order, so that "oldest first" is by time, not by id.
	late, early, posted, voided := mk(emoney.HoldBankDebit, 20), mk(emoney.HoldBankDebit, 10), mk(emoney.HoldBankDebit, 5), mk(emoney.HoldBankDebit, 6)
	recent := mk(emoney.HoldBankDebit, 40)
	credit, review := mk(emoney.HoldBankCredit, 10), mk(emoney.HoldReview, 10)
	post := emoney.Transfer{ID: ids.NewID(), Batch: ids.NewID(), Kind: emoney.TransferPost, From: bank, To: wallet, Currency: "JPY", Amount: 100, Code: "topup", PendingID: posted.ID, CreatedAt: at(7)}
	void := emoney.Transfer{ID: ids.NewID(), Batch: ids.NewID(), Kind: emoney.TransferVoid, From: bank, To: wallet, Currency: "JPY", Code: "declined.closed", PendingID: voided.ID, CreatedAt: at(8)}
	must(t, s.Update(c, func(tx emoney.Tx) error {
		return tx.InsertTransfers(c, []emoney.Transfer{late, early, posted, voided, recent, credit, review, post, void})
	}))
	holds := func(kind emoney.HoldKind, olderThan, limit int) []emoney.Transfer {
		t.Helper()
		var got []emoney.Transfer
		must(t, s.View(c, func(tx emoney.ReadTx) error {
			var err error
			got, err = tx.PendingHolds(c, kind, at(olderThan), limit)
			return err
		}))
		return got
	}
	same := func(got []emoney.Transfer, want ...emoney.Transfer) bool {
		if len(got) != len(want) {
			return false
		}
		for i := range got {
			if got[i] != want[i] {
				return false
			}
		}
		return true
	}
	if got := holds(emoney.HoldBankDebit, 30, 10); !same(got, early, late) {
		t.Errorf("debit holds before 30s = %+v, want the ones of 10s and 20s, in that order", got)
	}
	if got := holds(emoney.HoldBankDebit, 20, 10); !same(got, early, late) {
		t.Errorf("debit holds at or before 20s = %+v, want the ones of 10s and 20s", got)
	}
	if got := holds(emoney.HoldBankDebit, 60, 1); !same(got, early) {
		t.Errorf("one debit hold = %+v, want the oldest", got)
	}
	if got := holds(emoney.HoldBankCredit, 60, 10); !same(got, credit) {
		t.Errorf("credit holds = %+v, want only the withdrawal", got)
	}
	if got := holds(emoney.HoldBankDebit, 9, 10); len(got) != 0 {
		t.Errorf("debit holds before 9s = %+v, want none (the older ones are resolved)", got)
	}
	must(t, s.View(c, func(tx emoney.ReadTx) error {
		_, err := tx.PendingHolds(c, "bank_debit' OR 1=1 --", at(60), 10)
		wantCode(t, err, emoney.EInvalid)
		return nil
	}))
}
