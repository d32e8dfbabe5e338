package http

import (
	"net/http"

	"emoney"
	"emoney/banklink"
	"emoney/identity"
)

// Staff decisions on bank links (banklink/review.go): analysts list links (in review by
// default), view one with the holder's name as the bank reported it beside the eKYC name (the
// viewing is audited), release or reject a link in review, revoke an active one, and unlock a
// wallet locked out of linking after repeated failures. Every decision needs a fresh step-up
// and a reason, and is audited.

// staffLinks handles GET /api/v1/staff/links?status=review&limit=&after=.
func (s *Server) staffLinks(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	l, err := s.linker()
	if err != nil {
		return err
	}
	status := emoney.LinkStatus(r.URL.Query().Get("status"))
	if status == "" {
		status = emoney.LinkReview
	}
	limit, after, err := pageQuery(r, "after", "a link")
	if err != nil {
		return err
	}
	vs, err := l.StaffLinks(r.Context(), status, after, limit)
	if err != nil {
		return err
	}
	body := map[string]any{"links": vs}
	if len(vs) == limit {
		body["next"] = vs[len(vs)-1].ID
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, body)
	return nil
}

func staffLinkID(r *http.Request) (emoney.ID, error) {
	id, err := emoney.ParseID(r.PathValue("id"))
	if err != nil {
		return emoney.ID{}, emoney.Errorf(emoney.ENotFound, "no such bank link")
	}
	return id, nil
}

// staffLink handles GET /api/v1/staff/links/{id}: one link with the bank's holder and the
// eKYC identity side by side (personal data: audited, never cached).
func (s *Server) staffLink(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	l, err := s.linker()
	if err != nil {
		return err
	}
	id, err := staffLinkID(r)
	if err != nil {
		return err
	}
	d, err := l.StaffLink(r.Context(), p, id)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, d)
	return nil
}

type reasonRequest struct {
	Reason string `json:"reason"`
}

// decideLink handles POST /api/v1/staff/links/{id}/release, /reject and /revoke (decision
// "release", "reject" or "revoke").
func (s *Server) decideLink(decision string) func(http.ResponseWriter, *http.Request, identity.Principal) error {
	return func(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
		l, err := s.linker()
		if err != nil {
			return err
		}
		id, err := staffLinkID(r)
		if err != nil {
			return err
		}
		var req reasonRequest
		if err := decodeJSON(w, r, &req, 0); err != nil {
			return err
		}
		var v banklink.StaffView
		switch decision {
		case "release":
			v, err = l.Release(r.Context(), p, id, req.Reason)
		case "reject":
			v, err = l.Reject(r.Context(), p, id, req.Reason)
		default:
			v, err = l.RevokeActive(r.Context(), p, id, req.Reason)
		}
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, v)
		return nil
	}
}

// unlockLinking handles POST /api/v1/staff/users/{id}/link-unlock {"reason"}: 204; 404 when the
// user is not locked out of linking.
func (s *Server) unlockLinking(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	l, err := s.linker()
	if err != nil {
		return err
	}
	user, err := emoney.ParseID(r.PathValue("id"))
	if err != nil {
		return emoney.Errorf(emoney.ENotFound, "no such user")
	}
	var req reasonRequest
	if err := decodeJSON(w, r, &req, 0); err != nil {
		return err
	}
	if err := l.Unlock(r.Context(), p, user, req.Reason); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
