package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"emoney"
	"emoney/internal/row"
)

// Staff administration, sessions housekeeping, maker-checker and payees (migration 0011).

func (t *tx) UserDisabledAt(ctx context.Context, id emoney.ID) (time.Time, error) {
	var at *int64
	err := t.tx.QueryRow(ctx, `SELECT disabled_at FROM users WHERE id = $1`, id.Bytes()).Scan(&at)
	if errors.Is(err, pgx.ErrNoRows) {
		return time.Time{}, emoney.Errorf(emoney.ENotFound, "user not found")
	}
	if err != nil {
		return time.Time{}, wrap("user disabled", err)
	}
	if at == nil {
		return time.Time{}, nil
	}
	return row.Time(*at), nil
}

func (t *tx) DisableUser(ctx context.Context, id emoney.ID, at time.Time) error {
	return t.execOne(ctx, "disable user", `UPDATE users SET disabled_at = coalesce(disabled_at, $1) WHERE id = $2`, micros(at), id.Bytes())
}

func (t *tx) RevokeUserSessions(ctx context.Context, user emoney.ID, at time.Time) (int, error) {
	tag, err := t.tx.Exec(ctx, `UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL`, micros(at), user.Bytes())
	return int(tag.RowsAffected()), wrap("revoke sessions", err)
}

func (t *tx) DeleteSessions(ctx context.Context, before time.Time, limit int) (int, error) {
	tag, err := t.tx.Exec(ctx, `DELETE FROM sessions WHERE token_hash IN (
		SELECT token_hash FROM sessions WHERE expires_at < $1
		UNION SELECT token_hash FROM sessions WHERE revoked_at < $1 LIMIT $2)`, micros(before), limit)
	return int(tag.RowsAffected()), wrap("delete sessions", err)
}

func (t *tx) ReissueEnrolment(ctx context.Context, user emoney.ID, codeHash []byte, expires time.Time) error {
	err := t.execOne(ctx, "reissue enrolment", `UPDATE users SET enrol_hash = $1, enrol_expires = $2 WHERE id = $3 AND password_hash = ''`,
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
	return t.moveAlert(ctx, id, "propose alert", "open", `UPDATE alerts SET status = 'proposed', proposed_by = $1, proposed_at = $2 WHERE id = $3 AND status = 'open'`,
		by, micros(at), id.Bytes())
}

func (t *tx) ApproveAlert(ctx context.Context, id emoney.ID, by string, at time.Time) error {
	return t.moveAlert(ctx, id, "approve alert", "proposed by someone else", `UPDATE alerts SET status = 'released', resolved_by = $1, resolved_at = $2
		WHERE id = $3 AND status = 'proposed' AND proposed_by <> $1`, by, micros(at), id.Bytes())
}

func (t *tx) DeclineProposal(ctx context.Context, id emoney.ID) error {
	return t.moveAlert(ctx, id, "decline proposal", "proposed", `UPDATE alerts SET status = 'open', proposed_by = NULL, proposed_at = NULL
		WHERE id = $1 AND status = 'proposed'`, id.Bytes())
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

// CreatePayee takes a transaction-scoped advisory lock on the user's payee list first: under
// READ COMMITTED two transactions could otherwise both count max-1 and both insert.
func (t *tx) CreatePayee(ctx context.Context, p emoney.Payee, max int) error {
	// Two statements: under READ COMMITTED each statement sees what committed before it began,
	// so the count must begin after the lock is held.
	if _, err := t.tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('payees:' || encode($1::bytea, 'hex'), 0))`, p.User.Bytes()); err != nil {
		return wrap("lock payees", err)
	}
	var n int
	if err := t.tx.QueryRow(ctx, `SELECT count(*) FROM payees WHERE user_id = $1`, p.User.Bytes()).Scan(&n); err != nil {
		return wrap("count payees", err)
	}
	if n >= max {
		return emoney.Errorf(emoney.ELimitExceeded, "at most %d payees", max)
	}
	_, err := t.tx.Exec(ctx, `INSERT INTO payees (`+row.PayeeCols+`) VALUES ($1, $2, $3, $4, $5)`,
		p.ID.Bytes(), p.User.Bytes(), p.Wallet.Bytes(), p.NicknameSealed, micros(p.AddedAt))
	return wrap("create payee", err)
}

func (t *tx) DeletePayee(ctx context.Context, user, id emoney.ID) error {
	return t.execOne(ctx, "delete payee", `DELETE FROM payees WHERE id = $1 AND user_id = $2`, id.Bytes(), user.Bytes())
}

func (t *tx) Payee(ctx context.Context, id emoney.ID) (emoney.Payee, error) {
	ps, err := t.payees(ctx, `SELECT `+row.PayeeCols+` FROM payees WHERE id = $1`, id.Bytes())
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
		return t.payees(ctx, `SELECT `+row.PayeeCols+` FROM payees WHERE user_id = $1 ORDER BY id DESC LIMIT $2`, user.Bytes(), limit)
	}
	return t.payees(ctx, `SELECT `+row.PayeeCols+` FROM payees WHERE user_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3`, user.Bytes(), before.Bytes(), limit)
}

func (t *tx) payees(ctx context.Context, q string, args ...any) ([]emoney.Payee, error) {
	rows, err := t.tx.Query(ctx, q, args...)
	if err != nil {
		return nil, wrap("payees", err)
	}
	out, err := collect(rows, func(r pgx.Row) (emoney.Payee, error) {
		var raw row.Payee
		if err := r.Scan(raw.Dest()...); err != nil {
			return emoney.Payee{}, err
		}
		return raw.Decode()
	})
	return out, wrap("payees", err)
}

func (t *tx) ResealPayee(ctx context.Context, id emoney.ID, sealed []byte) error {
	return t.execOne(ctx, "reseal payee", `UPDATE payees SET nickname_sealed = $1 WHERE id = $2`, sealed, id.Bytes())
}
