package storetest

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"

	"emoney"
)

// runStaffOps covers staff administration, sessions housekeeping, maker-checker and payees.
func runStaffOps(t *testing.T, newDB NewDatabase) {
	t.Run("DisableAndRevokeAll", func(t *testing.T) {
		s, _ := open(t, newDB)
		c := ctx(t)
		a := emoney.User{ID: ids.NewID(), EmailIndex: []byte("ix-a"), EmailSealed: []byte("s"), PasswordHash: "h", Role: emoney.RoleAnalyst, CreatedAt: at(1)}
		b := emoney.User{ID: ids.NewID(), EmailIndex: []byte("ix-b"), EmailSealed: []byte("s"), PasswordHash: "h", Role: emoney.RoleCustomer, CreatedAt: at(1)}
		sessions := []emoney.Session{
			{TokenHash: []byte("a1"), User: a.ID, CreatedAt: at(1), ExpiresAt: at(100)},
			{TokenHash: []byte("a2"), User: a.ID, CreatedAt: at(1), ExpiresAt: at(100)},
			{TokenHash: []byte("a3"), User: a.ID, CreatedAt: at(1), ExpiresAt: at(100), RevokedAt: at(2)},
			{TokenHash: []byte("b1"), User: b.ID, CreatedAt: at(1), ExpiresAt: at(100)},
		}
		must(t, s.Update(c, func(tx emoney.Tx) error {
			must(t, tx.CreateUser(c, a))
			must(t, tx.CreateUser(c, b))
			for _, x := range sessions {
				must(t, tx.CreateSession(c, x))
			}
			return nil
		}))
		disabledAt := func(id emoney.ID) time.Time {
			var got time.Time
			must(t, s.View(c, func(tx emoney.ReadTx) error {
				var err error
				got, err = tx.UserDisabledAt(c, id)
				return err
			}))
			return got
		}
		if got := disabledAt(a.ID); !got.IsZero() {
			t.Errorf("a new user is disabled at %v", got)
		}
		must(t, s.Update(c, func(tx emoney.Tx) error { return tx.DisableUser(c, a.ID, at(5)) }))
		must(t, s.Update(c, func(tx emoney.Tx) error { return tx.DisableUser(c, a.ID, at(9)) })) // keeps the first time
		if got := disabledAt(a.ID); !got.Equal(at(5)) {
			t.Errorf("disabled at %v, want %v", got, at(5))
		}
		if got := disabledAt(b.ID); !got.IsZero() {
			t.Errorf("another user is disabled at %v", got)
		}
		wantCode(t, s.Update(c, func(tx emoney.Tx) error { return tx.DisableUser(c, ids.NewID(), at(5)) }), emoney.ENotFound)
		wantCode(t, s.View(c, func(tx emoney.ReadTx) error { _, err := tx.UserDisabledAt(c, ids.NewID()); return err }), emoney.ENotFound)

		revoke := func() int {
			var n int
			must(t, s.Update(c, func(tx emoney.Tx) error {
				var err error
				n, err = tx.RevokeUserSessions(c, a.ID, at(6))
				return err
			}))
			return n
		}
		if n := revoke(); n != 2 {
			t.Errorf("revoked %d sessions, want the 2 live ones", n)
		}
		if n := revoke(); n != 0 {
			t.Errorf("revoked %d sessions again", n)
		}
		must(t, s.View(c, func(tx emoney.ReadTx) error {
			for h, want := range map[string]time.Time{"a1": at(6), "a2": at(6), "a3": at(2), "b1": {}} {
				got, err := tx.Session(c, []byte(h))
				must(t, err)
				if !got.RevokedAt.Equal(want) {
					t.Errorf("session %s revoked at %v, want %v", h, got.RevokedAt, want)
				}
			}
			return nil
		}))
	})

	t.Run("DeleteSessions", func(t *testing.T) {
		s, _ := open(t, newDB)
		c := ctx(t)
		u := ids.NewID()
		must(t, s.Update(c, func(tx emoney.Tx) error {
			for _, x := range []emoney.Session{
				{TokenHash: []byte("expired"), User: u, CreatedAt: at(1), ExpiresAt: at(2)},
				{TokenHash: []byte("revoked"), User: u, CreatedAt: at(1), ExpiresAt: at(100), RevokedAt: at(3)},
				{TokenHash: []byte("expired-late"), User: u, CreatedAt: at(1), ExpiresAt: at(20)},
				{TokenHash: []byte("revoked-late"), User: u, CreatedAt: at(1), ExpiresAt: at(100), RevokedAt: at(20)},
				{TokenHash: []byte("live"), User: u, CreatedAt: at(1), ExpiresAt: at(100)},
			} {
				must(t, tx.CreateSession(c, x))
			}
			return nil
		}))
		del := func(limit int) int {
			var n int
			must(t, s.Update(c, func(tx emoney.Tx) error {
				var err error
				n, err = tx.DeleteSessions(c, at(10), limit)
				return err
			}))
			return n
		}
		if n := del(1); n != 1 {
			t.Errorf("deleted %d with limit 1", n)
		}
		if n := del(10); n != 1 {
			t.Errorf("deleted %d, want the one left of the two old ones", n)
		}
		if n := del(10); n != 0 {
			t.Errorf("deleted %d more", n)
		}
		must(t, s.View(c, func(tx emoney.ReadTx) error {
			for h, gone := range map[string]bool{"expired": true, "revoked": true, "expired-late": false, "revoked-late": false, "live": false} {
				_, err := tx.Session(c, []byte(h))
				if gone {
					wantCode(t, err, emoney.ENotFound)
				} else {
					must(t, err)
				}
			}
			return nil
		}))
	})

	t.Run("ReissueEnrolment", func(t *testing.T) {
		s, _ := open(t, newDB)
		c := ctx(t)
		u := emoney.User{ID: ids.NewID(), EmailIndex: []byte("ix-new"), EmailSealed: []byte("s"), Role: emoney.RoleAnalyst, CreatedAt: at(1),
			EnrolHash: []byte("old-code"), EnrolExpires: at(2)}
		must(t, s.Update(c, func(tx emoney.Tx) error { return tx.CreateUser(c, u) }))
		must(t, s.Update(c, func(tx emoney.Tx) error { return tx.ReissueEnrolment(c, u.ID, []byte("new-code"), at(50)) }))
		must(t, s.View(c, func(tx emoney.ReadTx) error {
			_, err := tx.UserByEnrolment(c, []byte("old-code"))
			wantCode(t, err, emoney.ENotFound)
			got, err := tx.UserByEnrolment(c, []byte("new-code"))
			must(t, err)
			if got.ID != u.ID || !got.EnrolExpires.Equal(at(50)) {
				t.Errorf("reissued: %+v", got)
			}
			return nil
		}))
		must(t, s.Update(c, func(tx emoney.Tx) error { return tx.CompleteEnrolment(c, u.ID, "phc", []byte("totp")) }))
		wantCode(t, s.Update(c, func(tx emoney.Tx) error { return tx.ReissueEnrolment(c, u.ID, []byte("later"), at(90)) }), emoney.EConflict)
		wantCode(t, s.Update(c, func(tx emoney.Tx) error { return tx.ReissueEnrolment(c, ids.NewID(), []byte("x"), at(90)) }), emoney.ENotFound)
	})

	t.Run("MakerChecker", func(t *testing.T) {
		s, _ := open(t, newDB)
		c := ctx(t)
		hold := emoney.Transfer{ID: ids.NewID(), Batch: ids.NewID(), Kind: emoney.TransferPending, From: ids.NewID(), To: ids.NewID(), Currency: "JPY",
			Amount: 500_000, Code: "p2p", Hold: emoney.HoldReview, CreatedAt: at(1)}
		a := emoney.Alert{ID: hold.ID, Kind: "review_hold", Subject: "wallet:x", Transfer: hold.ID, Reason: "r", CreatedAt: at(1)}
		must(t, s.Update(c, func(tx emoney.Tx) error {
			must(t, tx.InsertTransfers(c, []emoney.Transfer{hold}))
			return tx.CreateAlert(c, a)
		}))
		get := func() emoney.Alert {
			var got emoney.Alert
			must(t, s.View(c, func(tx emoney.ReadTx) error {
				var err error
				got, err = tx.Alert(c, a.ID)
				return err
			}))
			return got
		}
		update := func(fn func(emoney.Tx) error) error { return s.Update(c, fn) }
		wantCode(t, update(func(tx emoney.Tx) error { return tx.ApproveAlert(c, a.ID, "staff:2", at(2)) }), emoney.EConflict) // nothing proposed
		wantCode(t, update(func(tx emoney.Tx) error { return tx.DeclineProposal(c, a.ID) }), emoney.EConflict)
		must(t, update(func(tx emoney.Tx) error { return tx.ProposeAlert(c, a.ID, "staff:1", at(2)) }))
		if got := get(); got.Status != emoney.AlertProposed || got.ProposedBy != "staff:1" || !got.ProposedAt.Equal(at(2)) || got.ResolvedBy != "" {
			t.Errorf("proposed: %+v", got)
		}
		wantCode(t, update(func(tx emoney.Tx) error { return tx.ProposeAlert(c, a.ID, "staff:2", at(3)) }), emoney.EConflict)
		// The maker cannot approve, whatever the caller checked before.
		wantCode(t, update(func(tx emoney.Tx) error { return tx.ApproveAlert(c, a.ID, "staff:1", at(3)) }), emoney.EConflict)
		// A proposal is no decision: the sweeper leaves it alone.
		must(t, s.View(c, func(tx emoney.ReadTx) error {
			un, err := tx.UnsettledDecisions(c, 10)
			must(t, err)
			if len(un) != 0 {
				t.Errorf("a proposal counts as unsettled: %+v", un)
			}
			listed, err := tx.Alerts(c, emoney.AlertProposed, emoney.ID{}, 10)
			must(t, err)
			if len(listed) != 1 || listed[0].ID != a.ID {
				t.Errorf("proposed alerts = %+v", listed)
			}
			return nil
		}))
		must(t, update(func(tx emoney.Tx) error { return tx.DeclineProposal(c, a.ID) }))
		if got := get(); got.Status != emoney.AlertOpen || got.ProposedBy != "" || !got.ProposedAt.IsZero() {
			t.Errorf("declined: %+v", got)
		}
		must(t, update(func(tx emoney.Tx) error { return tx.ProposeAlert(c, a.ID, "staff:2", at(4)) }))
		must(t, update(func(tx emoney.Tx) error { return tx.ApproveAlert(c, a.ID, "staff:3", at(5)) }))
		if got := get(); got.Status != emoney.AlertReleased || got.ProposedBy != "staff:2" || got.ResolvedBy != "staff:3" || !got.ResolvedAt.Equal(at(5)) {
			t.Errorf("approved: %+v", got)
		}
		wantCode(t, update(func(tx emoney.Tx) error { return tx.ApproveAlert(c, a.ID, "staff:4", at(6)) }), emoney.EConflict)
		// An approved release is a decision the ledger has not followed yet.
		must(t, s.View(c, func(tx emoney.ReadTx) error {
			un, err := tx.UnsettledDecisions(c, 10)
			must(t, err)
			if len(un) != 1 || un[0].ID != a.ID {
				t.Errorf("unsettled after approval = %+v", un)
			}
			return nil
		}))
		for name, fn := range map[string]func(emoney.Tx) error{
			"propose": func(tx emoney.Tx) error { return tx.ProposeAlert(c, ids.NewID(), "staff:1", at(2)) },
			"approve": func(tx emoney.Tx) error { return tx.ApproveAlert(c, ids.NewID(), "staff:1", at(2)) },
			"decline": func(tx emoney.Tx) error { return tx.DeclineProposal(c, ids.NewID()) },
		} {
			if got := emoney.ErrorCode(update(fn)); got != emoney.ENotFound {
				t.Errorf("%s of no alert: %q", name, got)
			}
		}
	})

	t.Run("Payees", func(t *testing.T) {
		s, _ := open(t, newDB)
		c := ctx(t)
		alice, bob := ids.NewID(), ids.NewID()
		var made []emoney.Payee
		for i := 0; i < 3; i++ {
			p := emoney.Payee{ID: ids.NewID(), User: alice, Wallet: ids.NewID(), NicknameSealed: []byte(fmt.Sprint("nick-", i)), AddedAt: at(i)}
			must(t, s.Update(c, func(tx emoney.Tx) error { return tx.CreatePayee(c, p, 3) }))
			made = append(made, p)
		}
		dupWallet := emoney.Payee{ID: ids.NewID(), User: alice, Wallet: made[0].Wallet, NicknameSealed: []byte("x"), AddedAt: at(5)}
		wantCode(t, s.Update(c, func(tx emoney.Tx) error { return tx.CreatePayee(c, dupWallet, 10) }), emoney.EConflict)
		dupID := emoney.Payee{ID: made[0].ID, User: bob, Wallet: ids.NewID(), NicknameSealed: []byte("x"), AddedAt: at(5)}
		wantCode(t, s.Update(c, func(tx emoney.Tx) error { return tx.CreatePayee(c, dupID, 10) }), emoney.EConflict)
		fourth := emoney.Payee{ID: ids.NewID(), User: alice, Wallet: ids.NewID(), NicknameSealed: []byte("x"), AddedAt: at(5)}
		wantCode(t, s.Update(c, func(tx emoney.Tx) error { return tx.CreatePayee(c, fourth, 3) }), emoney.ELimitExceeded)
		// Another user may save the same wallet.
		bobs := emoney.Payee{ID: ids.NewID(), User: bob, Wallet: made[0].Wallet, NicknameSealed: []byte("b"), AddedAt: at(6)}
		must(t, s.Update(c, func(tx emoney.Tx) error { return tx.CreatePayee(c, bobs, 3) }))

		must(t, s.View(c, func(tx emoney.ReadTx) error {
			got, err := tx.Payee(c, made[1].ID)
			must(t, err)
			if got.ID != made[1].ID || got.User != alice || got.Wallet != made[1].Wallet || !bytes.Equal(got.NicknameSealed, []byte("nick-1")) || !got.AddedAt.Equal(at(1)) {
				t.Errorf("payee = %+v, want %+v", got, made[1])
			}
			_, err = tx.Payee(c, ids.NewID())
			wantCode(t, err, emoney.ENotFound)
			// Newest first, a page at a time.
			page1, err := tx.Payees(c, alice, emoney.ID{}, 2)
			must(t, err)
			if len(page1) != 2 || page1[0].ID != made[2].ID || page1[1].ID != made[1].ID {
				t.Errorf("first page = %+v", page1)
			}
			page2, err := tx.Payees(c, alice, page1[1].ID, 2)
			must(t, err)
			if len(page2) != 1 || page2[0].ID != made[0].ID {
				t.Errorf("second page = %+v", page2)
			}
			none, err := tx.Payees(c, ids.NewID(), emoney.ID{}, 10)
			must(t, err)
			if len(none) != 0 {
				t.Errorf("a stranger's payees = %+v", none)
			}
			return nil
		}))
		wantCode(t, s.Update(c, func(tx emoney.Tx) error { return tx.DeletePayee(c, bob, made[1].ID) }), emoney.ENotFound)
		must(t, s.Update(c, func(tx emoney.Tx) error { return tx.DeletePayee(c, alice, made[1].ID) }))
		wantCode(t, s.Update(c, func(tx emoney.Tx) error { return tx.DeletePayee(c, alice, made[1].ID) }), emoney.ENotFound)
		// A deleted payee frees its place under the cap.
		must(t, s.Update(c, func(tx emoney.Tx) error { return tx.CreatePayee(c, fourth, 3) }))
		must(t, s.Update(c, func(tx emoney.Tx) error { return tx.ResealPayee(c, fourth.ID, []byte("resealed")) }))
		wantCode(t, s.Update(c, func(tx emoney.Tx) error { return tx.ResealPayee(c, made[1].ID, []byte("x")) }), emoney.ENotFound)
		must(t, s.View(c, func(tx emoney.ReadTx) error {
			p, err := tx.Payee(c, fourth.ID)
			must(t, err)
			if string(p.NicknameSealed) != "resealed" || p.User != fourth.User || p.Wallet != fourth.Wallet {
				t.Errorf("payee after reseal = %+v", p)
			}
			return nil
		}))
	})

	t.Run("PayeeCapUnderConcurrency", func(t *testing.T) {
		_, o := open(t, newDB)
		handles := []emoney.Store{o(t), o(t)}
		c := ctx(t)
		user := ids.NewID()
		const max, tries = 5, 12
		var wg sync.WaitGroup
		codes := make([]string, tries)
		for i := 0; i < tries; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				p := emoney.Payee{ID: ids.NewID(), User: user, Wallet: ids.NewID(), NicknameSealed: []byte("n"), AddedAt: at(1)}
				codes[i] = emoney.ErrorCode(handles[i%2].Update(c, func(tx emoney.Tx) error { return tx.CreatePayee(c, p, max) }))
			}(i)
		}
		wg.Wait()
		ok, over := 0, 0
		for _, code := range codes {
			switch code {
			case "":
				ok++
			case emoney.ELimitExceeded:
				over++
			default:
				t.Errorf("concurrent CreatePayee: %q", code)
			}
		}
		var listed []emoney.Payee
		must(t, handles[0].View(c, func(tx emoney.ReadTx) error {
			var err error
			listed, err = tx.Payees(c, user, emoney.ID{}, 100)
			return err
		}))
		if ok != max || over != tries-max || len(listed) != max {
			t.Errorf("%d created, %d refused, %d listed; want %d, %d, %d", ok, over, len(listed), max, tries-max, max)
		}
	})
}
