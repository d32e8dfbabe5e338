package webhook_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"emoney"
	"emoney/identity"
	"emoney/internal/fakeclock"
	"emoney/internal/testkit"
	"emoney/ledger"
	"emoney/pii"
	"emoney/postgres"
	"emoney/postgres/pgtest"
	"emoney/sqlite"
	"emoney/webhook"
)

// opener opens another handle on one migrated database (a second process, in effect).
type opener func(t *testing.T) emoney.Store

// eachStore runs f on a fresh SQLite database and on a fresh PostgreSQL database (skipped
// without a server, except under CI=true).
func eachStore(t *testing.T, f func(t *testing.T, open opener)) {
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "emoney.db")
		f(t, func(t *testing.T) emoney.Store {
			s, err := sqlite.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			if err := s.Migrate(context.Background()); err != nil {
				t.Fatal(err)
			}
			return s
		})
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := pgtest.Database(t)
		f(t, func(t *testing.T) emoney.Store {
			s, err := postgres.Open(context.Background(), dsn, postgres.Config{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			if err := s.Migrate(context.Background()); err != nil {
				t.Fatal(err)
			}
			return s
		})
	})
}

// world is a ledger with a funded wallet, merchants made as `partner create` makes them, and
// a receiver standing in for a merchant's server.
type world struct {
	t      *testing.T
	store  emoney.Store
	keys   *pii.Keys
	ledger *ledger.Ledger
	ids    *identity.Service
	wallet emoney.ID
	n      int
}

func newWorld(t *testing.T, s emoney.Store) *world {
	t.Helper()
	ctx := context.Background()
	k := testkit.New(t, s, nil)
	keys, l, ids := k.Keys, k.Ledger, k.Identity
	bank, err := l.OpenAccount(ctx, ledger.AccountSpec{Name: "bank:0005", Kind: emoney.AccountBank})
	if err != nil {
		t.Fatal(err)
	}
	wallet, err := l.OpenAccount(ctx, ledger.AccountSpec{Name: "wallet:alice", Kind: emoney.AccountWallet})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Transfer(ctx, "system:test", "fund", ledger.Op{From: bank.ID, To: wallet.ID, Amount: 1_000_000, Code: "topup"}); err != nil {
		t.Fatal(err)
	}
	return &world{t: t, store: s, keys: keys, ledger: l, ids: ids, wallet: wallet.ID}
}

// merchant creates a merchant and returns it with its ledger account.
func (w *world) merchant(name string) (emoney.Partner, emoney.ID) {
	w.t.Helper()
	ctx := context.Background()
	p, _, err := w.ids.CreatePartner(ctx, name, emoney.RoleMerchant)
	if err != nil {
		w.t.Fatal(err)
	}
	a, err := w.ledger.AccountByName(ctx, identity.PartnerAccountName(p))
	if err != nil {
		w.t.Fatal(err)
	}
	return p, a.ID
}

func (w *world) pay(merchant emoney.ID, amount int64) emoney.Transfer {
	w.t.Helper()
	w.n++
	tr, err := w.ledger.Transfer(context.Background(), "user:alice", fmt.Sprint("pay-", w.n), ledger.Op{From: w.wallet, To: merchant, Amount: amount, Code: "payment"})
	if err != nil {
		w.t.Fatal(err)
	}
	return tr
}

func (w *world) refund(payment emoney.ID, amount int64) emoney.Transfer {
	w.t.Helper()
	w.n++
	tr, err := w.ledger.Transfer(context.Background(), "partner:x", fmt.Sprint("refund-", w.n), ledger.Op{ReversalOf: payment, Amount: amount, Code: "refund"})
	if err != nil {
		w.t.Fatal(err)
	}
	return tr
}

// receiver is a merchant's webhook endpoint: it answers with the statuses in fail (in order)
// and then 200, and keeps what it got.
type receiver struct {
	mu   sync.Mutex
	fail []int
	got  []received
	srv  *httptest.Server
}

type received struct {
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T, fail ...int) *receiver {
	r := &receiver{fail: fail}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, received{req.Header.Clone(), body})
		status := 200
		if len(r.fail) > 0 {
			status, r.fail = r.fail[0], r.fail[1:]
		}
		r.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

func testConfig(c *fakeclock.Clock) webhook.Config {
	return webhook.Config{AllowInsecure: true, Now: c.Now, MinBackoff: time.Second, MaxBackoff: 4 * time.Second,
		Jitter: func(d time.Duration) time.Duration { return d }, Timeout: 5 * time.Second}
}

func TestRetriesUntilDelivered(t *testing.T) {
	eachStore(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		w := newWorld(t, open(t))
		c := fakeclock.New(time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC))
		svc := webhook.New(w.store, w.keys, testConfig(c))
		shop, shopAccount := w.merchant("Book shop")
		_, quietAccount := w.merchant("Cafe without webhooks")
		rcv := newReceiver(t, 503, 500) // down twice, then up

		if _, _, err := svc.SetEndpoint(ctx, shop.ID, "https://user:pw@shop.example/", "test"); emoney.ErrorField(err) != "url" {
			t.Errorf("a URL with a password: %v", err)
		}
		ep, secret, err := svc.SetEndpoint(ctx, shop.ID, rcv.srv.URL+"/hooks", "test")
		if err != nil || ep.URL != rcv.srv.URL+"/hooks" || !strings.HasPrefix(secret, "whsec_") {
			t.Fatalf("SetEndpoint = %+v %q %v", ep, secret, err)
		}
		if got, err := svc.GetEndpoint(ctx, shop.ID); err != nil || got.URL != ep.URL {
			t.Errorf("GetEndpoint = %+v, %v", got, err)
		}

		pay := w.pay(shopAccount, 3000)
		w.pay(quietAccount, 500) // its merchant has no endpoint: no delivery
		events, made, err := svc.FanOut(ctx)
		if err != nil || made != 1 || events < 3 {
			t.Fatalf("FanOut = %d events, %d made, %v", events, made, err)
		}
		if _, made, _ := svc.FanOut(ctx); made != 0 {
			t.Errorf("a second fan-out made %d more", made)
		}

		deliver := func(want int) {
			t.Helper()
			if n, err := svc.Deliver(ctx); err != nil || n != want {
				t.Fatalf("Deliver = %d, %v; want %d", n, err, want)
			}
		}
		deliver(1) // 503
		deliver(0) // not due before its backoff
		c.Add(time.Second)
		deliver(1) // 500
		c.Add(time.Second)
		deliver(0) // the second backoff is twice the first
		c.Add(time.Second)
		deliver(1) // 200
		c.Add(time.Hour)
		deliver(0) // delivered: never sent again

		got := rcv.requests()
		if len(got) != 3 {
			t.Fatalf("the receiver got %d requests, want 3", len(got))
		}
		for i, r := range got {
			if r.header.Get("Emoney-Event-Id") != "evt_"+pay.ID.String() || r.header.Get("Emoney-Event-Type") != "payment.received" ||
				r.header.Get("Content-Type") != "application/json" || string(r.body) != string(got[0].body) {
				t.Errorf("request %d: %v %s", i, r.header, r.body)
			}
			if err := webhook.VerifyAt(secret, r.header.Get("Emoney-Signature"), r.body, 2*time.Hour, c.Now()); err != nil { // sent within the last 1h3s of the test clock
				t.Errorf("request %d: signature: %v", i, err)
			}
		}
		var ev struct {
			ID, Type  string
			CreatedAt time.Time `json:"created_at"`
			Data      map[string]any
		}
		if err := json.Unmarshal(got[0].body, &ev); err != nil {
			t.Fatal(err)
		}
		if ev.ID != "evt_"+pay.ID.String() || ev.Type != "payment.received" || !ev.CreatedAt.Equal(pay.CreatedAt) ||
			fmt.Sprint(ev.Data) != fmt.Sprintf("map[amount:3000 currency:JPY transfer:%s]", pay.ID) {
			t.Errorf("event %s", got[0].body)
		}
		if counts := deliveryCounts(t, w.store); len(counts) != 1 || counts[emoney.DeliveryDelivered] != 1 {
			t.Errorf("delivery counts after three attempts: %v", counts)
		}
		if err := testutil.CollectAndCompare(svc.Collectors()[0], strings.NewReader(`
# HELP emoney_webhook_deliveries_total Webhook delivery attempts by outcome: delivered, retry (will be tried again), failed (given up).
# TYPE emoney_webhook_deliveries_total counter
emoney_webhook_deliveries_total{outcome="delivered"} 1
emoney_webhook_deliveries_total{outcome="retry"} 2
`)); err != nil {
			t.Error(err)
		}
	})
}

func deliveryCounts(t *testing.T, s emoney.Store) map[emoney.DeliveryStatus]int64 {
	t.Helper()
	var counts map[emoney.DeliveryStatus]int64
	if err := s.View(context.Background(), func(tx emoney.ReadTx) error {
		var err error
		counts, err = tx.DeliveryCounts(context.Background())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return counts
}

func TestRefundsAndGivingUp(t *testing.T) {
	eachStore(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		w := newWorld(t, open(t))
		c := fakeclock.New(time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC))
		cfg := testConfig(c)
		cfg.MaxAttempts = 3
		svc := webhook.New(w.store, w.keys, cfg)
		shop, shopAccount := w.merchant("Book shop")
		rcv := newReceiver(t)
		_, secret, err := svc.SetEndpoint(ctx, shop.ID, rcv.srv.URL, "test")
		if err != nil {
			t.Fatal(err)
		}
		pay := w.pay(shopAccount, 3000)
		ref := w.refund(pay.ID, 1000)
		w.ledger.Transfer(ctx, "user:alice", "p2p", ledger.Op{From: w.wallet, To: shopAccount, Amount: 1, Code: "p2p"}) // not a payment
		if _, made, err := svc.FanOut(ctx); err != nil || made != 2 {
			t.Fatalf("FanOut made %d, %v; want 2", made, err)
		}
		if n, err := svc.Deliver(ctx); n != 2 || err != nil {
			t.Fatalf("Deliver = %d, %v", n, err)
		}
		byType := map[string]received{}
		for _, r := range rcv.requests() {
			if err := webhook.VerifyAt(secret, r.header.Get("Emoney-Signature"), r.body, time.Minute, c.Now()); err != nil {
				t.Errorf("signature: %v", err)
			}
			byType[r.header.Get("Emoney-Event-Type")] = r
		}
		var refund struct {
			ID   string
			Type string
			Data struct {
				Transfer, Currency, Payment string
				Amount                      int64
			}
		}
		if err := json.Unmarshal(byType["refund.created"].body, &refund); err != nil {
			t.Fatalf("no refund.created: %v (%d requests)", err, len(rcv.requests()))
		}
		if refund.ID != "evt_"+ref.ID.String() || refund.Type != "refund.created" || refund.Data.Transfer != ref.ID.String() ||
			refund.Data.Payment != pay.ID.String() || refund.Data.Amount != 1000 || refund.Data.Currency != "JPY" {
			t.Errorf("refund event %s", byType["refund.created"].body)
		}
		if _, ok := byType["payment.received"]; !ok {
			t.Error("no payment.received")
		}

		// A receiver that never answers well: three attempts, then failed; nothing sent after.
		down := newReceiver(t, 500, 500, 500, 500, 500)
		if _, _, err := svc.SetEndpoint(ctx, shop.ID, down.srv.URL, "test"); err != nil {
			t.Fatal(err)
		}
		w.pay(shopAccount, 10)
		svc.FanOut(ctx)
		for i := 0; i < 5; i++ {
			svc.Deliver(ctx)
			c.Add(time.Minute)
		}
		if n := len(down.requests()); n != 3 {
			t.Errorf("a failing receiver got %d attempts, want 3", n)
		}
		if counts := deliveryCounts(t, w.store); counts[emoney.DeliveryFailed] != 1 || counts[emoney.DeliveryPending] != 0 {
			t.Errorf("counts %v, want one failed", counts)
		}

		// A revoked partner's deliveries are not sent: made before the revocation, they fail.
		w.pay(shopAccount, 20)
		svc.FanOut(ctx)
		if _, err := w.ids.RevokePartner(ctx, shop.Name, "test"); err != nil {
			t.Fatal(err)
		}
		before := len(down.requests())
		svc.Deliver(ctx)
		if len(down.requests()) != before {
			t.Error("a revoked partner was sent an event")
		}
		if counts := deliveryCounts(t, w.store); counts[emoney.DeliveryFailed] != 2 {
			t.Errorf("counts %v, want two failed", counts)
		}
		w.pay(shopAccount, 30)
		if _, made, _ := svc.FanOut(ctx); made != 0 {
			t.Errorf("fan-out made %d deliveries for a revoked partner", made)
		}
	})
}

// TestTwoDispatchers runs two dispatchers, each on its own handle of one database (two
// processes, in effect), while payments are made: every event arrives, once.
func TestTwoDispatchers(t *testing.T) {
	eachStore(t, func(t *testing.T, open opener) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		w := newWorld(t, open(t))
		shop, shopAccount := w.merchant("Book shop")
		rcv := newReceiver(t)
		var runs sync.WaitGroup
		var secret string
		for i := 0; i < 2; i++ {
			s := w.store
			if i == 1 {
				s = open(t)
			}
			svc := webhook.New(s, w.keys, webhook.Config{AllowInsecure: true, Poll: 5 * time.Millisecond, Batch: 3, Events: 4})
			if i == 0 {
				var err error
				if _, secret, err = svc.SetEndpoint(ctx, shop.ID, rcv.srv.URL, "test"); err != nil {
					t.Fatal(err)
				}
			}
			runs.Add(1)
			go func() { defer runs.Done(); svc.Run(ctx) }()
		}
		const n = 30
		want := map[string]bool{}
		var mu sync.Mutex
		var pays sync.WaitGroup
		for i := 0; i < n; i++ {
			pays.Add(1)
			go func() {
				defer pays.Done()
				tr, err := w.ledger.Transfer(ctx, "user:alice", fmt.Sprint("concurrent-", i), ledger.Op{From: w.wallet, To: shopAccount, Amount: int64(i + 1), Code: "payment"})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				want["evt_"+tr.ID.String()] = true
				mu.Unlock()
			}()
		}
		pays.Wait()
		deadline := time.Now().Add(60 * time.Second)
		for len(rcv.requests()) < n && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		// Let a duplicate, if one were coming, arrive, then stop both.
		time.Sleep(50 * time.Millisecond)
		cancel()
		runs.Wait()
		seen := map[string]int{}
		for _, r := range rcv.requests() {
			seen[r.header.Get("Emoney-Event-Id")]++
			if err := webhook.Verify(secret, r.header.Get("Emoney-Signature"), r.body, 0); err != nil {
				t.Errorf("signature: %v", err)
			}
		}
		for id := range want {
			if seen[id] != 1 {
				t.Errorf("event %s arrived %d times, want once", id, seen[id])
			}
		}
		if len(seen) != n {
			t.Errorf("%d distinct events arrived, want %d", len(seen), n)
		}
	})
}

// TestFailedAttempts: no answer in time and a redirect are failed attempts, retried; the error
// recorded names neither the URL nor the secret.
func TestFailedAttempts(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "emoney.db")
	s, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	w := newWorld(t, s)
	c := fakeclock.New(time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC))
	cfg := testConfig(c)
	cfg.Timeout = 50 * time.Millisecond
	svc := webhook.New(s, w.keys, cfg)
	target := newReceiver(t)
	slow := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("redirect") != "" {
			http.Redirect(rw, r, target.srv.URL, http.StatusTemporaryRedirect)
			return
		}
		io.ReadAll(r.Body)   // so that the server notices the client hang up
		<-r.Context().Done() // never answers in time
	}))
	defer slow.Close()

	for _, tc := range []struct{ query, wantErr string }{
		{"?token=s3cr3t", "no answer within the timeout"},
		{"?token=s3cr3t&redirect=1", "the endpoint answered HTTP 307"},
	} {
		shop, account := w.merchant("Shop " + tc.query)
		if _, _, err := svc.SetEndpoint(ctx, shop.ID, slow.URL+"/hooks"+tc.query, "test"); err != nil {
			t.Fatal(err)
		}
		w.pay(account, 100)
		if _, made, err := svc.FanOut(ctx); made != 1 || err != nil {
			t.Fatalf("FanOut made %d, %v", made, err)
		}
		if n, err := svc.Deliver(ctx); n != 1 || err != nil {
			t.Fatalf("Deliver = %d, %v", n, err)
		}
		var d emoney.Delivery
		s.Update(ctx, func(tx emoney.Tx) error { // look at it by claiming it, then roll back
			ds, _ := tx.ClaimDeliveries(ctx, emoney.ID{1}, c.Now().Add(time.Hour), c.Now().Add(time.Hour), 10)
			if len(ds) == 1 {
				d = ds[0]
			}
			return fmt.Errorf("only looking")
		})
		if d.Status != emoney.DeliveryPending || d.Attempts != 1 || d.LastError != tc.wantErr || strings.Contains(d.LastError, "s3cr3t") {
			t.Errorf("%s: delivery after one attempt: %+v", tc.query, d)
		}
		if d.LastStatus != map[bool]int{true: 307, false: 0}[strings.Contains(tc.query, "redirect")] {
			t.Errorf("%s: last status %d", tc.query, d.LastStatus)
		}
		// Done with it: let it fail for good before the next case.
		s.Update(ctx, func(tx emoney.Tx) error {
			ds, err := tx.ClaimDeliveries(ctx, emoney.ID{2}, c.Now().Add(time.Hour), c.Now().Add(2*time.Hour), 10)
			for _, d := range ds {
				tx.RecordDelivery(ctx, emoney.DeliveryOutcome{ID: d.ID, Claim: d.Claim, Status: emoney.DeliveryFailed, At: c.Now()})
			}
			return err
		})
	}
	if len(target.requests()) != 0 {
		t.Error("a redirect was followed")
	}
}

func TestPublicAddresses(t *testing.T) {
	for addr, want := range map[string]bool{
		"93.184.216.34": true, "2606:2800:220:1:248:1893:25c8:1946": true,
		"127.0.0.1": false, "::1": false, "10.1.2.3": false, "172.16.0.1": false, "192.168.1.1": false,
		"169.254.169.254": false, "100.64.0.1": false, "0.0.0.0": false, "::": false, "fe80::1": false,
		"fc00::1": false, "224.0.0.1": false, "::ffff:10.0.0.1": false, "::ffff:93.184.216.34": true,
		"198.18.0.1": false, "240.0.0.1": false, "192.0.0.8": false, "64:ff9b::a00:1": false, "2002:a00:1::1": false,
		"2001:0:a00:1::1": false, "2001:db8::1": false, "203.0.113.9": false,
	} {
		if got := webhook.Public(netip.MustParseAddr(addr)); got != want {
			t.Errorf("public(%s) = %v, want %v", addr, got, want)
		}
	}
}
