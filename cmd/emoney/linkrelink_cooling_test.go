package main

import "testing"

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
