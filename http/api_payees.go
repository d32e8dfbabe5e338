package http

import (
	"net/http"
	"time"

	"emoney"
	"emoney/identity"
	"emoney/payees"
)

type payeeJSON struct {
	ID       emoney.ID `json:"id"`
	Wallet   emoney.ID `json:"wallet"`
	Nickname string    `json:"nickname"`
	AddedAt  string    `json:"added_at"`
}

func payeeToJSON(p payees.Payee) payeeJSON {
	return payeeJSON{ID: p.ID, Wallet: p.Wallet, Nickname: p.Nickname, AddedAt: p.AddedAt.Format(time.RFC3339Nano)}
}

type payeeRequest struct {
	Wallet   emoney.ID `json:"wallet"`
	Nickname string    `json:"nickname"`
}

// addPayee saves a wallet as a payee of the caller: POST /api/v1/payees.
func (s *Server) addPayee(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	var req payeeRequest
	if err := decodeJSON(w, r, &req, 0); err != nil {
		return err
	}
	if req.Wallet.IsZero() {
		return emoney.FieldError("wallet", "wallet is required: the id of the wallet to save")
	}
	pe, err := s.payees.Add(r.Context(), p, req.Wallet, req.Nickname)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store") // personal data
	writeJSON(w, http.StatusCreated, payeeToJSON(pe))
	return nil
}

// listPayees lists the caller's payees, newest first, a page at a time:
// GET /api/v1/payees?limit=N&before=ID. The next page's cursor is "next".
func (s *Server) listPayees(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	limit, before, err := pageQuery(r, "before", "a payee")
	if err != nil {
		return err
	}
	ps, err := s.payees.List(r.Context(), p, before, limit)
	if err != nil {
		return err
	}
	items := make([]payeeJSON, len(ps))
	for i, pe := range ps {
		items[i] = payeeToJSON(pe)
	}
	body := map[string]any{"items": items}
	if len(ps) == limit {
		body["next"] = ps[len(ps)-1].ID
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, body)
	return nil
}

// deletePayee removes one of the caller's payees: DELETE /api/v1/payees/{id}. Anyone else's
// does not exist for them.
func (s *Server) deletePayee(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	id, err := emoney.ParseID(r.PathValue("id"))
	if err != nil {
		return emoney.Errorf(emoney.ENotFound, "no such payee")
	}
	if err := s.payees.Delete(r.Context(), p, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
