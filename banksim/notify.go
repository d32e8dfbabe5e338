package banksim

import (
	"io"
	"net/http"
)

// The partner-notification endpoint: a wallet operator tells the bank about links made, link
// attempts refused, fraud it found and unlinks, and the bank "notifies its customer" (records a
// Notice, read by tests and the admin API).
//
//	POST /banks/{code}/partner/notifications
//	X-Partner-Signature: t=<unix>,v1=<hex HMAC-SHA256(Client.WebhookSecret, "<t>.<body>")>
//	{"id":"<event id>","client_id":"…","type":"link_created","account":"001-1234567","detail":"…"}
//
// The signature is checked like a webhook's (VerifyWebhook, 5-minute window) with the secret of
// the client the body names; an unknown client or a bad or stale signature answers 401. The
// event id makes it idempotent: a repeat answers 200 with "duplicate": true and records nothing.

// NotificationKinds are the notification types a wallet operator may send.
var NotificationKinds = []string{"link_created", "link_refused", "fraud_found", "unlinked"}

// Notification is the body of a partner notification.
type Notification struct {
	ID      string `json:"id"`
	Client  string `json:"client_id"`
	Type    string `json:"type"`
	Account string `json:"account,omitempty"` // "branch-number"
	Detail  string `json:"detail,omitempty"`
}

func (s *Sim) mountNotify(mux *http.ServeMux) {
	mux.HandleFunc("POST /banks/{code}/partner/notifications", s.notify)
}

func (s *Sim) notify(w http.ResponseWriter, r *http.Request) {
	b, ok := s.coreBank(w, r)
	if !ok {
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		coreErr(w, apiErrf(http.StatusRequestEntityTooLarge, "too_large", "", "the body is over %d bytes", maxBody))
		return
	}
	var n Notification
	if err := coreDecodeBytes(body, &n); err != nil {
		coreErr(w, err)
		return
	}
	if err := checkNotification(n); err != nil {
		coreErr(w, err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.core.ensure()
	c, ok := b.clients[n.Client]
	unauthorized := apiErrf(http.StatusUnauthorized, "unauthorized", "X-Partner-Signature", "the notification is not signed by a client registered at this bank, or its signature is outside the replay window")
	if !ok {
		coreErr(w, unauthorized)
		return
	}
	if err := VerifyWebhook(c.WebhookSecret, r.Header.Get("X-Partner-Signature"), body, s.cfg.Now()); err != nil {
		coreErr(w, unauthorized)
		return
	}
	seen := b.Info.Code + "|" + c.ID + "|" + n.ID
	if s.core.notified[seen] {
		coreJSON(w, http.StatusOK, map[string]any{"received": true, "duplicate": true})
		return
	}
	s.core.notified[seen] = true
	b.notices = append(b.notices, Notice{Client: c.ID, Kind: n.Type, Account: n.Account, Detail: n.Detail, At: s.cfg.Now().UTC()})
	coreJSON(w, http.StatusAccepted, map[string]any{"received": true, "duplicate": false})
}

func checkNotification(n Notification) error {
	if n.ID == "" || len(n.ID) > 100 {
		return apiErrf(http.StatusBadRequest, "invalid", "id", "id (the event id) is 1 to 100 characters")
	}
	if n.Client == "" {
		return apiErrf(http.StatusBadRequest, "invalid", "client_id", "client_id is required")
	}
	known := false
	for _, k := range NotificationKinds {
		known = known || n.Type == k
	}
	if !known {
		return apiErrf(http.StatusBadRequest, "invalid", "type", "type is one of link_created, link_refused, fraud_found, unlinked")
	}
	if len(n.Account) > 20 || len([]rune(n.Detail)) > 500 {
		return apiErrf(http.StatusBadRequest, "invalid", "detail", "account is at most 20 characters and detail at most 500")
	}
	return nil
}
