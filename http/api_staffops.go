package http

import (
	"net/http"

	"emoney"
	"emoney/identity"
)

// freshStepUp is the challenge for staff actions that move money or change who may: a step-up
// younger than identity.StepUpFresh.
func (s *Server) freshStepUp(p identity.Principal, what string) error {
	if s.identity.Fresh(p) {
		return nil
	}
	return &emoney.Error{Code: emoney.EChallengeRequired, Reason: "totp", Message: what + " needs a fresh step-up: POST /api/v1/stepup with a one-time code, then retry"}
}

// approveAlert is the checker's approval of a proposed release: POST
// /api/v1/staff/alerts/{id}/approve (senior analysts, admins; never the maker).
func (s *Server) approveAlert(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	id, err := emoney.ParseID(r.PathValue("id"))
	if err != nil {
		return emoney.Errorf(emoney.ENotFound, "no such alert")
	}
	if err := s.freshStepUp(p, "moving held money"); err != nil {
		return err
	}
	a, tr, err := s.alerts.Approve(r.Context(), id, "staff:"+p.User.String())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"alert": alertToJSON(a), "transfer": toJSON(tr)})
	return nil
}

// declineAlert turns a proposed release down; the alert is open again: POST
// /api/v1/staff/alerts/{id}/decline (senior analysts, admins).
func (s *Server) declineAlert(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	id, err := emoney.ParseID(r.PathValue("id"))
	if err != nil {
		return emoney.Errorf(emoney.ENotFound, "no such alert")
	}
	a, err := s.alerts.Decline(r.Context(), id, "staff:"+p.User.String())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"alert": alertToJSON(a)})
	return nil
}

// disableStaff disables a staff account and revokes all its sessions at once: POST
// /api/v1/staff/users/{id}/disable (admins, with a fresh step-up; not themselves).
func (s *Server) disableStaff(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	id, err := emoney.ParseID(r.PathValue("id"))
	if err != nil {
		return emoney.Errorf(emoney.ENotFound, "no such staff member")
	}
	if err := s.freshStepUp(p, "disabling a staff account"); err != nil {
		return err
	}
	n, err := s.identity.DisableStaff(r.Context(), id, "staff:"+p.User.String())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"user": id, "disabled": true, "sessions_revoked": n})
	return nil
}

// revokeAllSessions signs the caller out everywhere, this session included: POST
// /api/v1/sessions/revoke-all.
func (s *Server) revokeAllSessions(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	n, err := s.identity.RevokeAllSessions(r.Context(), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"sessions_revoked": n})
	return nil
}
