package emoney

import (
	"strings"
	"time"
	"unicode/utf8"
)

// RiskAction is what a risk rule asks for when it fires, and the outcome of a decision: the
// most severe action among the rules that fired (allow < challenge < review < block).
type RiskAction string

const (
	RiskAllow     RiskAction = "allow"     // go ahead
	RiskChallenge RiskAction = "challenge" // step up (TOTP or passkey) bound to this operation, then retry
	RiskReview    RiskAction = "review"    // hold the money (a pending transfer) and raise an alert for staff
	RiskBlock     RiskAction = "block"     // refuse (declined, with the rule as the reason)
)

// Severity orders actions: allow 0, challenge 1, review 2, block 3; anything else -1.
func (a RiskAction) Severity() int {
	switch a {
	case RiskAllow:
		return 0
	case RiskChallenge:
		return 1
	case RiskReview:
		return 2
	case RiskBlock:
		return 3
	}
	return -1
}

// RuleMode says whether a rule decides (enabled), is only recorded (shadow) or is not run
// (disabled).
type RuleMode string

const (
	RuleEnabled  RuleMode = "enabled"
	RuleShadow   RuleMode = "shadow"
	RuleDisabled RuleMode = "disabled"
)

// RiskRule is one rule of the risk engine: a CEL expression over the engine's variables
// (docs/risk.md) that, when true, asks for Action and adds Weight to the decision's score.
// Rules change at runtime through the staff API, audited; Version counts the changes, so a
// change made against an old version is refused (conflict).
type RiskRule struct {
	ID          string // a-z, 0-9, '-', '_', '.'; 1 to 64
	Description string
	Expression  string
	Action      RiskAction
	Weight      int // 0 to 100
	Mode        RuleMode
	Version     int64 // 0: never stored; each change adds one
	UpdatedAt   time.Time
	UpdatedBy   string
}

// Validate checks what can be checked without compiling the expression (package risk compiles
// it). Errors: invalid, naming the field.
func (r RiskRule) Validate() error {
	switch {
	case !validRuleID(r.ID):
		return FieldError("id", "a rule id is 1 to 64 of a-z, 0-9, '-', '_', '.'")
	case utf8.RuneCountInString(r.Description) > 500 || !utf8.ValidString(r.Description):
		return FieldError("description", "a description is at most 500 characters of UTF-8")
	case strings.TrimSpace(r.Expression) == "" || len(r.Expression) > 4000:
		return FieldError("expression", "an expression is 1 to 4000 bytes")
	case r.Action.Severity() < 1:
		return FieldError("action", "action must be challenge, review or block")
	case r.Weight < 0 || r.Weight > 100:
		return FieldError("weight", "weight must be between 0 and 100")
	case r.Mode != RuleEnabled && r.Mode != RuleShadow && r.Mode != RuleDisabled:
		return FieldError("mode", "mode must be enabled, shadow or disabled")
	}
	return nil
}

func validRuleID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// Decision is the risk engine's judgement of one event, as recorded.
type Decision struct {
	ID      ID
	Event   string // the event's id (a request id, or the event log's id)
	Type    string // the event type (specs/events.md)
	Wallet  string // the acting wallet ("" for none)
	Amount  int64
	Outcome RiskAction
	Score   int      // 0 to 100
	Rules   []string // enabled rules that fired
	Shadow  []string // shadow rules that fired
	// Inputs are the variables the rules saw (name → value), as JSON.
	Inputs []byte
	// EventData is the event as the engine saw it, a line of an event log (specs/events.md;
	// opaque keys only): what rebuilds the engine's features at start.
	EventData []byte
	LatencyUS int64 // microseconds the decision took
	At        time.Time
}
