package main

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"emoney"
	"emoney/kyc"
)

// riskUser signs up and signs in from device, verifies phone and identity (tier 2), enrols TOTP,
// and returns the session's token, the wallet and the TOTP secret.
func (e *linkEnv) riskUser(n int, email, device string) (token, wallet, secret string) {
	t, api := e.t, e.api
	t.Helper()
	var signed struct{ Wallet string }
	if resp := call(t, "POST", api+"/signup", "", fmt.Sprintf(`{"email":%q,"password":"correct horse battery"}`, email), &signed); resp.StatusCode != 201 {
		t.Fatalf("signup: %d", resp.StatusCode)
	}
	token = riskLogin(t, api, email, device)
	phone := fmt.Sprintf("+81700002%04d", n)
	call(t, "POST", api+"/kyc/phone", token, `{"phone":"`+phone+`"}`, nil)
	if resp := call(t, "POST", api+"/kyc/phone/confirm", token, `{"code":"`+e.svc.sms.(*kyc.DevSMS).LastCode(phone)+`"}`, nil); resp.StatusCode != 200 {
		t.Fatalf("confirm phone: %d", resp.StatusCode)
	}
	doc := fmt.Sprintf(`{"type":"passport","number":"RK%04d","name_kanji":"利用 者","name_kana":"リヨウ シャ","birth_date":"19%02d-01-02"}`, n, 50+n)
	if resp := call(t, "POST", api+"/kyc/ekyc", token, doc, nil); resp.StatusCode != 200 {
		t.Fatalf("eKYC: %d", resp.StatusCode)
	}
	var enrol struct{ Secret string }
	call(t, "POST", api+"/totp", token, "", &enrol)
	c, _ := totp.GenerateCode(enrol.Secret, time.Now())
	if resp := call(t, "POST", api+"/totp/confirm", token, `{"code":"`+c+`"}`, nil); resp.StatusCode != 204 {
		t.Fatalf("confirm TOTP: %d", resp.StatusCode)
	}
	return token, signed.Wallet, enrol.Secret
}

func riskLogin(t *testing.T, api, email, device string) string {
	t.Helper()
	var login struct{ Token string }
	if resp := call(t, "POST", api+"/login", "", fmt.Sprintf(`{"email":%q,"password":"correct horse battery","device":%q}`, email, device), &login); resp.StatusCode != 200 {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	return login.Token
}

// sendProof is post with a Step-Up-Proof header.
func sendProof(t *testing.T, url, token, key, proof, body string, out any) *http.Response {
	t.Helper()
	return sendWith(t, "POST", url, token, key, body, out, http.Header{"Step-Up-Proof": {proof}})
}

type riskChallenge struct {
	Error struct {
		Code      string `json:"code"`
		Reason    string `json:"reason"`
		Challenge string `json:"challenge"`
	} `json:"error"`
}

// The risk engine over the API: a drain from a new device to a first-time payee is challenged and
// goes through only with a step-up bound to that exact operation; a big transfer to a wallet
// opened today is held for review (202) until staff release it; a rule staff add that blocks is
// in force at once and answers declined; every decision is recorded with the rules that fired.
func TestRiskDecisionsOverHTTP(t *testing.T) {
	e := startLinking(t)
	ctx := context.Background()
	_, agent, err := e.svc.identity.CreatePartner(ctx, "Agent", emoney.RoleAgent)
	if err != nil {
		t.Fatal(err)
	}
	cashIn := func(wallet string, amount int64, key string) {
		t.Helper()
		if resp := post(t, e.api+"/cashins", agent, key, fmt.Sprintf(`{"wallet":%q,"amount":%d}`, wallet, amount), nil); resp.StatusCode != 201 {
			t.Fatalf("cash-in: %d", resp.StatusCode)
		}
	}
	owner, ownerWallet, secret := e.riskUser(1, "owner@example.com", "owner-phone")
	_, friendWallet, _ := e.riskUser(2, "friend@example.com", "friend-phone")
	_, muleWallet, _ := e.riskUser(3, "mule@example.com", "mule-phone")
	cashIn(ownerWallet, 40_000, "c1")
	var ae riskChallenge
	if resp := post(t, e.api+"/transfers", owner, "t1", fmt.Sprintf(`{"to":%q,"amount":1000}`, friendWallet), &ae); resp.StatusCode != 201 {
		t.Fatalf("a small transfer from the usual phone: %d %+v", resp.StatusCode, ae)
	}

	// Someone signs in as the owner from another device and sends most of it to a new payee.
	thief := riskLogin(t, e.api, "owner@example.com", "thief-laptop")
	body := fmt.Sprintf(`{"to":%q,"amount":30000}`, muleWallet)
	if resp := post(t, e.api+"/transfers", thief, "drain", body, &ae); resp.StatusCode != 403 || ae.Error.Code != "challenge_required" || ae.Error.Challenge != "totp" {
		t.Fatalf("drain from a new device: %d %+v", resp.StatusCode, ae)
	}
	stepUp := func(token string, at time.Time, op string) (int, string) {
		t.Helper()
		code, _ := totp.GenerateCode(secret, at)
		var out struct{ Proof string }
		resp := call(t, "POST", e.api+"/stepup", token, `{"code":"`+code+`","operation":`+op+`}`, &out)
		return resp.StatusCode, out.Proof
	}
	// (Each code works once, and no code older than the last used: one code left in the window.)
	exact := fmt.Sprintf(`{"type":"transfer","to":%q,"amount":30000,"idempotency_key":"drain"}`, muleWallet)
	st, proof := stepUp(thief, time.Now().Add(30*time.Second), exact)
	if st != 200 || proof == "" {
		t.Fatalf("step-up for an operation: %d %q", st, proof)
	}
	// The proof is bound to the session that stepped up: another new session cannot use it.
	thief2 := riskLogin(t, e.api, "owner@example.com", "thief-tablet")
	if resp := sendProof(t, e.api+"/transfers", thief2, "drain", proof, body, &ae); resp.StatusCode != 403 || ae.Error.Code != "challenge_required" {
		t.Errorf("with another session's proof: %d %+v", resp.StatusCode, ae)
	}
	// A proof for this operation proves nothing for another amount under the same key.
	if resp := sendProof(t, e.api+"/transfers", thief, "drain", proof, fmt.Sprintf(`{"to":%q,"amount":29000}`, muleWallet), &ae); resp.StatusCode != 403 || ae.Error.Code != "challenge_required" {
		t.Errorf("with a proof for another amount: %d %+v", resp.StatusCode, ae)
	}
	if b := balance(t, e.api, owner); b != 39_000 {
		t.Errorf("balance after refusals: %d, want 39000", b)
	}
	// With the proof for exactly this, it goes through.
	var tr struct{ ID, Kind string }
	if resp := sendProof(t, e.api+"/transfers", thief, "drain", proof, body, &tr); resp.StatusCode != 201 || balance(t, e.api, owner) != 9_000 {
		t.Fatalf("with the proof: %d %+v", resp.StatusCode, tr)
	}

	// A big transfer to a wallet opened today is held for review.
	_, newbornWallet, _ := e.riskUser(4, "newborn@example.com", "newborn-phone")
	big, bigWallet, _ := e.riskUser(5, "big@example.com", "big-phone")
	cashIn(bigWallet, 200_000, "c2")
	var held struct {
		ID, Kind, Hold string
		Amount         int64
	}
	body = fmt.Sprintf(`{"to":%q,"amount":60000}`, newbornWallet)
	if resp := post(t, e.api+"/transfers", big, "gift", body, &held); resp.StatusCode != 202 || held.Kind != "pending" || held.Amount != 60_000 {
		t.Fatalf("a big transfer to a new wallet: %d %+v", resp.StatusCode, held)
	}
	var again struct{ ID string }
	if resp := post(t, e.api+"/transfers", big, "gift", body, &again); resp.StatusCode != 202 || again.ID != held.ID {
		t.Errorf("the retry: %d %+v, want the same hold %s", resp.StatusCode, again, held.ID)
	}
	if b := balance(t, e.api, big); b != 200_000 {
		t.Errorf("while held: balance %d, want 200000 (held, not sent)", b)
	}
	staff := enrolStaff(t, e.svc, e.api, "analyst@example.com", emoney.RoleAnalyst)
	var alerts struct {
		Items []struct{ ID, Kind, Reason string }
	}
	call(t, "GET", e.api+"/staff/alerts", staff.token, "", &alerts)
	if len(alerts.Items) != 1 || alerts.Items[0].ID != held.ID || alerts.Items[0].Kind != "review_hold" || !strings.Contains(alerts.Items[0].Reason, "young-receiver-big") {
		t.Fatalf("staff queue: %+v", alerts)
	}

	shop, _, err := e.svc.identity.CreatePartner(ctx, "Shop", emoney.RoleMerchant)
	if err != nil {
		t.Fatal(err)
	}
	shopAccount, err := e.svc.ledger.AccountByName(ctx, "merchant:"+shop.ID.String())
	if err != nil {
		t.Fatal(err)
	}
	var early struct{ ID string }
	if resp := post(t, e.api+"/payments", big, "p0", fmt.Sprintf(`{"merchant":%q,"amount":6000}`, shopAccount.ID), &early); resp.StatusCode != 201 {
		t.Fatalf("a payment before the rule: %d", resp.StatusCode)
	}

	// Staff add a rule that blocks, over the API; it is in force for the next request.
	senior := enrolStaff(t, e.svc, e.api, "senior@example.com", emoney.RoleSeniorAnalyst)
	rule := `{"description":"test","expression":"type == \"payment\" && amount >= 5000","action":"block","weight":90,"mode":"enabled","version":0,"reason":"a test"}`
	var re struct {
		Error struct{ Code, Field, Message, Challenge string }
	}
	// (Staff sign in with a one-time code: the session is freshly stepped up.)
	if resp := send(t, "PUT", e.api+"/staff/risk/rules/no-big-payments", staff.token, "", rule, &re); resp.StatusCode != 403 || re.Error.Code != "forbidden" {
		t.Errorf("an analyst changing a rule: %d %+v", resp.StatusCode, re)
	}
	bad := strings.Replace(rule, `amount >= 5000`, `amount >= `, 1)
	if resp := send(t, "PUT", e.api+"/staff/risk/rules/no-big-payments", senior.token, "", bad, &re); resp.StatusCode != 400 || re.Error.Field != "expression" || !strings.Contains(re.Error.Message, "Syntax error") {
		t.Errorf("a rule with a syntax error: %d %+v", resp.StatusCode, re)
	}
	var saved struct {
		ID      string
		Version int64
	}
	if resp := send(t, "PUT", e.api+"/staff/risk/rules/no-big-payments", senior.token, "", rule, &saved); resp.StatusCode != 201 || saved.Version != 1 {
		t.Fatalf("a new rule: %d %+v", resp.StatusCode, saved)
	}
	if resp := send(t, "PUT", e.api+"/staff/risk/rules/no-big-payments", senior.token, "", rule, &re); resp.StatusCode != 409 {
		t.Errorf("creating it again: %d %+v", resp.StatusCode, re)
	}
	var listed struct{ Rules []struct{ ID, Mode string } }
	call(t, "GET", e.api+"/staff/risk/rules", staff.token, "", &listed)
	if !slices.ContainsFunc(listed.Rules, func(r struct{ ID, Mode string }) bool { return r.ID == "no-big-payments" && r.Mode == "enabled" }) {
		t.Errorf("rules listed: %+v", listed)
	}
	if n := e.audited("risk.rule_created"); n != 1 {
		t.Errorf("%d risk.rule_created audit entries, want 1", n)
	}
	var de apiError
	// A retry of the payment made before the rule is answered with it: it happened.
	var retried struct{ ID string }
	if resp := post(t, e.api+"/payments", big, "p0", fmt.Sprintf(`{"merchant":%q,"amount":6000}`, shopAccount.ID), &retried); resp.StatusCode != 201 || retried.ID != early.ID {
		t.Errorf("the retry of a payment made before the rule: %d %+v, want %s", resp.StatusCode, retried, early.ID)
	}
	if resp := post(t, e.api+"/payments", big, "p1", fmt.Sprintf(`{"merchant":%q,"amount":6000}`, shopAccount.ID), &de); resp.StatusCode != 403 || de.Error.Code != "declined" || de.Error.Reason != "risk" {
		t.Errorf("a payment the new rule blocks: %d %+v", resp.StatusCode, de)
	}
	if resp := post(t, e.api+"/payments", big, "p2", fmt.Sprintf(`{"merchant":%q,"amount":600}`, shopAccount.ID), nil); resp.StatusCode != 201 {
		t.Errorf("a payment under it: %d", resp.StatusCode)
	}

	// Every decision is recorded, with the rules that fired and what they saw; staff look them
	// up by wallet and by id.
	var ds []emoney.Decision
	var page struct {
		Items []struct {
			ID, Outcome string
			Rules       []string
			Inputs      map[string]any
		}
	}
	for range 50 { // the engine's writer records refusals a moment later
		call(t, "GET", e.api+"/staff/risk/decisions?wallet="+ownerWallet, staff.token, "", &page)
		if len(page.Items) >= 5 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := e.svc.store.View(ctx, func(tx emoney.ReadTx) error {
		ds, err = tx.Decisions(ctx, ownerWallet, time.Time{}, emoney.ID{}, 100)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != len(ds) || len(ds) == 0 || page.Items[1].Outcome != "challenge" || page.Items[1].Inputs["new_device"] != true {
		t.Errorf("staff's page of the owner's decisions: %+v", page)
	}
	var one struct{ ID, Outcome string }
	if resp := call(t, "GET", e.api+"/staff/risk/decisions/"+ds[0].ID.String(), staff.token, "", &one); resp.StatusCode != 200 || one.ID != ds[0].ID.String() {
		t.Errorf("one decision: %d %+v", resp.StatusCode, one)
	}
	if resp := call(t, "GET", e.api+"/staff/risk/decisions?wallet="+ownerWallet, owner, "", nil); resp.StatusCode != 403 {
		t.Errorf("a customer reading decisions: %d", resp.StatusCode)
	}
	slices.SortFunc(ds, func(a, b emoney.Decision) int { return strings.Compare(a.ID.String(), b.ID.String()) })
	outcomes := []string{}
	for _, d := range ds {
		outcomes = append(outcomes, string(d.Outcome))
	}
	// small transfer, the challenge, the challenge with a wrong proof, with another session's, then allowed.
	if want := []string{"allow", "challenge", "challenge", "challenge", "allow"}; !slices.Equal(outcomes, want) {
		t.Errorf("the owner's decisions: %v, want %v", outcomes, want)
	}
	if len(ds) == 5 && (!slices.Contains(ds[1].Rules, "new-device-drain") || !strings.Contains(string(ds[1].Inputs), `"new_device":true`) ||
		strings.Contains(string(ds[1].EventData), "thief-laptop")) {
		t.Errorf("the challenge's record: rules %v inputs %s event %s", ds[1].Rules, ds[1].Inputs, ds[1].EventData)
	}
}

// balance returns the caller's wallet balance.
func balance(t *testing.T, api, token string) int64 {
	t.Helper()
	var me wallet
	call(t, "GET", api+"/me", token, "", &me)
	return me.Wallet.Balance
}
