package http

import (
	"net/http"
	"strings"
	"time"

	"emoney"
	"emoney/identity"
	"emoney/risk"
)

type signupRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

type userJSON struct {
	ID      emoney.ID   `json:"id"`
	Email   string      `json:"email,omitempty"`
	Role    emoney.Role `json:"role"`
	KYCTier int         `json:"kyc_tier"`
	TOTP    *bool       `json:"totp,omitempty"` // a confirmed one-time-code app (shown to its owner)
}

// signup opens an account and its wallet: POST /api/v1/signup.
func (s *Server) signup(w http.ResponseWriter, r *http.Request) error {
	var req signupRequest
	if err := decodeJSON(w, r, &req, 0); err != nil {
		return err
	}
	u, wallet, err := s.identity.SignUp(r.Context(), req.Email, req.Password, ClientIP(r.Context()))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"user": userJSON{ID: u.ID, Role: u.Role, KYCTier: u.KYCTier}, "wallet": wallet.ID})
	return nil
}

type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	OTP      string `json:"otp"` // staff: a one-time code
	Device   string `json:"device"`
}

// login opens a session and returns its bearer token: POST /api/v1/login.
func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	var req loginRequest
	if err := decodeJSON(w, r, &req, 0); err != nil {
		return err
	}
	token, sess, err := s.identity.Login(r.Context(), req.Email, req.Password, req.OTP, req.Device, ClientIP(r.Context()))
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"token": token, "expires_at": sess.ExpiresAt.Format(time.RFC3339)})
	return nil
}

// logout revokes the session the request came with: POST /api/v1/logout.
func (s *Server) logout(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	if err := s.identity.Logout(r.Context(), p); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// me describes the signed-in user and their wallet: GET /api/v1/me.
func (s *Server) me(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	ctx := r.Context()
	u, err := s.identity.User(ctx, p.User)
	if err != nil {
		return err
	}
	email, err := s.identity.Email(u)
	if err != nil {
		return err
	}
	passkeys, err := s.identity.Passkeys(ctx, u.ID)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store") // personal data
	body := map[string]any{
		"user":          userJSON{ID: u.ID, Email: email, Role: u.Role, KYCTier: u.KYCTier, TOTP: &u.TOTPConfirmed},
		"step_up_fresh": s.identity.Fresh(p),
		"passkeys":      len(passkeys),
	}
	if u.Role != emoney.RoleCustomer { // staff have no wallet
		writeJSON(w, http.StatusOK, body)
		return nil
	}
	wallet, err := s.identity.Wallet(ctx, u.ID)
	if err != nil {
		return err
	}
	bal, err := s.ledger.Balance(ctx, wallet.ID, emoney.JPY)
	if err != nil {
		return err
	}
	body["wallet"] = map[string]any{"account": wallet.ID, "currency": bal.Currency, "balance": bal.Balance, "available": bal.Available()}
	writeJSON(w, http.StatusOK, body)
	return nil
}

// user runs h for requests signed in as a user (a session token) with one of roles (any user
// role if none is named). Partners' keys are forbidden here.
func (s *Server) user(h func(http.ResponseWriter, *http.Request, identity.Principal) error, roles ...emoney.Role) handler {
	return s.authed(func(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
		if p.User.IsZero() {
			return emoney.Errorf(emoney.EForbidden, "this is for signed-in users, not API keys")
		}
		// What the risk engine needs of the request: where it came from, and the step-up
		// proof it may carry for this operation.
		ip := ""
		if a := s.clientIP(r); a.IsValid() {
			ip = a.String()
		}
		r = r.WithContext(risk.WithRequest(r.Context(), risk.Request{IP: ip, Proof: r.Header.Get("Step-Up-Proof")}))
		return h(w, r, p)
	}, roles...)
}

// partner runs h for requests made with a partner's API key whose role is one of roles.
func (s *Server) partner(h func(http.ResponseWriter, *http.Request, identity.Principal) error, roles ...emoney.Role) handler {
	return s.authed(func(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
		if p.Partner.IsZero() {
			return emoney.Errorf(emoney.EForbidden, "this is for partners' API keys")
		}
		return h(w, r, p)
	}, roles...)
}

// authed runs h for requests with a valid bearer token whose role is one of roles (any role if
// none is named); others get unauthorized or forbidden.
func (s *Server) authed(h func(http.ResponseWriter, *http.Request, identity.Principal) error, roles ...emoney.Role) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || token == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="emoney"`)
			return emoney.Errorf(emoney.EUnauthorized, "send Authorization: Bearer <token> (POST /api/v1/login gives one)")
		}
		p, err := s.identity.Authenticate(r.Context(), strings.TrimSpace(token))
		if err != nil {
			if emoney.ErrorCode(err) == emoney.EUnauthorized {
				w.Header().Set("WWW-Authenticate", `Bearer realm="emoney", error="invalid_token"`)
			}
			return err
		}
		if len(roles) > 0 && !hasRole(p.Role, roles) {
			return emoney.Errorf(emoney.EForbidden, "your role may not do this")
		}
		return h(w, r, p)
	}
}

func hasRole(r emoney.Role, roles []emoney.Role) bool {
	for _, x := range roles {
		if r == x {
			return true
		}
	}
	return false
}

// enrolTOTP starts a one-time-code app enrolment: POST /api/v1/totp. The secret is shown once.
func (s *Server) enrolTOTP(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	secret, uri, err := s.identity.EnrolTOTP(r.Context(), p)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, map[string]any{"secret": secret, "uri": uri})
	return nil
}

type codeRequest struct {
	Code string `json:"code"`
}

// confirmTOTP finishes the enrolment with a first code: POST /api/v1/totp/confirm.
func (s *Server) confirmTOTP(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	var req codeRequest
	if err := decodeJSON(w, r, &req, 0); err != nil {
		return err
	}
	if err := s.identity.ConfirmTOTP(r.Context(), p, req.Code); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// stepUp proves the second factor on this session: POST /api/v1/stepup.
// stepUpRequest is POST /api/v1/stepup: a one-time code, and (to meet a risk challenge) the
// operation it is for.
type stepUpRequest struct {
	Code      string       `json:"code"`
	Operation *operationIn `json:"operation"`
}

// operationIn names the operation a step-up is for, as the client will send it again.
type operationIn struct {
	Type           string `json:"type"` // transfer, payment, topup, withdrawal
	To             string `json:"to"`   // the receiving wallet, the merchant, or the bank link
	Amount         int64  `json:"amount"`
	IdempotencyKey string `json:"idempotency_key"`
}

func (s *Server) stepUp(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	var req stepUpRequest
	if err := decodeJSON(w, r, &req, 0); err != nil {
		return err
	}
	out := map[string]any{"fresh_for_seconds": int(identity.StepUpFresh.Seconds())}
	var at time.Time
	var err error
	if op := req.Operation; op != nil {
		switch op.Type {
		case "transfer", "payment", "topup", "withdrawal":
		default:
			return emoney.FieldError("operation.type", "type must be transfer, payment, topup or withdrawal")
		}
		if op.To == "" || op.IdempotencyKey == "" || op.Amount <= 0 {
			return emoney.FieldError("operation", "name the operation: to, amount and idempotency_key as it will be sent")
		}
		var proof string
		at, proof, err = s.identity.StepUpFor(r.Context(), p, req.Code, risk.OperationDigest(op.Type, op.To, op.Amount, op.IdempotencyKey))
		out["proof"], out["proof_fresh_for_seconds"] = proof, int(identity.ProofFresh.Seconds())
	} else {
		at, err = s.identity.StepUp(r.Context(), p, req.Code)
	}
	if err != nil {
		return err
	}
	out["stepped_up_at"] = at.Format(time.RFC3339Nano)
	writeJSON(w, http.StatusOK, out)
	return nil
}

type staffEnrolRequest struct {
	Code     string `json:"code"`
	Password string `json:"password"`
}

// staffEnrol spends a staff enrolment code: POST /api/v1/staff/enrol (no token: the code is
// the credential). The TOTP secret is shown once.
func (s *Server) staffEnrol(w http.ResponseWriter, r *http.Request) error {
	var req staffEnrolRequest
	if err := decodeJSON(w, r, &req, 0); err != nil {
		return err
	}
	secret, uri, err := s.identity.EnrolStaff(r.Context(), req.Code, req.Password)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, map[string]any{"secret": secret, "uri": uri})
	return nil
}
