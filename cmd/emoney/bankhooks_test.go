package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"emoney"
	"emoney/banksim"
	emhttp "emoney/http"
)

// Webhooks from the banks (issue 6 items 3 and 8: "either side can unlink and the other is
// told"), end to end: the in-process bank simulator sends them, signed, to the real server.

// lostWebhook is a context for a simulator call whose webhook never reaches the wallet (the
// bank acts, then its delivery fails at once): the case of a bank whose webhooks are lost, or
// that names no grant, which the wallet learns of only when the bank refuses a link's token.
func lostWebhook() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

// linkedAlice links hanako's account at bank 0001 to alice's wallet and returns alice's token
// and id, the link and the bank's grant behind it.
func (e *linkEnv) linkedAlice() (string, emoney.ID, emoney.BankLink, banksim.Grant) {
	t := e.t
	t.Helper()
	hanako := e.customer("hanako", "ﾘﾖｳ ｼｬ", "1980-01-02", "+819011110001", "1000567")
	alice, aliceID := e.walletUser("alice@example.com", 1, "リヨウ シャ", "1980-01-02", true)
	if status, page, _ := e.link(alice, hanako); status != 200 || !strings.Contains(page, "Bank account linked") {
		t.Fatalf("link: %d\n%s", status, page)
	}
	ls := e.links(alice)
	if len(ls) != 1 || ls[0].Status != "active" {
		t.Fatalf("alice's links: %+v", ls)
	}
	link := e.link1(ls[0].ID)
	gs, err := e.sim.Grants("0001")
	if err != nil {
		t.Fatal(err)
	}
	var g banksim.Grant
	for _, x := range gs {
		if x.Account == "001-1000567" && x.Client == devClientID && x.RevokedAt.IsZero() {
			g = x
		}
	}
	// The link keeps the grant the bank's token answer named: what mandate_revoked names.
	if g.ID == "" || link.GrantID != g.ID {
		t.Fatalf("the link's grant %q, the bank's live grant %q", link.GrantID, g.ID)
	}
	return alice, aliceID, link, g
}

// link1 reads a link from the store.
func (e *linkEnv) link1(id string) emoney.BankLink {
	e.t.Helper()
	lid, err := emoney.ParseID(id)
	if err != nil {
		e.t.Fatal(err)
	}
	var l emoney.BankLink
	ctx := context.Background()
	if err := e.svc.store.View(ctx, func(tx emoney.ReadTx) error {
		var err error
		l, err = tx.Link(ctx, lid)
		return err
	}); err != nil {
		e.t.Fatal(err)
	}
	return l
}

// topUp tops alice up through the link and returns the status and the error answer.
func (e *linkEnv) topUp(token, key string, link emoney.ID, amount int64) (int, apiError) {
	e.t.Helper()
	var ae apiError
	resp := post(e.t, e.api+"/topups", token, key, `{"link":"`+link.String()+`","amount":`+strconv.FormatInt(amount, 10)+`}`, &ae)
	return resp.StatusCode, ae
}

// hook POSTs a webhook to the API as a bank would, checks the answer against the OpenAPI
// document, and returns its status and body.
func (e *linkEnv) hook(bank, eventID, signature string, body []byte) (int, string) {
	t := e.t
	t.Helper()
	req, err := http.NewRequest("POST", e.api+"/banks/"+bank+"/webhooks", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Bank-Event-Id", eventID)
	if signature != "" {
		req.Header.Set("X-Bank-Signature", signature)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	req.Body = io.NopCloser(strings.NewReader(string(body)))
	checkAgainstSpec(t, req, resp, raw)
	return resp.StatusCode, string(raw)
}

// event is a webhook body of bank 0001.
func event(t *testing.T, id, typ string, data any) []byte {
	t.Helper()
	raw, err := json.Marshal(data)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(banksim.Event{ID: id, Type: typ, Bank: "0001", CreatedAt: time.Now().UTC(), Data: raw})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// bankEvent reads what the wallet recorded of a webhook (not_found: nothing).
func (e *linkEnv) bankEvent(id string) (emoney.BankEvent, error) {
	var ev emoney.BankEvent
	ctx := context.Background()
	err := e.svc.store.View(ctx, func(tx emoney.ReadTx) error {
		var err error
		ev, err = tx.BankEvent(ctx, "0001", id)
		return err
	})
	return ev, err
}

// metric returns the value of emoney_bank_webhooks_total for a type and outcome (0 if absent).
func (e *linkEnv) metric(typ, outcome string) int {
	e.t.Helper()
	resp, err := http.Get(strings.TrimSuffix(e.api, "/api/v1") + "/metrics")
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	prefix := `emoney_bank_webhooks_total{outcome="` + outcome + `",type="` + typ + `"} `
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, prefix); ok {
			n, _ := strconv.Atoi(v)
			return n
		}
	}
	return 0
}

func TestBankRevokesMandateOverHTTP(t *testing.T) {
	e := startLinking(t)
	ctx := context.Background()
	alice, _, link, g := e.linkedAlice()
	if st, ae := e.topUp(alice, "t1", link.ID, 1_000); st != 201 {
		t.Fatalf("top-up before the revocation: %d %+v", st, ae)
	}

	// The customer withdraws consent at the bank: the bank tells the wallet at once.
	d, err := e.sim.RevokeGrant(ctx, "0001", g.ID)
	if err != nil || !d.Delivered || d.Status != 200 || d.Attempts != 1 {
		t.Fatalf("mandate_revoked delivery: %+v %v", d, err)
	}
	got := e.link1(link.ID.String())
	if got.Status != emoney.LinkRevoked || got.RevokedBy != "bank" || got.RevokedAt.IsZero() {
		t.Fatalf("the link after the bank revoked its grant: %s by %q at %v", got.Status, got.RevokedBy, got.RevokedAt)
	}
	if ls := e.links(alice); len(ls) != 1 || ls[0].Status != "revoked" || ls[0].RevokedAt == "" {
		t.Errorf("alice's links: %+v", ls)
	}
	if e.audited("link.revoked") != 1 || e.audited("bank.webhook") != 1 {
		t.Errorf("audit: link.revoked %d, bank.webhook %d; want 1 each", e.audited("link.revoked"), e.audited("bank.webhook"))
	}
	if ev, err := e.bankEvent(d.Event.ID); err != nil || ev.Outcome != "revoked" || ev.Link != link.ID || ev.Type != "mandate_revoked" {
		t.Errorf("recorded event: %+v %v", ev, err)
	}
	// Either side can unlink and the other is told: the holder learns the bank withdrew access.
	told := 0
	for _, n := range e.notifications(alice, "") {
		if n.Kind == "link_revoked_by_bank" && strings.Contains(n.Text, "****567") {
			told++
		}
	}
	if told != 1 {
		t.Errorf("the holder was told of the bank's revocation %d times, want 1: %+v", told, e.notifications(alice, ""))
	}
	// The next top-up through it is refused before the bank is asked.
	if st, ae := e.topUp(alice, "t2", link.ID, 1_000); st != 403 || ae.Error.Code != "declined" || ae.Error.Reason != "link_revoked" {
		t.Errorf("top-up through the revoked link: %d %+v", st, ae)
	}

	// The bank sends the same event again (a retry whose answer it lost): answered, nothing
	// done again.
	body, _ := json.Marshal(d.Event)
	c := emhttp.Client{Base: strings.TrimSuffix(e.api, "/api/v1")}
	r, err := c.BankWebhook(ctx, "0001", d.Event.ID, banksim.SignWebhook(e.svc.devBankWebhookSecret, time.Now(), body), body)
	if err != nil || !r.Received || !r.Duplicate {
		t.Errorf("the same event again: %+v %v", r, err)
	}
	if e.audited("link.revoked") != 1 || e.audited("bank.webhook") != 1 {
		t.Errorf("a repeated event was acted on again: link.revoked %d, bank.webhook %d", e.audited("link.revoked"), e.audited("bank.webhook"))
	}
	if n := e.metric("mandate_revoked", "revoked"); n != 1 {
		t.Errorf("metric revoked: %d, want 1", n)
	}
	if n := e.metric("mandate_revoked", "duplicate"); n != 1 {
		t.Errorf("metric duplicate: %d, want 1", n)
	}
}

func TestBankFraudReportOverHTTP(t *testing.T) {
	e := startLinking(t)
	ctx := context.Background()
	alice, aliceID, link, g := e.linkedAlice()
	if st, ae := e.topUp(alice, "t1", link.ID, 5_000); st != 201 {
		t.Fatalf("top-up: %d %+v", st, ae)
	}
	st, err := e.sim.AccountStatement("0001", "001-1000567")
	if err != nil {
		t.Fatal(err)
	}
	var debit banksim.Entry
	for _, en := range st.Entries {
		if en.Amount == -5_000 {
			debit = en
		}
	}
	if debit.ID == "" {
		t.Fatalf("no debit of the top-up on the statement: %+v", st.Entries)
	}

	// The holder disputes the debit at the bank: a fraud report reaches the wallet.
	d, err := e.sim.ReportFraud(ctx, "0001", "001-1000567", debit.ID)
	if err != nil || !d.Delivered || d.Status != 200 {
		t.Fatalf("fraud_report delivery: %+v %v", d, err)
	}
	as := e.alerts("fraud_report")
	if len(as) != 1 {
		t.Fatalf("fraud alerts: %+v", as)
	}
	for _, want := range []string{link.ID.String(), "wallet:" + aliceID.String(), "5000 yen", debit.ID} {
		if !strings.Contains(as[0].Reason, want) {
			t.Errorf("the alert does not name %q: %s", want, as[0].Reason)
		}
	}
	if strings.Contains(as[0].Reason, "1000567") {
		t.Errorf("the alert carries the account number: %s", as[0].Reason)
	}
	if got := e.link1(link.ID.String()); got.Status != emoney.LinkReview {
		t.Errorf("the link after a fraud report: %s, want review", got.Status)
	}
	if e.audited("link.review") != 1 {
		t.Error("holding the link is not audited")
	}
	reports := func() []emoney.BankFraudReport {
		var rs []emoney.BankFraudReport
		if err := e.svc.store.View(ctx, func(tx emoney.ReadTx) error {
			var err error
			rs, err = tx.BankFraudReports(ctx, link.ID)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return rs
	}
	rs := reports()
	if len(rs) != 1 || rs[0].EntryID != debit.ID || rs[0].Amount != 5_000 || rs[0].Grant != g.ID || !rs[0].DebitedAt.Equal(debit.At.Truncate(time.Microsecond)) ||
		rs[0].User != aliceID || rs[0].EventID != d.Event.ID || string(rs[0].AccountIndex) != string(link.AccountIndex) {
		t.Errorf("fraud reports: %+v (entry %s at %v, grant %s)", rs, debit.ID, debit.At, g.ID)
	}
	// No more money moves through the link until staff decide.
	if st, ae := e.topUp(alice, "t2", link.ID, 1_000); st != 403 || ae.Error.Code != "declined" || ae.Error.Reason != "link_in_review" {
		t.Errorf("top-up through the link in review: %d %+v", st, ae)
	}

	// The same event twice: acted on once.
	body, _ := json.Marshal(d.Event)
	if status, page := e.hook("0001", d.Event.ID, banksim.SignWebhook(e.svc.devBankWebhookSecret, time.Now(), body), body); status != 200 || !strings.Contains(page, `"duplicate":true`) {
		t.Errorf("the same report again: %d %s", status, page)
	}
	if n := len(e.alerts("fraud_report")); n != 1 {
		t.Errorf("%d fraud alerts after a repeated event, want 1", n)
	}
	if n := len(reports()); n != 1 {
		t.Errorf("%d fraud reports after a repeated event, want 1", n)
	}
	if n := e.metric("fraud_report", "review"); n != 1 {
		t.Errorf("metric review: %d, want 1", n)
	}
}

func TestBankWebhookRefusalsOverHTTP(t *testing.T) {
	e := startLinking(t)
	alice, _, link, g := e.linkedAlice()
	secret := e.svc.devBankWebhookSecret
	revoke := event(t, "evt_test_1", "mandate_revoked", banksim.MandateRevoked{GrantID: g.ID, RevokedAt: time.Now().UTC()})
	unchanged := func(what string) {
		t.Helper()
		if got := e.link1(link.ID.String()); got.Status != emoney.LinkActive {
			t.Fatalf("%s: the link is %s", what, got.Status)
		}
		if _, err := e.bankEvent("evt_test_1"); emoney.ErrorCode(err) != emoney.ENotFound {
			t.Fatalf("%s: the event was recorded (%v)", what, err)
		}
	}
	var ae apiError
	for _, c := range []struct{ name, sig string }{
		{"WrongSecret", banksim.SignWebhook("whsec_not_the_banks_secret", time.Now(), revoke)},
		{"Stale", banksim.SignWebhook(secret, time.Now().Add(-6*time.Minute), revoke)},
		{"FromTheFuture", banksim.SignWebhook(secret, time.Now().Add(6*time.Minute), revoke)},
		{"Unsigned", ""},
		{"OtherBody", banksim.SignWebhook(secret, time.Now(), event(t, "evt_test_1", "mandate_revoked", banksim.MandateRevoked{GrantID: "g_other"}))},
	} {
		status, page := e.hook("0001", "evt_test_1", c.sig, revoke)
		if json.Unmarshal([]byte(page), &ae); status != 401 || ae.Error.Code != "unauthorized" {
			t.Errorf("%s: %d %s", c.name, status, page)
		}
		unchanged(c.name)
	}
	if n := e.metric("unknown", "unauthorized"); n != 5 {
		t.Errorf("metric unauthorized: %d, want 5", n)
	}

	// Signed, but not an event of this bank: 400, nothing recorded.
	now := time.Now()
	for _, c := range []struct {
		name, id, field string
		body            []byte
	}{
		{"MalformedJSON", "evt_test_1", "", []byte(`{"id":"evt_test_1","type":`)},
		{"AnotherBank", "evt_test_1", "bank", []byte(strings.Replace(string(revoke), `"bank":"0001"`, `"bank":"0002"`, 1))},
		{"HeaderNotTheBodysID", "evt_other", "X-Bank-Event-Id", revoke},
		{"NoGrant", "evt_test_1", "data.grant_id", event(t, "evt_test_1", "mandate_revoked", map[string]string{})},
	} {
		status, page := e.hook("0001", c.id, banksim.SignWebhook(secret, now, c.body), c.body)
		if json.Unmarshal([]byte(page), &ae); status != 400 || ae.Error.Code != "invalid" || ae.Error.Field != c.field {
			t.Errorf("%s: %d %s", c.name, status, page)
		}
		unchanged(c.name)
	}
	// Over 64 KiB: refused before anything is verified or recorded.
	big := event(t, "evt_test_1", "mandate_revoked", map[string]string{"grant_id": g.ID, "pad": strings.Repeat("x", 64<<10)})
	if status, _ := e.hook("0001", "evt_test_1", banksim.SignWebhook(secret, now, big), big); status != 413 {
		t.Errorf("a body over 64 KiB: %d", status)
	}
	unchanged("too large")
	// A bank with no secret here sends nothing this wallet believes.
	if status, _ := e.hook("9999", "evt_test_1", banksim.SignWebhook(secret, now, revoke), revoke); status != 404 {
		t.Errorf("a bank without a webhook secret: %d", status)
	}

	// A grant no link holds: recorded, 200, nothing changes.
	unknown := event(t, "evt_test_2", "mandate_revoked", banksim.MandateRevoked{GrantID: "g_nobody", RevokedAt: now.UTC()})
	if status, page := e.hook("0001", "evt_test_2", banksim.SignWebhook(secret, now, unknown), unknown); status != 200 || !strings.Contains(page, `"duplicate":false`) {
		t.Fatalf("unknown grant: %d %s", status, page)
	}
	if ev, err := e.bankEvent("evt_test_2"); err != nil || ev.Outcome != "unmatched" || !ev.Link.IsZero() {
		t.Errorf("the unknown grant's event: %+v %v", ev, err)
	}
	unchanged("unknown grant")
	if e.audited("link.revoked") != 0 {
		t.Error("a link was revoked")
	}
	if st, ae := e.topUp(alice, "t1", link.ID, 1_000); st != 201 {
		t.Errorf("top-up after the refused webhooks: %d %+v", st, ae)
	}

	// A type the wallet does not act on is recorded and ignored; a fraud report on an account
	// no link ever held is recorded and alerted.
	other := event(t, "evt_test_3", "statement_ready", map[string]string{"x": "y"})
	if status, _ := e.hook("0001", "evt_test_3", banksim.SignWebhook(secret, now, other), other); status != 200 {
		t.Errorf("another type: %d", status)
	}
	if ev, err := e.bankEvent("evt_test_3"); err != nil || ev.Outcome != "ignored" || e.metric("other", "ignored") != 1 {
		t.Errorf("another type's event: %+v %v", ev, err)
	}
	stranger := event(t, "evt_test_4", "fraud_report", banksim.FraudReport{Branch: "001", Account: "7777777", EntryID: "e_x", Amount: 3_000, At: now.UTC()})
	if status, _ := e.hook("0001", "evt_test_4", banksim.SignWebhook(secret, now, stranger), stranger); status != 200 {
		t.Errorf("a fraud report on an unknown account: %d", status)
	}
	if ev, err := e.bankEvent("evt_test_4"); err != nil || ev.Outcome != "unmatched" {
		t.Errorf("the unknown account's report: %+v %v", ev, err)
	}
	if as := e.alerts("fraud_report"); len(as) != 1 || as[0].Subject != "bank:0001" || !strings.Contains(as[0].Reason, "e_x") || strings.Contains(as[0].Reason, "7777777") {
		t.Errorf("alerts for a report on an unknown account: %+v", as)
	}
	unchanged("other events")

	// The refused deliveries recorded nothing: the genuine event with their id still acts.
	if status, page := e.hook("0001", "evt_test_1", banksim.SignWebhook(secret, time.Now(), revoke), revoke); status != 200 {
		t.Fatalf("the genuine event: %d %s", status, page)
	}
	if got := e.link1(link.ID.String()); got.Status != emoney.LinkRevoked || got.RevokedBy != "bank" {
		t.Errorf("after the genuine event: %s by %q", got.Status, got.RevokedBy)
	}
}
