package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"emoney"
	"emoney/internal/row"
)

// The risk engine's rules and decisions (migration 0024). A rule's save checks the version in
// its UPDATE's WHERE: the row lock the UPDATE takes makes a concurrent save of the same version
// wait, then find it moved on.

func (t *tx) RiskRules(ctx context.Context) ([]emoney.RiskRule, error) {
	rows, err := t.tx.Query(ctx, `SELECT `+row.RiskRuleCols+` FROM risk_rules ORDER BY id COLLATE "C"`)
	if err != nil {
		return nil, wrap("risk rules", err)
	}
	out, err := collect(rows, func(r pgx.Row) (emoney.RiskRule, error) {
		var raw row.RiskRule
		if err := r.Scan(raw.Dest()...); err != nil {
			return emoney.RiskRule{}, err
		}
		return raw.Decode()
	})
	return out, wrap("risk rules", err)
}

// params returns "($1, …, $n)" rows times, numbered on from first.
func params(rows, cols, first int) string {
	var b strings.Builder
	for r := 0; r < rows; r++ {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for c := 0; c < cols; c++ {
			if c > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "$%d", first+r*cols+c)
		}
		b.WriteByte(')')
	}
	return b.String()
}

func (t *tx) SaveRiskRule(ctx context.Context, r emoney.RiskRule, expected int64) error {
	r.Version = expected + 1
	args := row.RiskRuleArgs(r)
	if expected == 0 {
		tag, err := t.tx.Exec(ctx, `INSERT INTO risk_rules (`+row.RiskRuleCols+`) VALUES `+params(1, row.RiskRuleColumns, 1)+
			` ON CONFLICT (id) DO NOTHING`, args...)
		if err != nil {
			return wrap("save risk rule", err)
		}
		if tag.RowsAffected() == 0 {
			return emoney.Errorf(emoney.EConflict, "a rule %s exists already", r.ID)
		}
		return nil
	}
	n := row.RiskRuleColumns
	tag, err := t.tx.Exec(ctx, fmt.Sprintf(`UPDATE risk_rules SET (%s) = %s WHERE id = $%d AND version = $%d`,
		row.RiskRuleCols, params(1, n, 1), n+1, n+2), append(args, r.ID, expected)...)
	if err != nil {
		return wrap("save risk rule", err)
	}
	if tag.RowsAffected() == 0 {
		var one int
		err := t.tx.QueryRow(ctx, `SELECT 1 FROM risk_rules WHERE id = $1`, r.ID).Scan(&one)
		if err == pgx.ErrNoRows {
			return emoney.Errorf(emoney.ENotFound, "no rule %s", r.ID)
		}
		if err != nil {
			return wrap("save risk rule", err)
		}
		return emoney.Errorf(emoney.EConflict, "rule %s was changed meanwhile: read it again", r.ID)
	}
	return nil
}

func (t *tx) SaveDecisions(ctx context.Context, ds []emoney.Decision) error {
	for len(ds) > 0 {
		n := min(len(ds), 256)
		args := make([]any, 0, n*row.DecisionColumns)
		for _, d := range ds[:n] {
			args = append(args, row.DecisionArgs(d)...)
		}
		if _, err := t.tx.Exec(ctx, `INSERT INTO risk_decisions (`+row.DecisionCols+`) VALUES `+params(n, row.DecisionColumns, 1)+
			` ON CONFLICT (id) DO NOTHING`, args...); err != nil {
			return wrap("save risk decisions", err)
		}
		ds = ds[n:]
	}
	return nil
}

func (t *tx) Decision(ctx context.Context, id emoney.ID) (emoney.Decision, error) {
	ds, err := t.decisions(ctx, `SELECT `+row.DecisionCols+` FROM risk_decisions WHERE id = $1`, id.Bytes())
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
		return t.decisions(ctx, `SELECT `+row.DecisionCols+` FROM risk_decisions WHERE wallet = $1 AND id > $2 AND at >= $3
			ORDER BY id LIMIT $4`, wallet, after[:], since.UnixMicro(), limit)
	}
	return t.decisions(ctx, `SELECT `+row.DecisionCols+` FROM risk_decisions WHERE id > $1 AND at >= $2
		ORDER BY id LIMIT $3`, after[:], since.UnixMicro(), limit)
}

func (t *tx) decisions(ctx context.Context, q string, args ...any) ([]emoney.Decision, error) {
	rows, err := t.tx.Query(ctx, q, args...)
	if err != nil {
		return nil, wrap("risk decisions", err)
	}
	out, err := collect(rows, func(r pgx.Row) (emoney.Decision, error) {
		var raw row.Decision
		if err := r.Scan(raw.Dest()...); err != nil {
			return emoney.Decision{}, err
		}
		return raw.Decode()
	})
	return out, wrap("risk decisions", err)
}
