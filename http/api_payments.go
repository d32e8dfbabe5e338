package http

import (
	"net/http"

	"emoney"
	"emoney/identity"
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
	tr, err := s.money.Pay(r.Context(), p, key, req.Merchant, req.Amount)
	if err != nil {
		return err
	}
	writeJSON(w, movedStatus(tr), toJSON(tr))
	return nil
}

type refundRequest struct {
	Payment emoney.ID `json:"payment"`
	Amount  int64     `json:"amount"` // 0: all that is not refunded yet
}

// refund gives a customer back (part of) a payment to the calling merchant: POST
// /api/v1/refunds.
func (s *Server) refund(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	key, err := idempotencyKey(r)
	if err != nil {
		return err
	}
	var req refundRequest
	if err := decodeJSON(w, r, &req, 0); err != nil {
		return err
	}
	tr, err := s.money.Refund(r.Context(), p, key, req.Payment, req.Amount)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, toJSON(tr))
	return nil
}
