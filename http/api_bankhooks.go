package http

import (
	"errors"
	"io"
	"net/http"

	"emoney"
	"emoney/banklink"
)

// Webhooks from banks (docs/banks.md "Webhooks from banks"): a bank tells the wallet that a
// customer revoked a grant or disputes a debit. Unauthenticated except by the bank's signature,
// which package banklink checks before anything in the body is read.

// SetBankWebhooks sets the receiver of the banks' webhooks and registers its metrics. Call it
// once, before Serve. Without it the webhook route answers not_found.
func (s *Server) SetBankWebhooks(r *banklink.WebhookReceiver) error {
	if err := s.cfg.Metrics.Register(r.Collectors()...); err != nil {
		return err
	}
	s.bankHooks = r
	return nil
}

// bankWebhook receives one webhook: POST /api/v1/banks/{code}/webhooks with X-Bank-Event-Id
// and X-Bank-Signature → 200 {"received":true,"duplicate":…} once the event is recorded and
// acted on (a repeat: duplicate, nothing done); 401 for a missing, wrong or stale signature;
// 400 for a body that is no event of this bank; 413 over banklink.MaxWebhookBody; 404 for a
// bank that sends no webhooks here. Anything else (5xx) recorded nothing: the bank retries.
func (s *Server) bankWebhook(w http.ResponseWriter, r *http.Request) error {
	if s.bankHooks == nil {
		return emoney.Errorf(emoney.ENotFound, "no bank webhooks are taken on this server")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, banklink.MaxWebhookBody))
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return emoney.Errorf(emoney.ETooLarge, "a webhook body is at most %d bytes", mb.Limit)
		}
		return emoney.Errorf(emoney.EInvalid, "the body could not be read")
	}
	got, err := s.bankHooks.Receive(r.Context(), r.PathValue("code"), r.Header.Get("X-Bank-Event-Id"), r.Header.Get("X-Bank-Signature"), body)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, BankWebhookReceipt{Received: true, Duplicate: got.Duplicate})
	return nil
}
