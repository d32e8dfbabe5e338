package storetest

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"

	"emoney"
)

func runWebhooks(t *testing.T, newDB NewDatabase) {
	t.Run("Endpoints", func(t *testing.T) { testWebhookEndpoints(t, newDB) })
	t.Run("Cursor", func(t *testing.T) { testOutboxCursor(t, newDB) })
	t.Run("Deliveries", func(t *testing.T) { testDeliveries(t, newDB) })
	t.Run("ConcurrentClaims", func(t *testing.T) { testConcurrentClaims(t, newDB) })
}

func testWebhookEndpoints(t *testing.T, newDB NewDatabase) {
	s, _ := open(t, newDB)
	c := ctx(t)
	shop := emoney.Partner{ID: ids.NewID(), Name: "Book shop", Role: emoney.RoleMerchant, KeyHash: []byte("shop"), CreatedAt: at(1)}
	cafe := emoney.Partner{ID: ids.NewID(), Name: "Cafe", Role: emoney.RoleMerchant, KeyHash: []byte("cafe"), CreatedAt: at(1)}
	must(t, s.Update(c, func(tx emoney.Tx) error {
		must(t, tx.CreatePartner(c, shop))
		return tx.CreatePartner(c, cafe)
	}))
	must(t, s.View(c, func(tx emoney.ReadTx) error {
		got, err := tx.PartnerByName(c, "Cafe")
		must(t, err)
		if got.ID != cafe.ID || got.Role != emoney.RoleMerchant {
			t.Errorf("PartnerByName = %+v", got)
		}
		_, err = tx.PartnerByName(c, "Nobody")
		wantCode(t, err, emoney.ENotFound)
		return nil
	}))

	wantCode(t, s.Update(c, func(tx emoney.Tx) error {
		return tx.SetPartnerWebhook(c, emoney.PartnerWebhook{Partner: ids.NewID(), URL: "https://x.example/", SecretSealed: []byte("s"), UpdatedAt: at(2)})
	}), emoney.ENotFound)
	w1 := emoney.PartnerWebhook{Partner: shop.ID, URL: "https://shop.example/hooks", SecretSealed: []byte("sealed-1"), UpdatedAt: at(2)}
	must(t, s.Update(c, func(tx emoney.Tx) error { return tx.SetPartnerWebhook(c, w1) }))
	must(t, s.Update(c, func(tx emoney.Tx) error {
		return tx.SetPartnerWebhook(c, emoney.PartnerWebhook{Partner: cafe.ID, URL: "https://cafe.example/", SecretSealed: []byte("c"), UpdatedAt: at(2)})
	}))
	hooks := func(ps ...emoney.ID) map[emoney.ID]emoney.PartnerWebhook {
		out := map[emoney.ID]emoney.PartnerWebhook{}
		must(t, s.View(c, func(tx emoney.ReadTx) error {
			ws, err := tx.PartnerWebhooks(c, ps)
			for _, w := range ws {
				out[w.Partner] = w
			}
			return err
		}))
		return out
	}
	got := hooks(shop.ID, cafe.ID, ids.NewID())
	if w := got[shop.ID]; len(got) != 2 || w.URL != w1.URL || !bytes.Equal(w.SecretSealed, w1.SecretSealed) || !w.UpdatedAt.Equal(w1.UpdatedAt) {
		t.Errorf("PartnerWebhooks = %+v", got)
	}
	if len(hooks()) != 0 {
		t.Error("PartnerWebhooks of no partners found some")
	}
	// Setting again replaces the URL and the secret (a rotation).
	w2 := emoney.PartnerWebhook{Partner: shop.ID, URL: "https://shop.example/v2", SecretSealed: []byte("sealed-2"), UpdatedAt: at(3)}
	must(t, s.Update(c, func(tx emoney.Tx) error { return tx.SetPartnerWebhook(c, w2) }))
	if w := hooks(shop.ID)[shop.ID]; w.URL != w2.URL || !bytes.Equal(w.SecretSealed, w2.SecretSealed) || !w.UpdatedAt.Equal(at(3)) {
		t.Errorf("after a second set: %+v", w)
	}
	// A revoked partner gets nothing more.
	must(t, s.Update(c, func(tx emoney.Tx) error { _, err := tx.RevokePartner(c, "Cafe", at(4)); return err }))
	if got := hooks(shop.ID, cafe.ID); len(got) != 1 || got[shop.ID].URL != w2.URL {
		t.Errorf("after revoking the cafe: %+v", got)
	}
}

func testOutboxCursor(t *testing.T, newDB NewDatabase) {
	s, o := open(t, newDB)
	c := ctx(t)
	must(t, s.View(c, func(tx emoney.ReadTx) error {
		for _, name := range []string{"webhooks", "never-used"} {
			if seq, err := tx.OutboxCursor(c, name); err != nil || seq != 0 {
				t.Errorf("cursor %s before any use: %d, %v", name, seq, err)
			}
		}
		return nil
	}))
	wantCode(t, s.Update(c, func(tx emoney.Tx) error { return tx.AdvanceOutboxCursor(c, "never-locked", 5) }), emoney.ENotFound)
	must(t, s.Update(c, func(tx emoney.Tx) error {
		seq, err := tx.LockOutboxCursor(c, "other")
		must(t, err)
		if seq != 0 {
			t.Errorf("a new cursor starts at %d", seq)
		}
		return tx.AdvanceOutboxCursor(c, "other", 7)
	}))
	// A rolled-back advance leaves the cursor where it was.
	_ = s.Update(c, func(tx emoney.Tx) error {
		if _, err := tx.LockOutboxCursor(c, "other"); err != nil {
			return err
		}
		must(t, tx.AdvanceOutboxCursor(c, "other", 100))
		return fmt.Errorf("roll back")
	})
	must(t, s.View(c, func(tx emoney.ReadTx) error {
		if seq, err := tx.OutboxCursor(c, "other"); err != nil || seq != 7 {
			t.Errorf("cursor after an advance to 7 and a rolled-back one: %d, %v", seq, err)
		}
		return nil
	}))

	// Two handles (two processes) moving one cursor by one, many times at once: the lock makes
	// every step count, none is lost.
	s2 := o(t)
	const steps = 25
	var wg sync.WaitGroup
	for _, h := range []emoney.Store{s, s2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < steps; i++ {
				err := h.Update(c, func(tx emoney.Tx) error {
					seq, err := tx.LockOutboxCursor(c, "webhooks")
					if err != nil {
						return err
					}
					return tx.AdvanceOutboxCursor(c, "webhooks", seq+1)
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	must(t, s.View(c, func(tx emoney.ReadTx) error {
		if seq, err := tx.OutboxCursor(c, "webhooks"); err != nil || seq != 2*steps {
			t.Errorf("cursor after %d locked steps: %d, %v", 2*steps, seq, err)
		}
		return nil
	}))
}

func delivery(event string, partner emoney.ID, next time.Time) emoney.Delivery {
	return emoney.Delivery{ID: ids.NewID(), EventID: event, Partner: partner, Type: "payment.received",
		Payload: []byte(`{"id":"` + event + `"}`), NextAt: next, CreatedAt: at(0)}
}

func testDeliveries(t *testing.T, newDB NewDatabase) {
	s, _ := open(t, newDB)
	c := ctx(t)
	p1, p2 := ids.NewID(), ids.NewID()
	d1, d2, d3 := delivery("evt_1", p1, at(1)), delivery("evt_2", p1, at(3)), delivery("evt_1", p2, at(2))
	must(t, s.View(c, func(tx emoney.ReadTx) error {
		next, err := tx.NextDeliveryAt(c)
		must(t, err)
		if !next.IsZero() {
			t.Errorf("NextDeliveryAt with none: %v", next)
		}
		return nil
	}))
	must(t, s.Update(c, func(tx emoney.Tx) error { return tx.CreateDeliveries(c, []emoney.Delivery{d1, d2, d3}) }))
	// The same (event, partner) again is skipped, not an error and not a second row.
	dup := delivery("evt_1", p1, at(0))
	must(t, s.Update(c, func(tx emoney.Tx) error { return tx.CreateDeliveries(c, []emoney.Delivery{dup}) }))
	must(t, s.View(c, func(tx emoney.ReadTx) error {
		got, err := tx.Delivery(c, d1.ID)
		must(t, err)
		if got.EventID != "evt_1" || got.Partner != p1 || got.Type != d1.Type || !bytes.Equal(got.Payload, d1.Payload) ||
			got.Status != emoney.DeliveryPending || got.Attempts != 0 || !got.NextAt.Equal(at(1)) || !got.Claim.IsZero() ||
			got.LastStatus != 0 || got.LastError != "" || !got.CreatedAt.Equal(at(0)) || !got.DeliveredAt.IsZero() {
			t.Errorf("Delivery = %+v", got)
		}
		_, err = tx.Delivery(c, dup.ID)
		wantCode(t, err, emoney.ENotFound)
		counts, err := tx.DeliveryCounts(c)
		must(t, err)
		if len(counts) != 1 || counts[emoney.DeliveryPending] != 3 {
			t.Errorf("DeliveryCounts = %v", counts)
		}
		next, err := tx.NextDeliveryAt(c)
		must(t, err)
		if !next.Equal(at(1)) {
			t.Errorf("NextDeliveryAt = %v, want %v", next, at(1))
		}
		return nil
	}))

	claim := func(now, until time.Time, limit int) (emoney.ID, []emoney.Delivery) {
		t.Helper()
		id := ids.NewID()
		var ds []emoney.Delivery
		must(t, s.Update(c, func(tx emoney.Tx) error {
			var err error
			ds, err = tx.ClaimDeliveries(c, id, now, until, limit)
			return err
		}))
		return id, ds
	}
	// At second 2, d1 and d3 are due, d2 is not.
	c1, got := claim(at(2), at(60), 10)
	if len(got) != 2 || !sameIDs(got, d1, d3) || got[0].Claim != c1 || !got[0].NextAt.Equal(at(60)) {
		t.Fatalf("claim at 2s = %+v", got)
	}
	// Claimed ones are not due for anyone else until the lease ends; d2 is by now.
	if _, got := claim(at(30), at(90), 10); len(got) != 1 || got[0].ID != d2.ID {
		t.Errorf("claim at 30s = %+v, want only d2", got)
	}
	// The lease on d1 and d3 ends at 60s: they can be claimed again (the first claim lost them).
	c3, got := claim(at(60), at(120), 1)
	if len(got) != 1 {
		t.Fatalf("claim after the lease: %+v", got)
	}
	again := got[0]
	record := func(o emoney.DeliveryOutcome) error {
		return s.Update(c, func(tx emoney.Tx) error { return tx.RecordDelivery(c, o) })
	}
	wantCode(t, record(emoney.DeliveryOutcome{ID: again.ID, Claim: c1, Status: emoney.DeliveryDelivered, LastStatus: 200, At: at(61)}), emoney.EConflict)
	wantCode(t, record(emoney.DeliveryOutcome{ID: ids.NewID(), Claim: c3, Status: emoney.DeliveryDelivered, At: at(61)}), emoney.ENotFound)
	// A retry: one attempt more, what went wrong, when to try again; the claim let go.
	must(t, record(emoney.DeliveryOutcome{ID: again.ID, Claim: c3, Status: emoney.DeliveryPending, NextAt: at(70), LastStatus: 503, LastError: "HTTP 503", At: at(61)}))
	must(t, s.View(c, func(tx emoney.ReadTx) error {
		got, err := tx.Delivery(c, again.ID)
		must(t, err)
		if got.Status != emoney.DeliveryPending || got.Attempts != 1 || !got.NextAt.Equal(at(70)) || !got.Claim.IsZero() || got.LastStatus != 503 || got.LastError != "HTTP 503" {
			t.Errorf("after a retry: %+v", got)
		}
		return nil
	}))
	wantCode(t, record(emoney.DeliveryOutcome{ID: again.ID, Claim: c3, Status: emoney.DeliveryDelivered, At: at(62)}), emoney.EConflict) // the claim was let go
	c4, got := claim(at(70), at(130), 10)
	if !sameIDs(got, again, otherOf(again, d1, d3)) {
		t.Fatalf("claim at 70s = %+v", got)
	}
	must(t, record(emoney.DeliveryOutcome{ID: again.ID, Claim: c4, Status: emoney.DeliveryDelivered, LastStatus: 204, At: at(71)}))
	must(t, record(emoney.DeliveryOutcome{ID: otherOf(again, d1, d3).ID, Claim: c4, Status: emoney.DeliveryFailed, LastStatus: 0, LastError: "timeout", At: at(72)}))
	must(t, s.View(c, func(tx emoney.ReadTx) error {
		got, err := tx.Delivery(c, again.ID)
		must(t, err)
		if got.Status != emoney.DeliveryDelivered || got.Attempts != 2 || !got.DeliveredAt.Equal(at(71)) || got.LastStatus != 204 || got.LastError != "" {
			t.Errorf("delivered: %+v", got)
		}
		counts, err := tx.DeliveryCounts(c)
		must(t, err)
		if counts[emoney.DeliveryPending] != 1 || counts[emoney.DeliveryDelivered] != 1 || counts[emoney.DeliveryFailed] != 1 {
			t.Errorf("DeliveryCounts = %v", counts)
		}
		next, err := tx.NextDeliveryAt(c)
		must(t, err)
		if !next.Equal(at(90)) { // d2, under the lease of the claim at 30s
			t.Errorf("NextDeliveryAt = %v, want %v", next, at(90))
		}
		return nil
	}))
	// Delivered and failed ones are never claimed again.
	if _, got := claim(at(1000), at(2000), 10); len(got) != 1 || got[0].ID != d2.ID {
		t.Errorf("claim much later = %+v, want only d2", got)
	}
}

// testConcurrentClaims has two handles claim from one backlog at once: every delivery is
// claimed, and by one claim only.
func testConcurrentClaims(t *testing.T, newDB NewDatabase) {
	s, o := open(t, newDB)
	s2 := o(t)
	c := ctx(t)
	const n = 40
	var all []emoney.Delivery
	for i := 0; i < n; i++ {
		all = append(all, delivery(fmt.Sprint("evt_", i), ids.NewID(), at(i%5)))
	}
	must(t, s.Update(c, func(tx emoney.Tx) error { return tx.CreateDeliveries(c, all) }))
	var mu sync.Mutex
	claimed := map[emoney.ID]int{}
	var wg sync.WaitGroup
	for _, h := range []emoney.Store{s, s2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				var ds []emoney.Delivery
				err := h.Update(c, func(tx emoney.Tx) error {
					var err error
					ds, err = tx.ClaimDeliveries(c, ids.NewID(), at(10), at(3600), 3)
					return err
				})
				if err != nil {
					t.Error(err)
					return
				}
				if len(ds) == 0 {
					return
				}
				mu.Lock()
				for _, d := range ds {
					claimed[d.ID]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(claimed) != n {
		t.Errorf("%d of %d deliveries claimed", len(claimed), n)
	}
	for id, k := range claimed {
		if k != 1 {
			t.Errorf("delivery %s claimed %d times", id, k)
		}
	}
}

func sameIDs(got []emoney.Delivery, want ...emoney.Delivery) bool {
	if len(got) != len(want) {
		return false
	}
	seen := map[emoney.ID]bool{}
	for _, d := range got {
		seen[d.ID] = true
	}
	for _, d := range want {
		if !seen[d.ID] {
			return false
		}
	}
	return true
}

func otherOf(d emoney.Delivery, a, b emoney.Delivery) emoney.Delivery {
	if d.ID == a.ID {
		return b
	}
	return a
}
