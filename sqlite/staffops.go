package sqlite

import (
	"context"
	"time"

	"emoney"
	"emoney/internal/row"
)

// Staff administration, sessions housekeeping, maker-checker and payees (migration 0011).

// execCount runs a statement and returns how many rows it changed.
func (t *tx) execCount(ctx context.Context, op, q string, args ...any) (int, error) {
	st, err := t.s.stmt(ctx, t.tx, q)
	if err != nil {
		return 0, wrap(op, err)
	}
	res, err := st.ExecContext(ctx, args...)
	if err != nil {
		return 0, wrap(op, err)
	}
	n, err := res.RowsAffected()
	return int(n), wrap(op, err)
}

func (t *tx) UserDisabledAt(ctx context.Context, id emoney.ID) (time.Time, error) {
	rows, err := t.query(ctx, `SELECT disabled_at FROM users WHERE id = ?`, id.Bytes())
	if err != nil {
		return time.Time{}, wrap("user disabled", err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return time.Time{}, wrap("user disabled", err)
		}
		return time.Time{}, emoney.Errorf(emoney.ENotFound, "user not found")
	}
	var at *int64
	if err := rows.Scan(&at); err != nil {
		return time.Time{}, wrap("user disabled", err)
	}
	if at == nil {
		return time.Time{}, nil
	}
	return row.Time(*at), nil
}

func (t *tx) DisableUser(ctx context.Context, id emoney.ID, at time.Time) error {
	return t.execOne(ctx, "disable user", `UPDATE users SET disabled_at = coalesce(disabled_at, ?) WHERE id = ?`, micros(at), id.Bytes())
}

func (t *tx) RevokeUserSessions(ctx context.Context, user emoney.ID, at time.Time) (int, error) {
	return t.execCount(ctx, "revoke sessions", `UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL`, micros(at), user.Bytes())
}

func (t *tx) DeleteSessions(ctx context.Context, before time.Time, limit int) (int, error) {
	return t.execCount(ctx, "delete sessions", `DELETE FROM sessions WHERE token_hash IN (
		SELECT token_hash FROM sessions WHERE expires_at < ?1
		UNION SELECT token_hash FROM sessions WHERE revoked_at < ?1 LIMIT ?2)`, micros(before), limit)
}

func (t *tx) ReissueEnrolment(ctx context.Context, user emoney.ID, codeHash []byte, expires time.Time) error {
	err := t.execOne(ctx, "reissue enrolment", `UPDATE users SET enrol_hash = ?, enrol_expires = ? WHERE id = ? AND password_hash = ''`,
		codeHash, micros(expires), user.Bytes())
	if emoney.ErrorCode(err) != emoney.ENotFound {
		return err
	}
	if _, err := t.User(ctx, user); err != nil {
		return err
	}
	return emoney.Errorf(emoney.EConflict, "the user has enrolled already")
}

func (t *tx) ProposeAlert(ctx context.Context, id emoney.ID, by string, at time.Time) error {
	return t.moveAlert(ctx, id, "propose alert", "open", `UPDATE alerts SET status = 'proposed', proposed_by = ?, proposed_at = ? WHERE id = ? AND status = 'open'`,
		by, micros(at), id.Bytes())
}

func (t *tx) ApproveAlert(ctx context.Context, id emoney.ID, by string, at time.Time) error {
	return t.moveAlert(ctx, id, "approve alert", "proposed by someone else", `UPDATE alerts SET status = 'released', resolved_by = ?, resolved_at = ?
		WHERE id = ? AND status = 'proposed' AND proposed_by <> ?`, by, micros(at), id.Bytes(), by)
}

func (t *tx) DeclineProposal(ctx context.Context, id emoney.ID) error {
	return t.moveAlert(ctx, id, "decline proposal", "proposed", `UPDATE alerts SET status = 'open', proposed_by = NULL, proposed_at = NULL
		WHERE id = ? AND status = 'proposed'`, id.Bytes())
}

// moveAlert runs an update of one alert guarded by its status: not_found if there is no such
// alert, conflict if it is not in the state the update needs (want, for the message).
func (t *tx) moveAlert(ctx context.Context, id emoney.ID, op, want, q string, args ...any) error {
	err := t.execOne(ctx, op, q, args...)
	if emoney.ErrorCode(err) != emoney.ENotFound {
		return err
	}
	if _, err := t.Alert(ctx, id); err != nil {
		return err
	}
	return emoney.Errorf(emoney.EConflict, "%s: the alert is not %s", op, want)
}

// CreatePayee counts and inserts in one write transaction; SQLite has one writer at a time, so
// the count cannot go stale before the insert.
func (t *tx) CreatePayee(ctx context.Context, p emoney.Payee, max int) error {
	rows, err := t.query(ctx, `SELECT count(*) FROM payees WHERE user_id = ?`, p.User.Bytes())
	if err != nil {
		return wrap("count payees", err)
	}
	var n int
	for rows.Next() {
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return wrap("count payees", err)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return wrap("count payees", err)
	}
	if n >= max {
		return emoney.Errorf(emoney.ELimitExceeded, "at most %d payees", max)
	}
	err = t.exec(ctx, `INSERT INTO payees (`+row.PayeeCols+`) VALUES (?, ?, ?, ?, ?)`,
		p.ID.Bytes(), p.User.Bytes(), p.Wallet.Bytes(), p.NicknameSealed, micros(p.AddedAt))
	return wrap("create payee", err)
}

func (t *tx) DeletePayee(ctx context.Context, user, id emoney.ID) error {
	return t.execOne(ctx, "delete payee", `DELETE FROM payees WHERE id = ? AND user_id = ?`, id.Bytes(), user.Bytes())
}

func (t *tx) Payee(ctx context.Context, id emoney.ID) (emoney.Payee, error) {
	ps, err := t.payees(ctx, `SELECT `+row.PayeeCols+` FROM payees WHERE id = ?`, id.Bytes())
	if err != nil {
		return emoney.Payee{}, err
	}
	if len(ps) == 0 {
		return emoney.Payee{}, emoney.Errorf(emoney.ENotFound, "payee not found")
	}
	return ps[0], nil
}

func (t *tx) Payees(ctx context.Context, user, before emoney.ID, limit int) ([]emoney.Payee, error) {
	if before.IsZero() {
		return t.payees(ctx, `SELECT `+row.PayeeCols+` FROM payees WHERE user_id = ? ORDER BY id DESC LIMIT ?`, user.Bytes(), limit)
	}
	return t.payees(ctx, `SELECT `+row.PayeeCols+` FROM payees WHERE user_id = ? AND id < ? ORDER BY id DESC LIMIT ?`, user.Bytes(), before.Bytes(), limit)
}

func (t *tx) payees(ctx context.Context, q string, args ...any) ([]emoney.Payee, error) {
	rows, err := t.query(ctx, q, args...)
	if err != nil {
		return nil, wrap("payees", err)
	}
	defer rows.Close()
	var out []emoney.Payee
	for rows.Next() {
		var raw row.Payee
		if err := rows.Scan(raw.Dest()...); err != nil {
			return nil, wrap("payees", err)
		}
		p, err := raw.Decode()
		if err != nil {
			return nil, wrap("payees", err)
		}
		out = append(out, p)
	}
	return out, wrap("payees", rows.Err())
}

func (t *tx) ResealPayee(ctx context.Context, id emoney.ID, sealed []byte) error {
	return t.execOne(ctx, "reseal payee", `UPDATE payees SET nickname_sealed = ? WHERE id = ?`, sealed, id.Bytes())
}
