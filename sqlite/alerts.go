package sqlite

import (
	"context"
	"time"

	"emoney"
	"emoney/internal/row"
)

func (t *tx) CreateAlert(ctx context.Context, a emoney.Alert) error {
	err := t.exec(ctx, `INSERT INTO alerts (`+row.AlertCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL, NULL, NULL)`,
		a.ID.Bytes(), a.Kind, a.Subject, a.Transfer.Bytes(), a.Reason, string(emoney.AlertOpen), micros(a.CreatedAt))
	return wrap("create alert", err)
}

func (t *tx) ResolveAlert(ctx context.Context, id emoney.ID, status emoney.AlertStatus, by string, at time.Time) error {
	err := t.execOne(ctx, "resolve alert", `UPDATE alerts SET status = ?, resolved_at = ?, resolved_by = ? WHERE id = ? AND status = 'open'`,
		string(status), micros(at), by, id.Bytes())
	if emoney.ErrorCode(err) != emoney.ENotFound {
		return err
	}
	if _, err := t.Alert(ctx, id); err != nil {
		return err
	}
	return emoney.Errorf(emoney.EConflict, "the alert is resolved already")
}

func (t *tx) OrphanHolds(ctx context.Context, limit int) ([]emoney.Transfer, error) {
	return t.transfers(ctx, "orphan holds", `SELECT `+transferCols+` FROM transfers p
		WHERE p.hold = 'review' AND p.kind = 'pending'
		AND NOT EXISTS (SELECT 1 FROM transfers r WHERE r.pending_id = p.id)
		AND NOT EXISTS (SELECT 1 FROM alerts a WHERE a.id = p.id)
		ORDER BY p.id LIMIT ?`, limit)
}

func (t *tx) UnsettledDecisions(ctx context.Context, limit int) ([]emoney.Alert, error) {
	return t.alerts(ctx, `SELECT `+row.AlertCols+` FROM alerts a WHERE a.status IN ('released', 'rejected')
		AND a.transfer_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM transfers r WHERE r.pending_id = a.transfer_id)
		ORDER BY a.id LIMIT ?`, limit)
}

func (t *tx) Alert(ctx context.Context, id emoney.ID) (emoney.Alert, error) {
	as, err := t.alerts(ctx, `SELECT `+row.AlertCols+` FROM alerts WHERE id = ?`, id.Bytes())
	if err != nil {
		return emoney.Alert{}, err
	}
	if len(as) == 0 {
		return emoney.Alert{}, emoney.Errorf(emoney.ENotFound, "alert not found")
	}
	return as[0], nil
}

func (t *tx) Alerts(ctx context.Context, status emoney.AlertStatus, after emoney.ID, limit int) ([]emoney.Alert, error) {
	return t.alerts(ctx, `SELECT `+row.AlertCols+` FROM alerts WHERE status = ? AND id > ? ORDER BY id LIMIT ?`, string(status), after[:], limit)
}

func (t *tx) alerts(ctx context.Context, q string, args ...any) ([]emoney.Alert, error) {
	rows, err := t.query(ctx, q, args...)
	if err != nil {
		return nil, wrap("alerts", err)
	}
	defer rows.Close()
	var out []emoney.Alert
	for rows.Next() {
		var raw row.Alert
		if err := rows.Scan(raw.Dest()...); err != nil {
			return nil, wrap("alerts", err)
		}
		a, err := raw.Decode()
		if err != nil {
			return nil, wrap("alerts", err)
		}
		out = append(out, a)
	}
	return out, wrap("alerts", rows.Err())
}
