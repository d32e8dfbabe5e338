package banksim

import (
	"errors"
	"net/http"
	"strings"
	"time"
)

// Test seams of the core half (resources, webhooks, admin, legacy). Resource tests use the one
// allowed mock: s.authorize replaced by a check of "Authorization: DPoP <grant id>".

// UseTestTokens makes the resource APIs take "Authorization: DPoP <grant id>" as the token of
// that grant, in place of the authorization server's DPoP-bound access tokens.
func (s *Sim) UseTestTokens() {
	s.authorize = func(r *http.Request, b *Bank) (*Grant, error) {
		id, ok := strings.CutPrefix(r.Header.Get("Authorization"), "DPoP ")
		if g := b.grants[id]; ok && g != nil {
			return g, nil
		}
		return nil, errors.New("test: no such token")
	}
}

// AddTestGrant stores a grant as consent at the authorization server would.
func (s *Sim) AddTestGrant(g Grant) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.banks[g.Bank].grants[g.ID] = &g
}

// SendTestCode sends customer login of bank code a one-time code by SMS.
func (s *Sim) SendTestCode(code, login string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.banks[code]
	return s.sendCode(b, b.customers[login])
}

// SetWebhookBackoff shortens the pause between webhook retries.
func (s *Sim) SetWebhookBackoff(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.core.ensure()
	s.core.webhookBackoff = d
}
