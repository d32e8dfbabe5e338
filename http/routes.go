package http

import (
	"net/http"

	"emoney"
)

// routes is the whole route table.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	// Operations: unauthenticated by design (specs: health, metrics, OpenAPI, OAuth callback).
	mux.Handle("GET /healthz", s.wrap(s.healthz))
	mux.Handle("GET /readyz", s.wrap(s.readyz))
	mux.Handle("GET /metrics", s.cfg.Metrics.handler())
	// Anything else is answered as the API answers: JSON, with a request id.
	mux.Handle("/", s.wrap(func(w http.ResponseWriter, r *http.Request) error {
		return emoney.Errorf(emoney.ENotFound, "no such endpoint: %s %s", r.Method, r.URL.Path)
	}))
	return s.observe(mux)
}
