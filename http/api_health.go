package http

import (
	"net/http"

	"emoney"
)

// healthz says the process is up, and in which mode: development mode says so loudly.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	body := map[string]any{"status": "ok", "mode": s.cfg.Mode}
	if s.cfg.Mode != "production" && s.cfg.Banner != "" {
		body["banner"] = s.cfg.Banner
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

// readyz says whether the store answers: a load balancer sends traffic only then.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	v, err := s.store.SchemaVersion(r.Context())
	if err != nil || v == 0 {
		return &emoney.Error{Code: emoney.ESuspended, Message: "the store is not ready", Err: err}
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ready", "store": s.store.Kind(), "schema": v})
	return nil
}
