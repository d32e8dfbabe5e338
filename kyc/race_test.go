package kyc_test

import (
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"sync"
	"testing"

	"emoney"
	"emoney/identity"
	"emoney/internal/testkit"
	"emoney/kyc"
	"emoney/postgres"
	"emoney/postgres/pgtest"
	"emoney/sqlite"
)

// Races found by review: both stores must hold the one-code-five-guesses and the
// one-identity-one-wallet rules under concurrency (PostgreSQL runs READ COMMITTED).

type raceWorld struct {
	ids *identity.Service
	kc  *kyc.Service
	sms *kyc.DevSMS
}

func stores(t *testing.T, run func(t *testing.T, open func(t *testing.T) emoney.Store)) {
	t.Run("sqlite", func(t *testing.T) {
		run(t, func(t *testing.T) emoney.Store {
			s, err := sqlite.Open(filepath.Join(t.TempDir(), "emoney.db"))
			if err != nil {
				t.Fatal(err)
			}
			return s
		})
	})
	t.Run("postgres", func(t *testing.T) {
		run(t, func(t *testing.T) emoney.Store {
			s, err := postgres.Open(context.Background(), pgtest.Database(t), postgres.Config{MaxConns: 32})
			if err != nil {
				t.Fatal(err)
			}
			return s
		})
	})
}

func newRaceWorld(t *testing.T, open func(t *testing.T) emoney.Store) *raceWorld {
	s := open(t)
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	k := testkit.New(t, s, nil)
	w := &raceWorld{ids: k.Identity, sms: &kyc.DevSMS{}}
	w.kc = kyc.New(s, k.Keys, k.Identity, w.sms, &kyc.SimProvider{}, kyc.Config{})
	return w
}

func (w *raceWorld) user(t *testing.T, email string) identity.Principal {
	u, _, err := w.ids.SignUp(context.Background(), email, "correct horse battery", netip.MustParseAddr("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	return identity.Principal{User: u.ID, Role: emoney.RoleCustomer}
}

// Concurrent wrong guesses at one code: exactly five are judged, then the code is spent.
func TestPhoneCodeGuessesInParallel(t *testing.T) {
	stores(t, func(t *testing.T, open func(t *testing.T) emoney.Store) {
		ctx := context.Background()
		w := newRaceWorld(t, open)
		p := w.user(t, "mallory@example.com")
		if _, err := w.kc.StartPhone(ctx, p, "+819011112222"); err != nil {
			t.Fatal(err)
		}
		right := w.sms.LastCode("+819011112222")
		var mu sync.Mutex
		judged := 0 // guesses actually compared with the code (answered unauthorized)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range 200 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				g := fmt.Sprintf("%06d", i)
				if g == right {
					g = "999999"
				}
				_, err := w.kc.ConfirmPhone(ctx, p, g)
				if emoney.ErrorCode(err) == emoney.EUnauthorized {
					mu.Lock()
					judged++
					mu.Unlock()
				}
			}()
		}
		close(start)
		wg.Wait()
		if judged != 5 {
			t.Errorf("%d wrong guesses were judged against one code; exactly 5 may be", judged)
		}
		if _, err := w.kc.ConfirmPhone(ctx, p, right); emoney.ErrorCode(err) != emoney.EConflict {
			t.Errorf("the right code after five wrong ones: %v, want conflict (the code is spent)", err)
		}
	})
}

// Twenty wallets verifying the same person at once: exactly one reaches tier 2.
func TestSameIdentityManyWalletsConcurrently(t *testing.T) {
	stores(t, func(t *testing.T, open func(t *testing.T) emoney.Store) {
		ctx := context.Background()
		w := newRaceWorld(t, open)
		doc := kyc.Document{Type: "passport", Number: "TK0001", NameKanji: "山田 太郎", NameKana: "ヤマダ タロウ", BirthDate: "1980-01-01"}
		const n = 20
		ps := make([]identity.Principal, n)
		for i := range ps {
			ps[i] = w.user(t, fmt.Sprintf("mule%d@example.com", i))
			phone := fmt.Sprintf("+8190000%05d", i)
			if _, err := w.kc.StartPhone(ctx, ps[i], phone); err != nil {
				t.Fatal(err)
			}
			if _, err := w.kc.ConfirmPhone(ctx, ps[i], w.sms.LastCode(phone)); err != nil {
				t.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		verified := 0
		start := make(chan struct{})
		for i := range ps {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				if tier, err := w.kc.VerifyIdentity(ctx, ps[i], doc); err == nil && tier == 2 {
					mu.Lock()
					verified++
					mu.Unlock()
				}
			}()
		}
		close(start)
		wg.Wait()
		if verified != 1 {
			t.Errorf("one identity verified %d wallets, want exactly 1", verified)
		}
	})
}
