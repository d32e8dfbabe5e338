package banksim

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
)

// RequestURIPrefix starts every request_uri the PAR endpoint hands out (RFC 9126 §2.2).
const RequestURIPrefix = "urn:ietf:params:oauth:request_uri:"

// par is the pushed authorization request endpoint (RFC 9126), the only way to start an
// authorization. The form carries, besides private_key_jwt client authentication:
//
//	response_type          "code"
//	client_id              optional; if given, the assertion's client
//	redirect_uri           exactly one of the client's registered redirect URIs
//	state                  required, up to 512 characters
//	code_challenge         PKCE (RFC 7636), 43 base64url characters
//	code_challenge_method  "S256" (required; "plain" is refused)
//	scope                  space-separated, a non-empty subset of holder, debit, credit, statements
//	mandate_payee          with scope debit (required then, refused otherwise): who pulls, as shown
//	mandate_per_charge     to the customer; the caps, in yen, per charge and per Asia/Tokyo month
//	mandate_monthly        (integers, 1 ≤ per_charge ≤ monthly ≤ 100,000,000)
//	dpop_jkt               the thumbprint of the DPoP key the code will be bound to (RFC 9449 §10)
//
// Instead of (or as well as, then they must agree) dpop_jkt, the request may carry a DPoP proof
// for this endpoint; one of the two is required. The answer is 201 with a single-use request_uri
// that lives RequestURITTL.
func (s *Sim) par(w http.ResponseWriter, r *http.Request) {
	if e := parseForm(w, r); e != nil {
		writeOAuthError(w, e)
		return
	}
	s.mu.Lock()
	uri, e := s.parLocked(r)
	s.mu.Unlock()
	if e != nil {
		writeOAuthError(w, e)
		return
	}
	writeOAuthJSON(w, http.StatusCreated, map[string]any{"request_uri": uri, "expires_in": int(RequestURITTL.Seconds())})
}

// maxCap is the largest mandate cap a bank accepts: a hundred million yen.
const maxCap = 100_000_000

func (s *Sim) parLocked(r *http.Request) (string, *oauthError) {
	b, err := s.bank(r.PathValue("code"))
	if err != nil {
		return "", &oauthError{http.StatusNotFound, "invalid_request", "no such bank"}
	}
	endpoint := s.issuerURL(b.Info.Code) + "/par"
	c, e := s.authenticateClient(r, b, endpoint)
	if e != nil {
		return "", e
	}
	f := r.PostForm
	if f.Has("request_uri") || f.Has("request") {
		return "", errInvalidRequest("request_uri and request objects are not accepted at the PAR endpoint")
	}
	if f.Get("response_type") != "code" {
		return "", &oauthError{http.StatusBadRequest, "unsupported_response_type", `response_type must be "code"`}
	}
	req := &parRequest{bank: b.Info.Code, client: c.ID}
	req.redirectURI = f.Get("redirect_uri")
	registered := false
	for _, u := range c.RedirectURIs {
		if u == req.redirectURI {
			registered = true
		}
	}
	if !registered {
		return "", errInvalidRequest("redirect_uri must be exactly one of the client's registered redirect URIs")
	}
	req.state = f.Get("state")
	if req.state == "" || len(req.state) > 512 {
		return "", errInvalidRequest("state is required (up to 512 characters)")
	}
	switch f.Get("code_challenge_method") {
	case "S256":
	case "":
		return "", errInvalidRequest("PKCE is required: code_challenge with code_challenge_method=S256")
	default:
		return "", errInvalidRequest("code_challenge_method must be S256")
	}
	req.challenge = f.Get("code_challenge")
	if b, err := base64.RawURLEncoding.DecodeString(req.challenge); err != nil || len(b) != 32 {
		return "", errInvalidRequest("code_challenge must be the base64url SHA-256 of the code_verifier")
	}
	scope, e := parseScope(f.Get("scope"))
	if e != nil {
		return "", e
	}
	req.scope = scope
	if req.mandate, e = parseMandate(f.Get, hasScope(scope, "debit")); e != nil {
		return "", e
	}
	req.jkt = f.Get("dpop_jkt")
	if req.jkt != "" && !validJKT(req.jkt) {
		return "", errInvalidRequest("dpop_jkt must be a base64url SHA-256 JWK thumbprint")
	}
	if r.Header.Get("DPoP") != "" {
		jkt, err := s.checkDPoP(r, endpoint, "")
		if err != nil {
			return "", errInvalidDPoP("%v", err)
		}
		if req.jkt != "" && req.jkt != jkt {
			return "", errInvalidDPoP("dpop_jkt and the DPoP proof's key differ")
		}
		req.jkt = jkt
	}
	if req.jkt == "" {
		return "", errInvalidRequest("the code must be bound to a DPoP key: send dpop_jkt or a DPoP proof")
	}
	req.expires = s.cfg.Now().Add(RequestURITTL)
	uri := RequestURIPrefix + secret()
	s.oauth().requests[uri] = req
	return uri, nil
}

func parseScope(raw string) ([]string, *oauthError) {
	var out []string
	for _, x := range strings.Fields(raw) {
		if !hasScope(Scopes, x) {
			return nil, &oauthError{http.StatusBadRequest, "invalid_scope", "unknown scope " + strconv.Quote(x) + "; scopes are " + strings.Join(Scopes, ", ")}
		}
		if !hasScope(out, x) {
			out = append(out, x)
		}
	}
	if len(out) == 0 {
		return nil, &oauthError{http.StatusBadRequest, "invalid_scope", "scope is required: some of " + strings.Join(Scopes, ", ")}
	}
	return out, nil
}

func hasScope(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// parseMandate reads the mandate_* parameters: required with the debit scope, refused without.
func parseMandate(get func(string) string, debit bool) (Mandate, *oauthError) {
	payee, per, month := get("mandate_payee"), get("mandate_per_charge"), get("mandate_monthly")
	if !debit {
		if payee != "" || per != "" || month != "" {
			return Mandate{}, errInvalidRequest("mandate terms come only with the debit scope")
		}
		return Mandate{}, nil
	}
	if payee == "" || len(payee) > 100 {
		return Mandate{}, errInvalidRequest("mandate_payee is required with the debit scope (up to 100 bytes)")
	}
	m := Mandate{Payee: payee}
	var err error
	if m.PerCharge, err = strconv.ParseInt(per, 10, 64); err != nil || m.PerCharge < 1 || m.PerCharge > maxCap {
		return Mandate{}, errInvalidRequest("mandate_per_charge must be a whole number of yen from 1 to %d", maxCap)
	}
	if m.Monthly, err = strconv.ParseInt(month, 10, 64); err != nil || m.Monthly < m.PerCharge || m.Monthly > maxCap {
		return Mandate{}, errInvalidRequest("mandate_monthly must be a whole number of yen from mandate_per_charge to %d", maxCap)
	}
	return m, nil
}
