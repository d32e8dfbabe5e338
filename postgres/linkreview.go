package postgres

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"emoney"
	"emoney/internal/row"
)

// Staff decisions on links and linking locks (migration 0020). A decision checks the link's
// status in its UPDATE's WHERE: of two decisions racing, the second waits for the first's row
// lock, finds the status moved, and answers conflict.

func (t *tx) LinksByStatus(ctx context.Context, status emoney.LinkStatus, after emoney.ID, limit int) ([]emoney.BankLink, error) {
	return t.links(ctx, `SELECT `+row.LinkCols+` FROM links WHERE status = $1 AND id > $2 ORDER BY id LIMIT $3`, string(status), after[:], limit)
}

func (t *tx) DecideLink(ctx context.Context, id emoney.ID, from, to emoney.LinkStatus, coolingOffUntil time.Time, by string, at time.Time) (emoney.BankLink, error) {
	var err error
	switch to {
	case emoney.LinkActive:
		err = t.execOne(ctx, "decide bank link", `UPDATE links SET status = $1, cooling_off_until = $2 WHERE id = $3 AND status = $4`,
			string(to), micros(coolingOffUntil), id.Bytes(), string(from))
	case emoney.LinkRevoked:
		err = t.execOne(ctx, "decide bank link", `UPDATE links SET status = $1, revoked_at = $2, revoked_by = $3 WHERE id = $4 AND status = $5`,
			string(to), micros(at), by, id.Bytes(), string(from))
	default:
		err = t.execOne(ctx, "decide bank link", `UPDATE links SET status = $1 WHERE id = $2 AND status = $3`, string(to), id.Bytes(), string(from))
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
	_, err := t.tx.Exec(ctx, `INSERT INTO link_failures (user_id, at, bank, step, code) VALUES ($1, $2, $3, $4, $5)`,
		f.User.Bytes(), micros(f.At), f.Bank, f.Step, f.Code)
	return wrap("record link failure", err)
}

func (t *tx) LinkFailures(ctx context.Context, user emoney.ID, since time.Time) (int, error) {
	var n int64
	err := t.tx.QueryRow(ctx, `SELECT count(*) FROM link_failures WHERE user_id = $1 AND at >= $2`, user.Bytes(), micros(since)).Scan(&n)
	return int(n), wrap("link failures", err)
}

func (t *tx) LinkLock(ctx context.Context, user emoney.ID) (emoney.LinkLock, error) {
	l := emoney.LinkLock{User: user}
	var lockedAt, failures int64
	err := t.tx.QueryRow(ctx, `SELECT locked_at, failures, reason FROM link_locks WHERE user_id = $1`, user.Bytes()).Scan(&lockedAt, &failures, &l.Reason)
	if errors.Is(err, pgx.ErrNoRows) {
		return emoney.LinkLock{}, emoney.Errorf(emoney.ENotFound, "linking is not locked for this user")
	}
	if err != nil {
		return emoney.LinkLock{}, wrap("link lock", err)
	}
	l.LockedAt, l.Failures = fromMicros(lockedAt), int(failures)
	return l, nil
}

func (t *tx) LockLinking(ctx context.Context, l emoney.LinkLock) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO link_locks (user_id, locked_at, failures, reason) VALUES ($1, $2, $3, $4)`,
		l.User.Bytes(), micros(l.LockedAt), l.Failures, l.Reason)
	if pgCode(err) == "23505" {
		return emoney.Errorf(emoney.EConflict, "linking is locked for this user already")
	}
	return wrap("lock linking", err)
}

func (t *tx) UnlockLinking(ctx context.Context, user emoney.ID) error {
	if err := t.execOne(ctx, "unlock linking", `DELETE FROM link_locks WHERE user_id = $1`, user.Bytes()); err != nil {
		return err
	}
	_, err := t.tx.Exec(ctx, `DELETE FROM link_failures WHERE user_id = $1`, user.Bytes())
	return wrap("unlock linking", err)
}

func (t *tx) TakeExpiredLinkFlows(ctx context.Context, now time.Time, limit int) ([]emoney.LinkFlow, error) {
	rows, err := t.tx.Query(ctx, `DELETE FROM link_flows WHERE state_hash IN
		(SELECT state_hash FROM link_flows WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED) RETURNING `+row.LinkFlowCols, micros(now), limit)
	if err != nil {
		return nil, wrap("take expired link flows", err)
	}
	out, err := collect(rows, func(r pgx.Row) (emoney.LinkFlow, error) {
		var raw row.LinkFlow
		if err := r.Scan(raw.Dest()...); err != nil {
			return emoney.LinkFlow{}, err
		}
		return raw.Decode()
	})
	if err != nil {
		return nil, wrap("take expired link flows", err)
	}
	slices.SortFunc(out, func(a, b emoney.LinkFlow) int { return a.ExpiresAt.Compare(b.ExpiresAt) })
	return out, nil
}
