package http

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"emoney"
	"emoney/identity"
	"emoney/risk"
)

// The risk engine's rules and decisions, for staff: rules are read by any staff member and
// changed by senior analysts and admins with a fresh step-up (compiled before they are saved,
// the compiler's message answered in field expression; every change audited and in force at
// once); decisions are looked up by id or by wallet.

// SetRisk sets the risk engine whose rules and decisions staff work with. Call it before Serve.
func (s *Server) SetRisk(e *risk.Engine) { s.risk = e }

func (s *Server) riskEngine() (*risk.Engine, error) {
	if s.risk == nil {
		return nil, emoney.Errorf(emoney.ENotFound, "the risk engine is not configured on this server")
	}
	return s.risk, nil
}

type ruleJSON struct {
	ID          string            `json:"id"`
	Description string            `json:"description"`
	Expression  string            `json:"expression"`
	Action      emoney.RiskAction `json:"action"`
	Weight      int               `json:"weight"`
	Mode        emoney.RuleMode   `json:"mode"`
	Version     int64             `json:"version"`
	UpdatedAt   time.Time         `json:"updated_at"`
	UpdatedBy   string            `json:"updated_by"`
}

func ruleToJSON(r emoney.RiskRule) ruleJSON {
	return ruleJSON{ID: r.ID, Description: r.Description, Expression: r.Expression, Action: r.Action, Weight: r.Weight, Mode: r.Mode,
		Version: r.Version, UpdatedAt: r.UpdatedAt, UpdatedBy: r.UpdatedBy}
}

// listRules handles GET /api/v1/staff/risk/rules: the rules in force on this instance.
func (s *Server) listRules(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	e, err := s.riskEngine()
	if err != nil {
		return err
	}
	rules := e.Rules().Rules()
	out := make([]ruleJSON, len(rules))
	for i, rule := range rules {
		out[i] = ruleToJSON(rule)
	}
	writeJSON(w, http.StatusOK, map[string]any{"rules": out})
	return nil
}

type ruleRequest struct {
	Description *string            `json:"description"`
	Expression  *string            `json:"expression"`
	Action      *emoney.RiskAction `json:"action"`
	Weight      *int               `json:"weight"`
	Mode        *emoney.RuleMode   `json:"mode"`
	Version     *int64             `json:"version"` // the version changed; 0 creates the rule
	Reason      string             `json:"reason"`
}

// putRule handles PUT /api/v1/staff/risk/rules/{id}: create a rule (version 0) or change one
// (the version read), every field given. Errors: invalid (naming the field; the compiler's
// message for the expression), conflict (taken id, stale version), challenge_required (no fresh
// step-up), forbidden.
func (s *Server) putRule(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	e, err := s.riskEngine()
	if err != nil {
		return err
	}
	if err := s.freshStepUp(p, "changing a risk rule"); err != nil {
		return err
	}
	var req ruleRequest
	if err := decodeJSON(w, r, &req, 0); err != nil {
		return err
	}
	for field, missing := range map[string]bool{"description": req.Description == nil, "expression": req.Expression == nil,
		"action": req.Action == nil, "weight": req.Weight == nil, "mode": req.Mode == nil, "version": req.Version == nil} {
		if missing {
			return emoney.FieldError(field, "%s is required (send the whole rule)", field)
		}
	}
	if strings.TrimSpace(req.Reason) == "" || len(req.Reason) > 500 {
		return emoney.FieldError("reason", "say why (1 to 500 characters): it goes in the audit log")
	}
	if *req.Version < 0 {
		return emoney.FieldError("version", "version must be the one read (0 to create)")
	}
	rule := emoney.RiskRule{ID: r.PathValue("id"), Description: *req.Description, Expression: *req.Expression, Action: *req.Action,
		Weight: *req.Weight, Mode: *req.Mode}
	saved, err := e.SaveRule(r.Context(), rule, *req.Version, "staff:"+p.User.String(), req.Reason)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if *req.Version == 0 {
		status = http.StatusCreated
	}
	writeJSON(w, status, ruleToJSON(saved))
	return nil
}

type decisionJSON struct {
	ID        emoney.ID         `json:"id"`
	Event     string            `json:"event"`
	Type      string            `json:"type"`
	Wallet    string            `json:"wallet,omitempty"`
	Amount    int64             `json:"amount"`
	Outcome   emoney.RiskAction `json:"outcome"`
	Score     int               `json:"score"`
	Rules     []string          `json:"rules"`
	Shadow    []string          `json:"shadow"`
	Inputs    json.RawMessage   `json:"inputs"`
	LatencyUS int64             `json:"latency_us"`
	At        time.Time         `json:"at"`
}

func decisionToJSON(d emoney.Decision) decisionJSON {
	out := decisionJSON{ID: d.ID, Event: d.Event, Type: d.Type, Wallet: d.Wallet, Amount: d.Amount, Outcome: d.Outcome, Score: d.Score,
		Rules: d.Rules, Shadow: d.Shadow, Inputs: d.Inputs, LatencyUS: d.LatencyUS, At: d.At}
	if out.Rules == nil {
		out.Rules = []string{}
	}
	if out.Shadow == nil {
		out.Shadow = []string{}
	}
	if len(out.Inputs) == 0 {
		out.Inputs = json.RawMessage("{}")
	}
	return out
}

// getDecision handles GET /api/v1/staff/risk/decisions/{id}.
func (s *Server) getDecision(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	e, err := s.riskEngine()
	if err != nil {
		return err
	}
	id, err := emoney.ParseID(r.PathValue("id"))
	if err != nil {
		return emoney.Errorf(emoney.ENotFound, "no such decision")
	}
	d, err := e.Decision(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, decisionToJSON(d))
	return nil
}

// listDecisions handles GET /api/v1/staff/risk/decisions?wallet=W&after=ID&limit=N: a wallet's
// decisions, oldest first.
func (s *Server) listDecisions(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	e, err := s.riskEngine()
	if err != nil {
		return err
	}
	wallet := r.URL.Query().Get("wallet")
	if _, err := emoney.ParseID(wallet); err != nil {
		return emoney.FieldError("wallet", "wallet must be a wallet id")
	}
	limit, after, err := pageQuery(r, "after", "a decision")
	if err != nil {
		return err
	}
	ds, err := e.Decisions(r.Context(), wallet, after, limit)
	if err != nil {
		return err
	}
	items := make([]decisionJSON, len(ds))
	for i, d := range ds {
		items[i] = decisionToJSON(d)
	}
	body := map[string]any{"items": items}
	if len(ds) == limit {
		body["next"] = ds[len(ds)-1].ID
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}
