package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"emoney"
	"emoney/banksim"
	emhttp "emoney/http"
	"emoney/kyc"
)

// linkEnv is the service wired as `emoney serve` wires it in development, on a free port, with
// the bank simulator on another and the wallet registered at its banks.
type linkEnv struct {
	t   *testing.T
	svc *service
	sim *banksim.Sim
	api string
}

func startLinking(t *testing.T) *linkEnv {
	t.Helper()
	return startLinkingMandate(t, 0)
}

// startLinkingMandate is startLinking with the mandate every bank is asked for capped at
// perCharge yen a charge (0: the default, tier 2's per-operation limit; lower, below the
// cooling-off caps, so that a top-up the wallet allows can fail the mandate at the bank).
func startLinkingMandate(t *testing.T, perCharge int64) *linkEnv {
	t.Helper()
	return startLinkingWith(t, linkOptions{perCharge: perCharge})
}

// linkOptions vary the service startLinkingWith wires: perCharge as startLinkingMandate's;
// noticeBase, given the simulator's base URL, answers where bank notices go instead (a proxy);
// legacy turns the 2020 PIN linking flow on (as serve --legacy-linking runs it).
type linkOptions struct {
	perCharge  int64
	noticeBase func(simBase string) string
	legacy     bool
}

func startLinkingWith(t *testing.T, o linkOptions) *linkEnv {
	t.Helper()
	perCharge, legacy := o.perCharge, o.legacy
	dir := t.TempDir()
	svc, err := openService(context.Background(), "sqlite:"+filepath.Join(dir, "emoney.db"), filepath.Join(dir, "keyset.json"), emhttp.Config{Mode: "development"}, serviceConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.server.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	bs, err := startBanksim("127.0.0.1:0", "test-admin-token", 0, legacy)
	if err != nil {
		t.Fatal(err)
	}
	if perCharge > 0 {
		svc.tiers[2].PerOperation = perCharge // what attachDevLinker asks as the mandate's per-charge cap
	}
	if o.noticeBase != nil {
		svc.devNoticeBase = o.noticeBase(bs.base)
	}
	if err := svc.attachDevLinker(bs.sim, svc.server.Addr()); err != nil {
		t.Fatal(err)
	}
	if legacy {
		if err := svc.attachLegacyLinking(io.Discard); err != nil {
			t.Fatal(err)
		}
	}
	served := make(chan error, 1)
	go func() { served <- svc.server.Serve("", "") }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		svc.server.Shutdown(ctx)
		<-served
		bs.stop()
		svc.Close()
	})
	return &linkEnv{t: t, svc: svc, sim: bs.sim, api: "http://" + svc.server.Addr() + "/api/v1"}
}

// customer is a bank customer of bank 0001 with one account, signing in with SMS codes.
func (e *linkEnv) customer(login, kana, birth, phone, number string) banksim.SignIn {
	e.t.Helper()
	if _, err := e.sim.AddCustomer("0001", banksim.NewCustomer{LoginID: login, Password: "bank password 1", NameKanji: "顧客",
		HolderKana: kana, BirthDate: birth, Phone: phone}); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.sim.AddAccount("0001", login, "001", number, "1234", 100_000); err != nil {
		e.t.Fatal(err)
	}
	return banksim.SignIn{LoginID: login, Password: "bank password 1", Account: "001-" + number, Code: func() (string, error) {
		msgs, err := e.sim.OTPs("0001", phone)
		if err != nil || len(msgs) == 0 {
			return "", errors.New("no SMS code")
		}
		return msgs[len(msgs)-1].Code, nil
	}}
}

// walletUser signs up, verifies a phone and an eKYC identity (tier 2) with the given kana name
// and birth date, enrols TOTP and (if stepUp) steps up now. It returns the session token and the
// user id.
func (e *linkEnv) walletUser(email string, n int, kana, birth string, stepUp bool) (string, emoney.ID) {
	t := e.t
	t.Helper()
	token, _ := user(t, e.api, email)
	phone := fmt.Sprintf("+81700001%04d", n)
	call(t, "POST", e.api+"/kyc/phone", token, `{"phone":"`+phone+`"}`, nil)
	code := e.svc.sms.(*kyc.DevSMS).LastCode(phone)
	if resp := call(t, "POST", e.api+"/kyc/phone/confirm", token, `{"code":"`+code+`"}`, nil); resp.StatusCode != 200 {
		t.Fatalf("confirm phone: %d", resp.StatusCode)
	}
	doc := fmt.Sprintf(`{"type":"passport","number":"TL%04d","name_kanji":"利用 者","name_kana":"%s","birth_date":"%s"}`, n, kana, birth)
	if resp := call(t, "POST", e.api+"/kyc/ekyc", token, doc, nil); resp.StatusCode != 200 {
		t.Fatalf("eKYC: %d", resp.StatusCode)
	}
	var enrol struct{ Secret string }
	call(t, "POST", e.api+"/totp", token, "", &enrol)
	now := time.Now()
	c, _ := totp.GenerateCode(enrol.Secret, now)
	if resp := call(t, "POST", e.api+"/totp/confirm", token, `{"code":"`+c+`"}`, nil); resp.StatusCode != 204 {
		t.Fatalf("confirm TOTP: %d", resp.StatusCode)
	}
	if stepUp {
		c, _ = totp.GenerateCode(enrol.Secret, now.Add(30*time.Second))
		if resp := call(t, "POST", e.api+"/stepup", token, `{"code":"`+c+`"}`, nil); resp.StatusCode != 200 {
			t.Fatalf("step-up: %d", resp.StatusCode)
		}
	}
	var me struct {
		User struct {
			ID emoney.ID `json:"id"`
		} `json:"user"`
	}
	call(t, "GET", e.api+"/me", token, "", &me)
	return token, me.User.ID
}

// link starts a link at bank 0001, signs in at the bank as in, and follows the redirect back to
// the callback; it returns the callback's status and page, and the callback URL.
func (e *linkEnv) link(token string, in banksim.SignIn) (int, string, string) {
	t := e.t
	t.Helper()
	var st emhttp.LinkStart
	if resp := call(t, "POST", e.api+"/links", token, `{"bank":"0001"}`, &st); resp.StatusCode != 201 || st.AuthorizationURL == "" || st.ExpiresAt == "" {
		t.Fatalf("start link: %d %+v", resp.StatusCode, st)
	}
	loc, err := banksim.NewBrowser().Authorize(st.AuthorizationURL, in)
	if err != nil {
		t.Fatal(err)
	}
	status, page := e.get(loc.String())
	return status, page, loc.String()
}

// get is the customer's browser landing on a URL of the API (the callback).
func (e *linkEnv) get(u string) (int, string) {
	e.t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	// The page is HTML (the OpenAPI checker decodes JSON only): its type is what is checked.
	if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		e.t.Errorf("callback page: Content-Type %q", ct)
	}
	return resp.StatusCode, string(b)
}

func (e *linkEnv) links(token string) []emhttp.Link {
	e.t.Helper()
	var out struct{ Links []emhttp.Link }
	if resp := call(e.t, "GET", e.api+"/links", token, "", &out); resp.StatusCode != 200 {
		e.t.Fatalf("list links: %d", resp.StatusCode)
	}
	return out.Links
}

// alerts are the open alerts of a kind.
func (e *linkEnv) alerts(kind string) []emoney.Alert {
	e.t.Helper()
	var out []emoney.Alert
	ctx := context.Background()
	if err := e.svc.store.View(ctx, func(tx emoney.ReadTx) error {
		as, err := tx.Alerts(ctx, emoney.AlertOpen, emoney.ID{}, 1000)
		for _, a := range as {
			if a.Kind == kind {
				out = append(out, a)
			}
		}
		return err
	}); err != nil {
		e.t.Fatal(err)
	}
	return out
}

// grants are the simulated bank's grants to the wallet for one account: how many, and how
// many have no token left that the bank accepts (a resource call with them fails).
func (e *linkEnv) grants(account string) (all, revoked int) {
	e.t.Helper()
	gs, err := e.sim.Grants("0001")
	if err != nil {
		e.t.Fatal(err)
	}
	for _, g := range gs {
		if g.Account == account && g.Client == devClientID {
			all++
			live, err := e.sim.LiveTokens("0001", g.ID)
			if err != nil {
				e.t.Fatal(err)
			}
			if live == 0 {
				revoked++
			}
		}
	}
	return all, revoked
}

// audited reports whether the audit log has an entry with the action.
func (e *linkEnv) audited(action string) int {
	e.t.Helper()
	n := 0
	ctx := context.Background()
	if err := e.svc.store.View(ctx, func(tx emoney.ReadTx) error {
		return tx.ScanAudit(ctx, func(a emoney.AuditEntry) error {
			if a.Action == action {
				n++
			}
			return nil
		})
	}); err != nil {
		e.t.Fatal(err)
	}
	return n
}

func TestLinkingOverHTTP(t *testing.T) {
	e := startLinking(t)
	hanako := e.customer("hanako", "ﾘﾖｳ ｼｬ", "1980-01-02", "+819011110001", "1000567")

	// An honest tier 2 customer with a fresh step-up links her own account.
	alice, aliceID := e.walletUser("alice@example.com", 1, "リヨウ シャ", "1980-01-02", true)
	status, page, callback := e.link(alice, hanako)
	if status != 200 || !strings.Contains(page, "Bank account linked") || !strings.Contains(page, "ending 567") || strings.Contains(page, "1000567") {
		t.Fatalf("callback: %d\n%s", status, page)
	}
	ls := e.links(alice)
	if len(ls) != 1 || ls[0].Status != "active" || ls[0].Account != "****567" || ls[0].Bank != "0001" || ls[0].CoolingOffUntil <= ls[0].CreatedAt {
		t.Fatalf("alice's links: %+v", ls)
	}
	if e.audited("link.active") != 1 {
		t.Error("the link is not audited")
	}

	// The same callback again (a replay) finds no flow: an error page, nothing more linked.
	if status, page := e.get(callback); status != 404 || !strings.Contains(page, "Not linked") {
		t.Errorf("replayed callback: %d\n%s", status, page)
	}
	if status, _ := e.get(e.api + "/links/callback?state=forged&code=x&iss=y"); status != 404 {
		t.Errorf("unknown state: %d", status)
	}
	if len(e.links(alice)) != 1 {
		t.Error("a replayed callback linked again")
	}

	// Another wallet whose identity also matches the holder tries the same account: refused,
	// its grant revoked at the bank, an alert naming both wallets.
	bob, bobID := e.walletUser("bob@example.com", 2, "リョウ シャ", "1980-01-02", true)
	status, page, _ = e.link(bob, hanako)
	if status != 200 || !strings.Contains(page, "linked to another wallet") {
		t.Fatalf("second wallet: %d\n%s", status, page)
	}
	if len(e.links(bob)) != 0 {
		t.Error("bob got a link to alice's account")
	}
	if all, revoked := e.grants("001-1000567"); all != 2 || revoked != 1 {
		t.Errorf("grants of the account after the second wallet: %d, %d revoked; want 2, 1", all, revoked)
	}
	refused := e.alerts("link_refused")
	if len(refused) != 1 || !strings.Contains(refused[0].Reason, "wallet:"+aliceID.String()) || !strings.Contains(refused[0].Reason, "wallet:"+bobID.String()) {
		t.Errorf("alerts for the second wallet: %+v", refused)
	}

	// Someone else's link is not found; the owner unlinks, and the bank revokes the grant.
	var ae apiError
	if resp := call(t, "DELETE", e.api+"/links/"+ls[0].ID, bob, "", &ae); resp.StatusCode != 404 {
		t.Errorf("bob deleting alice's link: %d", resp.StatusCode)
	}
	var gone emhttp.Link
	if resp := call(t, "DELETE", e.api+"/links/"+ls[0].ID, alice, "", &gone); resp.StatusCode != 200 || gone.Status != "revoked" {
		t.Fatalf("unlink: %d %+v", resp.StatusCode, gone)
	}
	if _, revoked := e.grants("001-1000567"); revoked != 2 {
		t.Errorf("after unlinking, %d grants of the account revoked at the bank, want 2", revoked)
	}
	if resp := call(t, "DELETE", e.api+"/links/"+ls[0].ID, alice, "", &ae); resp.StatusCode != 409 {
		t.Errorf("unlinking twice: %d", resp.StatusCode)
	}
	if e.audited("link.revoked") != 1 {
		t.Error("the unlink is not audited")
	}
}

func TestLinkingRefusalsOverHTTP(t *testing.T) {
	e := startLinking(t)

	t.Run("NameMismatch", func(t *testing.T) {
		victim := e.customer("victim", "ﾀﾅｶ ｲﾁﾛｳ", "1985-03-03", "+819011110002", "2000001")
		mule, _ := e.walletUser("mule@example.com", 3, "スズキ ハナ", "1985-03-03", true)
		status, page, _ := e.link(mule, victim)
		if status != 200 || !strings.Contains(page, "does not match") {
			t.Fatalf("callback: %d\n%s", status, page)
		}
		if len(e.links(mule)) != 0 {
			t.Error("a mismatched holder was linked")
		}
		if all, revoked := e.grants("001-2000001"); all != 1 || revoked != 1 {
			t.Errorf("grants: %d, %d revoked; want the one revoked", all, revoked)
		}
		if as := e.alerts("link_refused"); len(as) != 1 || !strings.Contains(as[0].Reason, "name") {
			t.Errorf("alerts: %+v", as)
		}
	})
	t.Run("BirthDateMismatch", func(t *testing.T) {
		holder := e.customer("jiro", "ｻﾄｳ ｼﾞﾛｳ", "1990-07-08", "+819011110003", "3000001")
		u, _ := e.walletUser("jiro@example.com", 4, "サトウ ジロウ", "1990-07-07", true)
		status, page, _ := e.link(u, holder)
		if status != 200 || !strings.Contains(page, "does not match") || len(e.links(u)) != 0 {
			t.Fatalf("callback: %d\n%s", status, page)
		}
		if _, revoked := e.grants("001-3000001"); revoked != 1 {
			t.Error("the grant of a refused link is not revoked")
		}
		if as := e.alerts("link_refused"); len(as) != 2 || !strings.Contains(as[1].Reason, "birth_date") {
			t.Errorf("alerts: %+v", as)
		}
	})
	t.Run("NearMissGoesToReview", func(t *testing.T) {
		holder := e.customer("ryo", "ﾘﾖｳ ｼｮ", "1981-02-02", "+819011110004", "4000001") // score 80
		u, _ := e.walletUser("ryo@example.com", 5, "リヨウ シャ", "1981-02-02", true)
		status, page, _ := e.link(u, holder)
		if status != 200 || !strings.Contains(page, "under review") {
			t.Fatalf("callback: %d\n%s", status, page)
		}
		if ls := e.links(u); len(ls) != 1 || ls[0].Status != "review" {
			t.Errorf("links: %+v", ls)
		}
		if as := e.alerts("link_review"); len(as) != 1 {
			t.Errorf("review alerts: %+v", as)
		}
		if _, revoked := e.grants("001-4000001"); revoked != 0 {
			t.Error("a link under review had its grant revoked")
		}
	})
	t.Run("TierBelow2", func(t *testing.T) {
		token, _ := user(t, e.api, "tier0@example.com")
		var ae apiError
		if resp := call(t, "POST", e.api+"/links", token, `{"bank":"0001"}`, &ae); resp.StatusCode != 403 || ae.Error.Code != "forbidden" {
			t.Errorf("tier 0: %d %+v", resp.StatusCode, ae)
		}
		phone := "+817000029999"
		call(t, "POST", e.api+"/kyc/phone", token, `{"phone":"`+phone+`"}`, nil)
		call(t, "POST", e.api+"/kyc/phone/confirm", token, `{"code":"`+e.svc.sms.(*kyc.DevSMS).LastCode(phone)+`"}`, nil)
		if resp := call(t, "POST", e.api+"/links", token, `{"bank":"0001"}`, &ae); resp.StatusCode != 403 || ae.Error.Code != "forbidden" {
			t.Errorf("tier 1: %d %+v", resp.StatusCode, ae)
		}
	})
	t.Run("StaleStepUp", func(t *testing.T) {
		u, _ := e.walletUser("stale@example.com", 6, "タナカ ミキ", "1970-01-01", false)
		var ce challengeError
		if resp := call(t, "POST", e.api+"/links", u, `{"bank":"0001"}`, &ce); resp.StatusCode != 403 || ce.Error.Code != "challenge_required" || ce.Error.Challenge != "totp" {
			t.Errorf("without a fresh step-up: %d %+v", resp.StatusCode, ce)
		}
	})
	t.Run("KillSwitch", func(t *testing.T) {
		u, _ := e.walletUser("switch@example.com", 7, "キムラ ケン", "1975-05-05", true)
		if _, err := e.svc.policies.PullKillSwitch(context.Background(), "0005", emoney.SwitchNewLinks, "phishing wave", time.Time{}, "cli"); err != nil {
			t.Fatal(err)
		}
		var ae apiError
		if resp := call(t, "POST", e.api+"/links", u, `{"bank":"0005"}`, &ae); resp.StatusCode != 503 || ae.Error.Code != "suspended" {
			t.Errorf("new links pulled: %d %+v", resp.StatusCode, ae)
		}
		if resp := call(t, "POST", e.api+"/links", u, `{"bank":"12"}`, &ae); resp.StatusCode != 400 || ae.Error.Field != "bank" {
			t.Errorf("malformed bank: %d %+v", resp.StatusCode, ae)
		}
	})
}
