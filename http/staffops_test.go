package http_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"emoney"
	emhttp "emoney/http"
	"emoney/ledger"
)

// The Go client does the staff's whole round: enrolment, sign-in with a one-time code, a
// proposal, an approval challenged once the step-up went stale, the approval after a fresh one,
// and signing out everywhere; and a customer's payees.
func TestClientStaffRound(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Now()}
	st := newStack(t, clk.Now)
	l, ids, al := st.ledger, st.identity, st.alerts

	staff, secrets := map[string]*emhttp.Client{}, map[string]string{}
	for email, role := range map[string]emoney.Role{"maker@example.com": emoney.RoleAnalyst, "checker@example.com": emoney.RoleSeniorAnalyst} {
		_, code, err := ids.CreateStaff(ctx, email, role)
		if err != nil {
			t.Fatal(err)
		}
		c := &emhttp.Client{Base: st.url}
		secret, uri, err := c.EnrolStaff(ctx, code, "a long staff passphrase")
		if err != nil || secret == "" || uri == "" {
			t.Fatalf("enrol: %v", err)
		}
		if err := c.LoginOTP(ctx, email, "a long staff passphrase", "", "desk"); emoney.ErrorCode(err) != emoney.EUnauthorized {
			t.Errorf("staff sign-in without a code: %v", err)
		}
		otp, _ := totp.GenerateCode(secret, clk.Now())
		if err := c.LoginOTP(ctx, email, "a long staff passphrase", otp, "desk"); err != nil {
			t.Fatal(err)
		}
		staff[email], secrets[email] = c, secret
	}
	maker, checker := staff["maker@example.com"], staff["checker@example.com"]

	bank, _ := l.OpenAccount(ctx, ledger.AccountSpec{Name: "bank:1", Kind: emoney.AccountBank})
	w, _ := l.OpenAccount(ctx, ledger.AccountSpec{Name: "wallet:1", Kind: emoney.AccountWallet})
	_, a, err := al.Hold(ctx, "risk", "h", ledger.Op{From: bank.ID, To: w.ID, Amount: 250000, Code: "topup"}, "wallet:1", "rule:x")
	if err != nil {
		t.Fatal(err)
	}
	proposed, tr, err := maker.Release(ctx, a.ID.String())
	if err != nil || proposed.Status != "proposed" || tr != nil {
		t.Fatalf("release above the threshold: %v %+v %+v", err, proposed, tr)
	}
	queue, _, err := checker.Alerts(ctx, "proposed", "", 10)
	if err != nil || len(queue) != 1 || queue[0].ProposedBy != proposed.ProposedBy {
		t.Fatalf("proposed queue: %v %+v", err, queue)
	}

	clk.Add(6 * time.Minute) // the checker's sign-in step-up is stale now
	_, _, err = checker.Approve(ctx, a.ID.String())
	var e *emoney.Error
	if !errors.As(err, &e) || e.Code != emoney.EChallengeRequired {
		t.Fatalf("approval with a stale step-up: %v", err)
	}
	next, _ := totp.GenerateCode(secrets["checker@example.com"], clk.Now())
	if err := checker.StepUp(ctx, next); err != nil {
		t.Fatal(err)
	}
	approved, posted, err := checker.Approve(ctx, a.ID.String())
	if err != nil || approved.Status != "released" || posted.Kind != "post" || posted.Amount != 250000 {
		t.Fatalf("approval: %v %+v %+v", err, approved, posted)
	}
	if bal, _ := l.Balance(ctx, w.ID, emoney.JPY); bal.Balance != 250000 {
		t.Errorf("approved hold not posted: %+v", bal)
	}

	// Signing out everywhere ends the client's own session too.
	if n, err := maker.RevokeAllSessions(ctx); err != nil || n != 1 {
		t.Fatalf("revoke-all: %d %v", n, err)
	}
	if _, err := maker.Me(ctx); emoney.ErrorCode(err) != emoney.EUnauthorized {
		t.Errorf("after revoke-all: %v", err)
	}

	// A customer's payees.
	alice, bob := &emhttp.Client{Base: st.url}, &emhttp.Client{Base: st.url}
	if _, _, err := alice.SignUp(ctx, "alice@example.com", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	_, bobWallet, err := bob.SignUp(ctx, "bob@example.com", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if err := alice.Login(ctx, "alice@example.com", "correct horse battery", "phone"); err != nil {
		t.Fatal(err)
	}
	p, err := alice.AddPayee(ctx, bobWallet, "Bob")
	if err != nil || p.Wallet != bobWallet || p.Nickname != "Bob" {
		t.Fatalf("add payee: %v %+v", err, p)
	}
	list, next2, err := alice.Payees(ctx, "", 10)
	if err != nil || len(list) != 1 || list[0] != p || next2 != "" {
		t.Fatalf("payees: %v %+v %q", err, list, next2)
	}
	if err := alice.DeletePayee(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	if err := alice.DeletePayee(ctx, p.ID); emoney.ErrorCode(err) != emoney.ENotFound {
		t.Errorf("deleting twice: %v", err)
	}
}
