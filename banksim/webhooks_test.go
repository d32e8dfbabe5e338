package banksim_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"emoney/banksim"
)

func TestVerifyWebhook(t *testing.T) {
	now := time.Date(2026, 11, 10, 3, 0, 0, 0, time.UTC)
	body := []byte(`{"id":"evt_1","type":"fraud_report"}`)
	good := banksim.SignWebhook(coreSecret, now, body)
	for _, tc := range []struct {
		name, secret, header string
		body                 []byte
		now                  time.Time
		want                 error
	}{
		{"good", coreSecret, good, body, now, nil},
		{"good at the edge of the window", coreSecret, good, body, now.Add(banksim.ReplayWindow), nil},
		{"a second signature (rotation)", coreSecret, good + ",v1=00ff", body, now, nil},
		{"old timestamp", coreSecret, good, body, now.Add(banksim.ReplayWindow + time.Second), banksim.ErrWebhookExpired},
		{"from the future", coreSecret, banksim.SignWebhook(coreSecret, now.Add(10*time.Minute), body), body, now, banksim.ErrWebhookExpired},
		{"tampered body", coreSecret, good, []byte(strings.Replace(string(body), "evt_1", "evt_2", 1)), now, banksim.ErrWebhookSignature},
		{"wrong secret", "whsec_someone_else_entirely", good, body, now, banksim.ErrWebhookSignature},
		{"timestamp moved", coreSecret, strings.Replace(good, "t=", "t=1", 1), body, now, banksim.ErrWebhookSignature},
		{"no signature", coreSecret, "", body, now, banksim.ErrWebhookSignature},
		{"garbage", coreSecret, "t=x,v1=zz", body, now, banksim.ErrWebhookSignature},
		{"empty secret", "", good, body, now, banksim.ErrWebhookSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := banksim.VerifyWebhook(tc.secret, tc.header, tc.body, tc.now); !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestFraudReportWebhook(t *testing.T) {
	w := newCoreWorld(t)
	d := w.do("POST", "/banks/0001/api/debits", "g-full", "d1", `{"amount":12000,"payee":"emoney"}`)
	if d.Status != 201 {
		t.Fatalf("debit: %d %s", d.Status, d.Raw)
	}
	entry := d.JSON["id"].(string)

	w.hooks.fail = 2 // the wallet is down twice: the bank retries
	del, err := w.admin.ReportFraud(context.Background(), coreBank, coreAccount, entry)
	if err != nil {
		t.Fatal(err)
	}
	if !del.Delivered || del.Attempts != 3 || del.Status != 200 || del.Client != coreClient || del.Event.Type != "fraud_report" {
		t.Fatalf("delivery %+v", del)
	}
	got := w.hooks.got()
	if len(got) != 1 || got[0].ID != del.Event.ID || got[0].Bank != coreBank {
		t.Fatalf("received %+v", got)
	}
	var fr banksim.FraudReport
	if err := json.Unmarshal(got[0].Data, &fr); err != nil {
		t.Fatal(err)
	}
	if fr.EntryID != entry || fr.Amount != 12000 || fr.Branch != "001" || fr.Account != "1234567" || fr.GrantID != "g-full" || fr.At.IsZero() {
		t.Errorf("fraud report %+v", fr)
	}
	ds, err := w.admin.Deliveries(context.Background(), coreBank)
	if err != nil || len(ds) != 1 || ds[0].Event.ID != del.Event.ID {
		t.Errorf("recorded deliveries %+v %v", ds, err)
	}

	// Only debits by a wallet operator can be reported.
	st, _ := w.sim.AccountStatement(coreBank, coreAccount)
	if _, err := w.admin.ReportFraud(context.Background(), coreBank, coreAccount, st.Entries[0].ID); !isAdminErr(err, 400, "invalid") {
		t.Errorf("report on the opening balance: %v", err)
	}
	if _, err := w.admin.ReportFraud(context.Background(), coreBank, coreAccount, "e_nope"); !isAdminErr(err, 404, "not_found") {
		t.Errorf("report on no entry: %v", err)
	}
}

func TestWebhookGivesUp(t *testing.T) {
	w := newCoreWorld(t)
	w.hooks.fail = 100
	del, err := w.sim.RevokeGrant(context.Background(), coreBank, "g-holder")
	if err != nil {
		t.Fatal(err)
	}
	if del.Delivered || del.Attempts != banksim.WebhookAttempts || del.Status != 500 || del.Error == "" || strings.Contains(del.Error, "127.0.0.1") {
		t.Errorf("delivery %+v", del)
	}
}

func TestWebhookStaleClockRefused(t *testing.T) {
	// The receiver's clock is 6 minutes ahead of the bank's: the receiver refuses every attempt.
	w := newCoreWorld(t)
	w.hooks.clock = &coreClock{t: w.clock.Now().Add(6 * time.Minute)}
	del, err := w.sim.RevokeGrant(context.Background(), coreBank, "g-holder")
	if err != nil {
		t.Fatal(err)
	}
	if del.Delivered || del.Status != 401 || w.hooks.rejected != banksim.WebhookAttempts || len(w.hooks.got()) != 0 {
		t.Errorf("delivery %+v, rejected %d", del, w.hooks.rejected)
	}
}

func TestMandateRevokedWebhook(t *testing.T) {
	w := newCoreWorld(t)
	del, err := w.admin.RevokeGrant(context.Background(), coreBank, "g-full")
	if err != nil || !del.Delivered || del.Event.Type != "mandate_revoked" {
		t.Fatalf("revoke: %+v %v", del, err)
	}
	got := w.hooks.got()
	var mr banksim.MandateRevoked
	if len(got) != 1 || json.Unmarshal(got[0].Data, &mr) != nil || mr.GrantID != "g-full" || !mr.RevokedAt.Equal(w.clock.Now()) {
		t.Fatalf("received %+v", got)
	}
	gs, _ := w.admin.Grants(context.Background(), coreBank)
	for _, g := range gs {
		if (g.ID == "g-full") == g.RevokedAt.IsZero() {
			t.Errorf("grant %s revoked at %v", g.ID, g.RevokedAt)
		}
	}
	if _, err := w.admin.RevokeGrant(context.Background(), coreBank, "g-full"); !isAdminErr(err, 409, "conflict") {
		t.Errorf("revoke twice: %v", err)
	}
	if _, err := w.admin.RevokeGrant(context.Background(), coreBank, "g-nope"); !isAdminErr(err, 404, "not_found") {
		t.Errorf("revoke unknown: %v", err)
	}
	if a := w.do("GET", "/banks/0001/api/holder", "g-full", "", ""); a.Status != 401 {
		t.Errorf("token of a revoked grant: %d", a.Status)
	}
}

func isAdminErr(err error, status int, code string) bool {
	var ae *banksim.AdminError
	return errors.As(err, &ae) && ae.Status == status && ae.Code == code
}

// The fraud report names the grant the debit was pulled under, even when the same client holds a
// newer grant for the account (say a link the wallet refused) that was never used.
func TestFraudReportNamesTheDebitsOwnGrant(t *testing.T) {
	w := newCoreWorld(t)
	w.clock.Set(w.clock.Now().Add(time.Hour))
	w.sim.AddTestGrant(banksim.Grant{ID: "g-other", Bank: coreBank, Client: coreClient, Customer: "taro", Account: coreAccount,
		Scope: []string{"debit"}, Mandate: banksim.Mandate{Payee: "mule", PerCharge: 1, Monthly: 1}, CreatedAt: w.clock.Now()})
	w.clock.Set(w.clock.Now().Add(time.Hour))
	a := w.do("POST", "/banks/0001/api/debits", "g-full", "d1", `{"amount":1000,"payee":"emoney"}`)
	if a.Status != 201 {
		t.Fatal(a.Raw)
	}
	d, err := w.sim.ReportFraud(context.Background(), coreBank, coreAccount, a.JSON["id"].(string))
	var fr banksim.FraudReport
	if err != nil || json.Unmarshal(d.Event.Data, &fr) != nil || fr.GrantID != "g-full" {
		t.Fatalf("debit pulled under g-full reported as %s (%v)", d.Event.Data, err)
	}
}
