package risk_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"emoney"
	"emoney/risk"
	"emoney/sqlite"
)

var t0 = time.Date(2026, 12, 8, 11, 0, 0, 0, time.UTC) // 20:00 in Tokyo

// engine returns an engine over the default rules with no store.
func engine(t *testing.T) *risk.Engine {
	t.Helper()
	e := risk.New(risk.Config{})
	t.Cleanup(e.Close)
	return e
}

func ev(typ risk.Type, wallet string, at time.Duration, amount int64) risk.Event {
	return risk.Event{Type: typ, Wallet: wallet, At: t0.Add(at), Amount: amount, KYCTier: 2, Available: -1, Device: "dev-" + wallet}
}

func wantOutcome(t *testing.T, j risk.Judgement, outcome emoney.RiskAction, rule string) {
	t.Helper()
	if j.Outcome != outcome || (rule != "" && !slices.Contains(j.Rules, rule)) {
		t.Errorf("%s of %d: %s %v (shadow %v), want %s by %q", j.Type, j.Amount, j.Outcome, j.Rules, j.Shadow, outcome, rule)
	}
}

func TestDefaultRulesCompileAndSayWhy(t *testing.T) {
	rs := risk.DefaultRules()
	if len(rs.Rules()) < 10 {
		t.Fatalf("%d default rules", len(rs.Rules()))
	}
	for _, r := range rs.Rules() {
		if len(r.Description) < 20 || !strings.Contains(r.Description, "T") {
			t.Errorf("rule %s: its description must say which THREATS.md row it is for: %q", r.ID, r.Description)
		}
	}
}

func TestCompileRefusesBadRules(t *testing.T) {
	ok := emoney.RiskRule{ID: "r", Expression: `amount > 10`, Action: emoney.RiskReview, Weight: 10, Mode: emoney.RuleEnabled}
	if _, err := risk.Compile(ok); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, field, msg string
		edit             func(*emoney.RiskRule)
	}{
		{"syntax", "expression", "Syntax error", func(r *emoney.RiskRule) { r.Expression = "amount > " }},
		{"unknown variable", "expression", "undeclared reference to 'balance'", func(r *emoney.RiskRule) { r.Expression = "balance > 1" }},
		{"not a bool", "expression", "bool", func(r *emoney.RiskRule) { r.Expression = "amount + 1" }},
		{"type mismatch", "expression", "no matching overload", func(r *emoney.RiskRule) { r.Expression = `amount > "x"` }},
		{"too costly", "expression", "over the limit", func(r *emoney.RiskRule) {
			r.Expression = `[` + strings.Repeat("1,", 60) + `1].all(x, [` + strings.Repeat("1,", 60) + `1].all(y, x + y + amount > 0))`
		}},
		{"allow is no action", "action", "", func(r *emoney.RiskRule) { r.Action = emoney.RiskAllow }},
		{"weight", "weight", "", func(r *emoney.RiskRule) { r.Weight = 101 }},
		{"mode", "mode", "", func(r *emoney.RiskRule) { r.Mode = "on" }},
		{"id", "id", "", func(r *emoney.RiskRule) { r.ID = "Bad ID" }},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := ok
			c.edit(&r)
			_, err := risk.Compile(r)
			if emoney.ErrorCode(err) != emoney.EInvalid || emoney.ErrorField(err) != c.field || !strings.Contains(err.Error(), c.msg) {
				t.Errorf("%v, want invalid in %s saying %q", err, c.field, c.msg)
			}
		})
	}
}

func TestRulesFile(t *testing.T) {
	rs, err := risk.ParseRulesFile([]byte(`{"version":1,"rules":[{"id":"big","description":"d","expression":"amount >= 100","action":"block","weight":70},
		{"id":"watch","description":"d","expression":"amount >= 10","action":"review","weight":5,"mode":"shadow"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	e := risk.New(risk.Config{Rules: rs})
	defer e.Close()
	j := e.Decide(ev(risk.Transfer, "w", 0, 150), false)
	wantOutcome(t, j, emoney.RiskBlock, "big")
	if j.Score != 70 || !slices.Equal(j.Shadow, []string{"watch"}) {
		t.Errorf("score %d, shadow %v", j.Score, j.Shadow)
	}
	if j := e.Decide(ev(risk.Transfer, "w", 0, 50), false); j.Outcome != emoney.RiskAllow || len(j.Rules) != 0 || !slices.Equal(j.Shadow, []string{"watch"}) {
		t.Errorf("a shadow rule decided: %+v", j)
	}
	for _, bad := range []string{`{"version":2,"rules":[]}`, `{"version":1,"rulez":[]}`,
		`{"version":1,"rules":[{"id":"a","expression":"true","action":"block"},{"id":"a","expression":"true","action":"block"}]}`} {
		if _, err := risk.ParseRulesFile([]byte(bad)); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

// The 2020 scheme with the victim's identity (T4): the link succeeds, so the engine must catch
// the big top-up through the new link and the drain that follows.
func TestT4NewLinkTopUpAndDrain(t *testing.T) {
	e := engine(t)
	link := ev(risk.BankLink, "mule", 0, 0)
	link.OK, link.Account, link.Bank, link.WalletOpenedAt = true, "acct-victim", "0001", t0.Add(-2*time.Hour)
	wantOutcome(t, e.Decide(link, false), emoney.RiskAllow, "")

	small := ev(risk.TopUp, "mule", time.Minute, 9_000)
	small.Account, small.Bank, small.LinkedAt, small.WalletOpenedAt = "acct-victim", "0001", t0, t0.Add(-2*time.Hour)
	wantOutcome(t, e.Decide(small, false), emoney.RiskAllow, "")
	big := small
	big.At, big.Amount = t0.Add(2*time.Minute), 60_000
	wantOutcome(t, e.Decide(big, false), emoney.RiskReview, "new-link-big-topup")

	drain := ev(risk.Transfer, "mule", 10*time.Minute, 60_000)
	drain.To, drain.Available, drain.WalletOpenedAt = "collector", 69_000, t0.Add(-2*time.Hour)
	wantOutcome(t, e.Decide(drain, false), emoney.RiskReview, "topup-then-drain")

	// An honest customer of a year tops up through an old link and pays rent: nothing fires.
	old := ev(risk.TopUp, "honest", time.Minute, 60_000)
	old.Account, old.LinkedAt, old.WalletOpenedAt = "acct-honest", t0.Add(-300*24*time.Hour), t0.Add(-365*24*time.Hour)
	wantOutcome(t, e.Decide(old, false), emoney.RiskAllow, "")
	rent := ev(risk.Transfer, "honest", 2*time.Hour, 55_000)
	rent.To, rent.Available, rent.WalletOpenedAt = "landlord", 60_000, t0.Add(-365*24*time.Hour)
	wantOutcome(t, e.Decide(rent, false), emoney.RiskAllow, "")

	// The same bank account linked to a second wallet within 30 days.
	again := link
	again.Wallet, again.At = "mule-2", t0.Add(time.Hour)
	wantOutcome(t, e.Decide(again, false), emoney.RiskReview, "link-account-moved")
}

// Account takeover (T5): a drain from a new device to a first-time payee is challenged, and the
// same operation with a step-up bound to it goes through.
func TestT5ChallengeAndStepUp(t *testing.T) {
	e := engine(t)
	pay := ev(risk.Transfer, "owner", 0, 1_000)
	pay.To, pay.Available = "friend", 80_000
	wantOutcome(t, e.Decide(pay, false), emoney.RiskAllow, "")

	take := ev(risk.Transfer, "owner", time.Hour, 70_000)
	take.To, take.Available, take.Device = "mule", 79_000, "attacker-phone"
	wantOutcome(t, e.Decide(take, false), emoney.RiskChallenge, "new-device-drain")
	j := e.Decide(take, true)
	if j.Outcome != emoney.RiskAllow || !j.Challenged || !slices.Contains(j.Rules, "new-device-drain") {
		t.Errorf("with the step-up: %+v", j)
	}
	// A step-up does not lift a review.
	big := ev(risk.Transfer, "fresh", 0, 60_000)
	big.To, big.ToOpenedAt, big.Device = "newborn", t0.Add(-time.Hour), "dev-x"
	if j := e.Decide(big, true); j.Outcome != emoney.RiskReview {
		t.Errorf("a review with a step-up: %+v", j)
	}
}

func TestLoginStreaks(t *testing.T) {
	e := engine(t)
	for i := range 5 {
		l := ev(risk.Login, "victim", time.Duration(i)*time.Second, 0)
		l.Factor = "password"
		wantOutcome(t, e.Decide(l, false), emoney.RiskAllow, "")
	}
	l := ev(risk.Login, "victim", 10*time.Second, 0)
	l.OK, l.Factor = true, "password"
	wantOutcome(t, e.Decide(l, false), emoney.RiskChallenge, "login-guessing")
	// A good login resets the streak.
	wantOutcome(t, e.Decide(l, false), emoney.RiskAllow, "")
	for i := range 5 {
		o := ev(risk.Login, "victim", time.Minute+time.Duration(i)*time.Second, 0)
		o.Factor = "totp"
		e.Decide(o, false)
	}
	wantOutcome(t, e.Decide(l, false), emoney.RiskBlock, "otp-guessing")
}

// A mule ring (T6): new wallets fan money into one collector.
func TestT6FanIn(t *testing.T) {
	e := engine(t)
	for i := range 3 {
		w := fmt.Sprintf("mule-%d", i)
		tr := ev(risk.Transfer, w, time.Duration(i)*time.Minute, 8_000)
		tr.To, tr.WalletOpenedAt = "collector", t0.Add(-24*time.Hour)
		wantOutcome(t, e.Decide(tr, false), emoney.RiskAllow, "")
	}
	tr := ev(risk.Transfer, "mule-3", 10*time.Minute, 8_000)
	tr.To, tr.WalletOpenedAt = "collector", t0.Add(-24*time.Hour)
	wantOutcome(t, e.Decide(tr, false), emoney.RiskReview, "receiver-fan-in")
	// Old wallets paying one shop-owner friend do not count as new.
	for i := range 5 {
		w := fmt.Sprintf("regular-%d", i)
		tr := ev(risk.Transfer, w, time.Duration(i)*time.Minute, 8_000)
		tr.To, tr.WalletOpenedAt = "popular", t0.Add(-400*24*time.Hour)
		wantOutcome(t, e.Decide(tr, false), emoney.RiskAllow, "")
	}
	// Shared device: the fourth wallet on one phone.
	for i := range 4 {
		p := ev(risk.Payment, fmt.Sprintf("ring-%d", i), time.Duration(i)*time.Second, 6_000)
		p.Merchant, p.Device = "fence", "one-phone"
		j := e.Decide(p, false)
		if want := emoney.RiskAllow; i == 3 {
			wantOutcome(t, j, emoney.RiskReview, "shared-device-money")
		} else {
			wantOutcome(t, j, want, "")
		}
	}
}

func TestWindowsSlide(t *testing.T) {
	rs, err := risk.ParseRulesFile([]byte(`{"version":1,"rules":[
		{"id":"m","description":"d","expression":"out_count_1m >= 3","action":"challenge","weight":1},
		{"id":"h","description":"d","expression":"out_sum_1h >= 300","action":"challenge","weight":1},
		{"id":"d","description":"d","expression":"out_count_24h >= 5","action":"challenge","weight":1},
		{"id":"m30","description":"d","expression":"out_sum_30d >= 700","action":"challenge","weight":1}]}`))
	if err != nil {
		t.Fatal(err)
	}
	e := risk.New(risk.Config{Rules: rs})
	defer e.Close()
	send := func(at time.Duration) risk.Judgement {
		tr := ev(risk.Transfer, "w", at, 100)
		tr.To = "r"
		return e.Decide(tr, true) // stepped up: challenges are met, and recorded
	}
	at := time.Duration(0)
	fired := func(j risk.Judgement) string { return strings.Join(j.Rules, ",") }
	for i, want := range []string{"", "", "", "h,m"} { // 3 in a minute (the 4th sees 3)
		if got := fired(send(at + time.Duration(i)*time.Second)); got != want {
			t.Errorf("send %d: %q, want %q", i, got, want)
		}
	}
	// 2 minutes later the minute is clear, the hour still holds 400.
	if got := fired(send(at + 2*time.Minute)); got != "h" {
		t.Errorf("2 min later: %q, want h", got)
	}
	// 2 hours later the hour is clear; the day holds 5, 30 days 500.
	if got := fired(send(at + 2*time.Hour)); got != "d" {
		t.Errorf("2 h later: %q, want d", got)
	}
	// 2 days later the day is clear; the month holds 600, this one sees it.
	if got := fired(send(at + 48*time.Hour)); got != "" {
		t.Errorf("2 days later: %q, want none", got)
	}
	if got := fired(send(at + 49*time.Hour)); got != "m30" {
		t.Errorf("a month's 700: %q, want m30", got)
	}
	if got := fired(send(at + 40*24*time.Hour)); got != "" {
		t.Errorf("40 days later: %q, want none", got)
	}
}

// Many decisions for one wallet at once: each sees the ones before it, none is lost.
func TestConcurrentDecisionsCountEachOnce(t *testing.T) {
	rs, err := risk.ParseRulesFile([]byte(`{"version":1,"rules":[
		{"id":"cap","description":"d","expression":"out_count_24h >= 100","action":"block","weight":1}]}`))
	if err != nil {
		t.Fatal(err)
	}
	e := risk.New(risk.Config{Rules: rs})
	defer e.Close()
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 40 {
				tr := ev(risk.Transfer, "hot", time.Duration(g*40+i)*time.Millisecond, 1)
				tr.To = fmt.Sprintf("r%d", i%5)
				if e.Decide(tr, false).Outcome == emoney.RiskAllow {
					mu.Lock()
					allowed++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if allowed != 100 {
		t.Errorf("%d allowed past a cap of 100 in 24 h", allowed)
	}
}

func TestFeaturesStayWithinTheirBound(t *testing.T) {
	e := risk.New(risk.Config{MaxKeys: 640})
	defer e.Close()
	for i := range 5000 {
		tr := ev(risk.Transfer, fmt.Sprintf("w%d", i), time.Duration(i)*time.Second, 10)
		tr.To, tr.IP = fmt.Sprintf("r%d", i), fmt.Sprintf("10.0.%d.%d", i/250, i%250)
		e.Decide(tr, false)
	}
	if n := e.Features().Len(); n > 640 {
		t.Errorf("%d entities kept, bound 640", n)
	}
}

// Decisions are recorded with what the rules saw, and a new engine on the same store rebuilds
// its features from them: a restart forgets nothing a rule counts.
func TestRecordedAndRebuilt(t *testing.T) {
	s, err := sqlite.Open(filepath.Join(t.TempDir(), "risk.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	now := t0.Add(time.Hour)
	e := risk.New(risk.Config{Store: s, Now: func() time.Time { return now }})
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	var ids []emoney.ID
	for i := range 3 {
		tr := ev(risk.Transfer, fmt.Sprintf("mule-%d", i), time.Duration(i)*time.Minute, 8_000)
		tr.To, tr.WalletOpenedAt, tr.IP = "collector", t0.Add(-24*time.Hour), "192.0.2.1"
		ids = append(ids, e.Decide(tr, false).ID)
	}
	// A retried request decided again (the same event id) is recorded twice and counted once,
	// also when the features are rebuilt.
	for range 2 {
		tr := ev(risk.Transfer, "retrier", time.Minute, 100)
		tr.ID, tr.To = "user:r:key-1:abc", "someone"
		e.Decide(tr, false)
	}
	e.Close()

	var d emoney.Decision
	if err := s.View(ctx, func(tx emoney.ReadTx) error {
		var err error
		d, err = tx.Decision(ctx, ids[2])
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if d.Outcome != emoney.RiskAllow || d.Type != "transfer" || !strings.Contains(string(d.Inputs), `"receiver_new_senders_24h":2`) ||
		!strings.Contains(string(d.EventData), `"to":"collector"`) {
		t.Errorf("recorded decision: %+v\ninputs %s\nevent %s", d, d.Inputs, d.EventData)
	}
	// The rules were seeded into the store on the first start.
	var stored []emoney.RiskRule
	s.View(ctx, func(tx emoney.ReadTx) error { stored, err = tx.RiskRules(ctx); return err })
	if len(stored) != len(risk.DefaultRules().Rules()) || stored[0].Version != 1 || stored[0].UpdatedBy != "system:risk" {
		t.Errorf("seeded rules: %d, first %+v", len(stored), stored[0])
	}

	e2 := risk.New(risk.Config{Store: s, Now: func() time.Time { return now }})
	defer e2.Close()
	if err := e2.Start(ctx); err != nil {
		t.Fatal(err)
	}
	tr := ev(risk.Transfer, "mule-3", 10*time.Minute, 8_000)
	tr.To, tr.WalletOpenedAt = "collector", t0.Add(-24*time.Hour)
	wantOutcome(t, e2.Decide(tr, false), emoney.RiskReview, "receiver-fan-in")
	next := ev(risk.Transfer, "retrier", 2*time.Minute, 100)
	next.To = "someone"
	if j := e2.Decide(next, false); !strings.Contains(string(j.Inputs), `"out_count_24h":1,`) {
		t.Errorf("after a retried event and a restart: %s, want out_count_24h 1", j.Inputs)
	}

	// A rule changed in the store (by another instance) is in force after a refresh.
	r := stored[0]
	r.Mode = emoney.RuleDisabled
	if err := s.Update(ctx, func(tx emoney.Tx) error { return tx.SaveRiskRule(ctx, r, 1) }); err != nil {
		t.Fatal(err)
	}
	if err := e2.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	for _, got := range e2.Rules().Rules() {
		if got.ID == r.ID && (got.Mode != emoney.RuleDisabled || got.Version != 2) {
			t.Errorf("after refresh: %+v", got)
		}
	}
}

func TestEventLogRoundTrip(t *testing.T) {
	in := risk.Event{ID: "e1", Type: risk.TopUp, At: t0, Wallet: "w", Device: "d", IP: "i", Amount: 5, Bank: "0001", Account: "a",
		KYCTier: 2, Available: 10, LinkedAt: t0.Add(-time.Hour), WalletOpenedAt: t0.Add(-48 * time.Hour)}
	l := in.Log()
	out, err := l.Event()
	if err != nil {
		t.Fatal(err)
	}
	if out.ID != in.ID || !out.At.Equal(in.At) || out.Amount != 5 || out.KYCTier != 2 || out.Available != 10 || !out.LinkedAt.Equal(in.LinkedAt) || !out.WalletOpenedAt.Equal(in.WalletOpenedAt) {
		t.Errorf("round trip: %+v", out)
	}
	bad := l
	bad.TS = "yesterday"
	if _, err := bad.Event(); err == nil || !strings.Contains(err.Error(), "ts") {
		t.Errorf("a bad ts: %v", err)
	}
}

// docs/risk.md lists every variable a rule may use, and no other.
func TestDocsListEveryVariable(t *testing.T) {
	raw, err := os.ReadFile("../docs/risk.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	for _, name := range risk.VariableNames() {
		if !strings.Contains(doc, "| `"+name+"` |") {
			t.Errorf("docs/risk.md does not list the variable %s", name)
		}
	}
	if n := strings.Count(doc[strings.Index(doc, "## Variables"):strings.Index(doc, "## Features in memory")], "\n| `"); n != len(risk.VariableNames()) {
		t.Errorf("docs/risk.md lists %d variables, the engine has %d", n, len(risk.VariableNames()))
	}
}

// Times the windows cannot index are refused in a log line and clamped in a live event, never a
// panic (which would leave a wallet's lock held).
func TestAncientTimes(t *testing.T) {
	e := engine(t)
	old := ev(risk.Transfer, "w", 0, 1)
	old.ID, old.At = "e-old", time.Date(1969, 1, 1, 0, 0, 17, 0, time.UTC)
	e.Decide(old, false)
	e.Decide(ev(risk.Transfer, "w", 0, 1), false) // the wallet's lock is free
	l := old.Log()
	if _, err := l.Event(); err == nil || !strings.Contains(err.Error(), "ts") {
		t.Errorf("a log line from 1969: %v", err)
	}
}
