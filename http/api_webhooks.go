package http

import (
	"net/http"
	"time"

	"emoney"
	"emoney/identity"
	"emoney/webhook"
)

// errNoWebhooks answers the webhook routes of a server built without webhooks.
var errNoWebhooks = emoney.Errorf(emoney.ENotFound, "webhooks are not enabled on this server")

type webhookRequest struct {
	URL string `json:"url"`
}

func endpointJSON(e webhook.Endpoint) map[string]any {
	return map[string]any{"url": e.URL, "updated_at": e.UpdatedAt.Format(time.RFC3339Nano)}
}

// setWebhook sets where the calling merchant's events go and answers a new signing secret,
// shown this once (calling again rotates it): PUT /api/v1/partner/webhook.
func (s *Server) setWebhook(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	if s.webhooks == nil {
		return errNoWebhooks
	}
	var req webhookRequest
	if err := decodeJSON(w, r, &req, 0); err != nil {
		return err
	}
	e, secret, err := s.webhooks.SetEndpoint(r.Context(), p.Partner, req.URL, "partner:"+p.Partner.String())
	if err != nil {
		return err
	}
	out := endpointJSON(e)
	out["secret"] = secret
	w.Header().Set("Cache-Control", "no-store") // a secret
	writeJSON(w, http.StatusOK, out)
	return nil
}

// getWebhook shows the calling merchant's endpoint, never its secret: GET
// /api/v1/partner/webhook.
func (s *Server) getWebhook(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	if s.webhooks == nil {
		return errNoWebhooks
	}
	e, err := s.webhooks.GetEndpoint(r.Context(), p.Partner)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, endpointJSON(e))
	return nil
}
