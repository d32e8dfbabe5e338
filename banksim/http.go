package banksim

import "net/http"

// Handler is the whole simulator on one listener: every bank's authorization server and APIs
// under /banks/{code}/, the RFC 8414 metadata at the path-inserted well-known URLs, and the admin
// API under /admin/; the legacy endpoint only with Config.Legacy (404 otherwise).
func (s *Sim) Handler() http.Handler {
	s.mu.Lock()
	legacy := s.cfg.Legacy
	s.mu.Unlock()
	mux := http.NewServeMux()
	s.mountOAuth(mux)
	s.mountResources(mux)
	s.mountAdmin(mux)
	s.mountWebhooks(mux)
	s.mountNotify(mux)
	s.mountStatement(mux)
	if legacy {
		s.mountLegacy(mux)
	}
	return mux
}
