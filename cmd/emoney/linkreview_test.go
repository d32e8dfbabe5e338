package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"emoney"
	"emoney/banksim"
	emhttp "emoney/http"
	"emoney/identity"
	"emoney/kyc"
)

// reviewLink makes a wallet whose identity scores 80 against the bank's holder (review) and
// links it: the link waits in review. It returns the wallet's token, the link and the account.
func (e *linkEnv) reviewLink(i int) (string, emhttp.Link, string) {
	e.t.Helper()
	birth := time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i).Format(time.DateOnly)
	number := fmt.Sprintf("8%06d", i)
	in := e.customer(fmt.Sprintf("r%d", i), "ﾘﾖｳ ｼｮ", birth, fmt.Sprintf("+81903333%04d", i), number)
	token, _ := e.walletUser(fmt.Sprintf("r%d@example.com", i), i, "リヨウ シャ", birth, true)
	if status, page, _ := e.link(token, in); status != 200 || !strings.Contains(page, "under review") {
		e.t.Fatalf("link %d: %d\n%s", i, status, page)
	}
	ls := e.links(token)
	if len(ls) != 1 || ls[0].Status != "review" {
		e.t.Fatalf("links: %+v", ls)
	}
	return token, ls[0], "001-" + number
}

func TestStaffDecideLinksOverHTTP(t *testing.T) {
	e := startLinking(t)
	ctx := context.Background()
	analyst := enrolStaff(t, e.svc, e.api, "analyst@example.com", emoney.RoleAnalyst)
	other := enrolStaff(t, e.svc, e.api, "analyst2@example.com", emoney.RoleAnalyst)
	support := enrolStaff(t, e.svc, e.api, "support@example.com", emoney.RoleSupport)
	staff := &emhttp.Client{Base: "http://" + e.svc.server.Addr(), Token: analyst.token}

	t1, l1, _ := e.reviewLink(201)
	t2, l2, acct2 := e.reviewLink(202)
	_, l3, acct3 := e.reviewLink(203)

	// Only analysts and up see the queue; it lists the three links in review with their score.
	var ae apiError
	if resp := call(t, "GET", e.api+"/staff/links", support.token, "", &ae); resp.StatusCode != 403 {
		t.Errorf("support listing links: %d", resp.StatusCode)
	}
	ls, _, err := staff.StaffLinks(ctx, "", 0, "")
	if err != nil || len(ls) != 3 || ls[0].ID != l1.ID || ls[0].Score != 80 || ls[0].Account != "****201" {
		t.Fatalf("links in review: %+v %v", ls, err)
	}

	// One link with both identities side by side; viewing them is audited.
	d, err := staff.StaffLink(ctx, l1.ID)
	if err != nil || d.BankHolderKana != "ﾘﾖｳ ｼｮ" || d.EKYCNameKana != "リヨウ シャ" || d.BankHolderBirthDate != d.EKYCBirthDate || d.Score != 80 {
		t.Fatalf("detail: %+v %v", d, err)
	}
	// (Once more through call, which checks the answers against the OpenAPI document.)
	var list struct{ Links []emhttp.StaffLink }
	if resp := call(t, "GET", e.api+"/staff/links?status=review&limit=2", analyst.token, "", &list); resp.StatusCode != 200 || len(list.Links) != 2 {
		t.Errorf("list: %d %+v", resp.StatusCode, list)
	}
	if resp := call(t, "GET", e.api+"/staff/links/"+l1.ID, analyst.token, "", nil); resp.StatusCode != 200 {
		t.Errorf("detail: %d", resp.StatusCode)
	}
	if viewed, n := e.lastAudit("link.viewed"); n != 2 || viewed["user"] != ls[0].User {
		t.Errorf("viewing is not audited: %v %d", viewed, n)
	}

	// A decision needs a reason and a fresh step-up.
	if resp := call(t, "POST", e.api+"/staff/links/"+l1.ID+"/release", analyst.token, `{"reason":""}`, &ae); resp.StatusCode != 400 || ae.Error.Field != "reason" {
		t.Errorf("release without a reason: %d %+v", resp.StatusCode, ae)
	}
	id1, _ := emoney.ParseID(l1.ID)
	stale := identity.Principal{User: (&emoney.Monotonic{}).NewID(), Role: emoney.RoleAnalyst} // never stepped up
	if _, err := e.svc.links.Release(ctx, stale, id1, "looks fine"); emoney.ErrorCode(err) != emoney.EChallengeRequired {
		t.Errorf("release without a fresh step-up: %v", err)
	}

	// Release: active, cooling-off counted from now, the alert resolved, audited.
	reviewAlerts := len(e.alerts("link_review"))
	got, err := staff.DecideLink(ctx, l1.ID, "release", "name variant confirmed with the customer")
	if err != nil || got.Status != "active" || got.CoolingOffUntil <= l1.CoolingOffUntil {
		t.Fatalf("release: %+v %v (cooling-off was until %s)", got, err, l1.CoolingOffUntil)
	}
	if ls := e.links(t1); ls[0].Status != "active" {
		t.Errorf("the customer sees %q", ls[0].Status)
	}
	if n := len(e.alerts("link_review")); n != reviewAlerts-1 {
		t.Errorf("open link_review alerts %d, want %d", n, reviewAlerts-1)
	}
	if a, n := e.lastAudit("link.released"); n != 1 || a["reason"] != "name variant confirmed with the customer" || a["from"] != "review" {
		t.Errorf("release audit: %v %d", a, n)
	}
	if _, err := staff.DecideLink(ctx, l1.ID, "reject", "too late"); emoney.ErrorCode(err) != emoney.EConflict {
		t.Errorf("rejecting a released link: %v", err)
	}

	// Reject: the bank's grant revoked, then the link.
	var rejected emhttp.StaffLink
	if resp := call(t, "POST", e.api+"/staff/links/"+l2.ID+"/reject", analyst.token, `{"reason":"holder is someone else"}`, &rejected); resp.StatusCode != 200 || rejected.Status != "revoked" {
		t.Fatalf("reject: %d %+v", resp.StatusCode, rejected)
	}
	if all, revoked := e.grants(acct2); all != 1 || revoked != 1 {
		t.Errorf("grants after reject: %d, %d revoked", all, revoked)
	}
	if _, n := e.lastAudit("link.rejected"); n != 1 {
		t.Error("reject not audited")
	}

	// Two analysts decide the same link at once: one wins, the other gets conflict.
	var wg sync.WaitGroup
	codes := make([]string, 2)
	for i, m := range []staffMember{analyst, other} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			decision := []string{"release", "reject"}[i]
			_, err := (&emhttp.Client{Base: "http://" + e.svc.server.Addr(), Token: m.token}).DecideLink(ctx, l3.ID, decision, "race")
			codes[i] = emoney.ErrorCode(err)
		}()
	}
	wg.Wait()
	if !(codes[0] == "" && codes[1] == emoney.EConflict) && !(codes[0] == emoney.EConflict && codes[1] == "") {
		t.Errorf("racing decisions: %q", codes)
	}
	if _, revoked := e.grants(acct3); codes[1] == "" && revoked != 1 {
		t.Error("the winning reject left the grant at the bank")
	}

	// Fraud ops revoke an active link: the grant first, then the link; not twice.
	if got, err := staff.DecideLink(ctx, l1.ID, "revoke", "confirmed mule"); err != nil || got.Status != "revoked" {
		t.Fatalf("revoke: %+v %v", got, err)
	}
	if _, err := staff.DecideLink(ctx, l1.ID, "revoke", "again"); emoney.ErrorCode(err) != emoney.EConflict {
		t.Errorf("revoking twice: %v", err)
	}
	if _, n := e.lastAudit("link.revoked_by_staff"); n != 1 {
		t.Error("revoke not audited")
	}
	// The holder is told of each decision on their link, once.
	kinds := map[string]int{}
	for _, n := range e.notifications(t1, "") {
		kinds[n.Kind]++
	}
	if kinds["link_released"] != 1 || kinds["link_revoked_by_staff"] != 1 {
		t.Errorf("the holder was told %v; want link_released and link_revoked_by_staff once each", kinds)
	}
	if ns := e.notifications(t2, ""); len(ns) == 0 || ns[0].Kind != "link_rejected" {
		t.Errorf("the rejected link's holder was told %+v", ns)
	}
}

// Repeated failures lock linking for the wallet until staff unlock it; the lock is stored
// (audited, alerted) and Begin answers declined/link_locked; unlocking is audited and lets the
// wallet begin again.
func TestLinkLockAfterRepeatedFailures(t *testing.T) {
	e := startLinking(t)
	analyst := enrolStaff(t, e.svc, e.api, "analyst@example.com", emoney.RoleAnalyst)
	in := e.customer("locked", "ﾀﾅｶ ｲﾁﾛｳ", "1985-03-03", "+819044440001", "9000001")
	mule, muleID := e.walletUser("mule@example.com", 301, "スズキ ハナ", "1985-03-03", true)
	for i := range 3 {
		if status, page, _ := e.link(mule, in); status != 200 || !strings.Contains(page, "does not match") {
			t.Fatalf("attempt %d: %d\n%s", i+1, status, page)
		}
	}
	var ae apiError
	if resp := call(t, "POST", e.api+"/links", mule, `{"bank":"0001"}`, &ae); resp.StatusCode != 403 || ae.Error.Code != "declined" || ae.Error.Reason != "link_locked" {
		t.Fatalf("after 3 failures: %d %+v", resp.StatusCode, ae)
	}
	if as := e.alerts("link_locked"); len(as) != 1 || !strings.Contains(as[0].Reason, muleID.String()) {
		t.Errorf("link_locked alerts: %+v", as)
	}
	if a, n := e.lastAudit("link.locked"); n != 1 || fmt.Sprint(a["failures"]) != "3" {
		t.Errorf("lock audit: %v %d", a, n)
	}
	if a, _ := e.lastAudit("link.begin_refused"); a["reason"] != "link_locked" {
		t.Errorf("the locked Begin is not audited: %v", a)
	}
	if resp := call(t, "POST", e.api+"/staff/users/"+muleID.String()+"/link-unlock", analyst.token, `{"reason":"customer called, identity re-verified"}`, nil); resp.StatusCode != 204 {
		t.Fatalf("unlock: %d", resp.StatusCode)
	}
	if resp := call(t, "POST", e.api+"/staff/users/"+muleID.String()+"/link-unlock", analyst.token, `{"reason":"again"}`, &ae); resp.StatusCode != 404 {
		t.Errorf("unlocking a wallet that is not locked: %d", resp.StatusCode)
	}
	if _, n := e.lastAudit("link.unlocked"); n != 1 {
		t.Error("unlock not audited")
	}
	e.begin(mule, "0001") // 201 again
}

// One device, two wallets: the device's limit (5, then one per 12 minutes) holds across them.
func TestLinkDeviceLimit(t *testing.T) {
	e := startLinking(t)
	tokens := make([]string, 2)
	for i := range tokens {
		tokens[i] = e.deviceWallet(fmt.Sprintf("dev%d@example.com", i), 401+i, fmt.Sprintf("197%d-05-05", i), "shared-phone-1")
	}
	for i := range 5 {
		e.begin(tokens[i%2], "0001")
	}
	var ae apiError
	if resp := call(t, "POST", e.api+"/links", tokens[1], `{"bank":"0001"}`, &ae); resp.StatusCode != 429 || ae.Error.Code != "rate_limited" {
		t.Fatalf("6th attempt from one device: %d %+v", resp.StatusCode, ae)
	}
	if a, _ := e.lastAudit("link.begin_refused"); a["code"] != "rate_limited" {
		t.Errorf("not audited: %v", a)
	}
}

// deviceWallet is walletUser for a session signed in from a named device: a tier 2 wallet with
// TOTP, signed in again from device and stepped up there; it returns that session's token.
func (e *linkEnv) deviceWallet(email string, n int, birth, device string) string {
	t := e.t
	t.Helper()
	token, _ := user(t, e.api, email)
	phone := fmt.Sprintf("+81700005%04d", n)
	call(t, "POST", e.api+"/kyc/phone", token, `{"phone":"`+phone+`"}`, nil)
	call(t, "POST", e.api+"/kyc/phone/confirm", token, `{"code":"`+e.svc.sms.(*kyc.DevSMS).LastCode(phone)+`"}`, nil)
	doc := fmt.Sprintf(`{"type":"passport","number":"DV%04d","name_kanji":"端末 者","name_kana":"タンマツ シャ","birth_date":"%s"}`, n, birth)
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
	var login struct{ Token string }
	body := fmt.Sprintf(`{"email":%q,"password":"correct horse battery","device":%q}`, email, device)
	if resp := call(t, "POST", e.api+"/login", "", body, &login); resp.StatusCode != 200 {
		t.Fatalf("login from %s: %d", device, resp.StatusCode)
	}
	c, _ = totp.GenerateCode(enrol.Secret, now.Add(30*time.Second))
	if resp := call(t, "POST", e.api+"/stepup", login.Token, `{"code":"`+c+`"}`, nil); resp.StatusCode != 200 {
		t.Fatalf("step-up: %d", resp.StatusCode)
	}
	return login.Token
}

// A wallet disabled or downgraded below tier 2 while its customer is at the bank is refused at
// the callback: nothing linked, the grant revoked at the bank, link.failed audited (step
// "wallet").
func TestLinkCallbackRechecksTheWallet(t *testing.T) {
	e := startLinking(t)
	ctx := context.Background()
	for name, change := range map[string]func(tx emoney.Tx, user emoney.ID) error{
		"disabled":   func(tx emoney.Tx, user emoney.ID) error { return tx.DisableUser(ctx, user, time.Now()) },
		"downgraded": func(tx emoney.Tx, user emoney.ID) error { return tx.SetKYCTier(ctx, user, 1) },
	} {
		t.Run(name, func(t *testing.T) {
			n := 500 + len(name)
			number := fmt.Sprintf("6%06d", n)
			in := e.customer("cb"+name, "ﾔﾏﾀﾞ ﾊﾅｺ", fmt.Sprintf("1990-01-%02d", len(name)), fmt.Sprintf("+81905555%04d", n), number)
			token, id := e.walletUser(name+"@example.com", n, "ヤマダ ハナコ", fmt.Sprintf("1990-01-%02d", len(name)), true)
			loc, err := banksim.NewBrowser().Authorize(e.begin(token, "0001"), in)
			if err != nil {
				t.Fatal(err)
			}
			if err := e.svc.store.Update(ctx, func(tx emoney.Tx) error { return change(tx, id) }); err != nil {
				t.Fatal(err)
			}
			if status, page := e.get(loc.String()); status != 403 || strings.Contains(page, "linked.") {
				t.Errorf("callback: %d\n%s", status, page)
			}
			if all, revoked := e.grants("001-" + number); all != 1 || revoked != 1 {
				t.Errorf("grants: %d, %d revoked; want the one revoked", all, revoked)
			}
			if a, _ := e.lastAudit("link.failed"); a["step"] != "wallet" || a["code"] != "forbidden" {
				t.Errorf("audit: %v", a)
			}
			var count int
			_ = e.svc.store.View(ctx, func(tx emoney.ReadTx) error {
				ls, err := tx.Links(ctx, id)
				count = len(ls)
				return err
			})
			if count != 0 {
				t.Errorf("%d links stored", count)
			}
		})
	}
}
