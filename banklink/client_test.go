package banklink_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"emoney"
	"emoney/banklink"
	"emoney/banksim"
)

var ctx = context.Background()

// The whole protocol with an SMS customer: PAR, the bank's pages, the callback finished from a
// flow that went through JSON (as the database will keep it), holder, a debit within the
// mandate, refresh with rotation, revocation, and the revoked token refused.
func TestLinkHappyPathSMS(t *testing.T) {
	e := newEnv(t)
	f := e.start(debitRequest)
	if !strings.HasPrefix(f.RequestURI, banksim.RequestURIPrefix) || !strings.Contains(f.AuthorizationURL, "request_uri=") ||
		!strings.HasPrefix(f.AuthorizationURL, e.issuer+"/authorize?") {
		t.Fatalf("flow: request_uri %q, authorization URL %q", f.RequestURI, f.AuthorizationURL)
	}
	if f.RequestURIExpiresAt.IsZero() || !f.ExpiresAt.After(f.RequestURIExpiresAt) {
		t.Errorf("flow expiries: request_uri %v, flow %v", f.RequestURIExpiresAt, f.ExpiresAt)
	}
	cb := e.authorize(f, e.smsSignIn())

	// The flow is stored between redirect and callback: it must survive JSON, key included.
	raw, err := json.Marshal(f)
	must(t, err)
	var stored banklink.Flow
	must(t, json.Unmarshal(raw, &stored))
	if stored.Key.Thumbprint() != f.Key.Thumbprint() || stored.Verifier != f.Verifier || stored.State != f.State {
		t.Fatalf("flow after JSON: %v, before %v", &stored, f)
	}
	tok, err := e.wallet.Finish(ctx, &stored, cb)
	must(t, err)
	if tok.Access == "" || tok.Refresh == "" || tok.JKT != f.Key.Thumbprint() || tok.ExpiresAt.IsZero() {
		t.Fatalf("tokens: %v", tok)
	}
	if strings.Join(tok.Scope, " ") != "holder debit" {
		t.Errorf("scope %v", tok.Scope)
	}
	// The token answer names the grant (what the bank's mandate_revoked webhooks name).
	gs, err := e.sim.Grants(bankCode)
	must(t, err)
	if len(gs) != 1 || tok.GrantID == "" || tok.GrantID != gs[0].ID {
		t.Errorf("grant id %q, the bank's grants %+v", tok.GrantID, gs)
	}

	h, err := e.wallet.Holder(ctx, tok)
	must(t, err)
	if h.Kana != "ﾔﾏﾀﾞ ﾊﾅｺ" || h.BirthDate != "1990-04-01" || h.Bank != bankCode || h.AccountMasked == "" {
		t.Errorf("holder %+v", h)
	}
	m, err := e.wallet.Debit(ctx, tok, "topup-1", 8000, payee, "emoney top-up")
	must(t, err)
	if m.ID == "" || m.Amount != 8000 || m.Replayed {
		t.Errorf("debit %+v", m)
	}
	if b := e.balance(smsAccount); b != 42000 {
		t.Errorf("balance after an ¥8,000 debit of ¥50,000: %d", b)
	}

	nt, err := e.wallet.Refresh(ctx, tok)
	must(t, err)
	if nt.Refresh == "" || nt.Refresh == tok.Refresh || nt.Access == tok.Access || nt.JKT != tok.JKT || nt.GrantID != tok.GrantID {
		t.Fatalf("refresh did not rotate: %v", nt)
	}
	if _, err := e.wallet.Holder(ctx, nt); err != nil {
		t.Fatalf("holder with the refreshed token: %v", err)
	}

	must(t, e.wallet.Revoke(ctx, nt))
	_, err = e.wallet.Holder(ctx, nt)
	wantErr(t, err, banklink.ErrTokenInvalid, emoney.EDeclined, banklink.ReasonReconsent)
	_, err = e.wallet.Debit(ctx, nt, "topup-2", 100, payee, "")
	wantErr(t, err, banklink.ErrTokenInvalid, emoney.EDeclined, banklink.ReasonReconsent)
	_, err = e.wallet.Refresh(ctx, nt)
	wantErr(t, err, banklink.ErrTokenInvalid, emoney.EDeclined, banklink.ReasonReconsent)
	for _, s := range []string{nt.Access, nt.Refresh, tok.Access, tok.Refresh} {
		if strings.Contains(err.Error(), s) {
			t.Fatalf("an error carries a token: %v", err)
		}
	}
	if b := e.balance(smsAccount); b != 42000 {
		t.Errorf("balance after refused debits: %d", b)
	}
}

// The TOTP customer links for credits; a credit retried with its key pays once.
func TestLinkWithTOTPAndCredit(t *testing.T) {
	e := newEnv(t)
	tok := e.link(banklink.Request{Scope: []string{"holder", "credit"}}, e.totpSignIn())
	h, err := e.wallet.Holder(ctx, tok)
	must(t, err)
	if h.Kana != "ｽｽﾞｷ ﾀﾛｳ" || h.BirthDate != "1985-12-24" {
		t.Errorf("holder %+v", h)
	}
	m1, err := e.wallet.Credit(ctx, tok, "wd-1", 5000, "emoney withdrawal")
	must(t, err)
	m2, err := e.wallet.Credit(ctx, tok, "wd-1", 5000, "emoney withdrawal")
	must(t, err)
	if m1.ID == "" || m2.ID != m1.ID || !m2.Replayed || m1.Replayed {
		t.Errorf("credit %+v, retried %+v", m1, m2)
	}
	if b := e.balance(e.totpAcct); b != 6000 {
		t.Errorf("balance after one ¥5,000 credit to ¥1,000: %d", b)
	}
	_, err = e.wallet.Credit(ctx, tok, "wd-1", 4000, "emoney withdrawal")
	wantErr(t, err, banklink.ErrConflict, emoney.EConflict, "")
	// No debit scope in this consent.
	_, err = e.wallet.Debit(ctx, tok, "d-1", 100, payee, "")
	wantErr(t, err, banklink.ErrTokenInvalid, emoney.EDeclined, banklink.ReasonReconsent)
}

// A callback carrying another flow's state is refused before the code is used: the code stays
// good for the flow it belongs to (a client that redeemed it would have spent it, since a bank
// takes one attempt per code).
func TestFinishRefusesSwappedState(t *testing.T) {
	e := newEnv(t)
	a := e.start(debitRequest)
	b := e.start(debitRequest)
	cbB := e.authorize(b, e.smsSignIn())
	_, err := e.wallet.Finish(ctx, a, cbB)
	wantErr(t, err, banklink.ErrStateMismatch, emoney.EInvalid, "")
	if a.Spent {
		t.Error("a refused callback spent the flow")
	}
	noState := cloneValues(cbB)
	noState.Del("state")
	_, err = e.wallet.Finish(ctx, b, noState)
	wantErr(t, err, banklink.ErrStateMismatch, emoney.EInvalid, "")
	if _, err := e.wallet.Finish(ctx, b, cbB); err != nil {
		t.Fatalf("the genuine callback after the swapped one: %v", err)
	}
}

// RFC 9207: a callback whose iss is another bank's, or missing, is refused before the code is
// used; the genuine one then finishes.
func TestFinishRefusesWrongIssuer(t *testing.T) {
	e := newEnv(t)
	f := e.start(debitRequest)
	cb := e.authorize(f, e.smsSignIn())
	for name, iss := range map[string][]string{"other bank": {e.sim.Issuer("9900")}, "missing": nil,
		"trailing slash": {e.issuer + "/"}, "twice": {e.issuer, e.issuer}} {
		bad := cloneValues(cb)
		bad["iss"] = iss
		_, err := e.wallet.Finish(ctx, f, bad)
		if !errorsIs(err, banklink.ErrIssuerMismatch) {
			t.Errorf("%s: %v, want ErrIssuerMismatch", name, err)
		}
	}
	if _, err := e.wallet.Finish(ctx, f, cb); err != nil {
		t.Fatalf("the genuine callback: %v", err)
	}
}

// A replayed callback is refused by the client without going to the bank: the bank would
// revoke every token issued for a code presented twice, so the first link's token still
// working proves the code was not sent again.
func TestFinishRefusesReplayedCallback(t *testing.T) {
	e := newEnv(t)
	f := e.start(debitRequest)
	cb := e.authorize(f, e.smsSignIn())
	tok, err := e.wallet.Finish(ctx, f, cb)
	must(t, err)
	_, err = e.wallet.Finish(ctx, f, cb)
	wantErr(t, err, banklink.ErrFlowSpent, emoney.EConflict, "")
	if _, err := e.wallet.Holder(ctx, tok); err != nil {
		t.Fatalf("the first token after a refused replay: %v", err)
	}
}

// The customer refuses consent: a typed access_denied. A forged error callback without the
// flow's state is refused as such, and does not spend the flow.
func TestFinishAccessDenied(t *testing.T) {
	e := newEnv(t)
	f := e.start(debitRequest)
	forged := map[string][]string{"error": {"access_denied"}, "state": {"guess"}, "iss": {e.issuer}}
	_, err := e.wallet.Finish(ctx, f, forged)
	wantErr(t, err, banklink.ErrStateMismatch, emoney.EInvalid, "")
	in := e.smsSignIn()
	in.Deny = true
	cb := e.authorize(f, in)
	if cb.Get("error") != "access_denied" {
		t.Fatalf("denial callback %v", cb)
	}
	_, err = e.wallet.Finish(ctx, f, cb)
	wantErr(t, err, banklink.ErrAccessDenied, emoney.EDeclined, banklink.ReasonAccessDenied)
}

// Debits over the mandate are declined with the mandate's reason, and move nothing.
func TestDebitOverMandateDeclined(t *testing.T) {
	e := newEnv(t)
	tok := e.link(debitRequest, e.smsSignIn())
	_, err := e.wallet.Debit(ctx, tok, "d-big", 10001, payee, "")
	wantErr(t, err, banklink.ErrDeclined, emoney.ELimitExceeded, "mandate_per_charge")
	for i := range 3 {
		if _, err := e.wallet.Debit(ctx, tok, fmt.Sprint("d-", i), 10000, payee, ""); err != nil {
			t.Fatalf("debit %d within the mandate: %v", i, err)
		}
	}
	_, err = e.wallet.Debit(ctx, tok, "d-month", 1, payee, "")
	wantErr(t, err, banklink.ErrDeclined, emoney.ELimitExceeded, "mandate_monthly")
	_, err = e.wallet.Debit(ctx, tok, "d-payee", 1, "someone else", "")
	wantErr(t, err, banklink.ErrDeclined, emoney.EDeclined, "payee")
	if b := e.balance(smsAccount); b != 20000 {
		t.Errorf("balance after three ¥10,000 debits of ¥50,000: %d", b)
	}
}

// Insufficient funds is a decline too.
func TestDebitInsufficientFunds(t *testing.T) {
	e := newEnv(t)
	tok := e.link(banklink.Request{Scope: []string{"debit"}, Mandate: banklink.Mandate{Payee: payee, PerCharge: 5000, Monthly: 5000}}, e.totpSignIn())
	_, err := e.wallet.Debit(ctx, tok, "d-1", 1001, payee, "")
	wantErr(t, err, banklink.ErrDeclined, emoney.EInsufficientFunds, "")
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, x := range v {
		out[k] = append([]string(nil), x...)
	}
	return out
}
