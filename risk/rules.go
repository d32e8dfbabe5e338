package risk

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/cost"
	"cel.dev/cel-go/common/types"

	"emoney"
)

// CostLimit bounds what one rule may cost to evaluate (CEL's cost units: about one per
// operation). A rule whose worst case, as CEL estimates it before it runs, is over it is refused
// when compiled, so no rule that runs can run away.
const CostLimit = 1000

// env is the CEL environment rules are compiled in: the Variables, nothing else.
var env = func() *cel.Env {
	opts := make([]cel.EnvOption, 0, len(Variables))
	for _, v := range Variables {
		opts = append(opts, cel.Variable(v.name, v.typ))
	}
	e, err := cel.NewEnv(opts...)
	if err != nil {
		panic(fmt.Sprintf("risk: CEL environment: %v", err)) // a bug in Variables
	}
	return e
}()

// Rule is a compiled rule, ready to run. Safe for concurrent use.
type Rule struct {
	emoney.RiskRule
	prg cel.Program
}

// Compile checks r (emoney.RiskRule.Validate), then parses and type-checks its expression, which
// must be a bool over the Variables, within CostLimit. Errors: invalid, naming the field, with
// the compiler's message for the expression.
func Compile(r emoney.RiskRule) (*Rule, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	ast, iss := env.Compile(r.Expression)
	if iss.Err() != nil {
		return nil, emoney.FieldError("expression", "%s", strings.TrimSpace(iss.Err().Error()))
	}
	if !ast.OutputType().IsExactType(types.BoolType) {
		return nil, emoney.FieldError("expression", "the expression must be true or false (a bool), not %s", ast.OutputType())
	}
	est, err := env.EstimateCost(ast, zeroCost{})
	if err != nil {
		return nil, emoney.FieldError("expression", "the expression's cost cannot be estimated: %v", err)
	}
	if est.Max > CostLimit {
		return nil, emoney.FieldError("expression", "the expression may cost up to %d, over the limit of %d: make it simpler", est.Max, CostLimit)
	}
	// No cost tracking at run time: the estimate above bounds every evaluation already (the
	// variables are scalars), and tracking would cost each one.
	prg, err := env.Program(ast, cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		return nil, emoney.FieldError("expression", "%v", err)
	}
	return &Rule{RiskRule: r, prg: prg}, nil
}

// zeroCost is the cost estimator of Compile: no hints (variables are scalars), default costs.
type zeroCost struct{}

func (zeroCost) EstimateSize(cost.AstNode) *cost.SizeEstimate { return nil }
func (zeroCost) EstimateCallCost(string, string, *cost.AstNode, []cost.AstNode) *cost.CallEstimate {
	return nil
}

// fires evaluates the rule on v; an evaluation error (a division by zero, an overflow) is not
// firing.
func (r *Rule) fires(v *Vector) bool {
	out, _, err := r.prg.Eval(activation{v})
	if err != nil {
		return false
	}
	b, ok := out.(types.Bool)
	return ok && bool(b)
}

// RuleSet is an immutable set of compiled rules, in id order.
type RuleSet struct {
	rules []*Rule
}

// NewRuleSet compiles rules; the first that does not compile is the error, prefixed with its id.
// Ids must be unique.
func NewRuleSet(rules []emoney.RiskRule) (*RuleSet, error) {
	rs := &RuleSet{}
	seen := map[string]bool{}
	for _, r := range rules {
		if seen[r.ID] {
			return nil, emoney.FieldError("id", "rule %s is given twice", r.ID)
		}
		seen[r.ID] = true
		c, err := Compile(r)
		if err != nil {
			return nil, fmt.Errorf("rule %s: %w", r.ID, err)
		}
		rs.rules = append(rs.rules, c)
	}
	slices.SortFunc(rs.rules, func(a, b *Rule) int { return strings.Compare(a.ID, b.ID) })
	return rs, nil
}

// Rules returns the rules as stored, in id order.
func (s *RuleSet) Rules() []emoney.RiskRule {
	out := make([]emoney.RiskRule, len(s.rules))
	for i, r := range s.rules {
		out[i] = r.RiskRule
	}
	return out
}

// RulesFile is the rules file format (docs/risk.md "Rules files"): what `emoney backtest
// --rules` loads and DefaultRules ships.
type RulesFile struct {
	Version int         `json:"version"` // 1
	Rules   []RuleEntry `json:"rules"`
}

// RuleEntry is one rule of a rules file.
type RuleEntry struct {
	ID          string            `json:"id"`
	Description string            `json:"description"`
	Expression  string            `json:"expression"`
	Action      emoney.RiskAction `json:"action"`
	Weight      int               `json:"weight"`
	Mode        emoney.RuleMode   `json:"mode"` // enabled (default), shadow, disabled
}

// ParseRulesFile reads a rules file and compiles its rules. Unknown fields are refused, so a
// misspelt one is not silently ignored.
func ParseRulesFile(data []byte) (*RuleSet, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f RulesFile
	if err := dec.Decode(&f); err != nil {
		return nil, emoney.Errorf(emoney.EInvalid, "rules file: %v", err)
	}
	if f.Version != 1 {
		return nil, emoney.FieldError("version", "rules file version must be 1")
	}
	rules := make([]emoney.RiskRule, 0, len(f.Rules))
	for _, e := range f.Rules {
		if e.Mode == "" {
			e.Mode = emoney.RuleEnabled
		}
		rules = append(rules, emoney.RiskRule{ID: e.ID, Description: e.Description, Expression: e.Expression, Action: e.Action,
			Weight: e.Weight, Mode: e.Mode})
	}
	return NewRuleSet(rules)
}

//go:embed default_rules.json
var defaultRules []byte

// DefaultRules returns the shipped rule set (default_rules.json): the 2020 scheme and its
// variants (THREATS.md T1–T6, T13).
func DefaultRules() *RuleSet {
	rs, err := ParseRulesFile(defaultRules)
	if err != nil {
		panic(fmt.Sprintf("risk: the shipped rules do not compile: %v", err)) // a test keeps this from shipping
	}
	return rs
}
