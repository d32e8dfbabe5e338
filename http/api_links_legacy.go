package http

import (
	"net/http"

	"emoney"
	"emoney/banklink"
	"emoney/identity"
)

// The 2020 protocol, for comparison (docs/banks.md): POST /api/v1/links/legacy links a bank
// account with the holder name, account number and PIN, from any signed-in customer. Only a
// development server run with --legacy-linking serves it; everywhere else it does not exist.

// SetLegacyLinks turns on the 2020 PIN linking flow (development only). Call it before Serve.
func (s *Server) SetLegacyLinks(g *banklink.Legacy) { s.legacy = g }

// legacyLink links an account the 2020 way: POST /api/v1/links/legacy
// {"bank","holder_kana","branch","account_number","pin"} → 201 with the link (masked). The PIN
// goes to the bank once; it is neither stored nor logged.
func (s *Server) legacyLink(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	if s.legacy == nil {
		return emoney.Errorf(emoney.ENotFound, "no such endpoint: the 2020 PIN linking flow is off on this server")
	}
	var req banklink.LegacyRequest
	if err := decodeJSON(w, r, &req, 0); err != nil {
		return err
	}
	v, err := s.legacy.Link(r.Context(), p, req)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, v)
	return nil
}
