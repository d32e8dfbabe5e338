package postgres

import (
	"context"
	"errors"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"emoney"
	"emoney/internal/row"
)

// Webhook endpoints, the outbox cursor and deliveries. The cursor is one row locked FOR UPDATE;
// claims take due rows FOR UPDATE SKIP LOCKED, so two instances claiming at once take different
// deliveries and neither waits for the other.

func (t *tx) PartnerByName(ctx context.Context, name string) (emoney.Partner, error) {
	return t.onePartner(ctx, `SELECT `+row.PartnerCols+` FROM partners WHERE name = $1`, name)
}

func (t *tx) SetPartnerWebhook(ctx context.Context, w emoney.PartnerWebhook) error {
	if _, err := t.onePartner(ctx, `SELECT `+row.PartnerCols+` FROM partners WHERE id = $1`, w.Partner.Bytes()); err != nil {
		return err
	}
	_, err := t.tx.Exec(ctx, `INSERT INTO partner_webhooks (`+row.PartnerWebhookCols+`) VALUES ($1, $2, $3, $4)
		ON CONFLICT (partner_id) DO UPDATE SET url = excluded.url, secret_sealed = excluded.secret_sealed, updated_at = excluded.updated_at`,
		w.Partner.Bytes(), w.URL, w.SecretSealed, micros(w.UpdatedAt))
	return wrap("set partner webhook", err)
}

func (t *tx) PartnerWebhooks(ctx context.Context, partners []emoney.ID) ([]emoney.PartnerWebhook, error) {
	if len(partners) == 0 {
		return nil, nil
	}
	rows, err := t.tx.Query(ctx, `SELECT w.partner_id, w.url, w.secret_sealed, w.updated_at FROM partner_webhooks w
		JOIN partners p ON p.id = w.partner_id
		WHERE p.revoked_at IS NULL AND w.partner_id = ANY($1::bytea[])`, idBytes(partners))
	if err != nil {
		return nil, wrap("partner webhooks", err)
	}
	out, err := collect(rows, func(r pgx.Row) (emoney.PartnerWebhook, error) {
		var raw row.PartnerWebhook
		if err := r.Scan(raw.Dest()...); err != nil {
			return emoney.PartnerWebhook{}, err
		}
		return raw.Decode()
	})
	return out, wrap("partner webhooks", err)
}

func (t *tx) OutboxCursor(ctx context.Context, name string) (int64, error) {
	var seq int64
	err := t.tx.QueryRow(ctx, `SELECT seq FROM outbox_cursors WHERE name = $1`, name).Scan(&seq)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	return seq, wrap("outbox cursor", err)
}

func (t *tx) LockOutboxCursor(ctx context.Context, name string) (int64, error) {
	if _, err := t.tx.Exec(ctx, `INSERT INTO outbox_cursors (name, seq) VALUES ($1, 0) ON CONFLICT (name) DO NOTHING`, name); err != nil {
		return 0, wrap("lock outbox cursor", err)
	}
	var seq int64
	err := t.tx.QueryRow(ctx, `SELECT seq FROM outbox_cursors WHERE name = $1 FOR UPDATE`, name).Scan(&seq)
	return seq, wrap("lock outbox cursor", err)
}

func (t *tx) AdvanceOutboxCursor(ctx context.Context, name string, seq int64) error {
	return t.execOne(ctx, "advance outbox cursor", `UPDATE outbox_cursors SET seq = $1 WHERE name = $2`, seq, name)
}

func (t *tx) CreateDeliveries(ctx context.Context, ds []emoney.Delivery) error {
	if len(ds) == 0 {
		return nil
	}
	n := len(ds)
	ids, partners, payloads := make([][]byte, n), make([][]byte, n), make([][]byte, n)
	events, types := make([]string, n), make([]string, n)
	next, created := make([]int64, n), make([]int64, n)
	for i, d := range ds {
		ids[i], partners[i], payloads[i] = d.ID.Bytes(), d.Partner.Bytes(), d.Payload
		events[i], types[i] = d.EventID, d.Type
		next[i], created[i] = micros(d.NextAt), micros(d.CreatedAt)
		if payloads[i] == nil {
			payloads[i] = []byte{}
		}
	}
	_, err := t.tx.Exec(ctx, `INSERT INTO webhook_deliveries (`+row.DeliveryCols+`)
		SELECT id, event_id, partner_id, type, payload, 'pending', 0, next_at, NULL, 0, '', created_at, NULL
		FROM unnest($1::bytea[], $2::text[], $3::bytea[], $4::text[], $5::bytea[], $6::bigint[], $7::bigint[])
			AS d (id, event_id, partner_id, type, payload, next_at, created_at)
		ON CONFLICT (event_id, partner_id) DO NOTHING`, ids, events, partners, types, payloads, next, created)
	return wrap("create deliveries", err)
}

func (t *tx) ClaimDeliveries(ctx context.Context, claim emoney.ID, now, until time.Time, limit int) ([]emoney.Delivery, error) {
	ds, err := t.deliveries(ctx, `UPDATE webhook_deliveries SET claim = $1, next_at = $2
		WHERE id IN (SELECT id FROM webhook_deliveries WHERE status = 'pending' AND next_at <= $3
			ORDER BY next_at, id LIMIT $4 FOR UPDATE SKIP LOCKED)
		RETURNING `+row.DeliveryCols, claim.Bytes(), micros(until), micros(now), limit)
	sort.Slice(ds, func(i, j int) bool { return string(ds[i].ID[:]) < string(ds[j].ID[:]) })
	return ds, err
}

func (t *tx) RecordDelivery(ctx context.Context, o emoney.DeliveryOutcome) error {
	next := o.NextAt
	if o.Status != emoney.DeliveryPending {
		next = o.At
	}
	var delivered pgtype.Int8
	if o.Status == emoney.DeliveryDelivered {
		delivered = nullMicros(o.At)
	}
	err := t.execOne(ctx, "record delivery", `UPDATE webhook_deliveries SET status = $1, attempts = attempts + 1, next_at = $2, claim = NULL,
		last_status = $3, last_error = $4, delivered_at = $5 WHERE id = $6 AND claim = $7 AND status = 'pending'`,
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
	ds, err := t.deliveries(ctx, `SELECT `+row.DeliveryCols+` FROM webhook_deliveries WHERE id = $1`, id.Bytes())
	if err != nil {
		return emoney.Delivery{}, err
	}
	if len(ds) == 0 {
		return emoney.Delivery{}, emoney.Errorf(emoney.ENotFound, "delivery not found")
	}
	return ds[0], nil
}

func (t *tx) NextDeliveryAt(ctx context.Context) (time.Time, error) {
	var next pgtype.Int8
	if err := t.tx.QueryRow(ctx, `SELECT min(next_at) FROM webhook_deliveries WHERE status = 'pending'`).Scan(&next); err != nil {
		return time.Time{}, wrap("next delivery", err)
	}
	if !next.Valid {
		return time.Time{}, nil
	}
	return fromMicros(next.Int64), nil
}

func (t *tx) DeliveryCounts(ctx context.Context) (map[emoney.DeliveryStatus]int64, error) {
	rows, err := t.tx.Query(ctx, `SELECT status, count(*) FROM webhook_deliveries GROUP BY status`)
	if err != nil {
		return nil, wrap("delivery counts", err)
	}
	type count struct {
		status string
		n      int64
	}
	cs, err := collect(rows, func(r pgx.Row) (count, error) {
		var c count
		return c, r.Scan(&c.status, &c.n)
	})
	if err != nil {
		return nil, wrap("delivery counts", err)
	}
	out := map[emoney.DeliveryStatus]int64{}
	for _, c := range cs {
		out[emoney.DeliveryStatus(c.status)] = c.n
	}
	return out, nil
}

func (t *tx) deliveries(ctx context.Context, q string, args ...any) ([]emoney.Delivery, error) {
	rows, err := t.tx.Query(ctx, q, args...)
	if err != nil {
		return nil, wrap("deliveries", err)
	}
	out, err := collect(rows, func(r pgx.Row) (emoney.Delivery, error) {
		var raw row.Delivery
		if err := r.Scan(raw.Dest()...); err != nil {
			return emoney.Delivery{}, err
		}
		return raw.Decode()
	})
	return out, wrap("deliveries", err)
}
