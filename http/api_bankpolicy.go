package http

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"emoney"
	"emoney/bank"
	"emoney/bankpolicy"
	"emoney/identity"
)

// Per-bank policies and kill switches (package bankpolicy), for staff: read by any staff
// member, policies changed by admins, kill switches pulled and released by senior analysts and
// admins; every change needs a fresh step-up and is audited.

// bankJSON is one bank with its policy as staff see it.
type bankJSON struct {
	Code string `json:"code"`
	Name string `json:"name,omitempty"`
	// Configured says whether this server has a connector for the bank: a policy can be set
	// for a bank before it is, and a typo in an emergency shows here.
	Configured bool            `json:"configured"`
	Policy     bankpolicy.View `json:"policy"`
	// Breaker is this instance's circuit breaker of calls to the bank (not for "all").
	Breaker *breakerJSON `json:"breaker,omitempty"`
}

type breakerJSON struct {
	State   bank.BreakerState `json:"state"`
	ProbeAt *time.Time        `json:"probe_at,omitempty"`
}

// bankNames returns the names of the configured banks by code.
func (s *Server) bankNames() map[string]string {
	names := map[string]string{}
	if s.banks != nil {
		for _, b := range s.banks.Banks() {
			names[b.Code] = b.Name
		}
	}
	return names
}

func (s *Server) bankToJSON(p emoney.BankPolicy, names map[string]string) bankJSON {
	name, ok := names[p.Bank]
	b := bankJSON{Code: p.Bank, Name: name, Configured: ok, Policy: bankpolicy.ViewOf(p)}
	if s.banks != nil && p.Bank != bankpolicy.Global {
		st, at := s.banks.Breakers().State(p.Bank)
		b.Breaker = &breakerJSON{State: st}
		if !at.IsZero() {
			b.Breaker.ProbeAt = &at
		}
	}
	return b
}

// policies returns the policy service, or not_found when the server has none.
func (s *Server) policyService() (*bankpolicy.Service, error) {
	if s.policies == nil {
		return nil, emoney.Errorf(emoney.ENotFound, "bank policies are not configured on this server")
	}
	return s.policies, nil
}

// listBanks handles GET /api/v1/staff/banks: every configured bank and every bank with a stored
// policy, with its policy.
func (s *Server) listBanks(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	svc, err := s.policyService()
	if err != nil {
		return err
	}
	names := s.bankNames()
	codes := make([]string, 0, len(names))
	for c := range names {
		codes = append(codes, c)
	}
	ps, err := svc.List(r.Context(), codes)
	if err != nil {
		return err
	}
	out := make([]bankJSON, 0, len(ps))
	for _, bp := range ps {
		out = append(out, s.bankToJSON(bp, names))
	}
	writeJSON(w, http.StatusOK, map[string]any{"banks": out})
	return nil
}

// getBank handles GET /api/v1/staff/banks/{code}: one bank's policy (the defaults, version 0,
// for a bank with none stored).
func (s *Server) getBank(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	svc, err := s.policyService()
	if err != nil {
		return err
	}
	bp, err := svc.Load(r.Context(), r.PathValue("code"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.bankToJSON(bp, s.bankNames()))
	return nil
}

// policyRequest is the body of PUT /api/v1/staff/banks/{code}/policy. A PUT replaces the
// settings, so every field is required (an omitted "enabled" must not disable a bank); the
// kill switches are not part of it.
type policyRequest struct {
	Version            *int64    `json:"version"`
	Enabled            *bool     `json:"enabled"`
	Factors            *[]string `json:"factors"`
	Notes              *string   `json:"notes"`
	CoolingOffSeconds  *int64    `json:"cooling_off_seconds"`
	CoolingOffTopUpCap *int64    `json:"cooling_off_topup_cap"`
	CoolingOffDailyCap *int64    `json:"cooling_off_daily_cap"`
	MatchLink          *int      `json:"match_link"`
	MatchReview        *int      `json:"match_review"`
	ReconsentDays      *int      `json:"reconsent_days"`
}

// expectedVersion returns the version the client read: the body's "version", or an If-Match
// header ("3" or W/"3"); both given must agree.
func expectedVersion(r *http.Request, body *int64) (int64, error) {
	h := strings.TrimSpace(r.Header.Get("If-Match"))
	if h == "" {
		if body == nil {
			return 0, emoney.FieldError("version", "version is required: the policy version you read (or an If-Match header)")
		}
		return *body, nil
	}
	v, err := strconv.ParseInt(strings.Trim(strings.TrimPrefix(h, "W/"), `"`), 10, 64)
	if err != nil || v < 0 {
		return 0, emoney.FieldError("If-Match", `If-Match must be a policy version, e.g. "3"`)
	}
	if body != nil && *body != v {
		return 0, emoney.FieldError("version", "version and If-Match disagree")
	}
	return v, nil
}

// setPolicy handles PUT /api/v1/staff/banks/{code}/policy (admins, fresh step-up): conflict if
// the policy is no longer at the version the client read.
func (s *Server) setPolicy(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	svc, err := s.policyService()
	if err != nil {
		return err
	}
	var req policyRequest
	if err := decodeJSON(w, r, &req, 0); err != nil {
		return err
	}
	expected, err := expectedVersion(r, req.Version)
	if err != nil {
		return err
	}
	for name, missing := range map[string]bool{"enabled": req.Enabled == nil, "factors": req.Factors == nil, "notes": req.Notes == nil,
		"cooling_off_seconds": req.CoolingOffSeconds == nil, "cooling_off_topup_cap": req.CoolingOffTopUpCap == nil,
		"cooling_off_daily_cap": req.CoolingOffDailyCap == nil, "match_link": req.MatchLink == nil, "match_review": req.MatchReview == nil,
		"reconsent_days": req.ReconsentDays == nil} {
		if missing {
			return emoney.FieldError(name, "%s is required: a PUT replaces the whole policy", name)
		}
	}
	if *req.CoolingOffSeconds < 0 || *req.CoolingOffSeconds > int64(emoney.MaxCoolingOff/time.Second) {
		return emoney.FieldError("cooling_off_seconds", "cooling-off must be whole seconds between 1 hour and 90 days")
	}
	bp := emoney.BankPolicy{Enabled: *req.Enabled, Factors: *req.Factors, Notes: *req.Notes,
		CoolingOff: time.Duration(*req.CoolingOffSeconds) * time.Second, CoolingOffTopUpCap: *req.CoolingOffTopUpCap, CoolingOffDailyCap: *req.CoolingOffDailyCap,
		MatchLink: *req.MatchLink, MatchReview: *req.MatchReview, ReconsentDays: *req.ReconsentDays}
	code := r.PathValue("code")
	if _, err := svc.Load(r.Context(), code); err != nil { // not a bank code: 404 before anything else
		return err
	}
	if err := bp.Validate(); err != nil && emoney.ErrorField(err) != "bank" {
		return err
	}
	if err := s.freshStepUp(p, "changing a bank's policy"); err != nil {
		return err
	}
	got, err := svc.Set(r.Context(), code, bp, "staff:"+p.User.String(), expected)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.bankToJSON(got, s.bankNames()))
	return nil
}

// killSwitchRequest is the body of POST and DELETE /api/v1/staff/banks/{code}/killswitch/{which}.
type killSwitchRequest struct {
	Reason string     `json:"reason"`
	Until  *time.Time `json:"until"` // pull only: when the puller expects to release it
}

// killSwitch handles POST (pull) and DELETE (release) of
// /api/v1/staff/banks/{code}/killswitch/{which} (senior analysts and admins, fresh step-up,
// reason required).
func (s *Server) killSwitch(pull bool) func(http.ResponseWriter, *http.Request, identity.Principal) error {
	return func(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
		svc, err := s.policyService()
		if err != nil {
			return err
		}
		code := r.PathValue("code")
		if _, err := svc.Load(r.Context(), code); err != nil {
			return err
		}
		which, err := emoney.ParseKillSwitch(r.PathValue("which"))
		if err != nil {
			return emoney.Errorf(emoney.ENotFound, "no such kill switch: new_links, topups or withdrawals")
		}
		var req killSwitchRequest
		if err := decodeJSON(w, r, &req, 0); err != nil {
			return err
		}
		if err := emoney.ValidKillSwitchReason(req.Reason); err != nil {
			return err
		}
		if !pull && req.Until != nil {
			return emoney.FieldError("until", "until is for pulling a switch")
		}
		if err := s.freshStepUp(p, "moving a kill switch"); err != nil {
			return err
		}
		actor := "staff:" + p.User.String()
		var got emoney.BankPolicy
		if pull {
			var until time.Time
			if req.Until != nil {
				until = *req.Until
			}
			got, err = svc.PullKillSwitch(r.Context(), code, which, req.Reason, until, actor)
		} else {
			got, err = svc.Release(r.Context(), code, which, req.Reason, actor)
		}
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, s.bankToJSON(got, s.bankNames()))
		return nil
	}
}
