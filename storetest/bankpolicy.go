package storetest

import (
	"reflect"
	"sync"
	"testing"
	"time"

	"emoney"
)

// runBankPolicies covers per-bank policies and kill switches: get, list, and saves with
// optimistic concurrency, from one handle and from two racing.
func runBankPolicies(t *testing.T, newDB NewDatabase) {
	get := func(t *testing.T, s emoney.Store, code string) (emoney.BankPolicy, error) {
		t.Helper()
		var p emoney.BankPolicy
		err := s.View(ctx(t), func(tx emoney.ReadTx) error {
			var err error
			p, err = tx.BankPolicy(ctx(t), code)
			return err
		})
		return p, err
	}
	save := func(t *testing.T, s emoney.Store, p emoney.BankPolicy) error {
		t.Helper()
		return s.Update(ctx(t), func(tx emoney.Tx) error { return tx.SaveBankPolicy(ctx(t), p) })
	}

	t.Run("SaveGetList", func(t *testing.T) {
		s, _ := open(t, newDB)
		c := ctx(t)
		if _, err := get(t, s, "0001"); emoney.ErrorCode(err) != emoney.ENotFound {
			t.Fatalf("policy of a bank with none stored: %v, want not_found", err)
		}
		p := emoney.DefaultBankPolicy("0001")
		p.Factors = []string{"pwd", "otp", "hwk"}
		p.Notes = "銀行の方針: two factors"
		p.CoolingOff = 48 * time.Hour
		p.CoolingOffTopUpCap, p.CoolingOffDailyCap = 5000, 20000
		p.MatchLink, p.MatchReview, p.ReconsentDays = 95, 80, 90
		p.TopUps = emoney.KillSwitch{Pulled: true, Reason: "phishing wave", PulledBy: "staff:x", PulledAt: at(3), Until: at(50)}
		p.Withdrawals = emoney.KillSwitch{Reason: "released after review", PulledBy: "cli", PulledAt: at(2)}
		p.Version, p.UpdatedAt, p.UpdatedBy = 1, at(3), "staff:x"
		must(t, save(t, s, p))
		got, err := get(t, s, "0001")
		must(t, err)
		if !reflect.DeepEqual(p, got) {
			t.Errorf("policy read back differs:\nsaved %+v\nread  %+v", p, got)
		}

		q := emoney.DefaultBankPolicy("0005")
		q.Enabled = false
		q.Version, q.UpdatedAt, q.UpdatedBy = 1, at(4), "cli"
		must(t, save(t, s, q))
		var all []emoney.BankPolicy
		must(t, s.View(c, func(tx emoney.ReadTx) error {
			var err error
			all, err = tx.BankPolicies(c)
			return err
		}))
		if len(all) != 2 || all[0].Bank != "0001" || all[1].Bank != "0005" || all[1].Enabled || !all[0].TopUps.Pulled {
			t.Errorf("list = %+v, want 0001 (topups pulled) then 0005 (disabled)", all)
		}
	})

	t.Run("OptimisticConcurrency", func(t *testing.T) {
		s, _ := open(t, newDB)
		p := emoney.DefaultBankPolicy("0009")
		p.UpdatedAt, p.UpdatedBy = at(1), "cli"
		wantCode(t, save(t, s, p), emoney.EInvalid) // version 0
		p.Version = 2
		wantCode(t, save(t, s, p), emoney.EConflict) // nothing stored: only version 1 may be saved
		p.Version = 1
		must(t, save(t, s, p))
		wantCode(t, save(t, s, p), emoney.EConflict) // version 1 again: someone stored it first
		p.Version, p.MatchLink = 2, 99
		must(t, save(t, s, p))
		stale := p
		stale.Version, stale.MatchLink = 2, 50 // made from version 1, as p was
		wantCode(t, save(t, s, stale), emoney.EConflict)
		p.Version = 4 // skips a version
		wantCode(t, save(t, s, p), emoney.EConflict)
		got, err := get(t, s, "0009")
		must(t, err)
		if got.Version != 2 || got.MatchLink != 99 {
			t.Errorf("after refused saves: version %d, link %d; want version 2, link 99", got.Version, got.MatchLink)
		}
	})

	t.Run("RacingSaves", func(t *testing.T) {
		s, o := open(t, newDB)
		s2 := o(t)
		t.Cleanup(func() { s2.Close() })
		base := emoney.DefaultBankPolicy("0001")
		base.Version, base.UpdatedAt, base.UpdatedBy = 1, at(1), "cli"
		must(t, save(t, s, base))
		const n = 8
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				p := base
				p.Version, p.ReconsentDays = 2, 100+i
				st := s
				if i%2 == 1 {
					st = s2
				}
				errs[i] = save(t, st, p)
			}()
		}
		wg.Wait()
		won := -1
		for i, err := range errs {
			switch emoney.ErrorCode(err) {
			case "":
				if won >= 0 {
					t.Fatalf("saves %d and %d of version 2 both succeeded", won, i)
				}
				won = i
			case emoney.EConflict:
			default:
				t.Fatalf("save %d: %v, want success or conflict", i, err)
			}
		}
		if won < 0 {
			t.Fatal("no save of version 2 succeeded")
		}
		got, err := get(t, s, "0001")
		must(t, err)
		if got.Version != 2 || got.ReconsentDays != 100+won {
			t.Errorf("stored version %d, re-consent %d; want the winner's (version 2, %d)", got.Version, got.ReconsentDays, 100+won)
		}
	})
}
