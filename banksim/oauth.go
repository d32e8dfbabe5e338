package banksim

import (
	"errors"
	"net/http"
)

// The authorization server: discovery, PAR, authorize (login and consent pages), token, refresh,
// revocation, and the check of DPoP-bound access tokens that the resource APIs rely on.
// (To be written: issue 5.)

func (s *Sim) mountOAuth(mux *http.ServeMux) {}

// checkAccessToken checks a resource request's access token and DPoP proof for bank b and
// returns the grant the token was issued under.
func (s *Sim) checkAccessToken(r *http.Request, b *Bank) (*Grant, error) {
	return nil, errors.New("banksim: access tokens are not issued yet")
}
