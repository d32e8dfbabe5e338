package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"emoney"
	"emoney/alerts"
	"emoney/ledger"
	"emoney/sqlite"
)

// staffMember is a staff account made through the CLI and enrolled over the API.
type staffMember struct {
	email, secret, token, id string
}

// newStaff creates and enrols a staff member (its id read from what staff create says) and
// signs them in with a one-time code of the current step.
func newStaff(t *testing.T, db, api, email, role string) staffMember {
	t.Helper()
	out, stderr, err := cli(t, nil, "staff", "create", "--db", db, "--email", email, "--role", role)
	if err != nil {
		t.Fatal(err)
	}
	id, _, _ := strings.Cut(strings.TrimPrefix(stderr, "staff account "), " ")
	var enrol struct{ Secret string }
	if resp := call(t, "POST", api+"/staff/enrol", "", `{"code":"`+strings.TrimSpace(out)+`","password":"a long staff passphrase"}`, &enrol); resp.StatusCode != 201 {
		t.Fatalf("enrol %s: %d", email, resp.StatusCode)
	}
	m := staffMember{email: email, secret: enrol.Secret, id: id}
	m.token = m.login(t, api, time.Now(), 200) // not used yet: no server has it cached
	return m
}

// login signs m in with the code of the time step at, and checks the answer's status.
func (m staffMember) login(t *testing.T, api string, at time.Time, status int) string {
	t.Helper()
	code, _ := totp.GenerateCode(m.secret, at)
	var login struct{ Token string }
	var e apiError
	out := any(&login)
	if status != 200 {
		out = &e
	}
	if resp := call(t, "POST", api+"/login", "", `{"email":"`+m.email+`","password":"a long staff passphrase","otp":"`+code+`"}`, out); resp.StatusCode != status {
		t.Fatalf("staff login %s: %d %+v, want %d", m.email, resp.StatusCode, e, status)
	}
	return login.Token
}

func TestMakerCheckerOverHTTP(t *testing.T) {
	path, db := migratedDB(t)
	agent := partnerKey(t, db, "Agent", "agent")
	base, _, log := startServerLogged(t, path)
	api := base + "/api/v1"
	alice, aliceWallet := user(t, api, "alice@example.com")
	_, bobWallet := user(t, api, "bob@example.com")
	verifyPhone(t, api, alice, log, "+819011112222") // tier 2 may hold this much
	if resp := call(t, "POST", api+"/kyc/ekyc", alice, aliceDoc, nil); resp.StatusCode != 200 {
		t.Fatalf("eKYC: %d", resp.StatusCode)
	}
	if resp := post(t, api+"/cashins", agent, "c1", `{"wallet":"`+aliceWallet+`","amount":900000}`, nil); resp.StatusCode != 201 {
		t.Fatalf("cash-in: %d", resp.StatusCode)
	}
	analyst := newStaff(t, db, api, "analyst@example.com", "analyst")
	senior := newStaff(t, db, api, "senior@example.com", "senior_analyst")
	admin := newStaff(t, db, api, "admin@example.com", "admin")

	// The risk engine holds money for review; here another handle on the database does.
	ctx := context.Background()
	s, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	l := ledger.New(s, ledger.Config{})
	svc := alerts.New(s, l, nil)
	aw, _ := emoney.ParseID(aliceWallet)
	bw, _ := emoney.ParseID(bobWallet)
	hold := func(key string, amount int64) string {
		_, a, err := svc.Hold(ctx, "risk", key, ledger.Op{From: aw, To: bw, Amount: amount, Code: "p2p"}, "wallet:"+aliceWallet, "rule:drain")
		if err != nil {
			t.Fatal(err)
		}
		return a.ID.String()
	}
	big, declined, small := hold("big", 300000), hold("declined", 150000), hold("small", 100000)
	l.Close()

	type decision struct {
		Alert struct {
			Status     string `json:"status"`
			ProposedBy string `json:"proposed_by"`
			ResolvedBy string `json:"resolved_by"`
		} `json:"alert"`
		ApprovalRequired bool `json:"approval_required"`
		Transfer         struct {
			Kind   string `json:"kind"`
			Amount int64  `json:"amount"`
		} `json:"transfer"`
	}
	balance := func() (int64, int64) {
		var me struct {
			Wallet struct{ Balance, Available int64 } `json:"wallet"`
		}
		call(t, "GET", api+"/me", alice, "", &me)
		return me.Wallet.Balance, me.Wallet.Available
	}
	var d decision
	var e apiError

	// Above ¥100,000 a release is only proposed, even by a senior analyst.
	if resp := call(t, "POST", api+"/staff/alerts/"+big+"/release", senior.token, "", &d); resp.StatusCode != 202 || d.Alert.Status != "proposed" || !d.ApprovalRequired || d.Alert.ProposedBy != "staff:"+senior.id {
		t.Fatalf("release above the threshold: %d %+v", resp.StatusCode, d)
	}
	if resp := call(t, "POST", api+"/staff/alerts/"+big+"/release", senior.token, "", &d); resp.StatusCode != 202 {
		t.Errorf("the maker's retry: %d", resp.StatusCode)
	}
	if b, av := balance(); b != 900000 || av != 900000-550000 {
		t.Errorf("alice after a proposal: balance %d available %d: nothing may move yet", b, av)
	}
	var queue struct {
		Items []struct{ ID, Status string } `json:"items"`
	}
	if resp := call(t, "GET", api+"/staff/alerts?status=proposed", admin.token, "", &queue); resp.StatusCode != 200 || len(queue.Items) != 1 || queue.Items[0].ID != big {
		t.Errorf("proposed queue: %d %+v", resp.StatusCode, queue)
	}
	// The maker never approves: a clear refusal, whatever their role.
	if resp := call(t, "POST", api+"/staff/alerts/"+big+"/approve", senior.token, "", &e); resp.StatusCode != 403 || e.Error.Code != "forbidden" {
		t.Errorf("self-approval: %d %+v", resp.StatusCode, e)
	}
	// An analyst is no checker, and a second release is no approval.
	if resp := call(t, "POST", api+"/staff/alerts/"+big+"/approve", analyst.token, "", &e); resp.StatusCode != 403 {
		t.Errorf("approval by an analyst: %d %+v", resp.StatusCode, e)
	}
	if resp := call(t, "POST", api+"/staff/alerts/"+big+"/release", analyst.token, "", &e); resp.StatusCode != 409 {
		t.Errorf("a second release over a proposal: %d %+v", resp.StatusCode, e)
	}
	if b, _ := balance(); b != 900000 {
		t.Fatalf("money moved before the approval: %d", b)
	}
	// A second staff member approves and the money posts.
	if resp := call(t, "POST", api+"/staff/alerts/"+big+"/approve", admin.token, "", &d); resp.StatusCode != 200 || d.Alert.Status != "released" ||
		d.Alert.ResolvedBy != "staff:"+admin.id || d.Alert.ProposedBy != "staff:"+senior.id || d.Transfer.Kind != "post" || d.Transfer.Amount != 300000 {
		t.Fatalf("approval: %d %+v", resp.StatusCode, d)
	}
	if resp := call(t, "POST", api+"/staff/alerts/"+big+"/approve", admin.token, "", nil); resp.StatusCode != 200 {
		t.Errorf("retried approval: %d", resp.StatusCode)
	}
	if b, _ := balance(); b != 600000 {
		t.Errorf("alice after the approval: %d, want 600000", b)
	}

	// Declined: open again; then one person rejects it and the money goes back.
	call(t, "POST", api+"/staff/alerts/"+declined+"/release", analyst.token, "", nil)
	d = decision{}
	if resp := call(t, "POST", api+"/staff/alerts/"+declined+"/decline", senior.token, "", &d); resp.StatusCode != 200 || d.Alert.Status != "open" || d.Alert.ProposedBy != "" {
		t.Fatalf("decline: %d %+v", resp.StatusCode, d)
	}
	if resp := call(t, "POST", api+"/staff/alerts/"+declined+"/approve", admin.token, "", &e); resp.StatusCode != 409 {
		t.Errorf("approving a declined proposal: %d %+v", resp.StatusCode, e)
	}
	d = decision{}
	if resp := call(t, "POST", api+"/staff/alerts/"+declined+"/reject", analyst.token, "", &d); resp.StatusCode != 200 || d.Transfer.Kind != "void" {
		t.Fatalf("reject: %d %+v", resp.StatusCode, d)
	}
	// At the threshold one analyst decides, as before.
	d = decision{}
	if resp := call(t, "POST", api+"/staff/alerts/"+small+"/release", analyst.token, "", &d); resp.StatusCode != 200 || d.Transfer.Kind != "post" {
		t.Fatalf("release at the threshold: %d %+v", resp.StatusCode, d)
	}
	if b, av := balance(); b != 500000 || av != 500000 {
		t.Errorf("alice at the end: balance %d available %d, want 500000 both", b, av)
	}

	// Every step is in the audit log, by whom it was done.
	var steps []string
	if err := s.View(ctx, func(tx emoney.ReadTx) error {
		return tx.ScanAudit(ctx, func(a emoney.AuditEntry) error {
			if strings.HasPrefix(a.Action, "alert.") {
				steps = append(steps, a.Action+" "+strings.TrimPrefix(a.Actor, "staff:"))
			}
			return nil
		})
	}); err != nil {
		t.Fatal(err)
	}
	want := []string{"alert.propose " + senior.id, "alert.approve " + admin.id, "alert.propose " + analyst.id, "alert.decline " + senior.id,
		"alert.reject " + analyst.id, "alert.release " + analyst.id}
	if fmt.Sprint(steps) != fmt.Sprint(want) {
		t.Errorf("audit steps:\n%v\nwant\n%v", steps, want)
	}
	for _, cmd := range []string{"audit", "ledger"} {
		if out, _, err := cli(t, nil, cmd, "verify", "--db", db); err != nil {
			t.Errorf("%s verify: %v\n%s", cmd, err, out)
		}
	}
}

func TestStaffDisableOverHTTP(t *testing.T) {
	path := filepath.Join(t.TempDir(), "emoney.db")
	db := "sqlite:" + path
	if _, _, err := cli(t, nil, "migrate", "--db", db); err != nil {
		t.Fatal(err)
	}
	base, _ := startServerOn(t, path)
	api := base + "/api/v1"
	admin := newStaff(t, db, api, "admin@example.com", "admin")
	analyst := newStaff(t, db, api, "analyst@example.com", "analyst")
	support := newStaff(t, db, api, "support@example.com", "support")
	customer, _ := user(t, api, "alice@example.com")
	var me struct {
		User struct{ ID string } `json:"user"`
	}
	call(t, "GET", api+"/me", customer, "", &me)
	second := analyst.login(t, api, time.Now().Add(30*time.Second), 200) // a second device, the next code

	// Both of the analyst's sessions work (and this instance now trusts them for a moment).
	for _, tok := range []string{analyst.token, second} {
		if resp := call(t, "GET", api+"/staff/alerts", tok, "", nil); resp.StatusCode != 200 {
			t.Fatalf("analyst before: %d", resp.StatusCode)
		}
	}
	var e apiError
	if resp := call(t, "POST", api+"/staff/users/"+support.id+"/disable", analyst.token, "", &e); resp.StatusCode != 403 {
		t.Errorf("an analyst disabling staff: %d %+v", resp.StatusCode, e)
	}
	for id, status := range map[string]int{admin.id: 403, me.User.ID: 404, "not-an-id": 404, "01M7YWNQEX4CHP0EGY26KFJQV3": 404} {
		if resp := call(t, "POST", api+"/staff/users/"+id+"/disable", admin.token, "", &e); resp.StatusCode != status {
			t.Errorf("disable %s: %d %+v, want %d", id, resp.StatusCode, e, status)
		}
	}
	var out struct {
		Disabled bool `json:"disabled"`
		N        int  `json:"sessions_revoked"`
	}
	if resp := call(t, "POST", api+"/staff/users/"+analyst.id+"/disable", admin.token, "", &out); resp.StatusCode != 200 || !out.Disabled || out.N != 2 {
		t.Fatalf("disable: %d %+v", resp.StatusCode, out)
	}
	// At once: both old tokens are refused, though this instance had just checked them.
	for _, tok := range []string{analyst.token, second} {
		if resp := call(t, "GET", api+"/staff/alerts", tok, "", &e); resp.StatusCode != 401 {
			t.Errorf("a disabled analyst's token: %d %+v", resp.StatusCode, e)
		}
	}
	// The CLI does the same (the support member's token was never checked, so no cache holds it).
	if _, _, err := cli(t, nil, "staff", "disable", "--db", db, "--email", "support@example.com"); err != nil {
		t.Fatal(err)
	}
	if resp := call(t, "GET", api+"/staff/alerts", support.token, "", &e); resp.StatusCode != 401 {
		t.Errorf("token of staff disabled by the CLI: %d", resp.StatusCode)
	}
	// A disabled account cannot sign in, even with every factor right (the next step's code:
	// the current one was spent signing in).
	support.login(t, api, time.Now().Add(30*time.Second), 403)
	if _, _, err := cli(t, nil, "staff", "disable", "--db", db, "--email", "alice@example.com"); err == nil {
		t.Error("the CLI disabled a customer as staff")
	}
	if resp := call(t, "GET", api+"/staff/alerts", admin.token, "", nil); resp.StatusCode != 200 {
		t.Errorf("the admin after disabling others: %d", resp.StatusCode)
	}
	if out, _, err := cli(t, nil, "audit", "verify", "--db", db); err != nil {
		t.Errorf("audit verify: %v\n%s", err, out)
	}
}

func TestRevokeAllSessionsOverHTTP(t *testing.T) {
	base, _ := startServer(t)
	api := base + "/api/v1"
	first, _ := user(t, api, "alice@example.com")
	var login struct{ Token string }
	call(t, "POST", api+"/login", "", `{"email":"alice@example.com","password":"correct horse battery","device":"tablet"}`, &login)
	bob, _ := user(t, api, "bob@example.com")
	for _, tok := range []string{first, login.Token, bob} {
		if resp := call(t, "GET", api+"/me", tok, "", nil); resp.StatusCode != 200 {
			t.Fatalf("before: %d", resp.StatusCode)
		}
	}
	var out struct {
		N int `json:"sessions_revoked"`
	}
	if resp := call(t, "POST", api+"/sessions/revoke-all", login.Token, "", &out); resp.StatusCode != 200 || out.N != 2 {
		t.Fatalf("revoke-all: %d %+v", resp.StatusCode, out)
	}
	for _, tok := range []string{first, login.Token} {
		if resp := call(t, "GET", api+"/me", tok, "", nil); resp.StatusCode != 401 {
			t.Errorf("a session signed out everywhere: %d", resp.StatusCode)
		}
	}
	if resp := call(t, "GET", api+"/me", bob, "", nil); resp.StatusCode != 200 {
		t.Errorf("someone else's session: %d", resp.StatusCode)
	}
	if resp := call(t, "POST", api+"/login", "", `{"email":"alice@example.com","password":"correct horse battery"}`, &login); resp.StatusCode != 200 {
		t.Fatalf("sign in again: %d", resp.StatusCode)
	}
	if resp := call(t, "GET", api+"/me", login.Token, "", nil); resp.StatusCode != 200 {
		t.Errorf("a new session after revoke-all: %d", resp.StatusCode)
	}
}

func TestStaffReissue(t *testing.T) {
	path := filepath.Join(t.TempDir(), "emoney.db")
	db := "sqlite:" + path
	if _, _, err := cli(t, nil, "migrate", "--db", db); err != nil {
		t.Fatal(err)
	}
	out, _, err := cli(t, nil, "staff", "create", "--db", db, "--email", "late@example.com", "--role", "analyst")
	if err != nil {
		t.Fatal(err)
	}
	old := strings.TrimSpace(out)
	out, _, err = cli(t, nil, "staff", "reissue", "--db", db, "--email", "late@example.com")
	if err != nil {
		t.Fatal(err)
	}
	code := strings.TrimSpace(out)
	if !strings.HasPrefix(code, "ems_") || code == old {
		t.Fatalf("reissued %q", code)
	}
	if _, _, err := cli(t, nil, "staff", "reissue", "--db", db, "--email", "nobody@example.com"); err == nil {
		t.Error("reissued for nobody")
	}
	base, _ := startServerOn(t, path)
	api := base + "/api/v1"
	var e apiError
	if resp := call(t, "POST", api+"/staff/enrol", "", `{"code":"`+old+`","password":"a long staff passphrase"}`, &e); resp.StatusCode != 401 {
		t.Errorf("the replaced code: %d", resp.StatusCode)
	}
	if resp := call(t, "POST", api+"/staff/enrol", "", `{"code":"`+code+`","password":"a long staff passphrase"}`, nil); resp.StatusCode != 201 {
		t.Fatalf("enrol with the new code: %d", resp.StatusCode)
	}
	if _, _, err := cli(t, nil, "staff", "reissue", "--db", db, "--email", "late@example.com"); err == nil {
		t.Error("reissued for someone who enrolled")
	}
	user(t, api, "alice@example.com")
	if _, _, err := cli(t, nil, "staff", "reissue", "--db", db, "--email", "alice@example.com"); err == nil {
		t.Error("reissued a staff code for a customer")
	}
	out, _, err = cli(t, nil, "audit", "verify", "--db", db)
	if err != nil || !strings.Contains(out, "3 entries") { // create, reissue, enrol
		t.Errorf("audit: %v %s", err, out)
	}
}

func TestPayeesOverHTTP(t *testing.T) {
	path := filepath.Join(t.TempDir(), "emoney.db")
	base, _ := startServerOn(t, path)
	api := base + "/api/v1"
	alice, aliceWallet := user(t, api, "alice@example.com")
	bob, bobWallet := user(t, api, "bob@example.com")
	_, carolWallet := user(t, api, "carol@example.com")

	type payee struct {
		ID, Wallet, Nickname string
		AddedAt              string `json:"added_at"`
	}
	var p payee
	if resp := call(t, "POST", api+"/payees", alice, `{"wallet":"`+bobWallet+`","nickname":" Bob (rent) "}`, &p); resp.StatusCode != 201 ||
		p.Wallet != bobWallet || p.Nickname != "Bob (rent)" || p.AddedAt == "" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("add: %d %+v", resp.StatusCode, p)
	}
	bobPayee := p.ID
	var e apiError
	for _, tc := range []struct {
		name, body, code, field string
		status                  int
	}{
		{"own wallet", `{"wallet":"` + aliceWallet + `","nickname":"me"}`, "invalid", "wallet", 400},
		{"no such wallet", `{"wallet":"01M7YWNQEX4CHP0EGY26KFJQV3","nickname":"x"}`, "invalid", "wallet", 400},
		{"no wallet", `{"nickname":"x"}`, "invalid", "wallet", 400},
		{"empty nickname", `{"wallet":"` + carolWallet + `","nickname":"  "}`, "invalid", "nickname", 400},
		{"41 characters", `{"wallet":"` + carolWallet + `","nickname":"` + strings.Repeat("あ", 41) + `"}`, "invalid", "nickname", 400},
		{"bidi override", `{"wallet":"` + carolWallet + `","nickname":"Carol\u202eevil"}`, "invalid", "nickname", 400},
		{"line break", `{"wallet":"` + carolWallet + `","nickname":"Carol\nx"}`, "invalid", "nickname", 400},
		{"unknown field", `{"wallet":"` + carolWallet + `","nickname":"Carol","amount":1}`, "invalid", "amount", 400},
		{"duplicate", `{"wallet":"` + bobWallet + `","nickname":"Bob again"}`, "conflict", "wallet", 409},
	} {
		if resp := call(t, "POST", api+"/payees", alice, tc.body, &e); resp.StatusCode != tc.status || e.Error.Code != tc.code || e.Error.Field != tc.field {
			t.Errorf("%s: %d %+v", tc.name, resp.StatusCode, e)
		}
	}
	if resp := call(t, "POST", api+"/payees", alice, `{"wallet":"`+carolWallet+`","nickname":"キャロル"}`, &p); resp.StatusCode != 201 || p.Nickname != "キャロル" {
		t.Fatalf("add carol: %d %+v", resp.StatusCode, p)
	}
	carolPayee := p.ID

	// Newest first, a page at a time.
	var page struct {
		Items []payee `json:"items"`
		Next  string  `json:"next"`
	}
	if resp := call(t, "GET", api+"/payees?limit=1", alice, "", &page); resp.StatusCode != 200 || len(page.Items) != 1 || page.Items[0].ID != carolPayee || page.Next != carolPayee {
		t.Fatalf("first page: %d %+v", resp.StatusCode, page)
	}
	if resp := call(t, "GET", api+"/payees?limit=1&before="+page.Next, alice, "", &page); resp.StatusCode != 200 || len(page.Items) != 1 || page.Items[0].ID != bobPayee || page.Items[0].Nickname != "Bob (rent)" {
		t.Fatalf("second page: %d %+v", resp.StatusCode, page)
	}
	if resp := call(t, "GET", api+"/payees?limit=0", alice, "", &e); resp.StatusCode != 400 || e.Error.Field != "limit" {
		t.Errorf("limit=0: %d %+v", resp.StatusCode, e)
	}
	// Another customer sees none of them and cannot delete them: they do not exist for bob.
	page.Items = nil
	if resp := call(t, "GET", api+"/payees", bob, "", &page); resp.StatusCode != 200 || len(page.Items) != 0 {
		t.Errorf("bob's list: %d %+v", resp.StatusCode, page)
	}
	if resp := call(t, "DELETE", api+"/payees/"+bobPayee, bob, "", &e); resp.StatusCode != 404 || e.Error.Code != "not_found" {
		t.Errorf("bob deleting alice's payee: %d %+v", resp.StatusCode, e)
	}
	if resp := call(t, "DELETE", api+"/payees/"+bobPayee, alice, "", nil); resp.StatusCode != 204 {
		t.Errorf("delete: %d", resp.StatusCode)
	}
	if resp := call(t, "DELETE", api+"/payees/"+bobPayee, alice, "", &e); resp.StatusCode != 404 {
		t.Errorf("delete twice: %d", resp.StatusCode)
	}
	if resp := call(t, "GET", api+"/payees", "", "", &e); resp.StatusCode != 401 {
		t.Errorf("no token: %d", resp.StatusCode)
	}

	// At rest the nickname is sealed; the event names the wallet and never the nickname.
	ctx := context.Background()
	s, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cid, _ := emoney.ParseID(carolPayee)
	if err := s.View(ctx, func(tx emoney.ReadTx) error {
		row, err := tx.Payee(ctx, cid)
		if err != nil {
			return err
		}
		if bytes.Contains(row.NicknameSealed, []byte("キャロル")) {
			t.Error("the nickname is stored in the clear")
		}
		events, err := tx.Outbox(ctx, 0, 1000)
		if err != nil {
			return err
		}
		var added []map[string]any
		for _, ev := range events {
			if ev.Topic != "payee.added" {
				continue
			}
			var m map[string]any
			json.Unmarshal(ev.Payload, &m)
			if bytes.Contains(ev.Payload, []byte("Bob")) || bytes.Contains(ev.Payload, []byte("キャロル")) {
				t.Errorf("the event carries the nickname: %s", ev.Payload)
			}
			added = append(added, m)
		}
		if len(added) != 2 || added[0]["wallet"] != bobWallet || added[1]["wallet"] != carolWallet || added[1]["payee"] != carolPayee {
			t.Errorf("payee.added events: %v", added)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	// At most 200 payees: wallets made directly in the ledger, saved over the API.
	l := ledger.New(s, ledger.Config{})
	for i := 0; len(page.Items) < emoney.MaxPayees; i++ {
		w, err := l.OpenAccount(ctx, ledger.AccountSpec{Name: fmt.Sprint("wallet:cap-", i), Kind: emoney.AccountWallet})
		if err != nil {
			t.Fatal(err)
		}
		if resp := call(t, "POST", api+"/payees", alice, `{"wallet":"`+w.ID.String()+`","nickname":"n"}`, &p); resp.StatusCode == 422 {
			break
		} else if resp.StatusCode != 201 {
			t.Fatalf("payee %d: %d", i, resp.StatusCode)
		}
		if i > emoney.MaxPayees {
			t.Fatal("no cap")
		}
	}
	l.Close()
	page.Items = nil
	call(t, "GET", api+"/payees?limit=200", alice, "", &page)
	if len(page.Items) != emoney.MaxPayees {
		t.Fatalf("alice has %d payees", len(page.Items))
	}
	if resp := call(t, "POST", api+"/payees", alice, `{"wallet":"`+bobWallet+`","nickname":"Bob"}`, &e); resp.StatusCode != 422 || e.Error.Code != "limit_exceeded" || e.Error.Reason != "payees" {
		t.Errorf("payee 201: %d %+v", resp.StatusCode, e)
	}
}

// The sweeper deletes sessions 30 days past their expiry or revocation, and keeps the rest.
func TestSweeperPurgesOldSessions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "emoney.db")
	ctx := context.Background()
	s, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	day := 24 * time.Hour
	sessions := map[string]emoney.Session{
		"expired-long-ago": {CreatedAt: now.Add(-80 * day), ExpiresAt: now.Add(-40 * day)},
		"revoked-long-ago": {CreatedAt: now.Add(-40 * day), ExpiresAt: now.Add(10 * day), RevokedAt: now.Add(-31 * day)},
		"expired-recently": {CreatedAt: now.Add(-40 * day), ExpiresAt: now.Add(-10 * day)},
		"revoked-recently": {CreatedAt: now.Add(-20 * day), ExpiresAt: now.Add(10 * day), RevokedAt: now.Add(-day)},
	}
	if err := s.Update(ctx, func(tx emoney.Tx) error {
		for h, x := range sessions {
			x.TokenHash, x.User = []byte(h), emoney.ID{1}
			if err := tx.CreateSession(ctx, x); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	startServerOn(t, path) // the sweeper runs once at start, then every 30 s
	exists := func(h string) bool {
		err := s.View(ctx, func(tx emoney.ReadTx) error { _, err := tx.Session(ctx, []byte(h)); return err })
		if err != nil && emoney.ErrorCode(err) != emoney.ENotFound {
			t.Fatal(err)
		}
		return err == nil
	}
	for deadline := time.Now().Add(20 * time.Second); exists("expired-long-ago") || exists("revoked-long-ago"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the sweeper did not delete the old sessions")
		}
	}
	for _, h := range []string{"expired-recently", "revoked-recently"} {
		if !exists(h) {
			t.Errorf("session %s, within its retention, was deleted", h)
		}
	}
	s.Close()
}
