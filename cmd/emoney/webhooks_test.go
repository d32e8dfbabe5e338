package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"emoney"
	emhttp "emoney/http"
	"emoney/webhook"
)

// hookReceiver is a merchant's server: it keeps every webhook it is sent and answers 204.
type hookReceiver struct {
	mu  sync.Mutex
	got []hookRequest
	url string
}

type hookRequest struct {
	header http.Header
	body   []byte
}

func newHookReceiver(t *testing.T) *hookReceiver {
	r := &hookReceiver{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, hookRequest{req.Header.Clone(), body})
		r.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	r.url = srv.URL + "/emoney"
	return r
}

// wait returns the first request with the given event type after the first skip ones, waiting
// for it (the dispatcher polls every second).
func (r *hookReceiver) wait(t *testing.T, typ string, skip int) hookRequest {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r.mu.Lock()
		got := append([]hookRequest(nil), r.got...)
		r.mu.Unlock()
		for i, h := range got {
			if i >= skip && h.header.Get(webhook.HeaderEventType) == typ {
				return h
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s webhook arrived (%d requests)", typ, len(got))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (r *hookReceiver) count() int { r.mu.Lock(); defer r.mu.Unlock(); return len(r.got) }

type hookEvent struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	Data struct {
		Transfer string `json:"transfer"`
		Amount   int64  `json:"amount"`
		Currency string `json:"currency"`
		Payment  string `json:"payment"`
	} `json:"data"`
}

func TestWebhooksOverHTTP(t *testing.T) {
	path, db := migratedDB(t)
	agent, shop, otherShop := partnerKey(t, db, "Lawson", "agent"), partnerKey(t, db, "Book shop", "merchant"), partnerKey(t, db, "Cafe", "merchant")
	rcv := newHookReceiver(t)

	base, _ := startServerOn(t, path)
	api := base + "/api/v1"
	alice, aliceWallet := user(t, api, "alice@example.com")
	if resp := post(t, api+"/cashins", agent, "r1", `{"wallet":"`+aliceWallet+`","amount":10000}`, nil); resp.StatusCode != 201 {
		t.Fatalf("cash-in: %d", resp.StatusCode)
	}

	// The merchant sets its endpoint and gets the secret once.
	var set struct {
		URL       string `json:"url"`
		Secret    string `json:"secret"`
		UpdatedAt string `json:"updated_at"`
	}
	resp := send(t, "PUT", api+"/partner/webhook", shop, "", `{"url":"`+rcv.url+`"}`, &set)
	if resp.StatusCode != 200 || set.URL != rcv.url || !strings.HasPrefix(set.Secret, "whsec_") || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("PUT webhook: %d %+v", resp.StatusCode, set)
	}
	var got map[string]any
	if resp := call(t, "GET", api+"/partner/webhook", shop, "", &got); resp.StatusCode != 200 || got["url"] != rcv.url || got["secret"] != nil {
		t.Errorf("GET webhook: %d %v", resp.StatusCode, got)
	}
	for _, tc := range []struct {
		name, token, body, code, field string
		status                         int
	}{
		{"a customer", alice, `{"url":"` + rcv.url + `"}`, "forbidden", "", 403},
		{"an agent", agent, `{"url":"` + rcv.url + `"}`, "forbidden", "", 403},
		{"no key", "", `{"url":"` + rcv.url + `"}`, "unauthorized", "", 401},
		{"plain http elsewhere", otherShop, `{"url":"http://shop.example/hooks"}`, "invalid", "url", 400},
		{"not a URL", otherShop, `{"url":"hooks please"}`, "invalid", "url", 400},
		{"a password in it", otherShop, `{"url":"https://me:pw@shop.example/"}`, "invalid", "url", 400},
		{"unknown field", otherShop, `{"url":"https://shop.example/","events":["all"]}`, "invalid", "events", 400},
	} {
		var e apiError
		if resp := send(t, "PUT", api+"/partner/webhook", tc.token, "", tc.body, &e); resp.StatusCode != tc.status || e.Error.Code != tc.code || e.Error.Field != tc.field {
			t.Errorf("%s: %d %+v", tc.name, resp.StatusCode, e)
		}
	}
	var e apiError
	if resp := call(t, "GET", api+"/partner/webhook", otherShop, "", &e); resp.StatusCode != 404 || e.Error.Code != "not_found" {
		t.Errorf("GET webhook with none set: %d %+v", resp.StatusCode, e)
	}

	// The Go client does the same.
	cafe := &emhttp.Client{Base: base, Token: otherShop}
	if ep, err := cafe.SetWebhook(context.Background(), rcv.url+"/cafe"); err != nil || !strings.HasPrefix(ep.Secret, "whsec_") || ep.URL != rcv.url+"/cafe" {
		t.Errorf("client SetWebhook: %+v %v", ep, err)
	}
	if ep, err := cafe.Webhook(context.Background()); err != nil || ep.Secret != "" || ep.URL != rcv.url+"/cafe" {
		t.Errorf("client Webhook: %+v %v", ep, err)
	}
	if _, err := (&emhttp.Client{Base: base, Token: agent}).SetWebhook(context.Background(), rcv.url); emoney.ErrorCode(err) != emoney.EForbidden {
		t.Errorf("client SetWebhook as an agent: %v", err)
	}

	// A payment over the API reaches the merchant, signed; a refund too.
	var me struct {
		Account string `json:"account"`
	}
	call(t, "GET", api+"/partner", shop, "", &me)
	var pay struct{ ID string }
	if resp := post(t, api+"/payments", alice, "book-1", `{"merchant":"`+me.Account+`","amount":3000}`, &pay); resp.StatusCode != 201 {
		t.Fatalf("payment: %d", resp.StatusCode)
	}
	h := rcv.wait(t, "payment.received", 0)
	if err := webhook.Verify(set.Secret, h.header.Get("Emoney-Signature"), h.body, 0); err != nil {
		t.Errorf("payment.received signature: %v", err)
	}
	var ev hookEvent
	if err := json.Unmarshal(h.body, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.ID != "evt_"+pay.ID || h.header.Get("Emoney-Event-Id") != ev.ID || ev.Type != "payment.received" || ev.Data.Transfer != pay.ID || ev.Data.Amount != 3000 || ev.Data.Currency != "JPY" {
		t.Errorf("payment.received: %s", h.body)
	}
	if strings.Contains(string(h.body), "alice") || strings.Contains(string(h.body), aliceWallet) {
		t.Errorf("the webhook names the customer: %s", h.body)
	}
	var ref struct{ ID string }
	if resp := post(t, api+"/refunds", shop, "rf-1", `{"payment":"`+pay.ID+`","amount":1000}`, &ref); resp.StatusCode != 201 {
		t.Fatalf("refund: %d", resp.StatusCode)
	}
	h = rcv.wait(t, "refund.created", 0)
	ev = hookEvent{}
	json.Unmarshal(h.body, &ev)
	if err := webhook.Verify(set.Secret, h.header.Get("Emoney-Signature"), h.body, 0); err != nil || ev.ID != "evt_"+ref.ID || ev.Data.Payment != pay.ID || ev.Data.Amount != 1000 {
		t.Errorf("refund.created (%v): %s", err, h.body)
	}

	// `partner webhook` rotates the secret: later events verify with the new one only.
	out, _, err := cli(t, nil, "partner", "webhook", "--db", db, "--name", "Book shop", "--url", rcv.url)
	rotated := strings.TrimSpace(out)
	if err != nil || !strings.HasPrefix(rotated, "whsec_") || rotated == set.Secret {
		t.Fatalf("partner webhook: %q %v", out, err)
	}
	before := rcv.count()
	if resp := post(t, api+"/payments", alice, "book-2", `{"merchant":"`+me.Account+`","amount":500}`, nil); resp.StatusCode != 201 {
		t.Fatalf("payment: %d", resp.StatusCode)
	}
	h = rcv.wait(t, "payment.received", before)
	if err := webhook.Verify(rotated, h.header.Get("Emoney-Signature"), h.body, 0); err != nil {
		t.Errorf("signature with the rotated secret: %v", err)
	}
	if err := webhook.Verify(set.Secret, h.header.Get("Emoney-Signature"), h.body, 0); err == nil {
		t.Error("the old secret still verifies after a rotation")
	}
	for _, args := range [][]string{
		{"--name", "Lawson", "--url", rcv.url},               // an agent
		{"--name", "Nobody", "--url", rcv.url},               // no such partner
		{"--name", "Cafe", "--url", "http://cafe.example/x"}, // plain http elsewhere
	} {
		if _, _, err := cli(t, nil, append([]string{"partner", "webhook", "--db", db}, args...)...); err == nil {
			t.Errorf("partner webhook %v: want an error", args)
		}
	}

	mresp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(mresp.Body)
	mresp.Body.Close()
	if !strings.Contains(string(metrics), `emoney_webhook_deliveries_total{outcome="delivered"}`) || !strings.Contains(string(metrics), "emoney_webhook_backlog") {
		t.Errorf("/metrics has no webhook figures:\n%.3000s", metrics)
	}
	// Setting and rotating endpoints is in the audit log (three sets), and the chain holds.
	if out, _, err := cli(t, nil, "audit", "verify", "--db", db); err != nil || !strings.Contains(out, "3 entries") {
		t.Errorf("audit verify: %v\n%s", err, out)
	}
}
