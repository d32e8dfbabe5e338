package risk

import (
	"context"
	"encoding/json"
	"time"

	"emoney"
	"emoney/audit"
)

// SaveRule compiles r and stores it as the next version of its rule: expected 0 creates it,
// otherwise it replaces version expected. The change is audited ("risk.rule_created" or
// "risk.rule_changed", with the rule before and after, who and why) in the same transaction, and
// in force on this instance for the next decision (on others within their refresh period).
// Errors: invalid (with the compiler's message in expression), conflict (the id is taken, or
// the rule changed meanwhile), not_found, internal.
func (e *Engine) SaveRule(ctx context.Context, r emoney.RiskRule, expected int64, actor, why string) (emoney.RiskRule, error) {
	if e.cfg.Store == nil {
		return emoney.RiskRule{}, emoney.Errorf(emoney.EInternal, "risk: rules are not stored here")
	}
	if _, err := Compile(r); err != nil {
		return emoney.RiskRule{}, err
	}
	now := e.cfg.Now().UTC().Truncate(time.Microsecond)
	r.UpdatedAt, r.UpdatedBy, r.Version = now, actor, expected+1
	err := e.cfg.Store.Update(ctx, func(tx emoney.Tx) error {
		var before *emoney.RiskRule
		stored, err := tx.RiskRules(ctx)
		if err != nil {
			return err
		}
		for i := range stored {
			if stored[i].ID == r.ID {
				before = &stored[i]
			}
		}
		if err := tx.SaveRiskRule(ctx, r, expected); err != nil {
			return err
		}
		action := "risk.rule_changed"
		if expected == 0 {
			action = "risk.rule_created"
		}
		detail, err := json.Marshal(map[string]any{"before": before, "after": r, "why": why})
		if err != nil {
			return err
		}
		_, err = audit.Append(ctx, tx, emoney.AuditEntry{At: now, Actor: actor, Action: action, Object: "risk_rule:" + r.ID, Detail: detail})
		return err
	})
	if err != nil {
		return emoney.RiskRule{}, err
	}
	return r, e.Refresh(ctx)
}

// Decision returns one recorded decision (not_found if there is none).
func (e *Engine) Decision(ctx context.Context, id emoney.ID) (d emoney.Decision, err error) {
	if e.cfg.Store == nil {
		return d, emoney.Errorf(emoney.ENotFound, "no such decision")
	}
	err = e.cfg.Store.View(ctx, func(tx emoney.ReadTx) error {
		d, err = tx.Decision(ctx, id)
		return err
	})
	return d, err
}

// Decisions returns up to limit decisions about wallet, oldest first, after the given id.
func (e *Engine) Decisions(ctx context.Context, wallet string, after emoney.ID, limit int) (ds []emoney.Decision, err error) {
	if e.cfg.Store == nil {
		return nil, nil
	}
	err = e.cfg.Store.View(ctx, func(tx emoney.ReadTx) error {
		ds, err = tx.Decisions(ctx, wallet, time.Time{}, after, limit)
		return err
	})
	return ds, err
}
