package http

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"emoney"
	"emoney/identity"
	"emoney/ledger"
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
	if req.To.IsZero() {
		return emoney.FieldError("to", "to must be the id of the recipient's wallet")
	}
	ctx := r.Context()
	from, err := s.identity.Wallet(ctx, p.User)
	if err != nil {
		return err
	}
	to, err := s.ledger.Account(ctx, req.To)
	if err != nil || to.Kind != emoney.AccountWallet {
		return emoney.FieldError("to", "no wallet %s", req.To) // system accounts are not addressable
	}
	if to.ID == from.ID {
		return emoney.FieldError("to", "you cannot send money to yourself")
	}
	tr, err := s.ledger.Transfer(ctx, p.LedgerPrincipal(), key, ledger.Op{From: from.ID, To: to.ID, Amount: req.Amount, Currency: req.Currency, Code: "p2p"})
	if err != nil {
		return renameOpFields(err)
	}
	writeJSON(w, http.StatusCreated, toJSON(tr))
	return nil
}

// renameOpFields turns the ledger's field names ("ops[0].amount") into the request's ("amount").
func renameOpFields(err error) error {
	var e *emoney.Error
	if errors.As(err, &e) && strings.HasPrefix(e.Field, "ops[0].") {
		c := *e
		c.Field = strings.TrimPrefix(e.Field, "ops[0].")
		return &c
	}
	return err
}

// getTransfer shows one transfer to a party of it: GET /api/v1/transfers/{id}. To anyone else it
// does not exist.
func (s *Server) getTransfer(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	id, err := emoney.ParseID(r.PathValue("id"))
	if err != nil {
		return emoney.Errorf(emoney.ENotFound, "no such transfer")
	}
	ctx := r.Context()
	wallet, err := s.identity.Wallet(ctx, p.User)
	if err != nil {
		return err
	}
	tr, err := s.ledger.GetTransfer(ctx, id)
	if err != nil || (tr.From != wallet.ID && tr.To != wallet.ID) {
		return emoney.Errorf(emoney.ENotFound, "no such transfer")
	}
	writeJSON(w, http.StatusOK, toJSON(tr))
	return nil
}

// history lists the caller's wallet records, newest first, a page at a time:
// GET /api/v1/history?limit=N&before=ID. The next page's cursor is "next".
func (s *Server) history(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	q := r.URL.Query()
	limit := 50
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			return emoney.FieldError("limit", "limit must be 1 to 200")
		}
		limit = n
	}
	var before emoney.ID
	if v := q.Get("before"); v != "" {
		id, err := emoney.ParseID(v)
		if err != nil {
			return emoney.FieldError("before", "before must be a transfer id from a previous page")
		}
		before = id
	}
	ctx := r.Context()
	wallet, err := s.identity.Wallet(ctx, p.User)
	if err != nil {
		return err
	}
	trs, err := s.ledger.History(ctx, wallet.ID, emoney.JPY, before, limit)
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

// cashIn credits a wallet for cash a cash-in agent received: POST /api/v1/cashins. The agent's
// ledger account is debited: it owes the operator the cash it took.
func (s *Server) cashIn(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	key, err := idempotencyKey(r)
	if err != nil {
		return err
	}
	var req cashInRequest
	if err := decodeJSON(w, r, &req, 0); err != nil {
		return err
	}
	ctx := r.Context()
	agent, err := s.identity.PartnerAccount(ctx, p)
	if err != nil {
		return err
	}
	to, err := s.ledger.Account(ctx, req.Wallet)
	if err != nil || to.Kind != emoney.AccountWallet {
		return emoney.FieldError("wallet", "no wallet %s", req.Wallet)
	}
	tr, err := s.ledger.Transfer(ctx, p.LedgerPrincipal(), key, ledger.Op{From: agent.ID, To: to.ID, Amount: req.Amount, Code: "cashin"})
	if err != nil {
		return renameOpFields(err)
	}
	writeJSON(w, http.StatusCreated, toJSON(tr))
	return nil
}
