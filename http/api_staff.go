package http

import (
	"net/http"
	"time"

	"emoney"
	"emoney/identity"
)

type alertJSON struct {
	ID         emoney.ID          `json:"id"`
	Kind       string             `json:"kind"`
	Subject    string             `json:"subject"`
	Transfer   emoney.ID          `json:"transfer,omitzero"`
	Reason     string             `json:"reason"`
	Status     emoney.AlertStatus `json:"status"`
	CreatedAt  string             `json:"created_at"`
	ResolvedAt string             `json:"resolved_at,omitempty"`
	ResolvedBy string             `json:"resolved_by,omitempty"`
	ProposedAt string             `json:"proposed_at,omitempty"`
	ProposedBy string             `json:"proposed_by,omitempty"`
}

func alertToJSON(a emoney.Alert) alertJSON {
	j := alertJSON{ID: a.ID, Kind: a.Kind, Subject: a.Subject, Transfer: a.Transfer, Reason: a.Reason, Status: a.Status,
		CreatedAt: a.CreatedAt.Format(time.RFC3339Nano), ResolvedBy: a.ResolvedBy}
	if !a.ResolvedAt.IsZero() {
		j.ResolvedAt = a.ResolvedAt.Format(time.RFC3339Nano)
	}
	if !a.ProposedAt.IsZero() {
		j.ProposedAt, j.ProposedBy = a.ProposedAt.Format(time.RFC3339Nano), a.ProposedBy
	}
	return j
}

// listAlerts is the staff's queue: GET /api/v1/staff/alerts?status=open&limit=N&after=ID.
func (s *Server) listAlerts(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	q := r.URL.Query()
	status := emoney.AlertStatus(q.Get("status"))
	if status == "" {
		status = emoney.AlertOpen
	}
	limit, after, err := pageQuery(r, "after", "an alert")
	if err != nil {
		return err
	}
	as, err := s.alerts.List(r.Context(), status, after, limit)
	if err != nil {
		return err
	}
	items := make([]alertJSON, len(as))
	for i, a := range as {
		items[i] = alertToJSON(a)
	}
	body := map[string]any{"items": items}
	if len(as) == limit {
		body["next"] = as[len(as)-1].ID
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

// decideAlert releases or rejects a held operation: POST /api/v1/staff/alerts/{id}/release|reject.
// A release above the approval threshold is only proposed: 202, and a second staff member
// approves it (api_staffops.go).
func (s *Server) decideAlert(release bool) func(http.ResponseWriter, *http.Request, identity.Principal) error {
	return func(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
		id, err := emoney.ParseID(r.PathValue("id"))
		if err != nil {
			return emoney.Errorf(emoney.ENotFound, "no such alert")
		}
		if !s.identity.Fresh(p) {
			return &emoney.Error{Code: emoney.EChallengeRequired, Reason: "totp", Message: "moving held money needs a fresh step-up: POST /api/v1/stepup with a one-time code, then retry"}
		}
		a, tr, err := s.alerts.Resolve(r.Context(), id, release, "staff:"+p.User.String())
		if err != nil {
			return err
		}
		if a.Status == emoney.AlertProposed { // above the threshold: a second staff member approves
			writeJSON(w, http.StatusAccepted, map[string]any{"alert": alertToJSON(a), "approval_required": true})
			return nil
		}
		writeJSON(w, http.StatusOK, map[string]any{"alert": alertToJSON(a), "transfer": toJSON(tr)})
		return nil
	}
}
