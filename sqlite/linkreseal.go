package sqlite

import (
	"context"
	"time"

	"emoney"
	"emoney/internal/row"
)

// Reconciliation and key rotation of bank links (migration 0023).

func (t *tx) LinkOpsCreated(ctx context.Context, from, to time.Time) ([]emoney.LinkOp, error) {
	rows, err := t.query(ctx, `SELECT `+row.LinkOpCols+` FROM link_ops
		WHERE transfer_id IS NOT NULL AND created_at >= ? AND created_at < ?
		ORDER BY created_at, principal, idem_key`, from.UnixMicro(), to.UnixMicro())
	if err != nil {
		return nil, wrap("link operations", err)
	}
	defer rows.Close()
	var out []emoney.LinkOp
	for rows.Next() {
		var raw row.LinkOp
		if err := rows.Scan(raw.Dest()...); err != nil {
			return nil, wrap("link operations", err)
		}
		op, err := raw.Decode()
		if err != nil {
			return nil, wrap("link operations", err)
		}
		out = append(out, op)
	}
	return out, wrap("link operations", rows.Err())
}

func (t *tx) LinksAfter(ctx context.Context, after emoney.ID, limit int) ([]emoney.BankLink, error) {
	return t.links(ctx, `SELECT `+row.LinkCols+` FROM links WHERE id > ? ORDER BY id LIMIT ?`, after[:], limit)
}

func (t *tx) LinkFlowsAfter(ctx context.Context, after []byte, limit int) ([]emoney.LinkFlow, error) {
	if after == nil {
		after = []byte{}
	}
	rows, err := t.query(ctx, `SELECT `+row.LinkFlowCols+` FROM link_flows WHERE state_hash > ? ORDER BY state_hash LIMIT ?`, after, limit)
	if err != nil {
		return nil, wrap("link flows", err)
	}
	defer rows.Close()
	var out []emoney.LinkFlow
	for rows.Next() {
		var raw row.LinkFlow
		if err := rows.Scan(raw.Dest()...); err != nil {
			return nil, wrap("link flows", err)
		}
		f, err := raw.Decode()
		if err != nil {
			return nil, wrap("link flows", err)
		}
		out = append(out, f)
	}
	return out, wrap("link flows", rows.Err())
}

func (t *tx) ResealLink(ctx context.Context, id emoney.ID, account, holder, tokens []byte) error {
	return t.execOne(ctx, "reseal bank link", `UPDATE links SET account_sealed = ?, holder_sealed = ?, tokens_sealed = ? WHERE id = ?`,
		account, holder, tokens, id.Bytes())
}

func (t *tx) ResealLinkFlow(ctx context.Context, stateHash, sealed []byte) error {
	return t.execOne(ctx, "reseal link flow", `UPDATE link_flows SET sealed = ? WHERE state_hash = ?`, sealed, stateHash)
}
