package sqlite

import (
	"context"
	"time"

	"emoney"
	"emoney/internal/row"
)

// The risk engine's rules and decisions (migration 0024). A rule's save checks the version in
// its UPDATE's WHERE, under the database's one write lock.

func (t *tx) RiskRules(ctx context.Context) ([]emoney.RiskRule, error) {
	rows, err := t.query(ctx, `SELECT `+row.RiskRuleCols+` FROM risk_rules ORDER BY id`)
	if err != nil {
		return nil, wrap("risk rules", err)
	}
	defer rows.Close()
	var out []emoney.RiskRule
	for rows.Next() {
		var raw row.RiskRule
		if err := rows.Scan(raw.Dest()...); err != nil {
			return nil, wrap("risk rules", err)
		}
		r, err := raw.Decode()
		if err != nil {
			return nil, wrap("risk rules", err)
		}
		out = append(out, r)
	}
	return out, wrap("risk rules", rows.Err())
}

func (t *tx) SaveRiskRule(ctx context.Context, r emoney.RiskRule, expected int64) error {
	r.Version = expected + 1
	args := row.RiskRuleArgs(r)
	var err error
	if expected == 0 {
		err = t.execOne(ctx, "save risk rule", `INSERT INTO risk_rules (`+row.RiskRuleCols+`) VALUES `+
			placeholders(1, row.RiskRuleColumns)+` ON CONFLICT (id) DO NOTHING`, args...)
		if emoney.ErrorCode(err) == emoney.ENotFound {
			return emoney.Errorf(emoney.EConflict, "a rule %s exists already", r.ID)
		}
		return err
	}
	err = t.execOne(ctx, "save risk rule", `UPDATE risk_rules SET (`+row.RiskRuleCols+`) = `+
		placeholders(1, row.RiskRuleColumns)+` WHERE id = ? AND version = ?`, append(args, r.ID, expected)...)
	if emoney.ErrorCode(err) == emoney.ENotFound {
		// No row of that version: the rule is missing, or another version is stored.
		rows, qerr := t.query(ctx, `SELECT 1 FROM risk_rules WHERE id = ?`, r.ID)
		if qerr != nil {
			return wrap("save risk rule", qerr)
		}
		exists := rows.Next()
		rows.Close()
		if !exists {
			return emoney.Errorf(emoney.ENotFound, "no rule %s", r.ID)
		}
		return emoney.Errorf(emoney.EConflict, "rule %s was changed meanwhile: read it again", r.ID)
	}
	return err
}

func (t *tx) SaveDecisions(ctx context.Context, ds []emoney.Decision) error {
	for len(ds) > 0 {
		n := min(len(ds), 256)
		args := make([]any, 0, n*row.DecisionColumns)
		for _, d := range ds[:n] {
			args = append(args, row.DecisionArgs(d)...)
		}
		if err := t.exec(ctx, `INSERT INTO risk_decisions (`+row.DecisionCols+`) VALUES `+placeholders(n, row.DecisionColumns)+
			` ON CONFLICT (id) DO NOTHING`, args...); err != nil {
			return wrap("save risk decisions", err)
		}
		ds = ds[n:]
	}
	return nil
}

func (t *tx) Decision(ctx context.Context, id emoney.ID) (emoney.Decision, error) {
	ds, err := t.decisions(ctx, `SELECT `+row.DecisionCols+` FROM risk_decisions WHERE id = ?`, id.Bytes())
	if err != nil {
		return emoney.Decision{}, err
	}
	if len(ds) == 0 {
		return emoney.Decision{}, emoney.Errorf(emoney.ENotFound, "no such decision")
	}
	return ds[0], nil
}

func (t *tx) Decisions(ctx context.Context, wallet string, since time.Time, after emoney.ID, limit int) ([]emoney.Decision, error) {
	if wallet != "" {
		return t.decisions(ctx, `SELECT `+row.DecisionCols+` FROM risk_decisions WHERE wallet = ? AND id > ? AND at >= ?
			ORDER BY id LIMIT ?`, wallet, after[:], since.UnixMicro(), limit)
	}
	return t.decisions(ctx, `SELECT `+row.DecisionCols+` FROM risk_decisions WHERE id > ? AND at >= ?
		ORDER BY id LIMIT ?`, after[:], since.UnixMicro(), limit)
}

func (t *tx) decisions(ctx context.Context, q string, args ...any) ([]emoney.Decision, error) {
	rows, err := t.query(ctx, q, args...)
	if err != nil {
		return nil, wrap("risk decisions", err)
	}
	defer rows.Close()
	var out []emoney.Decision
	for rows.Next() {
		var raw row.Decision
		if err := rows.Scan(raw.Dest()...); err != nil {
			return nil, wrap("risk decisions", err)
		}
		d, err := raw.Decode()
		if err != nil {
			return nil, wrap("risk decisions", err)
		}
		out = append(out, d)
	}
	return out, wrap("risk decisions", rows.Err())
}
