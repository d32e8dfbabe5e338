package http

import (
	"net/http"
	"time"

	"emoney/identity"
	"emoney/kyc"
)

type phoneRequest struct {
	Phone string `json:"phone"`
}

// startPhone sends a one-time code to the phone the caller claims: POST /api/v1/kyc/phone.
func (s *Server) startPhone(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	var req phoneRequest
	if err := decodeJSON(w, r, &req, 0); err != nil {
		return err
	}
	expires, err := s.kyc.StartPhone(r.Context(), p, req.Phone)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"expires_at": expires.Format(time.RFC3339)})
	return nil
}

// confirmPhone checks the code and raises the caller to tier 1: POST /api/v1/kyc/phone/confirm.
func (s *Server) confirmPhone(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	var req codeRequest
	if err := decodeJSON(w, r, &req, 0); err != nil {
		return err
	}
	tier, err := s.kyc.ConfirmPhone(r.Context(), p, req.Code)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"kyc_tier": tier})
	return nil
}

// ekyc has the eKYC provider verify an identity document and raises the caller to tier 2:
// POST /api/v1/kyc/ekyc.
func (s *Server) ekyc(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	var req kyc.Document
	if err := decodeJSON(w, r, &req, 0); err != nil {
		return err
	}
	tier, err := s.kyc.VerifyIdentity(r.Context(), p, req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"kyc_tier": tier})
	return nil
}

// kycStatus shows the caller's verification: GET /api/v1/kyc.
func (s *Server) kycStatus(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	st, err := s.kyc.Status(r.Context(), p)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, st)
	return nil
}

// limits shows the caller's tier limits and what the wallet used of them: GET /api/v1/limits.
func (s *Server) limits(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	u, err := s.money.Limits(r.Context(), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, u)
	return nil
}
