package sqlite

import (
	"context"
	"time"

	"emoney"
	"emoney/internal/row"
)

func (t *tx) CreateUser(ctx context.Context, u emoney.User) error {
	err := t.exec(ctx, `INSERT INTO users (`+row.UserCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		u.ID.Bytes(), u.EmailIndex, u.EmailSealed, u.PasswordHash, string(u.Role), u.KYCTier, micros(u.CreatedAt), u.TOTPSealed, boolInt(u.TOTPConfirmed),
		u.EnrolHash, nullMicros(u.EnrolExpires))
	return wrap("create user", err)
}

func (t *tx) User(ctx context.Context, id emoney.ID) (emoney.User, error) {
	return t.oneUser(ctx, `SELECT `+row.UserCols+` FROM users WHERE id = ?`, id.Bytes())
}

func (t *tx) Users(ctx context.Context, after emoney.ID, limit int) ([]emoney.User, error) {
	rows, err := t.query(ctx, `SELECT `+row.UserCols+` FROM users WHERE id > ? ORDER BY id LIMIT ?`, after[:], limit)
	if err != nil {
		return nil, wrap("users", err)
	}
	defer rows.Close()
	var out []emoney.User
	for rows.Next() {
		var raw row.User
		if err := rows.Scan(raw.Dest()...); err != nil {
			return nil, wrap("users", err)
		}
		u, err := raw.Decode()
		if err != nil {
			return nil, wrap("users", err)
		}
		out = append(out, u)
	}
	return out, wrap("users", rows.Err())
}

func (t *tx) ResealUser(ctx context.Context, id emoney.ID, emailSealed, totpSealed []byte) error {
	return t.execOne(ctx, "reseal user", `UPDATE users SET email_sealed = ?, totp_sealed = ? WHERE id = ?`, emailSealed, totpSealed, id.Bytes())
}

func (t *tx) UserByEnrolment(ctx context.Context, codeHash []byte) (emoney.User, error) {
	return t.oneUser(ctx, `SELECT `+row.UserCols+` FROM users WHERE enrol_hash = ?`, codeHash)
}

func (t *tx) CompleteEnrolment(ctx context.Context, user emoney.ID, passwordHash string, totpSealed []byte) error {
	return t.execOne(ctx, "complete enrolment", `UPDATE users SET password_hash = ?, totp_sealed = ?, totp_confirmed = 0,
		enrol_hash = NULL, enrol_expires = NULL WHERE id = ? AND enrol_hash IS NOT NULL`, passwordHash, totpSealed, user.Bytes())
}

func (t *tx) UserByEmail(ctx context.Context, index []byte) (emoney.User, error) {
	return t.oneUser(ctx, `SELECT `+row.UserCols+` FROM users WHERE email_index = ?`, index)
}

func (t *tx) oneUser(ctx context.Context, q string, arg any) (emoney.User, error) {
	rows, err := t.query(ctx, q, arg)
	if err != nil {
		return emoney.User{}, wrap("user", err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return emoney.User{}, wrap("user", err)
		}
		return emoney.User{}, emoney.Errorf(emoney.ENotFound, "user not found")
	}
	var raw row.User
	if err := rows.Scan(raw.Dest()...); err != nil {
		return emoney.User{}, wrap("user", err)
	}
	u, err := raw.Decode()
	return u, wrap("user", err)
}

func (t *tx) CreateSession(ctx context.Context, s emoney.Session) error {
	err := t.exec(ctx, `INSERT INTO sessions (`+row.SessionCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		s.TokenHash, s.User.Bytes(), s.Device, micros(s.CreatedAt), micros(s.ExpiresAt), nullMicros(s.RevokedAt), nullMicros(s.SteppedUpAt))
	return wrap("create session", err)
}

func (t *tx) Session(ctx context.Context, tokenHash []byte) (emoney.Session, error) {
	rows, err := t.query(ctx, `SELECT `+row.SessionCols+` FROM sessions WHERE token_hash = ?`, tokenHash)
	if err != nil {
		return emoney.Session{}, wrap("session", err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return emoney.Session{}, wrap("session", err)
		}
		return emoney.Session{}, emoney.Errorf(emoney.ENotFound, "session not found")
	}
	var raw row.Session
	if err := rows.Scan(raw.Dest()...); err != nil {
		return emoney.Session{}, wrap("session", err)
	}
	s, err := raw.Decode()
	return s, wrap("session", err)
}

func (t *tx) RevokeSession(ctx context.Context, tokenHash []byte, at time.Time) error {
	return t.execOne(ctx, "revoke session", `UPDATE sessions SET revoked_at = coalesce(revoked_at, ?) WHERE token_hash = ?`, micros(at), tokenHash)
}

func (t *tx) CreatePartner(ctx context.Context, p emoney.Partner) error {
	err := t.exec(ctx, `INSERT INTO partners (`+row.PartnerCols+`) VALUES (?, ?, ?, ?, ?, ?)`,
		p.ID.Bytes(), p.Name, string(p.Role), p.KeyHash, micros(p.CreatedAt), nullMicros(p.RevokedAt))
	return wrap("create partner", err)
}

func (t *tx) RevokePartner(ctx context.Context, name string, at time.Time) (emoney.Partner, error) {
	if err := t.exec(ctx, `UPDATE partners SET revoked_at = coalesce(revoked_at, ?) WHERE name = ?`, micros(at), name); err != nil {
		return emoney.Partner{}, wrap("revoke partner", err)
	}
	return t.onePartner(ctx, `SELECT `+row.PartnerCols+` FROM partners WHERE name = ?`, name)
}

func (t *tx) PartnerByKey(ctx context.Context, keyHash []byte) (emoney.Partner, error) {
	return t.onePartner(ctx, `SELECT `+row.PartnerCols+` FROM partners WHERE key_hash = ?`, keyHash)
}

func (t *tx) onePartner(ctx context.Context, q string, arg any) (emoney.Partner, error) {
	rows, err := t.query(ctx, q, arg)
	if err != nil {
		return emoney.Partner{}, wrap("partner", err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return emoney.Partner{}, wrap("partner", err)
		}
		return emoney.Partner{}, emoney.Errorf(emoney.ENotFound, "partner not found")
	}
	var raw row.Partner
	if err := rows.Scan(raw.Dest()...); err != nil {
		return emoney.Partner{}, wrap("partner", err)
	}
	p, err := raw.Decode()
	return p, wrap("partner", err)
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// execOne runs a statement that must change exactly one row: not_found otherwise.
func (t *tx) execOne(ctx context.Context, op, q string, args ...any) error {
	st, err := t.s.stmt(ctx, t.tx, q)
	if err != nil {
		return wrap(op, err)
	}
	res, err := st.ExecContext(ctx, args...)
	if err != nil {
		return wrap(op, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return emoney.Errorf(emoney.ENotFound, "%s: not found", op)
	}
	return nil
}

func (t *tx) SetTOTP(ctx context.Context, user emoney.ID, sealed []byte, confirmed bool) error {
	err := t.execOne(ctx, "set totp", `UPDATE users SET totp_sealed = ?, totp_confirmed = ? WHERE id = ? AND totp_confirmed = 0`, sealed, boolInt(confirmed), user.Bytes())
	if emoney.ErrorCode(err) == emoney.ENotFound {
		if _, uerr := t.User(ctx, user); uerr == nil {
			return emoney.Errorf(emoney.EConflict, "a confirmed one-time-code app is enrolled")
		}
	}
	return err
}

func (t *tx) UseTOTPStep(ctx context.Context, user emoney.ID, step int64) (bool, error) {
	err := t.execOne(ctx, "use totp step", `UPDATE users SET totp_last_step = ? WHERE id = ? AND (totp_last_step IS NULL OR totp_last_step < ?)`, step, user.Bytes(), step)
	if emoney.ErrorCode(err) == emoney.ENotFound {
		return false, nil
	}
	return err == nil, err
}

func (t *tx) MarkStepUp(ctx context.Context, tokenHash []byte, at time.Time) error {
	return t.execOne(ctx, "step up", `UPDATE sessions SET stepped_up_at = ? WHERE token_hash = ?`, micros(at), tokenHash)
}
