package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"emoney"
	"emoney/internal/row"
)

// Bank policies (migration 0015). A save checks the version in its UPDATE's WHERE: the row lock
// the UPDATE takes makes a concurrent save of the same version wait, then find it moved on.

func (t *tx) BankPolicy(ctx context.Context, code string) (emoney.BankPolicy, error) {
	ps, err := t.bankPolicies(ctx, `SELECT `+row.BankPolicyCols+` FROM bank_policies WHERE bank = $1`, code)
	if err != nil {
		return emoney.BankPolicy{}, err
	}
	if len(ps) == 0 {
		return emoney.BankPolicy{}, emoney.Errorf(emoney.ENotFound, "bank %s has no stored policy", code)
	}
	return ps[0], nil
}

func (t *tx) BankPolicies(ctx context.Context) ([]emoney.BankPolicy, error) {
	return t.bankPolicies(ctx, `SELECT `+row.BankPolicyCols+` FROM bank_policies ORDER BY bank`)
}

func (t *tx) bankPolicies(ctx context.Context, q string, args ...any) ([]emoney.BankPolicy, error) {
	rows, err := t.tx.Query(ctx, q, args...)
	if err != nil {
		return nil, wrap("bank policies", err)
	}
	out, err := collect(rows, func(r pgx.Row) (emoney.BankPolicy, error) {
		var raw row.BankPolicy
		if err := r.Scan(raw.Dest()...); err != nil {
			return emoney.BankPolicy{}, err
		}
		return raw.Decode()
	})
	return out, wrap("bank policies", err)
}

// bankPolicyParams is "$1, $2, …" for one row of bank_policies.
var bankPolicyParams = func() string {
	ps := make([]string, row.BankPolicyColumns)
	for i := range ps {
		ps[i] = fmt.Sprintf("$%d", i+1)
	}
	return strings.Join(ps, ", ")
}()

func (t *tx) SaveBankPolicy(ctx context.Context, p emoney.BankPolicy) error {
	if p.Version < 1 {
		return emoney.Errorf(emoney.EInvalid, "a bank policy's version starts at 1")
	}
	args := row.BankPolicyArgs(p)
	var q string
	if p.Version == 1 {
		q = `INSERT INTO bank_policies (` + row.BankPolicyCols + `) VALUES (` + bankPolicyParams + `) ON CONFLICT (bank) DO NOTHING`
	} else {
		n := row.BankPolicyColumns
		q = fmt.Sprintf(`UPDATE bank_policies SET (%s) = (%s) WHERE bank = $%d AND version = $%d`, row.BankPolicyCols, bankPolicyParams, n+1, n+2)
		args = append(args, p.Bank, p.Version-1)
	}
	tag, err := t.tx.Exec(ctx, q, args...)
	if err != nil {
		return wrap("save bank policy", err)
	}
	if tag.RowsAffected() == 0 {
		return emoney.Errorf(emoney.EConflict, "the policy of bank %s was changed meanwhile: read it again", p.Bank)
	}
	return nil
}
