package sqlite

import (
	"context"
	"time"

	"emoney"
	"emoney/internal/row"
)

// Holder notifications and notices to banks (migration 0018). Claims need no SKIP LOCKED here:
// a write transaction holds the database's one write lock.

func (t *tx) Notifications(ctx context.Context, user emoney.ID, unreadOnly bool, limit int) ([]emoney.Notification, error) {
	q := `SELECT ` + row.NotificationCols + ` FROM notifications WHERE user_id = ?`
	if unreadOnly {
		q += ` AND read_at IS NULL`
	}
	return t.notifications(ctx, q+` ORDER BY id DESC LIMIT ?`, user.Bytes(), limit)
}

func (t *tx) notifications(ctx context.Context, q string, args ...any) ([]emoney.Notification, error) {
	rows, err := t.query(ctx, q, args...)
	if err != nil {
		return nil, wrap("notifications", err)
	}
	defer rows.Close()
	var out []emoney.Notification
	for rows.Next() {
		var raw row.Notification
		if err := rows.Scan(raw.Dest()...); err != nil {
			return nil, wrap("notifications", err)
		}
		n, err := raw.Decode()
		if err != nil {
			return nil, wrap("notifications", err)
		}
		out = append(out, n)
	}
	return out, wrap("notifications", rows.Err())
}

func (t *tx) CreateNotification(ctx context.Context, n emoney.Notification) (emoney.Notification, bool, error) {
	have, err := t.notifications(ctx, `SELECT `+row.NotificationCols+` FROM notifications WHERE user_id = ? AND dedupe_key = ?`, n.User.Bytes(), n.DedupeKey)
	if err != nil {
		return emoney.Notification{}, false, err
	}
	if len(have) > 0 {
		return have[0], false, nil
	}
	if err := t.exec(ctx, `INSERT INTO notifications (`+row.NotificationCols+`) VALUES `+placeholders(1, row.NotificationColumns), row.NotificationArgs(n)...); err != nil {
		return emoney.Notification{}, false, wrap("notification", err)
	}
	n.CreatedAt = n.CreatedAt.UTC().Truncate(time.Microsecond)
	n.ReadAt = time.Time{}
	return n, true, nil
}

func (t *tx) MarkNotificationRead(ctx context.Context, user, id emoney.ID, at time.Time) (emoney.Notification, error) {
	if err := t.exec(ctx, `UPDATE notifications SET read_at = ? WHERE id = ? AND user_id = ? AND read_at IS NULL`, micros(at), id.Bytes(), user.Bytes()); err != nil {
		return emoney.Notification{}, wrap("notification", err)
	}
	ns, err := t.notifications(ctx, `SELECT `+row.NotificationCols+` FROM notifications WHERE id = ? AND user_id = ?`, id.Bytes(), user.Bytes())
	if err != nil {
		return emoney.Notification{}, err
	}
	if len(ns) == 0 {
		return emoney.Notification{}, emoney.Errorf(emoney.ENotFound, "no such notification")
	}
	return ns[0], nil
}

func (t *tx) bankNotices(ctx context.Context, q string, args ...any) ([]emoney.BankNotice, error) {
	rows, err := t.query(ctx, q, args...)
	if err != nil {
		return nil, wrap("bank notices", err)
	}
	defer rows.Close()
	var out []emoney.BankNotice
	for rows.Next() {
		var raw row.BankNotice
		if err := rows.Scan(raw.Dest()...); err != nil {
			return nil, wrap("bank notices", err)
		}
		n, err := raw.Decode()
		if err != nil {
			return nil, wrap("bank notices", err)
		}
		out = append(out, n)
	}
	return out, wrap("bank notices", rows.Err())
}

func (t *tx) BankNotice(ctx context.Context, id emoney.ID) (emoney.BankNotice, error) {
	ns, err := t.bankNotices(ctx, `SELECT `+row.BankNoticeCols+` FROM bank_notices WHERE id = ?`, id.Bytes())
	if err != nil {
		return emoney.BankNotice{}, err
	}
	if len(ns) == 0 {
		return emoney.BankNotice{}, emoney.Errorf(emoney.ENotFound, "no such bank notice")
	}
	return ns[0], nil
}

func (t *tx) CreateBankNotice(ctx context.Context, n emoney.BankNotice) error {
	return wrap("bank notice", t.exec(ctx, `INSERT INTO bank_notices (`+row.BankNoticeCols+`) VALUES `+placeholders(1, row.BankNoticeColumns), row.BankNoticeArgs(n)...))
}

func (t *tx) ClaimBankNotices(ctx context.Context, claim emoney.ID, now, until time.Time, limit int) ([]emoney.BankNotice, error) {
	due, err := t.bankNotices(ctx, `SELECT `+row.BankNoticeCols+` FROM bank_notices
		WHERE status = 'pending' AND next_at <= ? ORDER BY next_at, id LIMIT ?`, micros(now), limit)
	if err != nil || len(due) == 0 {
		return nil, err
	}
	for i := range due {
		if err := t.exec(ctx, `UPDATE bank_notices SET claim = ?, next_at = ? WHERE id = ?`, claim.Bytes(), micros(until), due[i].ID.Bytes()); err != nil {
			return nil, wrap("claim bank notices", err)
		}
		due[i].Claim, due[i].NextAt = claim, until.UTC().Truncate(time.Microsecond)
	}
	return due, nil
}

func (t *tx) RecordBankNotice(ctx context.Context, o emoney.DeliveryOutcome) error {
	next := o.NextAt
	if o.Status != emoney.DeliveryPending {
		next = o.At
	}
	var delivered any
	if o.Status == emoney.DeliveryDelivered {
		delivered = micros(o.At)
	}
	err := t.execOne(ctx, "record bank notice", `UPDATE bank_notices SET status = ?, attempts = attempts + 1, next_at = ?, claim = NULL,
		last_status = ?, last_error = ?, delivered_at = ? WHERE id = ? AND claim = ? AND status = 'pending'`,
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
	return t.links(ctx, `SELECT `+row.LinkCols+` FROM links WHERE bank = ? AND status <> 'revoked' AND consented_at >= ? AND consented_at < ?
		ORDER BY consented_at, id LIMIT ?`, bank, micros(from), micros(to), limit)
}
