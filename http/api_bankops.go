package http

import (
	"net/http"
	"time"

	"emoney"
	"emoney/identity"
	"emoney/money"
)

// bankOpJSON is a top-up or withdrawal as the API shows it to its owner.
type bankOpJSON struct {
	ID        emoney.ID        `json:"id"`
	Kind      string           `json:"kind"`
	Bank      string           `json:"bank"`
	Wallet    emoney.ID        `json:"wallet"`
	Amount    int64            `json:"amount"`
	Currency  emoney.Currency  `json:"currency"`
	Status    money.BankStatus `json:"status"`
	Reason    string           `json:"reason,omitempty"`
	CreatedAt string           `json:"created_at"`
}

func bankOpToJSON(op money.BankOp) bankOpJSON {
	return bankOpJSON{ID: op.ID, Kind: op.Kind, Bank: op.Bank, Wallet: op.Wallet, Amount: op.Amount, Currency: op.Currency,
		Status: op.Status, Reason: op.Reason, CreatedAt: op.CreatedAt.Format(time.RFC3339Nano)}
}

// bankOpRequest is the body of POST /api/v1/topups and /withdrawals: Link, the id of one of
// the caller's bank links. Bank, a bank code, is accepted only where the server configures
// banks by code (development's simulated banks); production configures none, so there only
// links move money.
type bankOpRequest struct {
	Link   string `json:"link,omitempty"`
	Bank   string `json:"bank,omitempty"`
	Amount int64  `json:"amount"`
}

// startBankOp handles POST /api/v1/topups and /withdrawals: 201 once the bank confirmed, 202
// while its answer is unknown (the money stays held; GET tells the outcome later), declined
// with the bank's reason otherwise.
func (s *Server) startBankOp(kind string) func(http.ResponseWriter, *http.Request, identity.Principal) error {
	return func(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
		if s.banks == nil {
			return emoney.Errorf(emoney.ENotFound, "no banks are configured on this server")
		}
		key, err := idempotencyKey(r)
		if err != nil {
			return err
		}
		var req bankOpRequest
		if err := decodeJSON(w, r, &req, 0); err != nil {
			return err
		}
		var op money.BankOp
		switch {
		case req.Link != "" && req.Bank != "":
			return emoney.FieldError("bank", "name either a link or a bank, not both")
		case req.Link != "":
			id, perr := emoney.ParseID(req.Link)
			if perr != nil {
				return emoney.FieldError("link", "link is the id of one of your bank links")
			}
			start := s.banks.TopUpLink
			if kind == money.KindWithdrawal {
				start = s.banks.WithdrawLink
			}
			op, err = start(r.Context(), p, key, id, req.Amount)
		default:
			start := s.banks.TopUp
			if kind == money.KindWithdrawal {
				start = s.banks.Withdraw
			}
			op, err = start(r.Context(), p, key, req.Bank, req.Amount)
		}
		if err != nil {
			return err
		}
		status := http.StatusCreated
		if op.Status == money.BankPending {
			status = http.StatusAccepted
		}
		writeJSON(w, status, bankOpToJSON(op))
		return nil
	}
}

// getBankOp handles GET /api/v1/topups/{id} and /withdrawals/{id}: the owner's operation in its
// current status; anyone else's does not exist.
func (s *Server) getBankOp(kind string) func(http.ResponseWriter, *http.Request, identity.Principal) error {
	return func(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
		if s.banks == nil {
			return emoney.Errorf(emoney.ENotFound, "no banks are configured on this server")
		}
		id, err := emoney.ParseID(r.PathValue("id"))
		if err != nil {
			return emoney.Errorf(emoney.ENotFound, "no such operation")
		}
		op, err := s.banks.Get(r.Context(), p, kind, id)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, bankOpToJSON(op))
		return nil
	}
}
