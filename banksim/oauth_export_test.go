package banksim

import (
	"encoding/json"
	"net/http"
)

// Hooks for the external tests of the authorization server (oauth_test.go).

// LastSMSForTest is the last one-time code bank code sent by SMS to phone ("" if none).
func (s *Sim) LastSMSForTest(code, phone string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.banks[code]
	for i := len(b.outbox) - 1; i >= 0; i-- {
		if b.outbox[i].Phone == phone {
			return b.outbox[i].Code
		}
	}
	return ""
}

// GrantsForTest counts bank code's grants.
func (s *Sim) GrantsForTest(code string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.banks[code].grants)
}

// HandlerWithTestResource is Handler plus a resource-shaped endpoint guarded the way the
// resource APIs are: /banks/{code}/test/resource answers the grant of the request's access token
// as JSON, or the writeTokenError answer; ?need=scope also checks a scope.
func (s *Sim) HandlerWithTestResource() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", s.Handler())
	mux.HandleFunc("/banks/{code}/test/resource", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		b, err := s.bank(r.PathValue("code"))
		s.mu.Unlock()
		if err != nil {
			http.NotFound(w, r)
			return
		}
		s.mu.Lock()
		g, err := s.authorize(r, b)
		s.mu.Unlock()
		if err != nil {
			writeTokenError(w, err)
			return
		}
		if need := r.URL.Query().Get("need"); need != "" && !g.Has(need) {
			writeTokenError(w, insufficientScope(need))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(g)
	})
	return mux
}
