package http

import (
	"net/http"

	"emoney"
	"emoney/identity"
	"emoney/ledger"
)

// partnerMe describes the calling partner: GET /api/v1/partner.
func (s *Server) partnerMe(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	acct, err := s.identity.PartnerAccount(r.Context(), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": p.Partner, "role": p.Role, "account": acct.ID})
	return nil
}

type paymentRequest struct {
	Merchant emoney.ID `json:"merchant"` // the merchant's account (its payment code)
	Amount   int64     `json:"amount"`
}

// pay moves money from the caller's wallet to a merchant: POST /api/v1/payments.
func (s *Server) pay(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	key, err := idempotencyKey(r)
	if err != nil {
		return err
	}
	var req paymentRequest
	if err := decodeJSON(w, r, &req, 0); err != nil {
		return err
	}
	ctx := r.Context()
	from, err := s.identity.Wallet(ctx, p.User)
	if err != nil {
		return err
	}
	to, err := s.ledger.Account(ctx, req.Merchant)
	if err != nil || to.Kind != emoney.AccountMerchant {
		return emoney.FieldError("merchant", "no merchant %s", req.Merchant)
	}
	tr, err := s.ledger.Transfer(ctx, p.LedgerPrincipal(), key, ledger.Op{From: from.ID, To: to.ID, Amount: req.Amount, Code: "payment"})
	if err != nil {
		return renameOpFields(err)
	}
	writeJSON(w, http.StatusCreated, toJSON(tr))
	return nil
}

type refundRequest struct {
	Payment emoney.ID `json:"payment"`
	Amount  int64     `json:"amount"` // 0: all that is not refunded yet
}

// refund gives a customer back (part of) a payment to the calling merchant: POST
// /api/v1/refunds. The ledger refuses refunds beyond what was paid (THREATS.md T9); a payment to
// another merchant does not exist for this one.
func (s *Server) refund(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	key, err := idempotencyKey(r)
	if err != nil {
		return err
	}
	var req refundRequest
	if err := decodeJSON(w, r, &req, 0); err != nil {
		return err
	}
	if req.Amount < 0 {
		return emoney.FieldError("amount", "amount must not be negative (0 refunds all that is left)")
	}
	ctx := r.Context()
	merchant, err := s.identity.PartnerAccount(ctx, p)
	if err != nil {
		return err
	}
	pay, err := s.ledger.GetTransfer(ctx, req.Payment)
	if err != nil || pay.To != merchant.ID || pay.Code != "payment" {
		return &emoney.Error{Code: emoney.ENotFound, Field: "payment", Message: "no such payment"}
	}
	tr, err := s.ledger.Transfer(ctx, p.LedgerPrincipal(), key, ledger.Op{ReversalOf: pay.ID, Amount: req.Amount, Code: "refund"})
	if err != nil {
		return renameOpFields(err)
	}
	writeJSON(w, http.StatusCreated, toJSON(tr))
	return nil
}
