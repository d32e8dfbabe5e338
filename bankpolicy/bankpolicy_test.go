package bankpolicy_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"emoney"
	"emoney/audit"
	"emoney/bankpolicy"
	"emoney/internal/fakeclock"
	"emoney/sqlite"
)

func open(t *testing.T) emoney.Store {
	t.Helper()
	s, err := sqlite.Open(filepath.Join(t.TempDir(), "e.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := emoney.ErrorCode(err); got != code {
		t.Fatalf("error %v, want code %q", err, code)
	}
}

// Two services over one database stand for two instances: a switch pulled on one is enforced
// there at once, and on the other once its cache is MaxAge old, not before.
func TestChangeReachesOtherInstanceWithinMaxAge(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	clk := fakeclock.New(time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC))
	a := bankpolicy.New(s, bankpolicy.Config{Now: clk.Now})
	b := bankpolicy.New(s, bankpolicy.Config{Now: clk.Now})
	if err := b.Check(ctx, "0001", emoney.SwitchTopUps); err != nil { // b caches "nothing pulled"
		t.Fatal(err)
	}
	if _, err := a.PullKillSwitch(ctx, "0001", emoney.SwitchTopUps, "phishing wave", time.Time{}, "cli"); err != nil {
		t.Fatal(err)
	}
	err := a.Check(ctx, "0001", emoney.SwitchTopUps)
	wantCode(t, err, emoney.ESuspended)
	var susp *bankpolicy.Suspended
	if !asSuspended(err, &susp) || susp.Err.Reason != bankpolicy.ReasonTopUpsOff || susp.RetryAfter != 0 {
		t.Fatalf("the instance that pulled it: %#v, want suspended topups_off without retry_after", err)
	}
	clk.Add(bankpolicy.MaxAge - time.Millisecond)
	if err := b.Check(ctx, "0001", emoney.SwitchTopUps); err != nil {
		t.Fatalf("the other instance refreshed before its cache was MaxAge old: %v (the test pins the mechanism)", err)
	}
	clk.Add(time.Millisecond)
	wantCode(t, b.Check(ctx, "0001", emoney.SwitchTopUps), emoney.ESuspended)
	// Other switches and banks are untouched.
	for _, c := range []struct {
		code  string
		which emoney.KillSwitchName
	}{{"0001", emoney.SwitchWithdrawals}, {"0001", emoney.SwitchNewLinks}, {"9900", emoney.SwitchTopUps}} {
		if err := b.Check(ctx, c.code, c.which); err != nil {
			t.Errorf("%s %s: %v, want allowed", c.code, c.which, err)
		}
	}
	if _, err := b.Release(ctx, "0001", emoney.SwitchTopUps, "over", "cli"); err != nil {
		t.Fatal(err)
	}
	if err := b.Check(ctx, "0001", emoney.SwitchTopUps); err != nil {
		t.Fatalf("after release here: %v", err)
	}
	clk.Add(bankpolicy.MaxAge)
	if err := a.Check(ctx, "0001", emoney.SwitchTopUps); err != nil {
		t.Fatalf("after release elsewhere and MaxAge: %v", err)
	}
}

func asSuspended(err error, target **bankpolicy.Suspended) bool {
	s, ok := err.(*bankpolicy.Suspended)
	*target = s
	return ok
}

func TestSetVersionsAndAudit(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	clk := fakeclock.New(time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC))
	svc := bankpolicy.New(s, bankpolicy.Config{Now: clk.Now})

	p, err := svc.Load(ctx, "0001")
	if err != nil || p.Version != 0 || !p.Enabled || p.ReconsentDays != 180 || p.MatchLink != 90 || p.MatchReview != 70 {
		t.Fatalf("defaults: %+v, %v", p, err)
	}
	p.Enabled, p.MatchLink = false, 95
	_, err = svc.Set(ctx, "0001", p, "staff:a", 1)
	wantCode(t, err, emoney.EConflict) // nothing stored: version 0
	got, err := svc.Set(ctx, "0001", p, "staff:a", 0)
	if err != nil || got.Version != 1 || got.Enabled || got.UpdatedBy != "staff:a" {
		t.Fatalf("set: %+v, %v", got, err)
	}
	wantCode(t, svc.Check(ctx, "0001", emoney.SwitchWithdrawals), emoney.ESuspended) // disabled bank
	_, err = svc.Set(ctx, "0001", p, "staff:b", 0)
	wantCode(t, err, emoney.EConflict) // stale
	bad := p
	bad.MatchReview = 99
	_, err = svc.Set(ctx, "0001", bad, "staff:a", 1)
	wantCode(t, err, emoney.EInvalid)
	if emoney.ErrorField(err) != "match_review" {
		t.Errorf("field %q, want match_review", emoney.ErrorField(err))
	}

	until := clk.Now().Add(90 * time.Second)
	pulled, err := svc.PullKillSwitch(ctx, "0001", emoney.SwitchNewLinks, "bank asked", until, "staff:b")
	if err != nil || pulled.Version != 2 || !pulled.NewLinks.Pulled || pulled.NewLinks.PulledBy != "staff:b" {
		t.Fatalf("pull: %+v, %v", pulled, err)
	}
	_, err = svc.PullKillSwitch(ctx, "0001", emoney.SwitchNewLinks, "again", time.Time{}, "staff:b")
	wantCode(t, err, emoney.EConflict)
	_, err = svc.PullKillSwitch(ctx, "0001", emoney.SwitchTopUps, " ", time.Time{}, "staff:b")
	wantCode(t, err, emoney.EInvalid)
	// A Set keeps the switches as they are.
	p.Enabled = true
	got, err = svc.Set(ctx, "0001", p, "staff:a", 2)
	if err != nil || got.Version != 3 || !got.NewLinks.Pulled {
		t.Fatalf("set after pull: %+v, %v", got, err)
	}
	err = svc.NewLinksAllowed(ctx, "0001")
	if s, ok := err.(*bankpolicy.Suspended); !ok || s.RetryAfter != 90 || s.Err.Reason != bankpolicy.ReasonNewLinksOff {
		t.Fatalf("new links: %#v, want suspended new_links_off retry after 90 s", err)
	}
	_, err = svc.Release(ctx, "0001", emoney.SwitchTopUps, "not pulled", "cli")
	wantCode(t, err, emoney.EConflict)
	if _, err := svc.Release(ctx, "0001", emoney.SwitchNewLinks, "resolved", "cli"); err != nil {
		t.Fatal(err)
	}

	var entries []emoney.AuditEntry
	if err := s.View(ctx, func(tx emoney.ReadTx) error {
		return tx.ScanAudit(ctx, func(e emoney.AuditEntry) error { entries = append(entries, e); return nil })
	}); err != nil {
		t.Fatal(err)
	}
	want := []string{"bank_policy.set staff:a", "killswitch.pull staff:b", "bank_policy.set staff:a", "killswitch.release cli"}
	if len(entries) != len(want) {
		t.Fatalf("%d audit entries, want %d (refused changes leave none)", len(entries), len(want))
	}
	for i, e := range entries {
		if e.Action+" "+e.Actor != want[i] || e.Object != "bank:0001" {
			t.Errorf("entry %d: %s %s on %s, want %s on bank:0001", i, e.Action, e.Actor, e.Object, want[i])
		}
	}
	var d struct {
		Switch, Reason string
		Before, After  bankpolicy.View
	}
	if err := json.Unmarshal(entries[1].Detail, &d); err != nil {
		t.Fatal(err)
	}
	if d.Switch != "new_links" || d.Reason != "bank asked" || d.Before.KillSwitches.NewLinks.Pulled || !d.After.KillSwitches.NewLinks.Pulled || d.After.Version != 2 {
		t.Errorf("pull audit detail: %+v", d)
	}
	if r, err := audit.Verify(ctx, s); err != nil || !r.OK() {
		t.Errorf("audit chain: %+v, %v", r, err)
	}
	_, err = svc.Get(ctx, "01")
	wantCode(t, err, emoney.ENotFound)
}
