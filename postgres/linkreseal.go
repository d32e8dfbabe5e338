package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"emoney"
	"emoney/internal/row"
)

// Reconciliation and key rotation of bank links (migration 0023).

func (t *tx) LinkOpsCreated(ctx context.Context, from, to time.Time) ([]emoney.LinkOp, error) {
	rows, err := t.tx.Query(ctx, `SELECT `+row.LinkOpCols+` FROM link_ops
		WHERE transfer_id IS NOT NULL AND created_at >= $1 AND created_at < $2
		ORDER BY created_at, principal, idem_key`, from.UnixMicro(), to.UnixMicro())
	if err != nil {
		return nil, wrap("link operations", err)
	}
	out, err := collect(rows, func(r pgx.Row) (emoney.LinkOp, error) {
		var raw row.LinkOp
		if err := r.Scan(raw.Dest()...); err != nil {
			return emoney.LinkOp{}, err
		}
		return raw.Decode()
	})
	return out, wrap("link operations", err)
}

func (t *tx) LinksAfter(ctx context.Context, after emoney.ID, limit int) ([]emoney.BankLink, error) {
	return t.links(ctx, `SELECT `+row.LinkCols+` FROM links WHERE id > $1 ORDER BY id LIMIT $2`, after[:], limit)
}

func (t *tx) LinkFlowsAfter(ctx context.Context, after []byte, limit int) ([]emoney.LinkFlow, error) {
	if after == nil {
		after = []byte{}
	}
	rows, err := t.tx.Query(ctx, `SELECT `+row.LinkFlowCols+` FROM link_flows WHERE state_hash > $1 ORDER BY state_hash LIMIT $2`, after, limit)
	if err != nil {
		return nil, wrap("link flows", err)
	}
	out, err := collect(rows, func(r pgx.Row) (emoney.LinkFlow, error) {
		var raw row.LinkFlow
		if err := r.Scan(raw.Dest()...); err != nil {
			return emoney.LinkFlow{}, err
		}
		return raw.Decode()
	})
	return out, wrap("link flows", err)
}

func (t *tx) ResealLink(ctx context.Context, id emoney.ID, account, holder, tokens []byte) error {
	return t.execOne(ctx, "reseal bank link", `UPDATE links SET account_sealed = $1, holder_sealed = $2, tokens_sealed = $3 WHERE id = $4`,
		account, holder, tokens, id.Bytes())
}

func (t *tx) ResealLinkFlow(ctx context.Context, stateHash, sealed []byte) error {
	return t.execOne(ctx, "reseal link flow", `UPDATE link_flows SET sealed = $1 WHERE state_hash = $2`, sealed, stateHash)
}
