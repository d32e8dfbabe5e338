package banksim

import "net/http"

// STAND-IN, deleted at merge: oauth.go (branch bs-oauth) defines the real writeTokenError with
// this signature. Until then the resource APIs answer every token failure as RFC 6750
// invalid_token.
func writeTokenError(w http.ResponseWriter, err error) {
	resourceAuthError(w, http.StatusUnauthorized, "invalid_token", "", "the access token or its DPoP proof is not valid")
}
