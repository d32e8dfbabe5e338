package postgres

import (
	"context"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"emoney"
	"emoney/internal/row"
)

// Holder notifications and notices to banks (migration 0018).

func (t *tx) Notifications(ctx context.Context, user emoney.ID, unreadOnly bool, limit int) ([]emoney.Notification, error) {
	q := `SELECT ` + row.NotificationCols + ` FROM notifications WHERE user_id = $1`
	if unreadOnly {
		q += ` AND read_at IS NULL`
	}
	return t.notifications(ctx, q+` ORDER BY id DESC LIMIT $2`, user.Bytes(), limit)
}

func (t *tx) notifications(ctx context.Context, q string, args ...any) ([]emoney.Notification, error) {
	rows, err := t.tx.Query(ctx, q, args...)
	if err != nil {
		return nil, wrap("notifications", err)
	}
	out, err := collect(rows, func(r pgx.Row) (emoney.Notification, error) {
		var raw row.Notification
		if err := r.Scan(raw.Dest()...); err != nil {
			return emoney.Notification{}, err
		}
		return raw.Decode()
	})
	return out, wrap("notifications", err)
}

func (t *tx) CreateNotification(ctx context.Context, n emoney.Notification) (emoney.Notification, bool, error) {
	// ON CONFLICT on the dedupe key only: two transactions making one notification at once
	// both succeed, one of them creating it; a taken id is still a conflict.
	got, err := t.notifications(ctx, `INSERT INTO notifications (`+row.NotificationCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (user_id, dedupe_key) DO NOTHING RETURNING `+row.NotificationCols, row.NotificationArgs(n)...)
	if err != nil {
		return emoney.Notification{}, false, err
	}
	if len(got) > 0 {
		return got[0], true, nil
	}
	have, err := t.notifications(ctx, `SELECT `+row.NotificationCols+` FROM notifications WHERE user_id = $1 AND dedupe_key = $2`, n.User.Bytes(), n.DedupeKey)
	if err != nil {
		return emoney.Notification{}, false, err
	}
	if len(have) == 0 {
		return emoney.Notification{}, false, emoney.Errorf(emoney.EConflict, "notification: already exists")
	}
	return have[0], false, nil
}

func (t *tx) MarkNotificationRead(ctx context.Context, user, id emoney.ID, at time.Time) (emoney.Notification, error) {
	ns, err := t.notifications(ctx, `UPDATE notifications SET read_at = COALESCE(read_at, $1) WHERE id = $2 AND user_id = $3
		RETURNING `+row.NotificationCols, micros(at), id.Bytes(), user.Bytes())
	if err != nil {
		return emoney.Notification{}, err
	}
	if len(ns) == 0 {
		return emoney.Notification{}, emoney.Errorf(emoney.ENotFound, "no such notification")
	}
	return ns[0], nil
}

func (t *tx) bankNotices(ctx context.Context, q string, args ...any) ([]emoney.BankNotice, error) {
	rows, err := t.tx.Query(ctx, q, args...)
	if err != nil {
		return nil, wrap("bank notices", err)
	}
	out, err := collect(rows, func(r pgx.Row) (emoney.BankNotice, error) {
		var raw row.BankNotice
		if err := r.Scan(raw.Dest()...); err != nil {
			return emoney.BankNotice{}, err
		}
		return raw.Decode()
	})
	return out, wrap("bank notices", err)
}

func (t *tx) BankNotice(ctx context.Context, id emoney.ID) (emoney.BankNotice, error) {
	ns, err := t.bankNotices(ctx, `SELECT `+row.BankNoticeCols+` FROM bank_notices WHERE id = $1`, id.Bytes())
	if err != nil {
		return emoney.BankNotice{}, err
	}
	if len(ns) == 0 {
		return emoney.BankNotice{}, emoney.Errorf(emoney.ENotFound, "no such bank notice")
	}
	return ns[0], nil
}

func (t *tx) CreateBankNotice(ctx context.Context, n emoney.BankNotice) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO bank_notices (`+row.BankNoticeCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		row.BankNoticeArgs(n)...)
	return wrap("bank notice", err)
}

func (t *tx) ClaimBankNotices(ctx context.Context, claim emoney.ID, now, until time.Time, limit int) ([]emoney.BankNotice, error) {
	ns, err := t.bankNotices(ctx, `UPDATE bank_notices SET claim = $1, next_at = $2
		WHERE id IN (SELECT id FROM bank_notices WHERE status = 'pending' AND next_at <= $3
			ORDER BY next_at, id LIMIT $4 FOR UPDATE SKIP LOCKED)
		RETURNING `+row.BankNoticeCols, claim.Bytes(), micros(until), micros(now), limit)
	sort.Slice(ns, func(i, j int) bool { return string(ns[i].ID[:]) < string(ns[j].ID[:]) })
	return ns, err
}

func (t *tx) RecordBankNotice(ctx context.Context, o emoney.DeliveryOutcome) error {
	next := o.NextAt
	if o.Status != emoney.DeliveryPending {
		next = o.At
	}
	var delivered pgtype.Int8
	if o.Status == emoney.DeliveryDelivered {
		delivered = nullMicros(o.At)
	}
	err := t.execOne(ctx, "record bank notice", `UPDATE bank_notices SET status = $1, attempts = attempts + 1, next_at = $2, claim = NULL,
		last_status = $3, last_error = $4, delivered_at = $5 WHERE id = $6 AND claim = $7 AND status = 'pending'`,
		string(o.Status), micros(next), o.LastStatus, o.LastError, delivered, o.ID.Bytes(), o.Claim.Bytes())
	if emoney.ErrorCode(err) != emoney.ENotFound {
		return err
	}
	if _, err := t.BankNotice(ctx, o.ID); err != nil {
		return err
	}
	return emoney.Errorf(emoney.EConflict, "the bank notice is no longer held by this claim")
}

func (t *tx) LinksConsentedBetween(ctx context.Context, bank string, from, to time.Time, limit int) ([]emoney.BankLink, error) {
	return t.links(ctx, `SELECT `+row.LinkCols+` FROM links WHERE bank = $1 AND status <> 'revoked' AND consented_at >= $2 AND consented_at < $3
		ORDER BY consented_at, id LIMIT $4`, bank, micros(from), micros(to), limit)
}
