package storetest

import (
	"reflect"
	"sync"
	"testing"
	"time"

	"emoney"
)

// runRisk covers the risk engine's rules (saves with optimistic concurrency, from two handles
// racing) and decisions (saved in batches, a repeat skipped, read by id, by time and by wallet).
func runRisk(t *testing.T, newDB NewDatabase) {
	rules := func(t *testing.T, s emoney.Store) []emoney.RiskRule {
		t.Helper()
		var rs []emoney.RiskRule
		must(t, s.View(ctx(t), func(tx emoney.ReadTx) error {
			var err error
			rs, err = tx.RiskRules(ctx(t))
			return err
		}))
		return rs
	}
	save := func(s emoney.Store, r emoney.RiskRule, expected int64) error {
		return s.Update(ctx(t), func(tx emoney.Tx) error { return tx.SaveRiskRule(ctx(t), r, expected) })
	}

	t.Run("Rules", func(t *testing.T) {
		s, o := open(t, newDB)
		if rs := rules(t, s); len(rs) != 0 {
			t.Fatalf("rules of an empty store: %+v", rs)
		}
		at := time.Date(2026, 12, 8, 1, 2, 3, 456000, time.UTC)
		r := emoney.RiskRule{ID: "new-link-big-topup", Description: "新しい連携 and a big top-up", Expression: `type == "topup" && amount > 50000`,
			Action: emoney.RiskReview, Weight: 40, Mode: emoney.RuleEnabled, UpdatedAt: at, UpdatedBy: "staff:x"}
		must(t, save(s, r, 0))
		b := r
		b.ID, b.Mode = "a-shadow", emoney.RuleShadow
		must(t, save(s, b, 0))
		wantCode(t, save(s, r, 0), emoney.EConflict) // the id is taken
		got := rules(t, s)
		r.Version, b.Version = 1, 1
		if !reflect.DeepEqual(got, []emoney.RiskRule{b, r}) {
			t.Fatalf("rules:\n got %+v\nwant %+v", got, []emoney.RiskRule{b, r})
		}
		// A change names the version it changes.
		r2 := r
		r2.Weight, r2.Mode = 60, emoney.RuleDisabled
		must(t, save(s, r2, 1))
		wantCode(t, save(s, r2, 1), emoney.EConflict)
		unknown := r2
		unknown.ID = "nope"
		wantCode(t, save(s, unknown, 3), emoney.ENotFound)
		if got := rules(t, s); len(got) != 2 || got[1].Version != 2 || got[1].Weight != 60 || got[1].Mode != emoney.RuleDisabled {
			t.Errorf("after the change: %+v", got)
		}
		// Two handles changing the same version: exactly one wins.
		second := o(t)
		t.Cleanup(func() { second.Close() })
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				st := s
				if i%2 == 1 {
					st = second
				}
				c := r2
				c.Weight = i
				errs[i] = save(st, c, 2)
			}()
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch emoney.ErrorCode(err) {
			case "":
				won++
			case emoney.EConflict:
			default:
				t.Error(err)
			}
		}
		if won != 1 {
			t.Errorf("%d racing saves of one version won, want 1", won)
		}
	})

	t.Run("Decisions", func(t *testing.T) {
		s, _ := open(t, newDB)
		c := ctx(t)
		ids := &emoney.Monotonic{}
		t0 := time.Date(2026, 12, 8, 9, 0, 0, 0, time.UTC)
		var ds []emoney.Decision
		for i := range 150 {
			w := "W1"
			if i%3 == 0 {
				w = "W2"
			}
			d := emoney.Decision{ID: ids.NewID(), Event: "req-" + string(rune('a'+i%26)), Type: "transfer", Wallet: w, Amount: int64(i),
				Outcome: emoney.RiskAllow, Score: i % 101, Inputs: []byte(`{"amount":` + itoa(i) + `}`), EventData: []byte(`{"v":1}`), LatencyUS: int64(i), At: t0.Add(time.Duration(i) * time.Minute)}
			if i%10 == 0 {
				d.Outcome, d.Rules, d.Shadow = emoney.RiskReview, []string{"r1", "r2"}, []string{"s1"}
			}
			ds = append(ds, d)
		}
		must(t, s.Update(c, func(tx emoney.Tx) error { return tx.SaveDecisions(c, ds[:100]) }))
		// A retried batch: what is there already is skipped.
		must(t, s.Update(c, func(tx emoney.Tx) error { return tx.SaveDecisions(c, ds) }))
		must(t, s.View(c, func(tx emoney.ReadTx) error {
			got, err := tx.Decision(c, ds[10].ID)
			must(t, err)
			want := ds[10]
			if got.ID != want.ID || got.Outcome != emoney.RiskReview || !reflect.DeepEqual(got.Rules, want.Rules) || !reflect.DeepEqual(got.Shadow, want.Shadow) ||
				string(got.Inputs) != string(want.Inputs) || string(got.EventData) != string(want.EventData) || !got.At.Equal(want.At) || got.Score != want.Score || got.Wallet != "W1" && got.Wallet != "W2" {
				t.Errorf("decision:\n got %+v\nwant %+v", got, want)
			}
			if plain, _ := tx.Decision(c, ds[1].ID); plain.Rules == nil || len(plain.Rules) != 0 {
				t.Errorf("a decision with no rules reads %#v, want an empty list", plain.Rules)
			}
			_, err = tx.Decision(c, ids.NewID())
			wantCode(t, err, emoney.ENotFound)
			// All since a time, in pages.
			var all []emoney.Decision
			after := emoney.ID{}
			for {
				page, err := tx.Decisions(c, "", t0.Add(30*time.Minute), after, 40)
				must(t, err)
				all = append(all, page...)
				if len(page) < 40 {
					break
				}
				after = page[len(page)-1].ID
			}
			if len(all) != 120 || all[0].ID != ds[30].ID || all[119].ID != ds[149].ID {
				t.Errorf("decisions since 30 min: %d, first %v", len(all), all[0].ID)
			}
			w2, err := tx.Decisions(c, "W2", t0, emoney.ID{}, 1000)
			must(t, err)
			if len(w2) != 50 {
				t.Errorf("W2's decisions: %d, want 50", len(w2))
			}
			for _, d := range w2 {
				if d.Wallet != "W2" {
					t.Errorf("W2's decisions hold %s's", d.Wallet)
				}
			}
			return nil
		}))
	})
}

func itoa(i int) string {
	const digits = "0123456789"
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{digits[i%10]}, b...)
	}
	return string(b)
}
