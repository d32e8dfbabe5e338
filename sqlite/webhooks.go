package sqlite

import (
	"context"
	"strings"
	"time"

	"emoney"
	"emoney/internal/row"
)

// Webhook endpoints, the outbox cursor and deliveries. Writers serialise on SQLite's one write
// lock (BEGIN IMMEDIATE), so a claim cannot race another.

func (t *tx) PartnerByName(ctx context.Context, name string) (emoney.Partner, error) {
	return t.onePartner(ctx, `SELECT `+row.PartnerCols+` FROM partners WHERE name = ?`, name)
}

func (t *tx) SetPartnerWebhook(ctx context.Context, w emoney.PartnerWebhook) error {
	if _, err := t.onePartner(ctx, `SELECT `+row.PartnerCols+` FROM partners WHERE id = ?`, w.Partner.Bytes()); err != nil {
		return err
	}
	err := t.exec(ctx, `INSERT INTO partner_webhooks (`+row.PartnerWebhookCols+`) VALUES (?, ?, ?, ?)
		ON CONFLICT (partner_id) DO UPDATE SET url = excluded.url, secret_sealed = excluded.secret_sealed, updated_at = excluded.updated_at`,
		w.Partner.Bytes(), w.URL, w.SecretSealed, micros(w.UpdatedAt))
	return wrap("set partner webhook", err)
}

func (t *tx) PartnerWebhooks(ctx context.Context, partners []emoney.ID) ([]emoney.PartnerWebhook, error) {
	var out []emoney.PartnerWebhook
	err := each(len(partners), 256, func(lo, hi int) error {
		args := make([]any, 0, hi-lo)
		for _, id := range partners[lo:hi] {
			args = append(args, id.Bytes())
		}
		rows, err := t.query(ctx, `SELECT w.partner_id, w.url, w.secret_sealed, w.updated_at FROM partner_webhooks w
			JOIN partners p ON p.id = w.partner_id
			WHERE p.revoked_at IS NULL AND w.partner_id IN (`+strings.TrimSuffix(strings.Repeat("?,", hi-lo), ",")+`)`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var raw row.PartnerWebhook
			if err := rows.Scan(raw.Dest()...); err != nil {
				return err
			}
			w, err := raw.Decode()
			if err != nil {
				return err
			}
			out = append(out, w)
		}
		return rows.Err()
	})
	return out, wrap("partner webhooks", err)
}

func (t *tx) OutboxCursor(ctx context.Context, name string) (int64, error) {
	rows, err := t.query(ctx, `SELECT seq FROM outbox_cursors WHERE name = ?`, name)
	if err != nil {
		return 0, wrap("outbox cursor", err)
	}
	defer rows.Close()
	var seq int64
	if rows.Next() {
		if err := rows.Scan(&seq); err != nil {
			return 0, wrap("outbox cursor", err)
		}
	}
	return seq, wrap("outbox cursor", rows.Err())
}

// LockOutboxCursor needs no lock of its own: the write transaction holds the database's.
func (t *tx) LockOutboxCursor(ctx context.Context, name string) (int64, error) {
	if err := t.exec(ctx, `INSERT INTO outbox_cursors (name, seq) VALUES (?, 0) ON CONFLICT (name) DO NOTHING`, name); err != nil {
		return 0, wrap("lock outbox cursor", err)
	}
	return t.OutboxCursor(ctx, name)
}

func (t *tx) AdvanceOutboxCursor(ctx context.Context, name string, seq int64) error {
	return t.execOne(ctx, "advance outbox cursor", `UPDATE outbox_cursors SET seq = ? WHERE name = ?`, seq, name)
}

func (t *tx) CreateDeliveries(ctx context.Context, ds []emoney.Delivery) error {
	err := each(len(ds), 64, func(lo, hi int) error {
		args := make([]any, 0, 13*(hi-lo))
		for _, d := range ds[lo:hi] {
			args = append(args, d.ID.Bytes(), d.EventID, d.Partner.Bytes(), d.Type, d.Payload, string(emoney.DeliveryPending), 0,
				micros(d.NextAt), nil, 0, "", micros(d.CreatedAt), nil)
		}
		return t.exec(ctx, `INSERT INTO webhook_deliveries (`+row.DeliveryCols+`) VALUES `+placeholders(hi-lo, 13)+
			` ON CONFLICT (event_id, partner_id) DO NOTHING`, args...)
	})
	return wrap("create deliveries", err)
}

func (t *tx) ClaimDeliveries(ctx context.Context, claim emoney.ID, now, until time.Time, limit int) ([]emoney.Delivery, error) {
	due, err := t.deliveries(ctx, `SELECT `+row.DeliveryCols+` FROM webhook_deliveries
		WHERE status = 'pending' AND next_at <= ? ORDER BY next_at, id LIMIT ?`, micros(now), limit)
	if err != nil || len(due) == 0 {
		return nil, err
	}
	for i := range due {
		if err := t.exec(ctx, `UPDATE webhook_deliveries SET claim = ?, next_at = ? WHERE id = ?`, claim.Bytes(), micros(until), due[i].ID.Bytes()); err != nil {
			return nil, wrap("claim deliveries", err)
		}
		due[i].Claim, due[i].NextAt = claim, until.UTC().Truncate(time.Microsecond)
	}
	return due, nil
}

func (t *tx) RecordDelivery(ctx context.Context, o emoney.DeliveryOutcome) error {
	next := o.NextAt
	if o.Status != emoney.DeliveryPending {
		next = o.At
	}
	var delivered any
	if o.Status == emoney.DeliveryDelivered {
		delivered = micros(o.At)
	}
	err := t.execOne(ctx, "record delivery", `UPDATE webhook_deliveries SET status = ?, attempts = attempts + 1, next_at = ?, claim = NULL,
		last_status = ?, last_error = ?, delivered_at = ? WHERE id = ? AND claim = ? AND status = 'pending'`,
		string(o.Status), micros(next), o.LastStatus, o.LastError, delivered, o.ID.Bytes(), o.Claim.Bytes())
	if emoney.ErrorCode(err) != emoney.ENotFound {
		return err
	}
	if _, err := t.Delivery(ctx, o.ID); err != nil {
		return err
	}
	return emoney.Errorf(emoney.EConflict, "the delivery is no longer held by this claim")
}

func (t *tx) Delivery(ctx context.Context, id emoney.ID) (emoney.Delivery, error) {
	ds, err := t.deliveries(ctx, `SELECT `+row.DeliveryCols+` FROM webhook_deliveries WHERE id = ?`, id.Bytes())
	if err != nil {
		return emoney.Delivery{}, err
	}
	if len(ds) == 0 {
		return emoney.Delivery{}, emoney.Errorf(emoney.ENotFound, "delivery not found")
	}
	return ds[0], nil
}

func (t *tx) NextDeliveryAt(ctx context.Context) (time.Time, error) {
	rows, err := t.query(ctx, `SELECT min(next_at) FROM webhook_deliveries WHERE status = 'pending'`)
	if err != nil {
		return time.Time{}, wrap("next delivery", err)
	}
	defer rows.Close()
	var next *int64
	if rows.Next() {
		if err := rows.Scan(&next); err != nil {
			return time.Time{}, wrap("next delivery", err)
		}
	}
	if err := rows.Err(); err != nil || next == nil {
		return time.Time{}, wrap("next delivery", err)
	}
	return fromMicros(*next), nil
}

func (t *tx) DeliveryCounts(ctx context.Context) (map[emoney.DeliveryStatus]int64, error) {
	rows, err := t.query(ctx, `SELECT status, count(*) FROM webhook_deliveries GROUP BY status`)
	if err != nil {
		return nil, wrap("delivery counts", err)
	}
	defer rows.Close()
	out := map[emoney.DeliveryStatus]int64{}
	for rows.Next() {
		var s string
		var n int64
		if err := rows.Scan(&s, &n); err != nil {
			return nil, wrap("delivery counts", err)
		}
		out[emoney.DeliveryStatus(s)] = n
	}
	return out, wrap("delivery counts", rows.Err())
}

func (t *tx) deliveries(ctx context.Context, q string, args ...any) ([]emoney.Delivery, error) {
	rows, err := t.query(ctx, q, args...)
	if err != nil {
		return nil, wrap("deliveries", err)
	}
	defer rows.Close()
	var out []emoney.Delivery
	for rows.Next() {
		var raw row.Delivery
		if err := rows.Scan(raw.Dest()...); err != nil {
			return nil, wrap("deliveries", err)
		}
		d, err := raw.Decode()
		if err != nil {
			return nil, wrap("deliveries", err)
		}
		out = append(out, d)
	}
	return out, wrap("deliveries", rows.Err())
}
