package main

import (
	"context"
	"testing"
	"time"
)

// Unlinking and linking the same account again starts a fresh cooling-off day cap.
func TestLinkRelinkKeepsCoolingOffDayCap(t *testing.T) {
	e := startLinkingMandate(t, 10_000)
	hanako := e.customer("hanako", "ﾘﾖｳ ｼｬ", "1980-01-02", "+819011110001", "1000567")
	alice, _ := e.walletUser("alice@example.com", 1, "リヨウ シャ", "1980-01-02", true)
	total := 0
	for round := 0; round < 3; round++ {
		if status, _, _ := e.link(alice, hanako); status != 200 {
			t.Fatalf("link: %d", status)
		}
		link := e.links(alice)[0].ID
		for i := 0; i < 4; i++ {
			var op bankOp
			resp := post(t, e.api+"/topups", alice, "r"+string(rune('a'+round))+string(rune('0'+i)), `{"link":"`+link+`","amount":10000}`, &op)
			if resp.StatusCode == 201 {
				total += 10_000
			}
		}
		if resp := call(t, "DELETE", e.api+"/links/"+link, alice, "", nil); resp.StatusCode != 200 {
			t.Fatalf("unlink: %d", resp.StatusCode)
		}
	}
	if total > 30_000 {
		t.Errorf("one account topped up %d yen today through re-links in cooling-off, cap is 30000", total)
	}
}

// A new link of an account keeps the cooling-off of the account's earlier links: shortening the
// bank's cooling_off between unlinking and linking again does not end the window earlier.
func TestLinkRelinkKeepsCoolingOffWindow(t *testing.T) {
	e := startLinking(t)
	ctx := context.Background()
	hanako := e.customer("hanako", "ﾘﾖｳ ｼｬ", "1980-01-02", "+819011110001", "1000567")
	alice, _ := e.walletUser("alice@example.com", 1, "リヨウ シャ", "1980-01-02", true)
	if status, _, _ := e.link(alice, hanako); status != 200 {
		t.Fatalf("link: %d", status)
	}
	first := e.links(alice)[0]
	if resp := call(t, "DELETE", e.api+"/links/"+first.ID, alice, "", nil); resp.StatusCode != 200 {
		t.Fatalf("unlink: %d", resp.StatusCode)
	}
	pol, err := e.svc.policies.Load(ctx, "0001")
	if err != nil {
		t.Fatal(err)
	}
	pol.CoolingOff = time.Hour
	if _, err := e.svc.policies.Set(ctx, "0001", pol, "cli", pol.Version); err != nil {
		t.Fatal(err)
	}
	if status, _, _ := e.link(alice, hanako); status != 200 {
		t.Fatalf("link again: %d", status)
	}
	again := e.links(alice)[0]
	if again.ID == first.ID || again.CoolingOffUntil != first.CoolingOffUntil {
		t.Errorf("the new link's cooling-off ends %s, the unlinked one's %s: want the same", again.CoolingOffUntil, first.CoolingOffUntil)
	}
}
