package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"emoney"
	"emoney/ledger"
	"emoney/sqlite"
)

// migratedDB makes a migrated SQLite database in a temp dir and returns its path and --db value.
func migratedDB(t *testing.T) (path, db string) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "emoney.db")
	db = "sqlite:" + path
	if _, _, err := cli(t, nil, "migrate", "--db", db); err != nil {
		t.Fatal(err)
	}
	return path, db
}

// partnerKey registers a partner with emoney partner create and returns its API key.
func partnerKey(t *testing.T, db, name, role string) string {
	t.Helper()
	out, _, err := cli(t, nil, "partner", "create", "--db", db, "--name", name, "--role", role)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(out)
}

// user signs up and logs in over the API and returns the token and wallet id.
func user(t *testing.T, api, email string) (token, wallet string) {
	t.Helper()
	var signed struct {
		Wallet string `json:"wallet"`
	}
	if resp := call(t, "POST", api+"/signup", "", fmt.Sprintf(`{"email":%q,"password":"correct horse battery"}`, email), &signed); resp.StatusCode != 201 {
		t.Fatalf("signup %s: %d", email, resp.StatusCode)
	}
	var login struct {
		Token string `json:"token"`
	}
	if resp := call(t, "POST", api+"/login", "", fmt.Sprintf(`{"email":%q,"password":"correct horse battery"}`, email), &login); resp.StatusCode != 200 {
		t.Fatalf("login %s: %d", email, resp.StatusCode)
	}
	return login.Token, signed.Wallet
}

func TestTransfersOverHTTP(t *testing.T) {
	path := filepath.Join(t.TempDir(), "emoney.db")
	base, _ := startServerOn(t, path)
	api := base + "/api/v1"
	alice, aliceWallet := user(t, api, "alice@example.com")
	bob, bobWallet := user(t, api, "bob@example.com")
	carol, _ := user(t, api, "carol@example.com")

	// Money comes in as an operator would put it (cash-in and top-up endpoints come later):
	// through the ledger, on a second handle of the same database.
	ctx := context.Background()
	s, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	l := ledger.New(s, ledger.Config{})
	bank, _ := l.OpenAccount(ctx, ledger.AccountSpec{Name: "bank:0005", Kind: emoney.AccountBank})
	aw, _ := emoney.ParseID(aliceWallet)
	if _, err := l.Transfer(ctx, "system:test", "fund-alice", ledger.Op{From: bank.ID, To: aw, Amount: 1000, Code: "topup"}); err != nil {
		t.Fatal(err)
	}
	l.Close()
	s.Close()

	var e apiError
	if resp := post(t, api+"/transfers", alice, "", `{"to":"`+bobWallet+`","amount":100}`, &e); resp.StatusCode != 400 || e.Error.Field != "Idempotency-Key" {
		t.Errorf("no key: %d %+v", resp.StatusCode, e)
	}
	var tr struct {
		ID       string `json:"id"`
		From     string `json:"from"`
		To       string `json:"to"`
		Amount   int64  `json:"amount"`
		Currency string `json:"currency"`
	}
	if resp := post(t, api+"/transfers", alice, "k1", `{"to":"`+bobWallet+`","amount":300}`, &tr); resp.StatusCode != 201 || tr.From != aliceWallet || tr.To != bobWallet || tr.Amount != 300 || tr.Currency != "JPY" {
		t.Fatalf("transfer: %d %+v", resp.StatusCode, tr)
	}
	var again struct{ ID string }
	if resp := post(t, api+"/transfers", alice, "k1", `{"to":"`+bobWallet+`","amount":300}`, &again); resp.StatusCode != 201 || again.ID != tr.ID {
		t.Errorf("retry: %d %s, want %s", resp.StatusCode, again.ID, tr.ID)
	}
	for _, tc := range []struct {
		key, body, code, field string
		status                 int
	}{
		{"k1", `{"to":"` + bobWallet + `","amount":301}`, "conflict", "idempotency_key", 409},
		{"k2", `{"to":"` + bobWallet + `","amount":701}`, "insufficient_funds", "amount", 422},
		{"k3", `{"to":"` + bobWallet + `","amount":0}`, "invalid", "amount", 400},
		{"k4", `{"to":"` + bobWallet + `","amount":-5}`, "invalid", "amount", 400},
		{"k5", `{"to":"` + aliceWallet + `","amount":5}`, "invalid", "to", 400},
		{"k6", `{"to":"` + bank.ID.String() + `","amount":5}`, "invalid", "to", 400},
		{"k7", `{"to":"nope","amount":5}`, "invalid", "", 400},
		{"k8", `{"to":"` + bobWallet + `","amount":5,"currency":"yen"}`, "invalid", "currency", 400},
		{"k9", `{"to":"` + bobWallet + `","amount":1000001}`, "limit_exceeded", "amount", 422}, // ¥1,000,000 at most at once
	} {
		var e apiError
		if resp := post(t, api+"/transfers", alice, tc.key, tc.body, &e); resp.StatusCode != tc.status || e.Error.Code != tc.code || (tc.field != "" && e.Error.Field != tc.field) {
			t.Errorf("%s %s: %d %+v", tc.key, tc.body, resp.StatusCode, e)
		}
	}

	// Parties see the transfer; anyone else is told it does not exist.
	if resp := call(t, "GET", api+"/transfers/"+tr.ID, bob, "", nil); resp.StatusCode != 200 {
		t.Errorf("bob reading his incoming transfer: %d", resp.StatusCode)
	}
	if resp := call(t, "GET", api+"/transfers/"+tr.ID, carol, "", &e); resp.StatusCode != 404 || e.Error.Code != "not_found" {
		t.Errorf("carol reading someone else's transfer: %d %+v", resp.StatusCode, e)
	}

	// History, newest first, in pages.
	for i := 0; i < 4; i++ {
		if resp := post(t, api+"/transfers", bob, fmt.Sprint("b", i), `{"to":"`+aliceWallet+`","amount":10}`, nil); resp.StatusCode != 201 {
			t.Fatalf("bob's transfer %d: %d", i, resp.StatusCode)
		}
	}
	var page struct {
		Items []struct {
			ID     string `json:"id"`
			Amount int64  `json:"amount"`
		} `json:"items"`
		Next string `json:"next"`
	}
	var seen []int64
	url := api + "/history?limit=2"
	for i := 0; i < 5; i++ {
		if resp := call(t, "GET", url, alice, "", &page); resp.StatusCode != 200 {
			t.Fatalf("history: %d", resp.StatusCode)
		}
		for _, it := range page.Items {
			seen = append(seen, it.Amount)
		}
		if page.Next == "" {
			break
		}
		url = api + "/history?limit=2&before=" + page.Next
		page.Next = ""
	}
	if fmt.Sprint(seen) != "[10 10 10 10 300 1000]" {
		t.Errorf("alice's history %v", seen)
	}
	var me struct {
		Wallet struct{ Balance int64 } `json:"wallet"`
	}
	call(t, "GET", api+"/me", alice, "", &me)
	if me.Wallet.Balance != 740 {
		t.Errorf("alice's balance %d, want 740", me.Wallet.Balance)
	}
	if resp := call(t, "GET", api+"/history?limit=500", alice, "", &e); resp.StatusCode != 400 || e.Error.Field != "limit" {
		t.Errorf("limit=500: %d %+v", resp.StatusCode, e)
	}
}

func TestCashInOverHTTP(t *testing.T) {
	path := filepath.Join(t.TempDir(), "emoney.db")
	db := "sqlite:" + path
	if _, _, err := cli(t, nil, "migrate", "--db", db); err != nil {
		t.Fatal(err)
	}
	out, _, err := cli(t, nil, "partner", "create", "--db", db, "--name", "FamilyMart", "--role", "agent")
	if err != nil {
		t.Fatal(err)
	}
	agentKey := strings.TrimSpace(out)
	if !strings.HasPrefix(agentKey, "emk_") {
		t.Fatalf("partner create printed %q", out)
	}
	if _, _, err := cli(t, nil, "partner", "create", "--db", db, "--name", "FamilyMart", "--role", "agent"); err == nil {
		t.Error("a second partner of the same name was created")
	}
	if _, _, err := cli(t, nil, "partner", "create", "--db", db, "--name", "Bank", "--role", "admin"); err == nil {
		t.Error("a partner with an admin role was created")
	}

	base, _ := startServerOn(t, path)
	api := base + "/api/v1"
	alice, aliceWallet := user(t, api, "alice@example.com")
	_, bobWallet := user(t, api, "bob@example.com")

	var tr struct {
		To     string `json:"to"`
		Amount int64  `json:"amount"`
		Code   string `json:"code"`
	}
	if resp := post(t, api+"/cashins", agentKey, "shop-42-receipt-1", `{"wallet":"`+aliceWallet+`","amount":5000}`, &tr); resp.StatusCode != 201 || tr.To != aliceWallet || tr.Amount != 5000 || tr.Code != "cashin" {
		t.Fatalf("cash-in: %d %+v", resp.StatusCode, tr)
	}
	if resp := post(t, api+"/cashins", agentKey, "shop-42-receipt-1", `{"wallet":"`+aliceWallet+`","amount":5000}`, nil); resp.StatusCode != 201 {
		t.Errorf("cash-in retry: %d", resp.StatusCode)
	}
	if resp := post(t, api+"/transfers", alice, "rent", `{"to":"`+bobWallet+`","amount":1200}`, nil); resp.StatusCode != 201 {
		t.Errorf("transfer of cashed-in money: %d", resp.StatusCode)
	}
	var me struct {
		Wallet struct{ Balance int64 } `json:"wallet"`
	}
	call(t, "GET", api+"/me", alice, "", &me)
	if me.Wallet.Balance != 3800 {
		t.Errorf("alice holds %d, want 3800 (the retried cash-in counted once)", me.Wallet.Balance)
	}

	// Each credential reaches only its own endpoints.
	var e apiError
	if resp := post(t, api+"/cashins", alice, "x", `{"wallet":"`+aliceWallet+`","amount":1000000}`, &e); resp.StatusCode != 403 || e.Error.Code != "forbidden" {
		t.Errorf("a customer minting money: %d %+v", resp.StatusCode, e)
	}
	for _, c := range []struct{ method, path string }{{"GET", "/history"}, {"GET", "/me"}, {"POST", "/logout"}} {
		if resp := call(t, c.method, api+c.path, agentKey, "", &e); resp.StatusCode != 403 || e.Error.Code != "forbidden" {
			t.Errorf("an agent key on %s %s: %d %+v", c.method, c.path, resp.StatusCode, e)
		}
	}
	if resp := post(t, api+"/cashins", "emk_forged", "y", `{"wallet":"`+aliceWallet+`","amount":1}`, &e); resp.StatusCode != 401 {
		t.Errorf("forged key: %d", resp.StatusCode)
	}
	if resp := post(t, api+"/cashins", agentKey, "z", `{"wallet":"`+aliceWallet+`","amount":0}`, &e); resp.StatusCode != 400 || e.Error.Field != "amount" {
		t.Errorf("cash-in of 0: %d %+v", resp.StatusCode, e)
	}
	// A leaked key is revoked: it stops working at once, and the audit log says who did it.
	if _, _, err := cli(t, nil, "partner", "revoke", "--db", db, "--name", "FamilyMart"); err != nil {
		t.Fatal(err)
	}
	if resp := post(t, api+"/cashins", agentKey, "after-revoke", `{"wallet":"`+aliceWallet+`","amount":1}`, &e); resp.StatusCode != 401 {
		t.Errorf("cash-in with a revoked key: %d %+v", resp.StatusCode, e)
	}
	if _, _, err := cli(t, nil, "partner", "revoke", "--db", db, "--name", "Nobody"); err == nil {
		t.Error("revoking an unknown partner succeeded")
	}
	out, _, err = cli(t, nil, "audit", "verify", "--db", db)
	if err != nil || !strings.Contains(out, "1 entries") {
		t.Errorf("audit verify after a revocation: %v\n%s", err, out)
	}
	out, _, err = cli(t, nil, "ledger", "verify", "--db", db)
	if err != nil {
		t.Errorf("ledger verify: %v\n%s", err, out)
	}
}

func TestPaymentsAndRefundsOverHTTP(t *testing.T) {
	path, db := migratedDB(t)
	agent, shop, otherShop := partnerKey(t, db, "Lawson", "agent"), partnerKey(t, db, "Book shop", "merchant"), partnerKey(t, db, "Cafe", "merchant")

	base, _ := startServerOn(t, path)
	api := base + "/api/v1"
	alice, aliceWallet := user(t, api, "alice@example.com")
	if resp := post(t, api+"/cashins", agent, "r1", `{"wallet":"`+aliceWallet+`","amount":10000}`, nil); resp.StatusCode != 201 {
		t.Fatalf("cash-in: %d", resp.StatusCode)
	}
	var me struct {
		Account string `json:"account"`
		Role    string `json:"role"`
	}
	if resp := call(t, "GET", api+"/partner", shop, "", &me); resp.StatusCode != 200 || me.Role != "merchant" || me.Account == "" {
		t.Fatalf("partner: %d %+v", resp.StatusCode, me)
	}
	var pay struct {
		ID     string `json:"id"`
		To     string `json:"to"`
		Amount int64  `json:"amount"`
	}
	if resp := post(t, api+"/payments", alice, "book-1", `{"merchant":"`+me.Account+`","amount":3000}`, &pay); resp.StatusCode != 201 || pay.To != me.Account || pay.Amount != 3000 {
		t.Fatalf("payment: %d %+v", resp.StatusCode, pay)
	}
	var e apiError
	if resp := post(t, api+"/payments", alice, "book-2", `{"merchant":"`+aliceWallet+`","amount":1}`, &e); resp.StatusCode != 400 || e.Error.Field != "merchant" {
		t.Errorf("paying a wallet as a merchant: %d %+v", resp.StatusCode, e)
	}

	var ref struct {
		From       string `json:"from"`
		To         string `json:"to"`
		Amount     int64  `json:"amount"`
		Code       string `json:"code"`
		ReversalOf string `json:"reversal_of"`
	}
	if resp := post(t, api+"/refunds", shop, "rf-1", `{"payment":"`+pay.ID+`","amount":1000}`, &ref); resp.StatusCode != 201 || ref.From != me.Account || ref.To != aliceWallet || ref.Amount != 1000 || ref.Code != "refund" || ref.ReversalOf != pay.ID {
		t.Fatalf("refund: %d %+v", resp.StatusCode, ref)
	}
	for _, tc := range []struct {
		who, key, body, code string
		status               int
	}{
		{shop, "rf-2", `{"payment":"` + pay.ID + `","amount":2001}`, "conflict", 409},    // more than is left
		{otherShop, "rf-3", `{"payment":"` + pay.ID + `","amount":1}`, "not_found", 404}, // not its payment
		{alice, "rf-4", `{"payment":"` + pay.ID + `","amount":1}`, "forbidden", 403},     // customers do not refund
		{shop, "rf-5", `{"payment":"` + pay.ID + `","amount":-1}`, "invalid", 400},
	} {
		var e apiError
		if resp := post(t, api+"/refunds", tc.who, tc.key, tc.body, &e); resp.StatusCode != tc.status || e.Error.Code != tc.code {
			t.Errorf("refund %s: %d %+v", tc.body, resp.StatusCode, e)
		}
	}
	if resp := post(t, api+"/refunds", shop, "rf-6", `{"payment":"`+pay.ID+`"}`, &ref); resp.StatusCode != 201 || ref.Amount != 2000 {
		t.Errorf("refund of the rest: %d %+v", resp.StatusCode, ref)
	}
	if resp := post(t, api+"/refunds", shop, "rf-7", `{"payment":"`+pay.ID+`"}`, &e); resp.StatusCode != 409 {
		t.Errorf("refund after everything was refunded: %d %+v", resp.StatusCode, e)
	}
	var mine struct {
		Wallet struct{ Balance int64 } `json:"wallet"`
	}
	call(t, "GET", api+"/me", alice, "", &mine)
	if mine.Wallet.Balance != 10000 {
		t.Errorf("alice holds %d after a fully refunded payment, want 10000", mine.Wallet.Balance)
	}
	if out, _, err := cli(t, nil, "ledger", "verify", "--db", db); err != nil {
		t.Errorf("ledger verify: %v\n%s", err, out)
	}
}
