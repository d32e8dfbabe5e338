package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"emoney"
	"emoney/internal/row"
)

// Top-ups and withdrawals through bank links (migration 0017). LockLink needs no row lock here:
// the write transaction began IMMEDIATE, so it holds the database's one write lock, and reads
// of a link's usage and the insert they allow cannot interleave with another writer's.

func (t *tx) LinkOp(ctx context.Context, principal, key string) (emoney.LinkOp, error) {
	return t.linkOp(ctx, `SELECT `+row.LinkOpCols+` FROM link_ops WHERE principal = ? AND idem_key = ?`, principal, key)
}

func (t *tx) LinkOpByTransfer(ctx context.Context, transfer emoney.ID) (emoney.LinkOp, error) {
	return t.linkOp(ctx, `SELECT `+row.LinkOpCols+` FROM link_ops WHERE transfer_id = ?`, transfer.Bytes())
}

func (t *tx) linkOp(ctx context.Context, q string, args ...any) (emoney.LinkOp, error) {
	rows, err := t.query(ctx, q, args...)
	if err != nil {
		return emoney.LinkOp{}, wrap("link operation", err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return emoney.LinkOp{}, wrap("link operation", err)
		}
		return emoney.LinkOp{}, emoney.Errorf(emoney.ENotFound, "no such link operation")
	}
	var raw row.LinkOp
	if err := rows.Scan(raw.Dest()...); err != nil {
		return emoney.LinkOp{}, wrap("link operation", err)
	}
	op, err := raw.Decode()
	return op, wrap("link operation", err)
}

func (t *tx) LinkUsage(ctx context.Context, link emoney.ID, kind string, day int32) (int64, error) {
	rows, err := t.query(ctx, `SELECT COALESCE(SUM(o.amount), 0) FROM link_ops o
		WHERE o.link_id = ? AND o.kind = ? AND o.day = ?
		AND NOT EXISTS (SELECT 1 FROM transfers v WHERE v.pending_id = o.transfer_id AND v.kind = 'void')`,
		link.Bytes(), kind, int64(day))
	if err != nil {
		return 0, wrap("link usage", err)
	}
	defer rows.Close()
	var sum int64
	if rows.Next() {
		if err := rows.Scan(&sum); err != nil {
			return 0, wrap("link usage", err)
		}
	}
	return sum, wrap("link usage", rows.Err())
}

func (t *tx) LockLink(ctx context.Context, id emoney.ID) error {
	rows, err := t.query(ctx, `SELECT 1 FROM links WHERE id = ?`, id.Bytes())
	if err != nil {
		return wrap("lock bank link", err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return wrap("lock bank link", err)
		}
		return emoney.Errorf(emoney.ENotFound, "no such bank link")
	}
	return nil
}

func (t *tx) CreateLinkOp(ctx context.Context, op emoney.LinkOp) error {
	return wrap("link operation", t.exec(ctx, `INSERT INTO link_ops (`+row.LinkOpCols+`) VALUES `+placeholders(1, row.LinkOpColumns), row.LinkOpArgs(op)...))
}

func (t *tx) BindLinkOp(ctx context.Context, principal, key string, transfer emoney.ID) error {
	return t.execOne(ctx, "bind link operation", `UPDATE link_ops SET transfer_id = ? WHERE principal = ? AND idem_key = ?
		AND (transfer_id IS NULL OR transfer_id = ?)`, transfer.Bytes(), principal, key, transfer.Bytes())
}

func (t *tx) SaveLinkTokens(ctx context.Context, id emoney.ID, sealed []byte) error {
	return t.execOne(ctx, "save bank link tokens", `UPDATE links SET tokens_sealed = ? WHERE id = ?`, sealed, id.Bytes())
}

func (t *tx) SetLinkStatus(ctx context.Context, id emoney.ID, from, to emoney.LinkStatus) error {
	return t.execOne(ctx, "set bank link status", `UPDATE links SET status = ? WHERE id = ? AND status = ?`, string(to), id.Bytes(), string(from))
}
