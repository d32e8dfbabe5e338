package storetest

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"emoney"
)

func runIdentity(t *testing.T, newDB NewDatabase) {
	t.Run("Users", func(t *testing.T) {
		s, _ := open(t, newDB)
		c := ctx(t)
		u := emoney.User{ID: ids.NewID(), EmailIndex: []byte("ix-alice"), EmailSealed: []byte("sealed"), PasswordHash: "$argon2id$v=19$m=8,t=1,p=1$c2FsdA$aGFzaA", Role: emoney.RoleCustomer, KYCTier: 0, CreatedAt: at(1)}
		must(t, s.Update(c, func(tx emoney.Tx) error { return tx.CreateUser(c, u) }))
		dup := u
		dup.ID = ids.NewID() // same e-mail, another user
		wantCode(t, s.Update(c, func(tx emoney.Tx) error { return tx.CreateUser(c, dup) }), emoney.EConflict)
		must(t, s.View(c, func(tx emoney.ReadTx) error {
			for _, get := range []func() (emoney.User, error){
				func() (emoney.User, error) { return tx.User(c, u.ID) },
				func() (emoney.User, error) { return tx.UserByEmail(c, []byte("ix-alice")) },
			} {
				got, err := get()
				must(t, err)
				if got.ID != u.ID || !bytes.Equal(got.EmailIndex, u.EmailIndex) || !bytes.Equal(got.EmailSealed, u.EmailSealed) ||
					got.PasswordHash != u.PasswordHash || got.Role != u.Role || got.KYCTier != 0 || !got.CreatedAt.Equal(u.CreatedAt) {
					t.Errorf("user = %+v, want %+v", got, u)
				}
			}
			_, err := tx.User(c, ids.NewID())
			wantCode(t, err, emoney.ENotFound)
			_, err = tx.UserByEmail(c, []byte("ix-nobody"))
			wantCode(t, err, emoney.ENotFound)
			return nil
		}))
	})

	t.Run("UsersAndReseal", func(t *testing.T) {
		s, _ := open(t, newDB)
		c := ctx(t)
		var made []emoney.ID
		for i := 0; i < 5; i++ {
			u := emoney.User{ID: ids.NewID(), EmailIndex: []byte(fmt.Sprint("ix-", i)), EmailSealed: []byte("old"), PasswordHash: "h", Role: emoney.RoleCustomer, CreatedAt: at(1)}
			must(t, s.Update(c, func(tx emoney.Tx) error { return tx.CreateUser(c, u) }))
			made = append(made, u.ID)
		}
		must(t, s.Update(c, func(tx emoney.Tx) error { return tx.ResealUser(c, made[2], []byte("new"), []byte("totp-new")) }))
		wantCode(t, s.Update(c, func(tx emoney.Tx) error { return tx.ResealUser(c, ids.NewID(), nil, nil) }), emoney.ENotFound)
		must(t, s.View(c, func(tx emoney.ReadTx) error {
			var seen []emoney.ID
			var after emoney.ID
			for {
				page, err := tx.Users(c, after, 2)
				must(t, err)
				for _, u := range page {
					seen = append(seen, u.ID)
					if u.ID == made[2] && (string(u.EmailSealed) != "new" || string(u.TOTPSealed) != "totp-new") {
						t.Errorf("resealed user %+v", u)
					}
				}
				if len(page) < 2 {
					break
				}
				after = page[len(page)-1].ID
			}
			if fmt.Sprint(seen) != fmt.Sprint(made) {
				t.Errorf("Users pages gave %d users, want the 5 in id order", len(seen))
			}
			return nil
		}))
	})

	t.Run("StaffEnrolment", func(t *testing.T) {
		s, _ := open(t, newDB)
		c := ctx(t)
		u := emoney.User{ID: ids.NewID(), EmailIndex: []byte("ix-staff"), EmailSealed: []byte("s"), Role: emoney.RoleAdmin, CreatedAt: at(1),
			EnrolHash: []byte("code-hash"), EnrolExpires: at(60)}
		must(t, s.Update(c, func(tx emoney.Tx) error { return tx.CreateUser(c, u) }))
		must(t, s.View(c, func(tx emoney.ReadTx) error {
			got, err := tx.UserByEnrolment(c, []byte("code-hash"))
			must(t, err)
			if got.ID != u.ID || !got.EnrolExpires.Equal(at(60)) || got.PasswordHash != "" {
				t.Errorf("by enrolment: %+v", got)
			}
			return nil
		}))
		must(t, s.Update(c, func(tx emoney.Tx) error { return tx.CompleteEnrolment(c, u.ID, "phc", []byte("totp")) }))
		// The code is spent: it finds nobody, and cannot complete again.
		wantCode(t, s.Update(c, func(tx emoney.Tx) error { return tx.CompleteEnrolment(c, u.ID, "other", nil) }), emoney.ENotFound)
		must(t, s.View(c, func(tx emoney.ReadTx) error {
			_, err := tx.UserByEnrolment(c, []byte("code-hash"))
			wantCode(t, err, emoney.ENotFound)
			got, err := tx.User(c, u.ID)
			must(t, err)
			if got.PasswordHash != "phc" || !bytes.Equal(got.TOTPSealed, []byte("totp")) || got.TOTPConfirmed || got.EnrolHash != nil {
				t.Errorf("after enrolment: %+v", got)
			}
			return nil
		}))
	})

	t.Run("TOTP", func(t *testing.T) {
		s, _ := open(t, newDB)
		c := ctx(t)
		u := emoney.User{ID: ids.NewID(), EmailIndex: []byte("ix-t"), EmailSealed: []byte("s"), PasswordHash: "h", Role: emoney.RoleCustomer, CreatedAt: at(1)}
		sess := emoney.Session{TokenHash: []byte("tok"), User: u.ID, Device: "d", CreatedAt: at(1), ExpiresAt: at(100)}
		must(t, s.Update(c, func(tx emoney.Tx) error {
			must(t, tx.CreateUser(c, u))
			return tx.CreateSession(c, sess)
		}))
		must(t, s.Update(c, func(tx emoney.Tx) error { return tx.SetTOTP(c, u.ID, []byte("sealed-secret"), false) }))
		must(t, s.Update(c, func(tx emoney.Tx) error { return tx.SetTOTP(c, u.ID, []byte("sealed-secret"), true) }))
		wantCode(t, s.Update(c, func(tx emoney.Tx) error { return tx.SetTOTP(c, ids.NewID(), nil, false) }), emoney.ENotFound)
		wantCode(t, s.Update(c, func(tx emoney.Tx) error { return tx.SetTOTP(c, u.ID, []byte("attacker"), false) }), emoney.EConflict)
		var uses []bool
		for _, step := range []int64{100, 100, 99, 101} { // a code works once; older steps never again
			must(t, s.Update(c, func(tx emoney.Tx) error {
				ok, err := tx.UseTOTPStep(c, u.ID, step)
				uses = append(uses, ok)
				return err
			}))
		}
		if fmt.Sprint(uses) != "[true false false true]" {
			t.Errorf("UseTOTPStep = %v", uses)
		}
		must(t, s.Update(c, func(tx emoney.Tx) error { return tx.MarkStepUp(c, []byte("tok"), at(5)) }))
		wantCode(t, s.Update(c, func(tx emoney.Tx) error { return tx.MarkStepUp(c, []byte("nope"), at(5)) }), emoney.ENotFound)
		must(t, s.View(c, func(tx emoney.ReadTx) error {
			got, err := tx.User(c, u.ID)
			must(t, err)
			if !bytes.Equal(got.TOTPSealed, []byte("sealed-secret")) || !got.TOTPConfirmed {
				t.Errorf("user TOTP = %q confirmed=%v", got.TOTPSealed, got.TOTPConfirmed)
			}
			gs, err := tx.Session(c, []byte("tok"))
			must(t, err)
			if !gs.SteppedUpAt.Equal(at(5)) {
				t.Errorf("stepped up at %v", gs.SteppedUpAt)
			}
			return nil
		}))
	})

	t.Run("Partners", func(t *testing.T) {
		s, _ := open(t, newDB)
		c := ctx(t)
		p := emoney.Partner{ID: ids.NewID(), Name: "FamilyMart", Role: emoney.RoleAgent, KeyHash: []byte("key-1"), CreatedAt: at(1)}
		must(t, s.Update(c, func(tx emoney.Tx) error { return tx.CreatePartner(c, p) }))
		sameName := p
		sameName.ID, sameName.KeyHash = ids.NewID(), []byte("key-2")
		wantCode(t, s.Update(c, func(tx emoney.Tx) error { return tx.CreatePartner(c, sameName) }), emoney.EConflict)
		sameKey := p
		sameKey.ID, sameKey.Name = ids.NewID(), "Lawson"
		wantCode(t, s.Update(c, func(tx emoney.Tx) error { return tx.CreatePartner(c, sameKey) }), emoney.EConflict)
		must(t, s.View(c, func(tx emoney.ReadTx) error {
			got, err := tx.PartnerByKey(c, []byte("key-1"))
			must(t, err)
			if got.ID != p.ID || got.Name != p.Name || got.Role != p.Role || !bytes.Equal(got.KeyHash, p.KeyHash) || !got.CreatedAt.Equal(p.CreatedAt) {
				t.Errorf("partner = %+v, want %+v", got, p)
			}
			_, err = tx.PartnerByKey(c, []byte("key-x"))
			wantCode(t, err, emoney.ENotFound)
			if !got.RevokedAt.IsZero() {
				t.Errorf("a new partner is revoked: %+v", got)
			}
			return nil
		}))
		for _, when := range []int{7, 9} { // the second revocation keeps the first time
			must(t, s.Update(c, func(tx emoney.Tx) error {
				got, err := tx.RevokePartner(c, "FamilyMart", at(when))
				if err == nil && !got.RevokedAt.Equal(at(7)) {
					t.Errorf("revoked at %v, want %v", got.RevokedAt, at(7))
				}
				return err
			}))
		}
		wantCode(t, s.Update(c, func(tx emoney.Tx) error {
			_, err := tx.RevokePartner(c, "nobody", at(7))
			return err
		}), emoney.ENotFound)
		must(t, s.View(c, func(tx emoney.ReadTx) error {
			got, err := tx.PartnerByKey(c, []byte("key-1"))
			if err == nil && !got.RevokedAt.Equal(at(7)) {
				t.Errorf("revocation not kept: %+v", got)
			}
			return err
		}))
	})

	t.Run("Sessions", func(t *testing.T) {
		s, _ := open(t, newDB)
		c := ctx(t)
		sess := emoney.Session{TokenHash: []byte("hash-1"), User: ids.NewID(), Device: "dev-1", CreatedAt: at(1), ExpiresAt: at(1).Add(time.Hour)}
		must(t, s.Update(c, func(tx emoney.Tx) error { return tx.CreateSession(c, sess) }))
		wantCode(t, s.Update(c, func(tx emoney.Tx) error { return tx.CreateSession(c, sess) }), emoney.EConflict)
		get := func() emoney.Session {
			t.Helper()
			var got emoney.Session
			must(t, s.View(c, func(tx emoney.ReadTx) error {
				var err error
				got, err = tx.Session(c, []byte("hash-1"))
				return err
			}))
			return got
		}
		if got := get(); got.User != sess.User || got.Device != "dev-1" || !got.ExpiresAt.Equal(sess.ExpiresAt) || !got.RevokedAt.IsZero() {
			t.Errorf("session = %+v", got)
		}
		must(t, s.Update(c, func(tx emoney.Tx) error { return tx.RevokeSession(c, []byte("hash-1"), at(5)) }))
		must(t, s.Update(c, func(tx emoney.Tx) error { return tx.RevokeSession(c, []byte("hash-1"), at(9)) })) // keeps the first time
		if got := get(); !got.RevokedAt.Equal(at(5)) {
			t.Errorf("revoked at %v, want %v", got.RevokedAt, at(5))
		}
		wantCode(t, s.Update(c, func(tx emoney.Tx) error { return tx.RevokeSession(c, []byte("nope"), at(5)) }), emoney.ENotFound)
		must(t, s.View(c, func(tx emoney.ReadTx) error {
			_, err := tx.Session(c, []byte("nope"))
			wantCode(t, err, emoney.ENotFound)
			return nil
		}))
	})
}
