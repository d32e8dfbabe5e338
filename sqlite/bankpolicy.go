package sqlite

import (
	"context"

	"emoney"
	"emoney/internal/row"
)

// Bank policies (migration 0015). A save checks the version in its UPDATE's WHERE, under the
// database's one write lock.

func (t *tx) BankPolicy(ctx context.Context, code string) (emoney.BankPolicy, error) {
	ps, err := t.bankPolicies(ctx, `SELECT `+row.BankPolicyCols+` FROM bank_policies WHERE bank = ?`, code)
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
	rows, err := t.query(ctx, q, args...)
	if err != nil {
		return nil, wrap("bank policies", err)
	}
	defer rows.Close()
	var out []emoney.BankPolicy
	for rows.Next() {
		var raw row.BankPolicy
		if err := rows.Scan(raw.Dest()...); err != nil {
			return nil, wrap("bank policies", err)
		}
		p, err := raw.Decode()
		if err != nil {
			return nil, wrap("bank policies", err)
		}
		out = append(out, p)
	}
	return out, wrap("bank policies", rows.Err())
}

func (t *tx) SaveBankPolicy(ctx context.Context, p emoney.BankPolicy) error {
	if p.Version < 1 {
		return emoney.Errorf(emoney.EInvalid, "a bank policy's version starts at 1")
	}
	args := row.BankPolicyArgs(p)
	var err error
	if p.Version == 1 {
		err = t.execOne(ctx, "save bank policy", `INSERT INTO bank_policies (`+row.BankPolicyCols+`) VALUES `+
			placeholders(1, row.BankPolicyColumns)+` ON CONFLICT (bank) DO NOTHING`, args...)
	} else {
		err = t.execOne(ctx, "save bank policy", `UPDATE bank_policies SET (`+row.BankPolicyCols+`) = `+
			placeholders(1, row.BankPolicyColumns)+` WHERE bank = ? AND version = ?`, append(args, p.Bank, p.Version-1)...)
	}
	if emoney.ErrorCode(err) == emoney.ENotFound {
		return emoney.Errorf(emoney.EConflict, "the policy of bank %s was changed meanwhile: read it again", p.Bank)
	}
	return err
}
