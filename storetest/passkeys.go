package storetest

import (
	"bytes"
	"slices"
	"sync"
	"testing"

	"emoney"
)

func runPasskeys(t *testing.T, newDB NewDatabase) {
	t.Run("Passkeys", func(t *testing.T) {
		s, _ := open(t, newDB)
		c := ctx(t)
		alice, bob := ids.NewID(), ids.NewID()
		k1 := emoney.Passkey{ID: ids.NewID(), User: alice, CredentialID: []byte("cred-1"), PublicKey: []byte("cose-1"), SignCount: 3,
			AAGUID: bytes.Repeat([]byte{7}, 16), Transports: []string{"usb", "nfc"}, Flags: 0x45, Name: "YubiKey", CreatedAt: at(1)}
		k2 := emoney.Passkey{ID: ids.NewID(), User: alice, CredentialID: []byte("cred-2"), PublicKey: []byte("cose-2"),
			AAGUID: make([]byte, 16), Name: "phone", CreatedAt: at(2)} // no counter, no transports
		k3 := emoney.Passkey{ID: ids.NewID(), User: bob, CredentialID: []byte("cred-3"), PublicKey: []byte("cose-3"), AAGUID: make([]byte, 16), Name: "bob's", CreatedAt: at(3)}
		must(t, s.Update(c, func(tx emoney.Tx) error {
			for _, k := range []emoney.Passkey{k1, k2, k3} {
				must(t, tx.CreatePasskey(c, k))
			}
			return nil
		}))
		dupCred := k3
		dupCred.ID, dupCred.User = ids.NewID(), alice // one credential cannot belong twice
		wantCode(t, s.Update(c, func(tx emoney.Tx) error { return tx.CreatePasskey(c, dupCred) }), emoney.EConflict)
		dupID := k3
		dupID.CredentialID = []byte("cred-4")
		wantCode(t, s.Update(c, func(tx emoney.Tx) error { return tx.CreatePasskey(c, dupID) }), emoney.EConflict)

		same := func(got, want emoney.Passkey) bool {
			return got.ID == want.ID && got.User == want.User && bytes.Equal(got.CredentialID, want.CredentialID) &&
				bytes.Equal(got.PublicKey, want.PublicKey) && got.SignCount == want.SignCount && bytes.Equal(got.AAGUID, want.AAGUID) &&
				slices.Equal(got.Transports, want.Transports) && got.Flags == want.Flags && got.Name == want.Name &&
				got.CreatedAt.Equal(want.CreatedAt) && got.LastUsedAt.Equal(want.LastUsedAt)
		}
		must(t, s.View(c, func(tx emoney.ReadTx) error {
			got, err := tx.Passkeys(c, alice)
			must(t, err)
			if len(got) != 2 || !same(got[0], k1) || !same(got[1], k2) {
				t.Errorf("alice's passkeys = %+v", got)
			}
			none, err := tx.Passkeys(c, ids.NewID())
			must(t, err)
			if none == nil || len(none) != 0 {
				t.Errorf("passkeys of nobody = %#v, want an empty list", none)
			}
			byCred, err := tx.PasskeyByCredential(c, []byte("cred-3"))
			must(t, err)
			if !same(byCred, k3) {
				t.Errorf("by credential = %+v", byCred)
			}
			_, err = tx.PasskeyByCredential(c, []byte("cred-x"))
			wantCode(t, err, emoney.ENotFound)
			return nil
		}))

		// The counter only goes up; one without a counter stays at zero.
		use := func(id emoney.ID, n uint32, sec int) bool {
			t.Helper()
			var ok bool
			must(t, s.Update(c, func(tx emoney.Tx) error {
				var err error
				ok, err = tx.UpdatePasskeySignCount(c, id, n, at(sec))
				return err
			}))
			return ok
		}
		for _, tc := range []struct {
			name string
			id   emoney.ID
			n    uint32
			want bool
		}{
			{"forward", k1.ID, 4, true},
			{"same again", k1.ID, 4, false},
			{"backwards", k1.ID, 2, false},
			{"zero after a count", k1.ID, 0, false},
			{"far forward", k1.ID, 1 << 31, true},
			{"no counter", k2.ID, 0, true},
			{"no counter again", k2.ID, 0, true},
			{"a counter appears", k2.ID, 1, true},
			{"and goes back to zero", k2.ID, 0, false},
		} {
			if got := use(tc.id, tc.n, 10); got != tc.want {
				t.Errorf("%s: UpdatePasskeySignCount(%d) = %v, want %v", tc.name, tc.n, got, tc.want)
			}
		}
		wantCode(t, s.Update(c, func(tx emoney.Tx) error {
			_, err := tx.UpdatePasskeySignCount(c, ids.NewID(), 1, at(10))
			return err
		}), emoney.ENotFound)
		must(t, s.View(c, func(tx emoney.ReadTx) error {
			got, err := tx.PasskeyByCredential(c, []byte("cred-1"))
			must(t, err)
			if got.SignCount != 1<<31 || !got.LastUsedAt.Equal(at(10)) {
				t.Errorf("after use: count %d, last used %v", got.SignCount, got.LastUsedAt)
			}
			return nil
		}))

		// Two uses racing with one counter value: exactly one passes.
		var wg sync.WaitGroup
		var mu sync.Mutex
		passed := 0
		for i := 0; i < 4; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if use(k1.ID, 1<<31+1, 11) {
					mu.Lock()
					passed++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if passed != 1 {
			t.Errorf("%d of 4 racing uses with one counter passed, want 1", passed)
		}

		// Only the owner's passkey is deleted.
		wantCode(t, s.Update(c, func(tx emoney.Tx) error { return tx.DeletePasskey(c, alice, k3.ID) }), emoney.ENotFound)
		must(t, s.Update(c, func(tx emoney.Tx) error { return tx.DeletePasskey(c, alice, k1.ID) }))
		wantCode(t, s.Update(c, func(tx emoney.Tx) error { return tx.DeletePasskey(c, alice, k1.ID) }), emoney.ENotFound)
		must(t, s.View(c, func(tx emoney.ReadTx) error {
			got, err := tx.Passkeys(c, alice)
			must(t, err)
			if len(got) != 1 || got[0].ID != k2.ID {
				t.Errorf("after delete: %+v", got)
			}
			_, err = tx.PasskeyByCredential(c, []byte("cred-3"))
			return err
		}))
	})

	t.Run("Ceremonies", func(t *testing.T) {
		s, _ := open(t, newDB)
		c := ctx(t)
		sess1, sess2 := []byte("session-1-hash"), []byte("session-2-hash")
		save := func(cer emoney.Ceremony) {
			t.Helper()
			must(t, s.Update(c, func(tx emoney.Tx) error { return tx.SaveCeremony(c, cer) }))
		}
		take := func(h []byte, kind emoney.CeremonyKind, sec int) (emoney.Ceremony, error) {
			var got emoney.Ceremony
			err := s.Update(c, func(tx emoney.Tx) error {
				var err error
				got, err = tx.TakeCeremony(c, h, kind, at(sec))
				return err
			})
			return got, err
		}
		save(emoney.Ceremony{TokenHash: sess1, Kind: emoney.CeremonyStepUp, Data: []byte("first"), CreatedAt: at(1), ExpiresAt: at(31)})
		save(emoney.Ceremony{TokenHash: sess1, Kind: emoney.CeremonyStepUp, Data: []byte("second"), CreatedAt: at(2), ExpiresAt: at(32)}) // replaces
		save(emoney.Ceremony{TokenHash: sess1, Kind: emoney.CeremonyRegister, Data: []byte("reg"), CreatedAt: at(2), ExpiresAt: at(32)})
		save(emoney.Ceremony{TokenHash: sess2, Kind: emoney.CeremonyStepUp, Data: []byte("other"), CreatedAt: at(3), ExpiresAt: at(33)})

		got, err := take(sess1, emoney.CeremonyStepUp, 5)
		must(t, err)
		if string(got.Data) != "second" || got.Kind != emoney.CeremonyStepUp || !bytes.Equal(got.TokenHash, sess1) ||
			!got.CreatedAt.Equal(at(2)) || !got.ExpiresAt.Equal(at(32)) {
			t.Errorf("taken = %+v", got)
		}
		_, err = take(sess1, emoney.CeremonyStepUp, 5) // once only
		wantCode(t, err, emoney.ENotFound)
		got, err = take(sess1, emoney.CeremonyRegister, 5) // the other kind is still there
		must(t, err)
		if string(got.Data) != "reg" {
			t.Errorf("register ceremony = %+v", got)
		}
		_, err = take(sess2, emoney.CeremonyRegister, 5)
		wantCode(t, err, emoney.ENotFound)

		// Expired: refused.
		_, err = take(sess2, emoney.CeremonyStepUp, 33)
		wantCode(t, err, emoney.ENotFound)

		// Saving sweeps every session's expired ceremonies.
		save(emoney.Ceremony{TokenHash: sess2, Kind: emoney.CeremonyStepUp, Data: []byte("stale"), CreatedAt: at(10), ExpiresAt: at(20)})
		save(emoney.Ceremony{TokenHash: sess1, Kind: emoney.CeremonyStepUp, Data: []byte("new"), CreatedAt: at(40), ExpiresAt: at(50)})
		_, err = take(sess2, emoney.CeremonyStepUp, 15) // still in its time, but swept
		wantCode(t, err, emoney.ENotFound)
		got, err = take(sess1, emoney.CeremonyStepUp, 41)
		must(t, err)
		if string(got.Data) != "new" {
			t.Errorf("after the sweep = %+v", got)
		}
	})
}
