package storetest

import (
	"fmt"
	"sync"
	"testing"

	"emoney"
)

func runKYC(t *testing.T, newDB NewDatabase) {
	newUser := func(t *testing.T, s emoney.Store, name string) emoney.ID {
		t.Helper()
		c := ctx(t)
		u := emoney.User{ID: ids.NewID(), EmailIndex: []byte("ix-" + name), EmailSealed: []byte("sealed"), PasswordHash: "h", Role: emoney.RoleCustomer, CreatedAt: at(1)}
		must(t, s.Update(c, func(tx emoney.Tx) error { return tx.CreateUser(c, u) }))
		return u.ID
	}

	t.Run("PhoneChallenge", func(t *testing.T) {
		s, _ := open(t, newDB)
		c := ctx(t)
		u := newUser(t, s, "alice")
		must(t, s.View(c, func(tx emoney.ReadTx) error {
			_, err := tx.PhoneChallenge(c, u)
			wantCode(t, err, emoney.ENotFound)
			_, err = tx.KYC(c, u)
			wantCode(t, err, emoney.ENotFound)
			return nil
		}))
		ch := emoney.PhoneChallenge{User: u, PhoneIndex: []byte("p1"), PhoneSealed: []byte("s1"), CodeHash: []byte("h1"), ExpiresAt: at(300), SentAt: at(0), Sends: 1, WindowStart: at(0)}
		must(t, s.Update(c, func(tx emoney.Tx) error { return tx.SavePhoneChallenge(c, ch) }))
		for want := 1; want <= 2; want++ {
			var n int
			must(t, s.Update(c, func(tx emoney.Tx) (err error) { n, err = tx.FailPhoneChallenge(c, u); return err }))
			if n != want {
				t.Fatalf("attempts = %d, want %d", n, want)
			}
		}
		ch2 := ch
		ch2.CodeHash, ch2.Attempts, ch2.Sends, ch2.SentAt = []byte("h2"), 0, 2, at(60)
		must(t, s.Update(c, func(tx emoney.Tx) error { return tx.SavePhoneChallenge(c, ch2) })) // a resend replaces it
		must(t, s.View(c, func(tx emoney.ReadTx) error {
			got, err := tx.PhoneChallenge(c, u)
			must(t, err)
			if got.User != u || string(got.CodeHash) != "h2" || got.Attempts != 0 || got.Sends != 2 || !got.SentAt.Equal(at(60)) ||
				!got.ExpiresAt.Equal(at(300)) || !got.WindowStart.Equal(at(0)) || string(got.PhoneIndex) != "p1" || string(got.PhoneSealed) != "s1" {
				t.Errorf("challenge = %+v", got)
			}
			return nil
		}))
		wantCode(t, s.Update(c, func(tx emoney.Tx) error { _, err := tx.FailPhoneChallenge(c, ids.NewID()); return err }), emoney.ENotFound)
		wantCode(t, s.Update(c, func(tx emoney.Tx) error { _, err := tx.LockPhoneChallenge(c, ids.NewID()); return err }), emoney.ENotFound)
	})

	// Writers that read a challenge locked and count a wrong code only below a cap never pass
	// the cap together, from any number of handles (processes).
	t.Run("PhoneChallengeLock", func(t *testing.T) {
		s, o := open(t, newDB)
		c := ctx(t)
		u := newUser(t, s, "alice")
		must(t, s.Update(c, func(tx emoney.Tx) error {
			return tx.SavePhoneChallenge(c, emoney.PhoneChallenge{User: u, PhoneIndex: []byte("p"), PhoneSealed: []byte("s"), CodeHash: []byte("h"), ExpiresAt: at(300), SentAt: at(0), WindowStart: at(0)})
		}))
		handles := []emoney.Store{s, o(t)}
		var wg sync.WaitGroup
		for i := 0; i < 24; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				h := handles[i%2]
				err := h.Update(c, func(tx emoney.Tx) error {
					ch, err := tx.LockPhoneChallenge(c, u)
					if err != nil || ch.Attempts >= 5 {
						return err
					}
					_, err = tx.FailPhoneChallenge(c, u)
					return err
				})
				if err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		must(t, s.View(c, func(tx emoney.ReadTx) error {
			ch, err := tx.PhoneChallenge(c, u)
			must(t, err)
			if ch.Attempts != 5 {
				t.Errorf("attempts = %d after 24 racing writers capped at 5", ch.Attempts)
			}
			return nil
		}))
	})

	t.Run("VerifyPhoneAndIdentity", func(t *testing.T) {
		s, _ := open(t, newDB)
		c := ctx(t)
		alice, bob := newUser(t, s, "alice"), newUser(t, s, "bob")
		wantCode(t, s.Update(c, func(tx emoney.Tx) error { return tx.VerifyIdentity(c, alice, []byte("id"), []byte("ix"), at(5)) }), emoney.ENotFound)
		must(t, s.Update(c, func(tx emoney.Tx) error {
			return tx.SavePhoneChallenge(c, emoney.PhoneChallenge{User: alice, PhoneIndex: []byte("p1"), PhoneSealed: []byte("s"), CodeHash: []byte("h"), ExpiresAt: at(9), SentAt: at(0), WindowStart: at(0)})
		}))
		must(t, s.Update(c, func(tx emoney.Tx) error { return tx.VerifyPhone(c, alice, []byte("p1"), []byte("phone-a"), at(2)) }))
		must(t, s.Update(c, func(tx emoney.Tx) error { return tx.VerifyPhone(c, alice, []byte("p1"), []byte("phone-a2"), at(3)) })) // her own number again
		err := s.Update(c, func(tx emoney.Tx) error { return tx.VerifyPhone(c, bob, []byte("p1"), []byte("phone-b"), at(3)) })
		wantCode(t, err, emoney.EConflict)
		must(t, s.Update(c, func(tx emoney.Tx) error { return tx.VerifyPhone(c, bob, []byte("p2"), []byte("phone-b"), at(3)) }))
		must(t, s.Update(c, func(tx emoney.Tx) error { return tx.VerifyIdentity(c, alice, []byte("id-a"), []byte("person"), at(4)) }))
		// One identity, one wallet: the store refuses a second wallet on the same index.
		wantCode(t, s.Update(c, func(tx emoney.Tx) error { return tx.VerifyIdentity(c, bob, []byte("id-b"), []byte("person"), at(4)) }), emoney.EConflict)
		must(t, s.Update(c, func(tx emoney.Tx) error { return tx.VerifyIdentity(c, bob, []byte("id-b"), []byte("someone"), at(4)) }))
		must(t, s.Update(c, func(tx emoney.Tx) error { return tx.SetKYCTier(c, alice, 2) }))
		wantCode(t, s.Update(c, func(tx emoney.Tx) error { return tx.SetKYCTier(c, ids.NewID(), 1) }), emoney.ENotFound)
		must(t, s.Update(c, func(tx emoney.Tx) error { return tx.ResealKYC(c, bob, []byte("phone-b2"), []byte("id-b2")) }))
		wantCode(t, s.Update(c, func(tx emoney.Tx) error { return tx.ResealKYC(c, ids.NewID(), nil, nil) }), emoney.ENotFound)
		must(t, s.View(c, func(tx emoney.ReadTx) error {
			k, err := tx.KYC(c, alice)
			must(t, err)
			if k.User != alice || string(k.PhoneIndex) != "p1" || string(k.PhoneSealed) != "phone-a2" || !k.PhoneVerifiedAt.Equal(at(3)) ||
				string(k.IdentitySealed) != "id-a" || string(k.IdentityIndex) != "person" || !k.IdentityVerifiedAt.Equal(at(4)) {
				t.Errorf("alice's kyc = %+v", k)
			}
			_, err = tx.PhoneChallenge(c, alice)
			wantCode(t, err, emoney.ENotFound) // spent by the verification
			k, err = tx.KYC(c, bob)
			must(t, err)
			if string(k.PhoneSealed) != "phone-b2" || string(k.IdentitySealed) != "id-b2" {
				t.Errorf("bob's kyc after reseal = %+v", k)
			}
			u, err := tx.User(c, alice)
			must(t, err)
			if u.KYCTier != 2 {
				t.Errorf("alice's tier = %d", u.KYCTier)
			}
			same, err := tx.UsersByIdentity(c, []byte("person"))
			must(t, err)
			if fmt.Sprint(same) != fmt.Sprint([]emoney.ID{alice}) {
				t.Errorf("UsersByIdentity = %v, want [%v]", same, alice)
			}
			none, err := tx.UsersByIdentity(c, []byte("nobody"))
			must(t, err)
			if len(none) != 0 {
				t.Errorf("UsersByIdentity(nobody) = %v", none)
			}
			return nil
		}))
	})
}
