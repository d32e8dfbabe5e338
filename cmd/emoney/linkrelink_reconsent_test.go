package main

import (
	"strings"
	"testing"
	"time"
)

// docs/banks.md: a reconsent link means "link again". Linking again replaces it: the owner is
// not refused as a second wallet, no link_refused alert is raised, the old link is revoked in
// the same transaction (audited link.replaced) and the new one keeps the account's cooling-off.
func TestLinkReconsentLinksAgain(t *testing.T) {
	e := startLinking(t)
	hanako := e.customer("hanako", "ﾘﾖｳ ｼｬ", "1980-01-02", "+819011110001", "1000567")
	alice, _ := e.walletUser("alice@example.com", 1, "リヨウ シャ", "1980-01-02", true)
	if status, _, _ := e.link(alice, hanako); status != 200 {
		t.Fatalf("link: %d", status)
	}
	first := e.links(alice)[0]
	gs, _ := e.sim.Grants("0001")
	_, _ = e.sim.RevokeGrant(lostWebhook(), "0001", gs[0].ID) // its webhook lost: the top-up finds out
	var ae apiError
	post(t, e.api+"/topups", alice, "t1", `{"link":"`+first.ID+`","amount":1000}`, &ae)
	if ls := e.links(alice); ls[0].Status != "reconsent" {
		t.Fatalf("%+v", ls)
	}
	status, page, _ := e.link(alice, hanako)
	if strings.Contains(page, "another wallet") {
		t.Errorf("the owner re-consenting is refused as a second wallet:\n%s", page)
	}
	if status != 200 || !strings.Contains(page, "Bank account linked") {
		t.Fatalf("link again: %d\n%s", status, page)
	}
	ls := e.links(alice)
	if len(ls) != 2 || ls[0].ID == first.ID || ls[0].Status != "active" || ls[1].ID != first.ID || ls[1].Status != "revoked" {
		t.Fatalf("links after linking again: %+v", ls)
	}
	if a := e.alerts("link_refused"); len(a) != 0 {
		t.Errorf("link_refused alerts for the owner's own account: %+v", a)
	}
	if n := e.audited("link.replaced"); n != 1 {
		t.Errorf("link.replaced audited %d times, want 1", n)
	}
	oldUntil, _ := time.Parse(time.RFC3339Nano, first.CoolingOffUntil)
	newUntil, err := time.Parse(time.RFC3339Nano, ls[0].CoolingOffUntil)
	if err != nil || newUntil.Before(oldUntil) {
		t.Errorf("the new link's cooling-off ends %v, before the replaced link's %v (%v)", newUntil, oldUntil, err)
	}
	// The new link moves money.
	var op bankOp
	if resp := post(t, e.api+"/topups", alice, "t2", `{"link":"`+ls[0].ID+`","amount":1000}`, &op); resp.StatusCode != 201 {
		t.Errorf("top-up through the new link: %d %+v", resp.StatusCode, op)
	}
}

// Linking an account that is linked to one's own wallet already (active) changes nothing: the
// link stays, the new grant is revoked as a duplicate, and no alert names the owner.
func TestLinkOwnActiveAccountAgain(t *testing.T) {
	e := startLinking(t)
	hanako := e.customer("hanako", "ﾘﾖｳ ｼｬ", "1980-01-02", "+819011110001", "1000567")
	alice, _ := e.walletUser("alice@example.com", 1, "リヨウ シャ", "1980-01-02", true)
	if status, _, _ := e.link(alice, hanako); status != 200 {
		t.Fatalf("link: %d", status)
	}
	first := e.links(alice)[0]
	status, page, _ := e.link(alice, hanako)
	if status != 200 || !strings.Contains(page, "linked to your wallet already") {
		t.Fatalf("link again: %d\n%s", status, page)
	}
	if ls := e.links(alice); len(ls) != 1 || ls[0].ID != first.ID || ls[0].Status != "active" {
		t.Errorf("links after linking the same account again: %+v", ls)
	}
	if a := e.alerts("link_refused"); len(a) != 0 {
		t.Errorf("link_refused alerts for the owner's own account: %+v", a)
	}
	if n := e.audited("link.duplicate"); n != 1 {
		t.Errorf("link.duplicate audited %d times, want 1", n)
	}
	if all, revoked := e.grants("001-1000567"); all != 2 || revoked != 1 {
		t.Errorf("grants: %d, revoked %d; want 2, the duplicate revoked", all, revoked)
	}
	var op bankOp
	if resp := post(t, e.api+"/topups", alice, "t1", `{"link":"`+first.ID+`","amount":1000}`, &op); resp.StatusCode != 201 {
		t.Errorf("top-up through the kept link: %d %+v", resp.StatusCode, op)
	}
}
