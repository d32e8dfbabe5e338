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
//	{"id":"<event id>","client_id":"…","bank":"0001","type":"link_created","account":"001-1234567","detail":"…"}
//
// The signature is checked like a webhook's (VerifyWebhook, 5-minute window) with the secret of
// the client the body names; an unknown client or a bad or stale signature answers 401. The
// signed body names the bank, which must be the one in the path: a notification signed for one
// bank cannot be replayed to another where the client uses the same secret. An account, if
// named, must be one the client holds (or held) a grant or legacy link for at this bank (403
// otherwise): a wallet speaks only about its own links. The event id makes it idempotent: a
// repeat answers 200 with "duplicate": true and records nothing.

// NotificationKinds are the notification types a wallet operator may send.
var NotificationKinds = []string{"link_created", "link_refused", "fraud_found", "unlinked"}

// Notification is the body of a partner notification.
type Notification struct {
	ID      string `json:"id"`
	Client  string `json:"client_id"`
	Bank    string `json:"bank"` // the bank's code: must be the one in the path
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
	if err := checkNotification(n, b.Info.Code); err != nil {
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
	if n.Account != "" && !s.clientLinked(b, c.ID, n.Account) {
		coreErr(w, apiErrf(http.StatusForbidden, "forbidden", "account", "account is not linked to this client at this bank"))
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

// clientLinked reports whether client holds, or held, a grant or a legacy link for account at
// bank b; the caller holds s.mu.
func (s *Sim) clientLinked(b *Bank, client, account string) bool {
	for _, g := range b.grants {
		if g.Client == client && g.Account == account {
			return true
		}
	}
	for _, lt := range s.core.legacyTokens {
		if lt.Bank == b.Info.Code && lt.Client == client && lt.Account == account {
			return true
		}
	}
	return false
}

// checkNotification checks what can be checked before the signature; bank is the path's.
func checkNotification(n Notification, bank string) error {
	if n.ID == "" || len(n.ID) > 100 {
		return apiErrf(http.StatusBadRequest, "invalid", "id", "id (the event id) is 1 to 100 characters")
	}
	if n.Client == "" {
		return apiErrf(http.StatusBadRequest, "invalid", "client_id", "client_id is required")
	}
	if n.Bank != bank {
		return apiErrf(http.StatusBadRequest, "invalid", "bank", "bank must be this bank's code, %s", bank)
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
