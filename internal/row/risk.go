package row

import (
	"encoding/json"
	"fmt"

	"emoney"
)

// RiskRuleCols is the column list RiskRule.Dest expects and RiskRuleArgs gives.
const RiskRuleCols = `id, description, expression, action, weight, mode, version, updated_at, updated_by`

// RiskRuleColumns is how many columns RiskRuleCols names.
const RiskRuleColumns = 9

// RiskRule is a row of the risk_rules table as both stores select it.
type RiskRule struct {
	ID, Description, Expression, Action string
	Weight                              int64
	Mode                                string
	Version, UpdatedAt                  int64
	UpdatedBy                           string
}

// Dest returns the scan destinations, in column order.
func (r *RiskRule) Dest() []any {
	return []any{&r.ID, &r.Description, &r.Expression, &r.Action, &r.Weight, &r.Mode, &r.Version, &r.UpdatedAt, &r.UpdatedBy}
}

// Decode returns the rule the row holds.
func (r *RiskRule) Decode() (emoney.RiskRule, error) {
	return emoney.RiskRule{ID: r.ID, Description: r.Description, Expression: r.Expression, Action: emoney.RiskAction(r.Action),
		Weight: int(r.Weight), Mode: emoney.RuleMode(r.Mode), Version: r.Version, UpdatedAt: Time(r.UpdatedAt), UpdatedBy: r.UpdatedBy}, nil
}

// RiskRuleArgs returns r's column values in RiskRuleCols order.
func RiskRuleArgs(r emoney.RiskRule) []any {
	return []any{r.ID, r.Description, r.Expression, string(r.Action), int64(r.Weight), string(r.Mode), r.Version, r.UpdatedAt.UnixMicro(), r.UpdatedBy}
}

// DecisionCols is the column list Decision.Dest expects and DecisionArgs gives.
const DecisionCols = `id, event, type, wallet, amount, outcome, score, rules, shadow, inputs, event_data, latency_us, at`

// DecisionColumns is how many columns DecisionCols names.
const DecisionColumns = 13

// Decision is a row of the risk_decisions table as both stores select it.
type Decision struct {
	ID                          []byte
	Event, Type, Wallet         string
	Amount                      int64
	Outcome                     string
	Score                       int64
	Rules, Shadow, Inputs, Data []byte
	LatencyUS, At               int64
}

// Dest returns the scan destinations, in column order.
func (r *Decision) Dest() []any {
	return []any{&r.ID, &r.Event, &r.Type, &r.Wallet, &r.Amount, &r.Outcome, &r.Score, &r.Rules, &r.Shadow, &r.Inputs, &r.Data, &r.LatencyUS, &r.At}
}

// Decode returns the decision the row holds.
func (r *Decision) Decode() (emoney.Decision, error) {
	id, err := emoney.IDFromBytes(r.ID)
	if err != nil {
		return emoney.Decision{}, err
	}
	d := emoney.Decision{ID: id, Event: r.Event, Type: r.Type, Wallet: r.Wallet, Amount: r.Amount, Outcome: emoney.RiskAction(r.Outcome),
		Score: int(r.Score), Inputs: r.Inputs, EventData: r.Data, LatencyUS: r.LatencyUS, At: Time(r.At)}
	if err := json.Unmarshal(r.Rules, &d.Rules); err != nil {
		return d, fmt.Errorf("decision %s rules: %w", id, err)
	}
	if err := json.Unmarshal(r.Shadow, &d.Shadow); err != nil {
		return d, fmt.Errorf("decision %s shadow rules: %w", id, err)
	}
	return d, nil
}

// DecisionArgs returns d's column values in DecisionCols order.
func DecisionArgs(d emoney.Decision) []any {
	rules, _ := json.Marshal(nonNil(d.Rules))
	shadow, _ := json.Marshal(nonNil(d.Shadow))
	return []any{d.ID.Bytes(), d.Event, d.Type, d.Wallet, d.Amount, string(d.Outcome), int64(d.Score), rules, shadow,
		orEmpty(d.Inputs), orEmpty(d.EventData), d.LatencyUS, d.At.UnixMicro()}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func orEmpty(j []byte) []byte {
	if j == nil {
		return []byte("{}")
	}
	return j
}
