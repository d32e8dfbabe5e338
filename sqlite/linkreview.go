package sqlite

import (
	"context"
	"slices"
	"time"

	"emoney"
	"emoney/internal/row"
)

// Staff decisions on links and linking locks (migration 0020). A decision checks the link's
// status in its UPDATE's WHERE, under the database's one write lock: of two decisions, the
// second finds the status moved and answers conflict.

func (t *tx) LinksByStatus(ctx context.Context, status emoney.LinkStatus, after emoney.ID, limit int) ([]emoney.BankLink, error) {
	return t.links(ctx, `SELECT `+row.LinkCols+` FROM links WHERE status = ? AND id > ? ORDER BY id LIMIT ?`, string(status), after[:], limit)
}

func (t *tx) DecideLink(ctx context.Context, id emoney.ID, from, to emoney.LinkStatus, coolingOffUntil time.Time, by string, at time.Time) (emoney.BankLink, error) {
	var err error
	switch to {
	case emoney.LinkActive:
		err = t.execOne(ctx, "decide bank link", `UPDATE links SET status = ?, cooling_off_until = ? WHERE id = ? AND status = ?`,
			string(to), coolingOffUntil.UnixMicro(), id.Bytes(), string(from))
	case emoney.LinkRevoked:
		err = t.execOne(ctx, "decide bank link", `UPDATE links SET status = ?, revoked_at = ?, revoked_by = ? WHERE id = ? AND status = ?`,
			string(to), at.UnixMicro(), by, id.Bytes(), string(from))
	default:
		err = t.execOne(ctx, "decide bank link", `UPDATE links SET status = ? WHERE id = ? AND status = ?`, string(to), id.Bytes(), string(from))
	}
	if err != nil && emoney.ErrorCode(err) != emoney.ENotFound {
		return emoney.BankLink{}, err
	}
	l, lerr := t.Link(ctx, id)
	if lerr != nil {
		return emoney.BankLink{}, lerr
	}
	if err != nil {
		return emoney.BankLink{}, emoney.Errorf(emoney.EConflict, "the bank link is %s, not %s: someone decided it first", l.Status, from)
	}
	return l, nil
}

func (t *tx) RecordLinkFailure(ctx context.Context, f emoney.LinkFailure) error {
	return wrap("record link failure", t.exec(ctx, `INSERT INTO link_failures (user_id, at, bank, step, code) VALUES (?, ?, ?, ?, ?)`,
		f.User.Bytes(), f.At.UnixMicro(), f.Bank, f.Step, f.Code))
}

func (t *tx) LinkFailures(ctx context.Context, user emoney.ID, since time.Time) (int, error) {
	rows, err := t.query(ctx, `SELECT count(*) FROM link_failures WHERE user_id = ? AND at >= ?`, user.Bytes(), since.UnixMicro())
	if err != nil {
		return 0, wrap("link failures", err)
	}
	defer rows.Close()
	n := 0
	if rows.Next() {
		if err := rows.Scan(&n); err != nil {
			return 0, wrap("link failures", err)
		}
	}
	return n, wrap("link failures", rows.Err())
}

func (t *tx) LinkLock(ctx context.Context, user emoney.ID) (emoney.LinkLock, error) {
	rows, err := t.query(ctx, `SELECT locked_at, failures, reason FROM link_locks WHERE user_id = ?`, user.Bytes())
	if err != nil {
		return emoney.LinkLock{}, wrap("link lock", err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return emoney.LinkLock{}, wrap("link lock", err)
		}
		return emoney.LinkLock{}, emoney.Errorf(emoney.ENotFound, "linking is not locked for this user")
	}
	l := emoney.LinkLock{User: user}
	var lockedAt int64
	if err := rows.Scan(&lockedAt, &l.Failures, &l.Reason); err != nil {
		return emoney.LinkLock{}, wrap("link lock", err)
	}
	l.LockedAt = time.UnixMicro(lockedAt).UTC()
	return l, nil
}

func (t *tx) LockLinking(ctx context.Context, l emoney.LinkLock) error {
	err := t.exec(ctx, `INSERT INTO link_locks (user_id, locked_at, failures, reason) VALUES (?, ?, ?, ?)`,
		l.User.Bytes(), l.LockedAt.UnixMicro(), l.Failures, l.Reason)
	if err != nil && isUnique(err) {
		return emoney.Errorf(emoney.EConflict, "linking is locked for this user already")
	}
	return wrap("lock linking", err)
}

func (t *tx) UnlockLinking(ctx context.Context, user emoney.ID) error {
	if err := t.execOne(ctx, "unlock linking", `DELETE FROM link_locks WHERE user_id = ?`, user.Bytes()); err != nil {
		return err
	}
	return wrap("unlock linking", t.exec(ctx, `DELETE FROM link_failures WHERE user_id = ?`, user.Bytes()))
}

func (t *tx) TakeExpiredLinkFlows(ctx context.Context, now time.Time, limit int) ([]emoney.LinkFlow, error) {
	rows, err := t.query(ctx, `DELETE FROM link_flows WHERE state_hash IN
		(SELECT state_hash FROM link_flows WHERE expires_at <= ? ORDER BY expires_at LIMIT ?) RETURNING `+row.LinkFlowCols, now.UnixMicro(), limit)
	if err != nil {
		return nil, wrap("take expired link flows", err)
	}
	defer rows.Close()
	var out []emoney.LinkFlow
	for rows.Next() {
		var raw row.LinkFlow
		if err := rows.Scan(raw.Dest()...); err != nil {
			return nil, wrap("take expired link flows", err)
		}
		f, err := raw.Decode()
		if err != nil {
			return nil, wrap("take expired link flows", err)
		}
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("take expired link flows", err)
	}
	slices.SortFunc(out, func(a, b emoney.LinkFlow) int { return a.ExpiresAt.Compare(b.ExpiresAt) })
	return out, nil
}
