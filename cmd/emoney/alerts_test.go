package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"emoney"
	"emoney/alerts"
	"emoney/ledger"
	"emoney/sqlite"
)

// staffToken makes a staff member of role through the CLI and the enrolment endpoint, and signs
// them in with password and one-time code.
func staffToken(t *testing.T, db, api, email, role string) string {
	t.Helper()
	out, _, err := cli(t, nil, "staff", "create", "--db", db, "--email", email, "--role", role)
	if err != nil {
		t.Fatal(err)
	}
	var enrol struct{ Secret string }
	if resp := call(t, "POST", api+"/staff/enrol", "", `{"code":"`+strings.TrimSpace(out)+`","password":"a long staff passphrase"}`, &enrol); resp.StatusCode != 201 {
		t.Fatalf("enrol %s: %d", email, resp.StatusCode)
	}
	code, _ := totp.GenerateCode(enrol.Secret, time.Now())
	var login struct{ Token string }
	if resp := call(t, "POST", api+"/login", "", `{"email":"`+email+`","password":"a long staff passphrase","otp":"`+code+`"}`, &login); resp.StatusCode != 200 {
		t.Fatalf("staff login %s: %d", email, resp.StatusCode)
	}
	return login.Token
}

func TestHoldsResolvedByStaffOverHTTP(t *testing.T) {
	path, db := migratedDB(t)
	agent := partnerKey(t, db, "Agent", "agent")
	base, _ := startServerOn(t, path)
	api := base + "/api/v1"
	alice, aliceWallet := user(t, api, "alice@example.com")
	_, bobWallet := user(t, api, "bob@example.com")
	if resp := post(t, api+"/cashins", agent, "c1", `{"wallet":"`+aliceWallet+`","amount":10000}`, nil); resp.StatusCode != 201 {
		t.Fatalf("cash-in: %d", resp.StatusCode)
	}
	analyst := staffToken(t, db, api, "analyst@example.com", "analyst")
	support := staffToken(t, db, api, "support@example.com", "support")

	// The risk engine (a later issue) holds money for review; here another handle on the same
	// database does, as it would.
	ctx := context.Background()
	s, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	l := ledger.New(s, ledger.Config{})
	svc := alerts.New(s, l, nil)
	aw, _ := emoney.ParseID(aliceWallet)
	bw, _ := emoney.ParseID(bobWallet)
	hold1, alert1, err := svc.Hold(ctx, "risk", "h1", ledger.Op{From: aw, To: bw, Amount: 3000, Code: "p2p"}, "wallet:"+aliceWallet, "rule:first-payee-drain")
	if err != nil {
		t.Fatal(err)
	}
	if again, _, err := svc.Hold(ctx, "risk", "h1", ledger.Op{From: aw, To: bw, Amount: 3000, Code: "p2p"}, "wallet:"+aliceWallet, "rule:first-payee-drain"); err != nil || again.ID != hold1.ID {
		t.Fatalf("retried hold: %v %s", err, again.ID)
	}
	_, alert2, err := svc.Hold(ctx, "risk", "h2", ledger.Op{From: aw, To: bw, Amount: 2000, Code: "p2p"}, "wallet:"+aliceWallet, "rule:fan-in")
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	s.Close()

	var me struct {
		Wallet struct{ Balance, Available int64 } `json:"wallet"`
	}
	call(t, "GET", api+"/me", alice, "", &me)
	if me.Wallet.Balance != 10000 || me.Wallet.Available != 5000 {
		t.Errorf("alice while held: %+v", me.Wallet)
	}
	var queue struct {
		Items []struct {
			ID, Status, Reason string
		} `json:"items"`
	}
	if resp := call(t, "GET", api+"/staff/alerts", support, "", &queue); resp.StatusCode != 200 || len(queue.Items) != 2 || queue.Items[0].ID != alert1.ID.String() || queue.Items[0].Reason != "rule:first-payee-drain" {
		t.Fatalf("queue: %d %+v", resp.StatusCode, queue)
	}
	var e apiError
	for _, who := range []string{support, alice} {
		if resp := call(t, "POST", api+"/staff/alerts/"+alert1.ID.String()+"/release", who, "", &e); resp.StatusCode != 403 {
			t.Errorf("release by a non-analyst: %d %+v", resp.StatusCode, e)
		}
	}
	var decided struct {
		Alert struct {
			Status     string `json:"status"`
			ResolvedBy string `json:"resolved_by"`
		} `json:"alert"`
		Transfer struct {
			Kind   string `json:"kind"`
			Amount int64  `json:"amount"`
		} `json:"transfer"`
	}
	if resp := call(t, "POST", api+"/staff/alerts/"+alert1.ID.String()+"/release", analyst, "", &decided); resp.StatusCode != 200 || decided.Transfer.Kind != "post" || decided.Transfer.Amount != 3000 || !strings.HasPrefix(decided.Alert.ResolvedBy, "staff:") {
		t.Fatalf("release: %d %+v", resp.StatusCode, decided)
	}
	if resp := call(t, "POST", api+"/staff/alerts/"+alert1.ID.String()+"/release", analyst, "", nil); resp.StatusCode != 200 {
		t.Errorf("retried release: %d", resp.StatusCode)
	}
	if resp := call(t, "POST", api+"/staff/alerts/"+alert1.ID.String()+"/reject", analyst, "", &e); resp.StatusCode != 409 {
		t.Errorf("reject after release: %d %+v", resp.StatusCode, e)
	}
	if resp := call(t, "POST", api+"/staff/alerts/"+alert2.ID.String()+"/reject", analyst, "", &decided); resp.StatusCode != 200 || decided.Transfer.Kind != "void" {
		t.Fatalf("reject: %d %+v", resp.StatusCode, decided)
	}
	call(t, "GET", api+"/me", alice, "", &me)
	if me.Wallet.Balance != 7000 || me.Wallet.Available != 7000 {
		t.Errorf("alice after one release and one reject: %+v", me.Wallet)
	}
	if resp := call(t, "GET", api+"/staff/alerts", analyst, "", &queue); resp.StatusCode != 200 || len(queue.Items) != 0 {
		t.Errorf("queue after deciding: %+v", queue)
	}
	out, _, err := cli(t, nil, "audit", "verify", "--db", db)
	// Two staff created and enrolled, two decisions: six entries, chained.
	if err != nil || !strings.Contains(out, "6 entries") {
		t.Errorf("audit after two staff and two decisions: %v\n%s", err, out)
	}
	if out, _, err := cli(t, nil, "ledger", "verify", "--db", db); err != nil {
		t.Errorf("ledger verify: %v\n%s", err, out)
	}
}
