package banksim

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Webhooks from a bank to a wallet operator (Client.WebhookURL):
//
//	fraud_report     the customer disputes a debit: account, entry id, amount, time
//	mandate_revoked  the customer (or the bank) revoked a grant: grant id
//
// Each is a JSON Event POSTed with
//
//	X-Bank-Event-Id:  the event id (the same on every retry: receivers deduplicate by it)
//	X-Bank-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(Client.WebhookSecret, "<t>.<body>")>
//
// and retried WebhookAttempts times in all (backoff 100 ms, doubling) until a 2xx. Every send is
// recorded as a Delivery (Sim.Deliveries, GET /admin/banks/{code}/webhooks). Partner
// notifications (notify.go) are signed the same way, in the other direction.

// WebhookAttempts is how many times a webhook is tried before it is recorded as failed.
const WebhookAttempts = 4

// ReplayWindow is how far a signature's timestamp may be from the receiver's clock.
const ReplayWindow = 5 * time.Minute

// Event is the body of a webhook.
type Event struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"` // "fraud_report", "mandate_revoked"
	Bank      string          `json:"bank"`
	CreatedAt time.Time       `json:"created_at"`
	Data      json.RawMessage `json:"data"`
}

// FraudReport is the data of a fraud_report event: a debit the customer says they did not
// authorise.
type FraudReport struct {
	Branch  string    `json:"branch"`
	Account string    `json:"account"` // the full account number: the wallet finds its link by it
	EntryID string    `json:"entry_id"`
	Amount  int64     `json:"amount"` // yen, positive
	At      time.Time `json:"at"`     // when the debit was made
	Payee   string    `json:"payee,omitempty"`
	GrantID string    `json:"grant_id,omitempty"` // the grant it was pulled under ("" for legacy debits)
}

// MandateRevoked is the data of a mandate_revoked event.
type MandateRevoked struct {
	GrantID   string    `json:"grant_id"`
	RevokedAt time.Time `json:"revoked_at"`
}

// Delivery records one webhook: what was sent, where, and how it went.
type Delivery struct {
	Event     Event     `json:"event"`
	Client    string    `json:"client"`
	URL       string    `json:"url"`
	Attempts  int       `json:"attempts"`
	Status    int       `json:"status"` // the last HTTP status (0: no answer)
	Delivered bool      `json:"delivered"`
	Error     string    `json:"error,omitempty"` // why the last attempt failed
	At        time.Time `json:"at"`
}

// Errors of VerifyWebhook.
var (
	ErrWebhookSignature = errors.New("banksim: webhook signature missing or wrong")
	ErrWebhookExpired   = errors.New("banksim: webhook signature outside the replay window")
)

// SignWebhook returns the X-Bank-Signature (or X-Partner-Signature) header value for body sent
// at t.
func SignWebhook(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(webhookMAC(secret, ts, body))
}

func webhookMAC(secret, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return m.Sum(nil)
}

// VerifyWebhook checks a signature header against body and the shared secret: one of its v1
// values must be the HMAC, and its t at most ReplayWindow from now (either way). It returns
// nil, ErrWebhookSignature or ErrWebhookExpired. A receiver should also drop event ids it has
// seen, since a replay inside the window verifies.
func VerifyWebhook(secret, header string, body []byte, now time.Time) error {
	if secret == "" {
		return ErrWebhookSignature
	}
	var ts string
	var sigs [][]byte
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			if b, err := hex.DecodeString(v); err == nil {
				sigs = append(sigs, b)
			}
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return ErrWebhookSignature
	}
	want := webhookMAC(secret, ts, body)
	ok := false
	for _, s := range sigs {
		if hmac.Equal(s, want) {
			ok = true
		}
	}
	if !ok {
		return ErrWebhookSignature
	}
	if d := now.Sub(time.Unix(sec, 0)); d > ReplayWindow || d < -ReplayWindow {
		return ErrWebhookExpired
	}
	return nil
}

// mountWebhooks adds the admin route that lists what a bank sent.
func (s *Sim) mountWebhooks(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin/banks/{code}/webhooks", s.admin(func(w http.ResponseWriter, r *http.Request) error {
		ds, err := s.Deliveries(r.PathValue("code"))
		if err != nil {
			return err
		}
		coreJSON(w, http.StatusOK, map[string]any{"webhooks": ds})
		return nil
	}))
}

// Deliveries lists the webhooks bank code sent or tried, oldest first.
func (s *Sim) Deliveries(code string) ([]Delivery, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.bank(code); err != nil {
		return nil, err
	}
	out := []Delivery{}
	for _, d := range s.core.deliveries {
		if d.Event.Bank == code {
			out = append(out, d)
		}
	}
	return out, nil
}

// ReportFraud is the customer disputing debit entryID of account ("branch-number") at bank code:
// the bank sends a fraud_report webhook to the wallet operator that pulled it and returns the
// delivery. Errors: ErrNotFound (bank, account or entry), or invalid when the entry is not a
// debit by a wallet operator. A failed delivery is not an error: see Delivery.Delivered.
func (s *Sim) ReportFraud(ctx context.Context, code, account, entryID string) (Delivery, error) {
	s.mu.Lock()
	b, err := s.bank(code)
	if err != nil {
		s.mu.Unlock()
		return Delivery{}, err
	}
	a, ok := b.accounts[account]
	if !ok {
		s.mu.Unlock()
		return Delivery{}, fmt.Errorf("account %s: %w", account, ErrNotFound)
	}
	var e *Entry
	for i := range a.Statement {
		if a.Statement[i].ID == entryID {
			e = &a.Statement[i]
		}
	}
	if e == nil {
		s.mu.Unlock()
		return Delivery{}, fmt.Errorf("entry %s: %w", entryID, ErrNotFound)
	}
	client := entryClient(e.Key)
	if e.Amount >= 0 || client == "" {
		s.mu.Unlock()
		return Delivery{}, apiErrf(http.StatusBadRequest, "invalid", "entry_id", "entry %s is not a debit by a wallet operator", entryID)
	}
	fr := FraudReport{Branch: a.Branch, Account: a.Number, EntryID: e.ID, Amount: -e.Amount, At: e.At, Payee: e.Counterparty}
	if strings.HasPrefix(e.Key, "debit|") {
		fr.GrantID = e.Grant // recorded when the debit was made: exactly the grant it was pulled under
	}
	s.mu.Unlock()
	return s.sendWebhook(ctx, code, client, "fraud_report", fr)
}

// RevokeGrant revokes grant id at bank code (the customer withdrew consent): its tokens stop
// working at once and a mandate_revoked webhook goes to the client. Errors: ErrNotFound, or
// conflict when it is already revoked.
func (s *Sim) RevokeGrant(ctx context.Context, code, id string) (Delivery, error) {
	s.mu.Lock()
	b, err := s.bank(code)
	if err != nil {
		s.mu.Unlock()
		return Delivery{}, err
	}
	g, ok := b.grants[id]
	if !ok {
		s.mu.Unlock()
		return Delivery{}, fmt.Errorf("grant %s: %w", id, ErrNotFound)
	}
	if !g.RevokedAt.IsZero() {
		s.mu.Unlock()
		return Delivery{}, apiErrf(http.StatusConflict, "conflict", "", "grant %s is already revoked", id)
	}
	g.RevokedAt = s.cfg.Now().UTC()
	mr := MandateRevoked{GrantID: g.ID, RevokedAt: g.RevokedAt}
	client := g.Client
	s.mu.Unlock()
	return s.sendWebhook(ctx, code, client, "mandate_revoked", mr)
}

// sendWebhook signs and POSTs an event to the client's webhook URL, retrying, and records the
// delivery. It holds no lock while sending, so a receiver may call the simulator back.
func (s *Sim) sendWebhook(ctx context.Context, code, clientID, typ string, data any) (Delivery, error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return Delivery{}, err
	}
	s.mu.Lock()
	s.core.ensure()
	b, err := s.bank(code)
	if err != nil {
		s.mu.Unlock()
		return Delivery{}, err
	}
	c, ok := b.clients[clientID]
	if !ok {
		s.mu.Unlock()
		return Delivery{}, fmt.Errorf("client %s: %w", clientID, ErrNotFound)
	}
	ev := Event{ID: newID("evt"), Type: typ, Bank: code, CreatedAt: s.cfg.Now().UTC(), Data: raw}
	d := Delivery{Event: ev, Client: clientID, URL: c.WebhookURL, At: ev.CreatedAt}
	secret, hc, backoff := c.WebhookSecret, s.core.webhookClient, s.core.webhookBackoff
	s.mu.Unlock()

	body, err := json.Marshal(ev)
	if err != nil {
		return Delivery{}, err
	}
	if d.URL == "" {
		d.Error = "the client has no webhook URL"
	}
	for d.URL != "" && d.Attempts < WebhookAttempts && !d.Delivered {
		if d.Attempts > 0 {
			t := time.NewTimer(backoff)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				d.Error = ctx.Err().Error()
			}
			if ctx.Err() != nil {
				break
			}
			backoff *= 2
		}
		d.Attempts++
		d.Status, d.Error = postWebhook(ctx, hc, d.URL, secret, ev.ID, s.coreNow(), body)
		d.Delivered = d.Status >= 200 && d.Status < 300
	}
	s.mu.Lock()
	s.core.deliveries = append(s.core.deliveries, d)
	s.mu.Unlock()
	return d, nil
}

// postWebhook makes one webhook attempt and returns the status and, if it failed, why (without the
// URL, which may carry a secret path).
func postWebhook(ctx context.Context, hc *http.Client, url, secret, id string, now time.Time, body []byte) (int, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, "bad webhook URL"
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Bank-Event-Id", id)
	req.Header.Set("X-Bank-Signature", SignWebhook(secret, now, body))
	resp, err := hc.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			return 0, "no answer in time"
		}
		return 0, "no answer"
	}
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, "answered " + strconv.Itoa(resp.StatusCode)
	}
	return resp.StatusCode, ""
}

// coreNow reads the clock under the lock (SetBaseURL and tests may change cfg).
func (s *Sim) coreNow() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg.Now()
}
