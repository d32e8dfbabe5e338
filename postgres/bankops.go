package postgres

import (
	"context"
	"time"

	"emoney"
)

func (t *tx) PendingHolds(ctx context.Context, kind emoney.HoldKind, olderThan time.Time, limit int) ([]emoney.Transfer, error) {
	if !kind.Valid() {
		return nil, emoney.FieldError("kind", "unknown hold kind %q", kind)
	}
	// The kind is one of a few constants: written into the query as a literal so that the
	// partial index on it (0012_bank_ops.sql) applies.
	return t.transfers(ctx, "pending holds", `SELECT `+transferCols+` FROM transfers p
		WHERE p.hold = '`+string(kind)+`' AND p.kind = 'pending' AND p.created_at <= $1
		AND NOT EXISTS (SELECT 1 FROM transfers r WHERE r.pending_id = p.id)
		ORDER BY p.created_at, p.id LIMIT $2`, micros(olderThan), limit)
}
