package http_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"emoney"
	"emoney/bankpolicy"
	emhttp "emoney/http"
	"emoney/internal/testkit"
	"emoney/money"
)

// Changing a bank's policy or moving a kill switch needs a step-up younger than five minutes,
// as other staff decisions do; the Go client covers the whole round, If-Match-style versions
// included.
func TestBankPolicyNeedsFreshStepUp(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Now()}
	k := testkit.New(t, nil, clk.Now)
	pol := bankpolicy.New(k.Store, bankpolicy.Config{Now: clk.Now})
	srv := emhttp.New(emhttp.Config{}, emhttp.Deps{Store: k.Store, Ledger: k.Ledger, Identity: k.Identity,
		Money: money.New(k.Ledger, k.Identity, money.Config{}), BankPolicies: pol})
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)

	_, code, err := k.Identity.CreateStaff(ctx, "admin@example.com", emoney.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	admin := &emhttp.Client{Base: ts.URL}
	secret, _, err := admin.EnrolStaff(ctx, code, "a long staff passphrase")
	if err != nil {
		t.Fatal(err)
	}
	otp, _ := totp.GenerateCode(secret, clk.Now())
	if err := admin.LoginOTP(ctx, "admin@example.com", "a long staff passphrase", otp, "desk"); err != nil {
		t.Fatal(err)
	}
	b, err := admin.Bank(ctx, "0001")
	if err != nil || b.Configured || b.Policy.Version != 0 || b.Policy.ReconsentDays != 180 {
		t.Fatalf("defaults: %+v %v", b, err)
	}

	clk.Add(6 * time.Minute) // the sign-in step-up is stale now
	s := emhttp.SettingsOf(b.Policy)
	s.MatchLink = 95
	for name, call := range map[string]func() error{
		"policy": func() error { _, err := admin.SetBankPolicy(ctx, "0001", s); return err },
		"pull": func() error {
			_, err := admin.PullKillSwitch(ctx, "0001", "new_links", "bank asked", time.Time{})
			return err
		},
	} {
		if err := call(); emoney.ErrorCode(err) != emoney.EChallengeRequired {
			t.Errorf("%s with a stale step-up: %v, want challenge_required", name, err)
		}
	}
	if p, _ := pol.Load(ctx, "0001"); p.Version != 0 {
		t.Fatalf("a challenged request changed the policy: %+v", p)
	}

	next, _ := totp.GenerateCode(secret, clk.Now())
	if err := admin.StepUp(ctx, next); err != nil {
		t.Fatal(err)
	}
	got, err := admin.SetBankPolicy(ctx, "0001", s)
	if err != nil || got.Policy.Version != 1 || got.Policy.MatchLink != 95 {
		t.Fatalf("set: %+v %v", got, err)
	}
	if _, err := admin.SetBankPolicy(ctx, "0001", s); emoney.ErrorCode(err) != emoney.EConflict {
		t.Errorf("the same version again: %v, want conflict", err)
	}
	until := clk.Now().Add(time.Hour)
	if _, err := admin.PullKillSwitch(ctx, "0001", "new_links", "bank asked", until); err != nil {
		t.Fatal(err)
	}
	// Linking (next session) asks NewLinksAllowed: suspended, told when to retry.
	err = pol.NewLinksAllowed(ctx, "0001")
	if sp, ok := err.(*bankpolicy.Suspended); !ok || sp.RetryAfter != 3600 {
		t.Errorf("new links: %#v, want suspended with retry after 3600 s", err)
	}
	if _, err := admin.ReleaseKillSwitch(ctx, "0001", "new_links", "done"); err != nil {
		t.Fatal(err)
	}
	list, err := admin.Banks(ctx)
	if err != nil || len(list) != 1 || list[0].Code != "0001" || list[0].Policy.Version != 3 || list[0].Policy.KillSwitches.NewLinks.Pulled {
		t.Fatalf("list: %+v %v", list, err)
	}
}
