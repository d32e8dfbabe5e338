package banksim_test

import (
	"context"
	"testing"
	"time"

	"emoney/banksim"
)

func TestPartnerNotifications(t *testing.T) {
	w := newCoreWorld(t)
	send := func(body string, at time.Time, secret string) coreAnswer {
		t.Helper()
		var hdr []string
		if secret != "" {
			hdr = []string{"X-Partner-Signature", banksim.SignWebhook(secret, at, []byte(body))}
		}
		return w.do("POST", "/banks/0001/partner/notifications", "", "", body, hdr...)
	}
	now := w.clock.Now()
	link := `{"id":"n-1","client_id":"emoney-wallet","bank":"0001","type":"link_created","account":"001-1234567","detail":"linked to a wallet"}`

	for _, tc := range []struct {
		name, body, secret string
		at                 time.Time
		status             int
		code, field        string
	}{
		{"unsigned", link, "", now, 401, "unauthorized", "X-Partner-Signature"},
		{"wrong secret", link, "whsec_not_the_clients_secret", now, 401, "unauthorized", "X-Partner-Signature"},
		{"old timestamp", link, coreSecret, now.Add(-6 * time.Minute), 401, "unauthorized", "X-Partner-Signature"},
		{"unknown client", `{"id":"n-9","client_id":"someone","bank":"0001","type":"unlinked"}`, coreSecret, now, 401, "unauthorized", "X-Partner-Signature"},
		{"unknown type", `{"id":"n-9","client_id":"emoney-wallet","bank":"0001","type":"hello"}`, coreSecret, now, 400, "invalid", "type"},
		{"no id", `{"client_id":"emoney-wallet","bank":"0001","type":"unlinked"}`, coreSecret, now, 400, "invalid", "id"},
		{"not JSON", `{"id":`, coreSecret, now, 400, "invalid", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := send(tc.body, tc.at, tc.secret)
			if a.Status != tc.status || a.errCode() != tc.code || a.errField("field") != tc.field {
				t.Errorf("%d %s", a.Status, a.Raw)
			}
		})
	}
	if ns, _ := w.sim.Notices(coreBank); len(ns) != 0 {
		t.Fatalf("refused notifications recorded: %+v", ns)
	}

	if a := send(link, now, coreSecret); a.Status != 202 || a.JSON["duplicate"] != false {
		t.Fatalf("signed: %d %s", a.Status, a.Raw)
	}
	// The same event again (a retry, or a replay inside the window) is acknowledged, not recorded.
	if a := send(link, now.Add(time.Minute), coreSecret); a.Status != 200 || a.JSON["duplicate"] != true {
		t.Fatalf("repeat: %d %s", a.Status, a.Raw)
	}
	if a := send(`{"id":"n-2","client_id":"emoney-wallet","bank":"0001","type":"fraud_found","account":"001-1234567"}`, now, coreSecret); a.Status != 202 {
		t.Fatalf("second: %d %s", a.Status, a.Raw)
	}
	ns, err := w.admin.Notices(context.Background(), coreBank)
	if err != nil || len(ns) != 2 || ns[0].Kind != "link_created" || ns[0].Client != coreClient || ns[0].Account != coreAccount ||
		ns[0].Detail != "linked to a wallet" || ns[1].Kind != "fraud_found" {
		t.Errorf("notices %+v %v", ns, err)
	}
}

// The signed body names the bank: a notification signed for bank 0001 is refused at bank 0005,
// where the same client uses the same secret. And a wallet speaks only about accounts it holds
// a grant for at that bank.
func TestPartnerNotificationBankAndAccount(t *testing.T) {
	w := newCoreWorld(t)
	if _, err := w.sim.AddClient("0005", banksim.Client{ID: coreClient, Name: "emoney", JWKS: []byte(coreJWKS),
		RedirectURIs: []string{"https://wallet.example/cb"}, WebhookSecret: coreSecret}); err != nil {
		t.Fatal(err)
	}
	send := func(bank, body string) coreAnswer {
		t.Helper()
		return w.do("POST", "/banks/"+bank+"/partner/notifications", "", "", body, "X-Partner-Signature", banksim.SignWebhook(coreSecret, w.clock.Now(), []byte(body)))
	}
	for _, tc := range []struct {
		name, bank, body string
		status           int
		code, field      string
	}{
		{"signed for another bank", "0005", `{"id":"n-1","client_id":"emoney-wallet","bank":"0001","type":"fraud_found","account":"001-1234567"}`, 400, "invalid", "bank"},
		{"no bank", "0001", `{"id":"n-1","client_id":"emoney-wallet","type":"fraud_found","account":"001-1234567"}`, 400, "invalid", "bank"},
		{"account without a grant", "0005", `{"id":"n-1","client_id":"emoney-wallet","bank":"0005","type":"fraud_found","account":"001-1234567"}`, 403, "forbidden", "account"},
		{"someone else's account", "0001", `{"id":"n-1","client_id":"emoney-wallet","bank":"0001","type":"fraud_found","account":"001-7654321"}`, 403, "forbidden", "account"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if a := send(tc.bank, tc.body); a.Status != tc.status || a.errCode() != tc.code || a.errField("field") != tc.field {
				t.Errorf("%d %s", a.Status, a.Raw)
			}
		})
	}
	for _, bank := range []string{"0001", "0005"} {
		if ns, _ := w.sim.Notices(bank); len(ns) != 0 {
			t.Fatalf("bank %s recorded refused notifications: %+v", bank, ns)
		}
	}
	// A revoked grant still makes the account the client's to speak about (e.g. "unlinked").
	if _, err := w.sim.RevokeGrant(context.Background(), coreBank, "g-full"); err != nil {
		t.Fatal(err)
	}
	if a := send("0001", `{"id":"n-2","client_id":"emoney-wallet","bank":"0001","type":"unlinked","account":"001-1234567"}`); a.Status != 202 {
		t.Fatalf("the client's own account: %d %s", a.Status, a.Raw)
	}
}
