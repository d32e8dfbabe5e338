package postgres

import (
	"context"

	"emoney"
	"emoney/internal/row"
)

// One bank account across its links (issue 6): the cooling-off of an account is the account's,
// not one link's, so that unlinking and linking it again starts nothing afresh.

func (t *tx) LinksByAccount(ctx context.Context, index []byte) ([]emoney.BankLink, error) {
	return t.links(ctx, `SELECT `+row.LinkCols+` FROM links WHERE account_index = $1 ORDER BY id DESC`, index)
}

func (t *tx) AccountLinkUsage(ctx context.Context, index []byte, kind string, day int32) (int64, error) {
	var sum int64
	err := t.tx.QueryRow(ctx, `SELECT COALESCE(SUM(o.amount), 0)::bigint FROM link_ops o
		WHERE o.link_id IN (SELECT l.id FROM links l WHERE l.account_index = $1) AND o.kind = $2 AND o.day = $3
		AND NOT EXISTS (SELECT 1 FROM transfers v WHERE v.pending_id = o.transfer_id AND v.kind = 'void')`,
		index, kind, int64(day)).Scan(&sum)
	return sum, wrap("bank account usage", err)
}
