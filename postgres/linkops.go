package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"emoney"
	"emoney/internal/row"
)

// Top-ups and withdrawals through bank links (migration 0017). LockLink takes the link's row
// FOR UPDATE: of two transactions checking one link's usage, the second waits until the first
// commits its operation, and then counts it.

func (t *tx) LinkOp(ctx context.Context, principal, key string) (emoney.LinkOp, error) {
	return t.linkOp(ctx, `SELECT `+row.LinkOpCols+` FROM link_ops WHERE principal = $1 AND idem_key = $2`, principal, key)
}

func (t *tx) LinkOpByTransfer(ctx context.Context, transfer emoney.ID) (emoney.LinkOp, error) {
	return t.linkOp(ctx, `SELECT `+row.LinkOpCols+` FROM link_ops WHERE transfer_id = $1`, transfer.Bytes())
}

func (t *tx) linkOp(ctx context.Context, q string, args ...any) (emoney.LinkOp, error) {
	var raw row.LinkOp
	err := t.tx.QueryRow(ctx, q, args...).Scan(raw.Dest()...)
	if errors.Is(err, pgx.ErrNoRows) {
		return emoney.LinkOp{}, emoney.Errorf(emoney.ENotFound, "no such link operation")
	}
	if err != nil {
		return emoney.LinkOp{}, wrap("link operation", err)
	}
	op, err := raw.Decode()
	return op, wrap("link operation", err)
}

func (t *tx) LinkUsage(ctx context.Context, link emoney.ID, kind string, day int32) (int64, error) {
	var sum int64
	err := t.tx.QueryRow(ctx, `SELECT COALESCE(SUM(o.amount), 0)::bigint FROM link_ops o
		WHERE o.link_id = $1 AND o.kind = $2 AND o.day = $3
		AND NOT EXISTS (SELECT 1 FROM transfers v WHERE v.pending_id = o.transfer_id AND v.kind = 'void')`,
		link.Bytes(), kind, int64(day)).Scan(&sum)
	return sum, wrap("link usage", err)
}

func (t *tx) LockLink(ctx context.Context, id emoney.ID) error {
	var one int
	err := t.tx.QueryRow(ctx, `SELECT 1 FROM links WHERE id = $1 FOR UPDATE`, id.Bytes()).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return emoney.Errorf(emoney.ENotFound, "no such bank link")
	}
	return wrap("lock bank link", err)
}

func (t *tx) CreateLinkOp(ctx context.Context, op emoney.LinkOp) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO link_ops (`+row.LinkOpCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, row.LinkOpArgs(op)...)
	return wrap("link operation", err)
}

func (t *tx) BindLinkOp(ctx context.Context, principal, key string, transfer emoney.ID) error {
	return t.execOne(ctx, "bind link operation", `UPDATE link_ops SET transfer_id = $1 WHERE principal = $2 AND idem_key = $3
		AND (transfer_id IS NULL OR transfer_id = $1)`, transfer.Bytes(), principal, key)
}

func (t *tx) SaveLinkTokens(ctx context.Context, id emoney.ID, sealed []byte) error {
	return t.execOne(ctx, "save bank link tokens", `UPDATE links SET tokens_sealed = $1 WHERE id = $2`, sealed, id.Bytes())
}

func (t *tx) SetLinkStatus(ctx context.Context, id emoney.ID, from, to emoney.LinkStatus) error {
	return t.execOne(ctx, "set bank link status", `UPDATE links SET status = $1 WHERE id = $2 AND status = $3`, string(to), id.Bytes(), string(from))
}
