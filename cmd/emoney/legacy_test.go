package main

// The attackers of THREATS.md T1 and T2 played end to end against the real server and the bank
// simulator's real pages (issue 6 item 7): the hardened protocol stops them; with
// --legacy-linking, the 2020 protocol lets T1 drain the victim's account. Attackers hold only
// what their row grants — never the simulator's admin API, never the bank's SMS outbox; the
// tests read those only in their assertions.

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"emoney"
	"emoney/bank"
	"emoney/banksim"
	emhttp "emoney/http"
	"emoney/ledger"
)

// victimAccount is the victim's account at bank 0001 in these tests ("branch-number").
const victimAccount = "001-5000001"

// crew is what a phishing crew holds of its victim (T1): bank, account, PIN, birth date, and
// the holder name the bank uses; password is T2's addition.
type crew struct {
	bank, holderKana, branch, number, pin, birth, login, password string
}

// victim makes the victim at bank 0001 (¥100,000, SMS codes to her phone) and returns what the
// crew phished of her.
func victim(e *linkEnv) crew {
	e.customer("victim", "ﾀﾅｶ ﾊﾅｺ", "1970-05-05", "+819055550001", "5000001")
	return crew{bank: "0001", holderKana: "ﾀﾅｶ ﾊﾅｺ", branch: "001", number: "5000001", pin: "1234", birth: "1970-05-05",
		login: "victim", password: "bank password 1"}
}

func (c crew) legacyBody(pin string) string {
	return fmt.Sprintf(`{"bank":%q,"holder_kana":%q,"branch":%q,"account_number":%q,"pin":%q}`, c.bank, c.holderKana, c.branch, c.number, pin)
}

// admin is the simulator's admin API, for the tests' assertions only.
func (e *linkEnv) admin() *banksim.AdminClient {
	return banksim.NewAdminClient(strings.TrimSuffix(e.sim.Issuer("0001"), "/banks/0001"), "test-admin-token")
}

// victimBalance is the victim's bank balance, read through the simulator's admin API.
func (e *linkEnv) victimBalance() int64 {
	e.t.Helper()
	st, err := e.admin().AccountStatement(context.Background(), "0001", victimAccount)
	if err != nil {
		e.t.Fatal(err)
	}
	return st.Balance
}

// grantsOf counts the bank's grants for the victim's account, through the admin API.
func (e *linkEnv) grantsOf(account string) int {
	e.t.Helper()
	gs, err := e.admin().Grants(context.Background(), "0001")
	if err != nil {
		e.t.Fatal(err)
	}
	n := 0
	for _, g := range gs {
		if g.Account == account {
			n++
		}
	}
	return n
}

// auditedBy counts the audit entries of an action by an actor, and reports whether any entry's
// detail holds one of the secrets.
func (e *linkEnv) auditedBy(action, actor string, secrets ...string) (n int, leaked string) {
	e.t.Helper()
	ctx := context.Background()
	if err := e.svc.store.View(ctx, func(tx emoney.ReadTx) error {
		return tx.ScanAudit(ctx, func(a emoney.AuditEntry) error {
			if a.Action == action && a.Actor == actor {
				n++
			}
			for _, s := range secrets {
				if strings.Contains(string(a.Detail), s) || strings.Contains(a.Object, s) {
					leaked = s
				}
			}
			return nil
		})
	}); err != nil {
		e.t.Fatal(err)
	}
	return n, leaked
}

// T1 on the hardened protocol: an e-mail-only wallet cannot start a link, and there is no PIN
// path at all.
func TestAttackT1Hardened(t *testing.T) {
	e := startLinking(t)
	c := victim(e)
	token, _ := user(t, e.api, "crew@example.com") // e-mail only: tier 0
	var ae apiError
	if resp := call(t, "POST", e.api+"/links", token, `{"bank":"0001"}`, &ae); resp.StatusCode != 403 || ae.Error.Code != "forbidden" {
		t.Errorf("tier 0 starting a link: %d %+v", resp.StatusCode, ae)
	}
	if resp := call(t, "POST", e.api+"/links/legacy", token, c.legacyBody(c.pin), &ae); resp.StatusCode != 404 || ae.Error.Code != "not_found" {
		t.Errorf("the PIN path without --legacy-linking: %d %+v", resp.StatusCode, ae)
	}
	if ls := e.links(token); len(ls) != 0 {
		t.Errorf("the crew has links: %+v", ls)
	}
	if got := e.victimBalance(); got != 100_000 {
		t.Errorf("victim's bank balance: %d, want 100000", got)
	}
	if n := e.grantsOf(victimAccount); n != 0 {
		t.Errorf("the bank granted %d accesses to the victim's account", n)
	}
}

// T2 on the hardened protocol: the crew also holds the internet-banking password (not the
// phone). Even from a mule wallet verified to tier 2 with a fresh step-up, it gets through the
// bank's password page, fails the second factor until the bank locks the victim out, and no
// link exists; the wallet audited the attempt.
func TestAttackT2Hardened(t *testing.T) {
	e := startLinking(t)
	c := victim(e)
	mule, muleID := e.walletUser("mule@example.com", 21, "スズキ ジロウ", "1999-09-09", true)
	var st emhttp.LinkStart
	if resp := call(t, "POST", e.api+"/links", mule, `{"bank":"0001"}`, &st); resp.StatusCode != 201 {
		t.Fatalf("start link: %d", resp.StatusCode)
	}
	b := banksim.NewBrowser()
	p, err := b.Get(st.AuthorizationURL)
	if err != nil || p.Name != "login" {
		t.Fatalf("authorize page: %v %+v", err, p)
	}
	if p, err = b.Submit(p.Forms["login"], url.Values{"login_id": {c.login}, "password": {c.password}}); err != nil || p.Name != "code" {
		t.Fatalf("the stolen password did not reach the code page: %v %+v", err, p)
	}
	guesses := 0
	for p.Error != "locked" {
		if guesses == 10 || p.Forms["code"] == nil {
			t.Fatalf("after %d guesses the bank shows %s/%s, not locked", guesses, p.Name, p.Error)
		}
		guesses++
		if p, err = b.Submit(p.Forms["code"], url.Values{"code": {fmt.Sprintf("%06d", guesses)}}); err != nil {
			t.Fatal(err)
		}
		if p.Location != nil {
			t.Fatalf("a guessed code got through to %s", p.Location)
		}
	}
	if guesses > 5 {
		t.Errorf("the bank locked after %d wrong codes, want at most 5", guesses)
	}
	// The bank locked the victim's internet banking, gave no grant; the wallet has no link
	// and recorded the attempt.
	cs, err := e.admin().Customers(context.Background(), "0001")
	if err != nil {
		t.Fatal(err)
	}
	for _, cu := range cs {
		if cu.LoginID == c.login && !cu.Locked {
			t.Error("the victim is not locked after the guesses")
		}
	}
	if n := e.grantsOf(victimAccount); n != 0 {
		t.Errorf("the bank granted %d accesses to the victim's account", n)
	}
	if ls := e.links(mule); len(ls) != 0 {
		t.Errorf("the mule wallet has links: %+v", ls)
	}
	if n, _ := e.auditedBy("link.begin", "user:"+muleID.String()); n != 1 {
		t.Errorf("link attempts audited for the mule wallet: %d, want 1", n)
	}
	if got := e.victimBalance(); got != 100_000 {
		t.Errorf("victim's bank balance: %d, want 100000", got)
	}
}

// T1 with --legacy-linking: the 2020 protocol. The same crew links the victim's account from an
// e-mail-only wallet with the PIN — a second wallet too — and tops up until the wallets' tier
// 0 limits stop it: the victim's bank balance falls by what the limits allow.
func TestAttackT1Legacy(t *testing.T) {
	e := startLinkingWith(t, linkOptions{legacy: true})
	c := victim(e)
	crewToken, _ := user(t, e.api, "crew@example.com") // e-mail only: tier 0
	crewID := userID(t, e.api, crewToken)

	// The hardened path stays closed to it.
	var ae apiError
	if resp := call(t, "POST", e.api+"/links", crewToken, `{"bank":"0001"}`, &ae); resp.StatusCode != 403 || ae.Error.Code != "forbidden" {
		t.Errorf("tier 0 starting an OAuth link: %d %+v", resp.StatusCode, ae)
	}
	// A wrong PIN: the bank refuses (and, as in 2020, does not lock); audited, nothing linked.
	if resp := call(t, "POST", e.api+"/links/legacy", crewToken, c.legacyBody("9999"), &ae); resp.StatusCode != 403 || ae.Error.Code != "declined" || ae.Error.Reason != "bank_refused" {
		t.Errorf("wrong PIN: %d %+v", resp.StatusCode, ae)
	}
	if resp := call(t, "POST", e.api+"/links/legacy", crewToken, `{"bank":"0001","holder_kana":"x","branch":"1","account_number":"5000001","pin":"1234"}`, &ae); resp.StatusCode != 400 || ae.Error.Field != "branch" {
		t.Errorf("malformed branch: %d %+v", resp.StatusCode, ae)
	}
	if n, _ := e.auditedBy("link.failed", "user:"+crewID.String()); n != 1 {
		t.Errorf("failed legacy links audited: %d, want 1", n)
	}
	// The right PIN: linked at once, no cooling-off.
	var l emhttp.Link
	if resp := call(t, "POST", e.api+"/links/legacy", crewToken, c.legacyBody(c.pin), &l); resp.StatusCode != 201 || l.Status != "active" || l.Account != "****001" || l.CoolingOffUntil != l.CreatedAt {
		t.Fatalf("legacy link: %d %+v", resp.StatusCode, l)
	}
	if n, leaked := e.auditedBy("link.active", "user:"+crewID.String(), c.number, c.holderKana, `"pin":"`+c.pin); n != 1 || leaked != "" {
		t.Errorf("legacy link audited %d times (want 1); audit holds %q", n, leaked)
	}

	topUp := func(token, key, link string, amount int64) (int, bankOp, apiError) {
		t.Helper()
		var out struct {
			bankOp
			apiError
		}
		resp := post(t, e.api+"/topups", token, key, `{"link":"`+link+`","amount":`+strconv.FormatInt(amount, 10)+`}`, &out)
		return resp.StatusCode, out.bankOp, out.apiError
	}
	// Tier 0 adds at most ¥10,000 at once and ¥30,000 a day: three top-ups, the fourth refused.
	for i := 1; i <= 3; i++ {
		if st, op, ae := topUp(crewToken, "drain-"+strconv.Itoa(i), l.ID, 10_000); st != 201 || op.Status != "succeeded" {
			t.Fatalf("top-up %d: %d %+v %+v", i, st, op, ae)
		}
	}
	if st, _, ae := topUp(crewToken, "drain-4", l.ID, 10_000); st != 422 || ae.Error.Code != "limit_exceeded" {
		t.Errorf("over tier 0's daily top-ups: %d %+v", st, ae)
	}
	if got := e.victimBalance(); got != 70_000 {
		t.Errorf("victim's bank balance after the crew's top-ups: %d, want 70000", got)
	}
	var w wallet
	if call(t, "GET", e.api+"/me", crewToken, "", &w); w.Wallet.Balance != 30_000 {
		t.Errorf("the crew's wallet: %d, want 30000", w.Wallet.Balance)
	}
	// A legacy link takes no withdrawals (the 2020 endpoint only debits).
	if resp := post(t, e.api+"/withdrawals", crewToken, "w1", `{"link":"`+l.ID+`","amount":1000}`, &ae); resp.StatusCode != 403 {
		t.Errorf("withdrawal through a legacy link: %d %+v", resp.StatusCode, ae)
	}

	// No one-account-one-wallet in 2020: a second e-mail-only wallet links the same account and
	// drains on.
	second, _ := user(t, e.api, "crew2@example.com")
	var l2 emhttp.Link
	if resp := call(t, "POST", e.api+"/links/legacy", second, c.legacyBody(c.pin), &l2); resp.StatusCode != 201 || l2.ID == l.ID {
		t.Fatalf("second wallet's legacy link: %d %+v", resp.StatusCode, l2)
	}
	if st, op, ae := topUp(second, "drain-1", l2.ID, 10_000); st != 201 || op.Status != "succeeded" {
		t.Fatalf("second wallet's top-up: %d %+v %+v", st, op, ae)
	}
	if got := e.victimBalance(); got != 60_000 {
		t.Errorf("victim's bank balance after the second wallet: %d, want 60000", got)
	}
	// An account without the money: the bank declines, the hold is voided, nothing moves.
	if _, err := e.sim.AddCustomer("0001", banksim.NewCustomer{LoginID: "poor", Password: "bank password 1", NameKanji: "顧客",
		HolderKana: "ﾋﾞﾝﾎﾞｳ ｼﾞﾛｳ", BirthDate: "1960-01-01", Phone: "+819055550002"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.sim.AddAccount("0001", "poor", "001", "5000002", "4321", 3_000); err != nil {
		t.Fatal(err)
	}
	third, _ := user(t, e.api, "crew3@example.com")
	var l3 emhttp.Link
	if resp := call(t, "POST", e.api+"/links/legacy", third, `{"bank":"0001","holder_kana":"ﾋﾞﾝﾎﾞｳ ｼﾞﾛｳ","branch":"001","account_number":"5000002","pin":"4321"}`, &l3); resp.StatusCode != 201 {
		t.Fatalf("third wallet's legacy link: %d", resp.StatusCode)
	}
	if st, _, ae := topUp(third, "t1", l3.ID, 5_000); st != 403 || ae.Error.Code != "declined" || ae.Error.Reason != "insufficient_funds" {
		t.Errorf("top-up over the bank balance: %d %+v", st, ae)
	}
	if call(t, "GET", e.api+"/me", third, "", &w); w.Wallet.Balance != 0 {
		t.Errorf("declined top-up credited %d", w.Wallet.Balance)
	}

	// Unlinking a legacy link revokes it here (the 2020 protocol has nothing to revoke at the
	// bank); it then moves nothing.
	var gone emhttp.Link
	if resp := call(t, "DELETE", e.api+"/links/"+l2.ID, second, "", &gone); resp.StatusCode != 200 || gone.Status != "revoked" {
		t.Errorf("unlink a legacy link: %d %+v", resp.StatusCode, gone)
	}
	if st, _, ae := topUp(second, "drain-2", l2.ID, 1_000); st != 403 || ae.Error.Reason != "link_revoked" {
		t.Errorf("top-up through a revoked legacy link: %d %+v", st, ae)
	}

	// The ledger still balances: what left the bank is in the crew's wallets.
	if r, err := ledger.Verify(context.Background(), e.svc.store); err != nil || !r.OK() {
		t.Errorf("ledger verify: %v %+v", err, r)
	}
}

// userID returns the signed-in user's id.
func userID(t *testing.T, api, token string) emoney.ID {
	t.Helper()
	var m struct {
		User struct {
			ID emoney.ID `json:"id"`
		} `json:"user"`
	}
	call(t, "GET", api+"/me", token, "", &m)
	return m.User.ID
}

// `emoney serve --legacy-linking` itself: the banner says so, the simulator it starts serves
// its legacy endpoint, and an e-mail-only wallet links a demo customer's account with the PIN
// and tops up from it. Without the flag the endpoint does not exist (TestAttackT1Hardened).
func TestServeLegacyLinking(t *testing.T) {
	env := map[string]string{"EMONEY_BANKSIM_ADMIN_TOKEN": "serve-admin-token"}
	base, _, errb, out := startServerWith(t, t.TempDir()+"/e.db", env, "--legacy-linking")
	if !strings.Contains(errb.String(), "LEGACY LINKING ON") {
		t.Errorf("no legacy banner on stderr:\n%s", errb.String())
	}
	var h struct{ Banner string }
	if getJSON(t, base+"/healthz", &h); !strings.Contains(h.Banner, "LEGACY LINKING ON") {
		t.Errorf("healthz banner: %q", h.Banner)
	}
	m := regexp.MustCompile(`bank simulator on (http://\S+) `).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no bank simulator address:\n%s", out.String())
	}
	admin := banksim.NewAdminClient(m[1], "serve-admin-token")
	ctx := context.Background()
	cs, err := admin.Customers(ctx, "0001")
	if err != nil || len(cs) == 0 || len(cs[0].Accounts) == 0 {
		t.Fatalf("demo customers: %v %+v", err, cs)
	}
	demo := cs[0] // demo001: legacy PIN 1001
	branch, number, _ := strings.Cut(demo.Accounts[0], "-")
	before, err := admin.AccountStatement(ctx, "0001", demo.Accounts[0])
	if err != nil {
		t.Fatal(err)
	}
	api := base + "/api/v1"
	token, _ := user(t, api, "crew@example.com")
	var l emhttp.Link
	body := fmt.Sprintf(`{"bank":"0001","holder_kana":%q,"branch":%q,"account_number":%q,"pin":"1001"}`, demo.HolderKana, branch, number)
	if resp := call(t, "POST", api+"/links/legacy", token, body, &l); resp.StatusCode != 201 || l.Status != "active" {
		t.Fatalf("legacy link: %d %+v", resp.StatusCode, l)
	}
	var op bankOp
	if resp := post(t, api+"/topups", token, "t1", `{"link":"`+l.ID+`","amount":5000}`, &op); resp.StatusCode != 201 || op.Status != "succeeded" {
		t.Fatalf("top-up: %d %+v", resp.StatusCode, op)
	}
	after, err := admin.AccountStatement(ctx, "0001", demo.Accounts[0])
	if err != nil || after.Balance != before.Balance-5000 {
		t.Errorf("demo account: %d → %d (%v), want 5000 less", before.Balance, after.Balance, err)
	}
}

// The honest customer on the hardened protocol — linking at the bank (login, second factor,
// consent), topping up, paying a shop and withdrawing — works unchanged on a server that also
// runs the 2020 protocol: operations through OAuth links pass the legacy connector by.
// (TestTopUpsThroughLinksOverHTTP covers link, top-up and withdrawal in depth without it.)
func TestHonestCustomerBesideLegacyLinking(t *testing.T) {
	e := startLinkingWith(t, linkOptions{legacy: true})
	ctx := context.Background()
	hanako := e.customer("hanako", "ﾘﾖｳ ｼｬ", "1980-01-02", "+819011110001", "1000567") // ¥100,000 at the bank
	alice, _ := e.walletUser("alice@example.com", 1, "リヨウ シャ", "1980-01-02", true)
	if status, page, _ := e.link(alice, hanako); status != 200 || !strings.Contains(page, "Bank account linked") {
		t.Fatalf("link: %d\n%s", status, page)
	}
	link := e.links(alice)[0].ID
	var op bankOp
	if resp := post(t, e.api+"/topups", alice, "t1", `{"link":"`+link+`","amount":8000}`, &op); resp.StatusCode != 201 || op.Status != "succeeded" {
		t.Fatalf("top-up: %d %+v", resp.StatusCode, op)
	}
	_, key, err := e.svc.identity.CreatePartner(ctx, "Corner Cafe", emoney.RoleMerchant)
	if err != nil {
		t.Fatal(err)
	}
	var shop struct{ Account string }
	call(t, "GET", e.api+"/partner", key, "", &shop)
	var pay struct{ Amount int64 }
	if resp := post(t, e.api+"/payments", alice, "coffee-1", `{"merchant":"`+shop.Account+`","amount":3000}`, &pay); resp.StatusCode != 201 || pay.Amount != 3000 {
		t.Fatalf("payment: %d %+v", resp.StatusCode, pay)
	}
	if resp := post(t, e.api+"/withdrawals", alice, "w1", `{"link":"`+link+`","amount":2000}`, &op); resp.StatusCode != 201 || op.Status != "succeeded" {
		t.Fatalf("withdrawal: %d %+v", resp.StatusCode, op)
	}
	st, err := e.admin().AccountStatement(ctx, "0001", "001-1000567")
	if err != nil || st.Balance != 100_000-8_000+2_000 {
		t.Errorf("hanako's bank balance: %d %v, want 94000", st.Balance, err)
	}
	var w wallet
	if call(t, "GET", e.api+"/me", alice, "", &w); w.Wallet.Balance != 3_000 {
		t.Errorf("alice's wallet: %d, want 3000", w.Wallet.Balance)
	}
	if r, err := ledger.Verify(ctx, e.svc.store); err != nil || !r.OK() {
		t.Errorf("ledger verify: %v %+v", err, r)
	}
}

// A legacy link left in the database by an earlier --legacy-linking run moves nothing on a
// server without the flag: declined before anything is held, the bank never called.
func TestLegacyLinkWithoutTheFlag(t *testing.T) {
	e := startLinking(t)
	victim(e)
	token, _ := user(t, e.api, "crew@example.com")
	id := userID(t, e.api, token)
	ctx := context.Background()
	now := time.Now()
	link := emoney.BankLink{ID: (&emoney.Monotonic{Now: time.Now}).NewID(), User: id, Bank: "0001", AccountIndex: []byte("idx"), AccountSealed: []byte("x"),
		HolderSealed: []byte("x"), TokensSealed: []byte("x"), Scope: []string{"debit"}, Status: emoney.LinkActive,
		CreatedAt: now, CoolingOffUntil: now, ConsentedAt: now, Method: emoney.LinkLegacy}
	if err := e.svc.store.Update(ctx, func(tx emoney.Tx) error { return tx.CreateLink(ctx, link) }); err != nil {
		t.Fatal(err)
	}
	var ae apiError
	if resp := post(t, e.api+"/topups", token, "t1", `{"link":"`+link.ID.String()+`","amount":1000}`, &ae); resp.StatusCode != 403 || ae.Error.Reason != "legacy_off" {
		t.Errorf("top-up through a legacy link without the flag: %d %+v", resp.StatusCode, ae)
	}
	if got := e.victimBalance(); got != 100_000 {
		t.Errorf("victim's bank balance: %d", got)
	}
}

// The legacy connector sends a debit again under the same reference (the reconciler's re-send
// after a lost answer) without moving money twice, and hands OAuth links' operations on.
func TestLegacyConnectorResendsOnce(t *testing.T) {
	e := startLinkingWith(t, linkOptions{legacy: true})
	c := victim(e)
	ctx := context.Background()
	token, _ := user(t, e.api, "crew@example.com")
	var l emhttp.Link
	if resp := call(t, "POST", e.api+"/links/legacy", token, c.legacyBody(c.pin), &l); resp.StatusCode != 201 {
		t.Fatalf("legacy link: %d", resp.StatusCode)
	}
	conn := e.svc.links.Legacy().Connector(e.svc.links.Connector())
	for i, resend := range []bool{false, true} {
		res, err := conn.Debit(ctx, bank.Request{Reference: "ref-1", Amount: 2_500, Currency: emoney.JPY, Account: l.ID, Resend: resend})
		if err != nil || res.Outcome != bank.Succeeded {
			t.Fatalf("send %d: %+v %v", i, res, err)
		}
	}
	if got := e.victimBalance(); got != 97_500 {
		t.Errorf("victim's balance after a debit sent twice: %d, want 97500", got)
	}
	if res, err := conn.Credit(ctx, bank.Request{Reference: "ref-2", Amount: 100, Currency: emoney.JPY, Account: l.ID}); err != nil || res.Outcome != bank.Declined {
		t.Errorf("credit through a legacy link: %+v %v", res, err)
	}
	// A request naming no link is an error (the outcome unknown to the reconciler), never a call.
	if _, err := conn.Debit(ctx, bank.Request{Reference: "ref-3", Amount: 100, Currency: emoney.JPY, Account: "nope"}); err == nil {
		t.Error("a debit naming no link succeeded")
	}
}
