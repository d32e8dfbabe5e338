package http

import (
	"net/http"
	"time"

	"emoney"
	"emoney/identity"
)

// transferJSON is a ledger record as the API shows it to one of its parties.
type transferJSON struct {
	ID         emoney.ID           `json:"id"`
	Kind       emoney.TransferKind `json:"kind"`
	From       emoney.ID           `json:"from"`
	To         emoney.ID           `json:"to"`
	Amount     int64               `json:"amount"`
	Currency   emoney.Currency     `json:"currency"`
	Code       string              `json:"code"`
	PendingID  emoney.ID           `json:"pending_id,omitzero"`
	ReversalOf emoney.ID           `json:"reversal_of,omitzero"`
	CreatedAt  string              `json:"created_at"`
}

func toJSON(t emoney.Transfer) transferJSON {
	return transferJSON{ID: t.ID, Kind: t.Kind, From: t.From, To: t.To, Amount: t.Amount, Currency: t.Currency,
		Code: t.Code, PendingID: t.PendingID, ReversalOf: t.ReversalOf, CreatedAt: t.CreatedAt.Format(time.RFC3339Nano)}
}

type transferRequest struct {
	To       emoney.ID       `json:"to"` // the recipient's wallet
	Amount   int64           `json:"amount"`
	Currency emoney.Currency `json:"currency"`
}

// idempotencyKey returns the request's Idempotency-Key, required on every POST that moves money.
func idempotencyKey(r *http.Request) (string, error) {
	k := r.Header.Get("Idempotency-Key")
	if k == "" {
		return "", emoney.FieldError("Idempotency-Key", "send an Idempotency-Key header: retries with the same key take effect once")
	}
	return k, nil
}

// transfer sends money from the caller's wallet to another wallet: POST /api/v1/transfers.
func (s *Server) transfer(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	key, err := idempotencyKey(r)
	if err != nil {
		return err
	}
	var req transferRequest
	if err := decodeJSON(w, r, &req, 0); err != nil {
		return err
	}
	tr, err := s.money.Transfer(r.Context(), p, key, req.To, req.Amount, req.Currency)
	if err != nil {
		return err
	}
	writeJSON(w, movedStatus(tr), toJSON(tr))
	return nil
}

// getTransfer shows one transfer to a party of it: GET /api/v1/transfers/{id}. To anyone else it
// does not exist.
func (s *Server) getTransfer(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	id, err := emoney.ParseID(r.PathValue("id"))
	if err != nil {
		return emoney.Errorf(emoney.ENotFound, "no such transfer")
	}
	tr, err := s.money.Get(r.Context(), p, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toJSON(tr))
	return nil
}

// history lists the caller's wallet records, newest first, a page at a time:
// GET /api/v1/history?limit=N&before=ID. The next page's cursor is "next".
func (s *Server) history(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	limit, before, err := pageQuery(r, "before", "a transfer")
	if err != nil {
		return err
	}
	trs, err := s.money.History(r.Context(), p, before, limit)
	if err != nil {
		return err
	}
	items := make([]transferJSON, len(trs))
	for i, t := range trs {
		items[i] = toJSON(t)
	}
	body := map[string]any{"items": items}
	if len(trs) == limit {
		body["next"] = trs[len(trs)-1].ID
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

type cashInRequest struct {
	Wallet emoney.ID `json:"wallet"`
	Amount int64     `json:"amount"`
}

// cashIn credits a wallet for cash a cash-in agent received: POST /api/v1/cashins.
func (s *Server) cashIn(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	key, err := idempotencyKey(r)
	if err != nil {
		return err
	}
	var req cashInRequest
	if err := decodeJSON(w, r, &req, 0); err != nil {
		return err
	}
	tr, err := s.money.CashIn(r.Context(), p, key, req.Wallet, req.Amount)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, toJSON(tr))
	return nil
}

// movedStatus is the status of a transfer or payment made: 201 Created, or 202 Accepted when the
// risk engine held it for review (a pending transfer, hold review, that staff release or reject).
func movedStatus(tr emoney.Transfer) int {
	if tr.Kind == emoney.TransferPending && tr.Hold == emoney.HoldReview {
		return http.StatusAccepted
	}
	return http.StatusCreated
}
