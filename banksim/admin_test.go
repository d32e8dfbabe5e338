package banksim_test

import (
	"context"
	"strings"
	"testing"
	"time"
	"unicode"

	"emoney/banksim"
)

func TestAdminAuth(t *testing.T) {
	w := newCoreWorld(t)
	routes := []struct{ method, path string }{
		{"GET", "/admin/banks"},
		{"GET", "/admin/banks/0001/customers"},
		{"POST", "/admin/banks/0001/customers"},
		{"POST", "/admin/banks/0001/customers/taro/unlock"},
		{"POST", "/admin/banks/0001/accounts"},
		{"GET", "/admin/banks/0001/accounts/001-1234567/statements"},
		{"POST", "/admin/banks/0001/clients"},
		{"GET", "/admin/banks/0001/otp"},
		{"POST", "/admin/banks/0001/fraud-reports"},
		{"GET", "/admin/banks/0001/grants"},
		{"POST", "/admin/banks/0001/grants/g-full/revoke"},
		{"GET", "/admin/banks/0001/failures"},
		{"PUT", "/admin/banks/0001/failures"},
		{"GET", "/admin/banks/0001/notices"},
		{"GET", "/admin/banks/0001/webhooks"},
	}
	for _, rt := range routes {
		for _, tok := range []string{"", "Bearer wrong-token", "Bearer " + coreAdmin + "x", coreAdmin} {
			a := w.do(rt.method, rt.path, tok, "", `{}`)
			if a.Status != 401 || a.errCode() != "unauthorized" || !strings.HasPrefix(a.Header.Get("WWW-Authenticate"), "Bearer ") {
				t.Errorf("%s %s with %q: %d %s", rt.method, rt.path, tok, a.Status, a.Raw)
			}
		}
	}
	if gs, _ := w.sim.Grants(coreBank); !gs[0].RevokedAt.IsZero() || !gs[1].RevokedAt.IsZero() {
		t.Error("an unauthenticated call revoked a grant")
	}

	// A simulator with no admin token answers 401 to everything, even "Bearer ".
	sim := banksim.New(banksim.Config{})
	w2 := &coreWorld{t: t, url: startSim(t, sim)}
	if a := w2.do("GET", "/admin/banks", "Bearer ", "", ""); a.Status != 401 {
		t.Errorf("no admin token configured: %d", a.Status)
	}
}

func TestAdminAPI(t *testing.T) {
	w := newCoreWorld(t)
	ctx := context.Background()
	ac := w.admin

	banks, err := ac.Banks(ctx)
	if err != nil || len(banks) != 20 || banks[0].Code != "0001" || banks[19].Code != "9900" || banks[19].Kind != "postal" {
		t.Fatalf("banks %+v %v", banks, err)
	}

	c, err := ac.AddCustomer(ctx, "0116", banksim.NewCustomer{LoginID: "hanako", Password: "pw-hanako-1", NameKanji: "佐藤 花子",
		HolderKana: "ｻﾄｳ ﾊﾅｺ", BirthDate: "1985-02-03", Phone: "+819011112222", TOTP: true})
	if err != nil || c.TOTPSecret == "" {
		t.Fatalf("customer %+v %v", c, err)
	}
	if _, err := ac.AddCustomer(ctx, "0116", banksim.NewCustomer{LoginID: "hanako", Password: "x", HolderKana: "x", BirthDate: "x"}); !isAdminErr(err, 409, "conflict") {
		t.Errorf("duplicate customer: %v", err)
	}
	if _, err := ac.AddCustomer(ctx, "0116", banksim.NewCustomer{LoginID: "nopw"}); !isAdminErr(err, 400, "invalid") {
		t.Errorf("customer without password: %v", err)
	}
	if _, err := ac.AddCustomer(ctx, "1234", banksim.NewCustomer{}); !isAdminErr(err, 404, "not_found") {
		t.Errorf("unknown bank: %v", err)
	}
	a, err := ac.AddAccount(ctx, "0116", banksim.NewAccount{Customer: "hanako", Branch: "201", PIN: "9876", Balance: 5000})
	if err != nil || a.Balance != 5000 || len(a.Number) != 7 {
		t.Fatalf("account %+v %v", a, err)
	}
	for _, na := range []banksim.NewAccount{
		{Customer: "hanako", Branch: "2x1"},
		{Customer: "hanako", Branch: "201", PIN: "12345"},
		{Customer: "hanako", Branch: "201", Balance: -1},
	} {
		if _, err := ac.AddAccount(ctx, "0116", na); !isAdminErr(err, 400, "invalid") {
			t.Errorf("account %+v: %v", na, err)
		}
	}
	st, err := ac.AccountStatement(ctx, "0116", a.Key())
	if err != nil || st.Balance != 5000 || len(st.Entries) != 1 || st.Entries[0].Amount != 5000 {
		t.Errorf("statement %+v %v", st, err)
	}
	cs, err := ac.Customers(ctx, "0116")
	if err != nil || len(cs) != 1 || cs[0].TOTPSecret != c.TOTPSecret || len(cs[0].Accounts) != 1 || cs[0].Accounts[0] != a.Key() {
		t.Errorf("customers %+v %v", cs, err)
	}

	// Clients: JWKS as the key set itself (raw JSON) or base64 of it (as Client marshals); a
	// secret is made and shown once when none is given.
	cl, err := ac.AddClient(ctx, "0116", banksim.Client{ID: "w2", Name: "Wallet Two", JWKS: []byte(coreJWKS), RedirectURIs: []string{"https://w2.example/cb"}, WebhookURL: "https://w2.example/hooks"})
	if err != nil || !strings.HasPrefix(cl.WebhookSecret, "whsec_") {
		t.Fatalf("client %+v %v", cl, err)
	}
	raw := `{"client_id":"w3","name":"Wallet Three","jwks":` + coreJWKS + `,"redirect_uris":["https://w3.example/cb"],"webhook_secret":"0123456789abcdef0"}`
	if r := w.do("POST", "/admin/banks/0116/clients", "Bearer "+coreAdmin, "", raw); r.Status != 201 || r.JSON["webhook_secret"] != nil && r.JSON["webhook_secret"] != "" {
		t.Errorf("client with raw JWKS: %d %s", r.Status, r.Raw)
	}
	for _, tc := range []struct{ body, field string }{
		{`{"client_id":"w4","name":"W","jwks":{"keys":[]},"redirect_uris":["https://w.example/cb"]}`, "jwks"},
		{`{"client_id":"w4","name":"W","jwks":` + coreJWKS + `,"redirect_uris":["https://w.example/cb#x"]}`, "redirect_uris"},
		{`{"client_id":"w4","name":"W","jwks":` + coreJWKS + `,"redirect_uris":[]}`, "redirect_uris"},
		{`{"client_id":"w4","name":"W","jwks":` + coreJWKS + `,"redirect_uris":["https://w.example/cb"],"webhook_secret":"short"}`, "webhook_secret"},
		{`{"client_id":"w4","jwks":` + coreJWKS + `,"redirect_uris":["https://w.example/cb"]}`, "name"},
		{`{"client_id":"w3","name":"W","jwks":` + coreJWKS + `,"redirect_uris":["https://w.example/cb"]}`, "client_id"},
	} {
		if r := w.do("POST", "/admin/banks/0116/clients", "Bearer "+coreAdmin, "", tc.body); r.Status/100 != 4 || r.errField("field") != tc.field {
			t.Errorf("%s: %d %s", tc.body, r.Status, r.Raw)
		}
	}

	// The one-time-code outbox, all or by phone.
	if !w.sim.SendTestCode(coreBank, "taro") {
		t.Fatal("no SMS sent")
	}
	ms, err := ac.OTPs(ctx, coreBank, "+819012345678")
	if err != nil || len(ms) != 1 || len(ms[0].Code) != 6 {
		t.Errorf("outbox %+v %v", ms, err)
	}
	if ms, _ := ac.OTPs(ctx, coreBank, "+810000000000"); len(ms) != 0 {
		t.Errorf("outbox of another phone: %+v", ms)
	}

	// Failures: set, read back, refused when negative.
	f := banksim.Failures{Status5xx: 2, Slow: 1, SlowDelay: time.Second}
	if err := ac.InjectFailures(ctx, coreBank, f); err != nil {
		t.Fatal(err)
	}
	if got, err := ac.PendingFailures(ctx, coreBank); err != nil || got != f {
		t.Errorf("failures %+v %v", got, err)
	}
	if err := ac.InjectFailures(ctx, coreBank, banksim.Failures{Timeout: -1}); !isAdminErr(err, 400, "invalid") {
		t.Errorf("negative failures: %v", err)
	}

	if err := ac.Unlock(ctx, coreBank, "taro"); err != nil {
		t.Errorf("unlock: %v", err)
	}
	if err := ac.Unlock(ctx, coreBank, "nobody"); !isAdminErr(err, 404, "not_found") {
		t.Errorf("unlock nobody: %v", err)
	}
}

func TestSeed(t *testing.T) {
	sim := banksim.New(banksim.Config{})
	cs, err := sim.Seed(3)
	if err != nil || len(cs) != 60 {
		t.Fatalf("%d seeded, %v", len(cs), err)
	}
	again, _ := banksim.New(banksim.Config{}).Seed(3)
	totp := 0
	for i, c := range cs {
		if c.NameKanji != again[i].NameKanji || c.HolderKana != again[i].HolderKana || c.BirthDate != again[i].BirthDate || c.Account != again[i].Account || c.Password != again[i].Password {
			t.Fatalf("not deterministic: %+v vs %+v", c, again[i])
		}
		for _, r := range strings.ReplaceAll(c.HolderKana, " ", "") {
			if r < 0xFF66 || r > 0xFF9F { // half-width katakana, no small kana (U+FF67–FF6F)
				t.Fatalf("%q is not Zengin half-width katakana", c.HolderKana)
			}
			if r >= 0xFF67 && r <= 0xFF6F {
				t.Fatalf("%q has small kana", c.HolderKana)
			}
		}
		if !unicode.Is(unicode.Han, []rune(c.NameKanji)[0]) {
			t.Errorf("kanji name %q", c.NameKanji)
		}
		if c.TOTPSecret != "" {
			totp++
		}
		st, err := sim.AccountStatement(c.Bank, c.Account)
		if err != nil || st.Balance != c.Balance || c.Balance <= 0 {
			t.Errorf("%s: %+v %v", c.Account, st, err)
		}
	}
	if totp == 0 || totp == len(cs) {
		t.Errorf("%d of %d customers use TOTP: want a mix", totp, len(cs))
	}
	if _, err := sim.Seed(1); err == nil {
		t.Error("seeding twice: want an error")
	}
}
