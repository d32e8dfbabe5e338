package http_test

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"emoney"
	emhttp "emoney/http"
	"emoney/ledger"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// Moving held money needs a step-up younger than five minutes: a stale staff session is
// challenged, and a fresh step-up lets the same request through.
func TestStaffDecisionNeedsFreshStepUp(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Now()}
	st := newStack(t, clk.Now)
	l, ids, al := st.ledger, st.identity, st.alerts
	_, code, err := ids.CreateStaff(ctx, "analyst@example.com", emoney.RoleAnalyst)
	if err != nil {
		t.Fatal(err)
	}
	secret, _, err := ids.EnrolStaff(ctx, code, "a long staff passphrase")
	if err != nil {
		t.Fatal(err)
	}
	otp, _ := totp.GenerateCode(secret, clk.Now())
	token, _, err := ids.Login(ctx, "analyst@example.com", "a long staff passphrase", otp, "desk", netip.MustParseAddr("192.0.2.1"))
	if err != nil {
		t.Fatal(err)
	}
	bank, _ := l.OpenAccount(ctx, ledger.AccountSpec{Name: "bank:1", Kind: emoney.AccountBank})
	w, _ := l.OpenAccount(ctx, ledger.AccountSpec{Name: "wallet:1", Kind: emoney.AccountWallet})
	_, a, err := al.Hold(ctx, "risk", "h", ledger.Op{From: bank.ID, To: w.ID, Amount: 100, Code: "topup"}, "wallet:1", "rule:x")
	if err != nil {
		t.Fatal(err)
	}

	clk.Add(6 * time.Minute) // the sign-in's step-up is stale now
	analyst := &emhttp.Client{Base: st.url, Token: token}
	err = analyst.Decide(ctx, a.ID.String(), true)
	var e *emoney.Error
	if !errors.As(err, &e) || e.Code != emoney.EChallengeRequired {
		t.Fatalf("stale step-up: %v", err)
	}
	next, _ := totp.GenerateCode(secret, clk.Now())
	if err := analyst.StepUp(ctx, next); err != nil {
		t.Fatal(err)
	}
	if err := analyst.Decide(ctx, a.ID.String(), true); err != nil {
		t.Fatalf("after a fresh step-up: %v", err)
	}
	bal, _ := l.Balance(ctx, w.ID, emoney.JPY)
	if bal.Balance != 100 {
		t.Errorf("released hold not posted: %+v", bal)
	}
}
