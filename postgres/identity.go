package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"emoney"
	"emoney/internal/row"
)

func (t *tx) CreateUser(ctx context.Context, u emoney.User) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO users (`+row.UserCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		u.ID.Bytes(), u.EmailIndex, u.EmailSealed, u.PasswordHash, string(u.Role), u.KYCTier, micros(u.CreatedAt), u.TOTPSealed, boolInt(u.TOTPConfirmed),
		u.EnrolHash, nullMicros(u.EnrolExpires))
	return wrap("create user", err)
}

func (t *tx) User(ctx context.Context, id emoney.ID) (emoney.User, error) {
	return t.oneUser(ctx, `SELECT `+row.UserCols+` FROM users WHERE id = $1`, id.Bytes())
}

func (t *tx) Users(ctx context.Context, after emoney.ID, limit int) ([]emoney.User, error) {
	rows, err := t.tx.Query(ctx, `SELECT `+row.UserCols+` FROM users WHERE id > $1 ORDER BY id LIMIT $2`, after[:], limit)
	if err != nil {
		return nil, wrap("users", err)
	}
	out, err := collect(rows, func(r pgx.Row) (emoney.User, error) {
		var raw row.User
		if err := r.Scan(raw.Dest()...); err != nil {
			return emoney.User{}, err
		}
		return raw.Decode()
	})
	return out, wrap("users", err)
}

func (t *tx) ResealUser(ctx context.Context, id emoney.ID, emailSealed, totpSealed []byte) error {
	return t.execOne(ctx, "reseal user", `UPDATE users SET email_sealed = $1, totp_sealed = $2 WHERE id = $3`, emailSealed, totpSealed, id.Bytes())
}

func (t *tx) UserByEnrolment(ctx context.Context, codeHash []byte) (emoney.User, error) {
	return t.oneUser(ctx, `SELECT `+row.UserCols+` FROM users WHERE enrol_hash = $1`, codeHash)
}

func (t *tx) CompleteEnrolment(ctx context.Context, user emoney.ID, passwordHash string, totpSealed []byte) error {
	return t.execOne(ctx, "complete enrolment", `UPDATE users SET password_hash = $1, totp_sealed = $2, totp_confirmed = 0,
		enrol_hash = NULL, enrol_expires = NULL WHERE id = $3 AND enrol_hash IS NOT NULL`, passwordHash, totpSealed, user.Bytes())
}

func (t *tx) UserByEmail(ctx context.Context, index []byte) (emoney.User, error) {
	return t.oneUser(ctx, `SELECT `+row.UserCols+` FROM users WHERE email_index = $1`, index)
}

func (t *tx) oneUser(ctx context.Context, q string, arg any) (emoney.User, error) {
	var raw row.User
	err := t.tx.QueryRow(ctx, q, arg).Scan(raw.Dest()...)
	if errors.Is(err, pgx.ErrNoRows) {
		return emoney.User{}, emoney.Errorf(emoney.ENotFound, "user not found")
	}
	if err != nil {
		return emoney.User{}, wrap("user", err)
	}
	u, err := raw.Decode()
	return u, wrap("user", err)
}

func (t *tx) CreateSession(ctx context.Context, s emoney.Session) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO sessions (`+row.SessionCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		s.TokenHash, s.User.Bytes(), s.Device, micros(s.CreatedAt), micros(s.ExpiresAt), nullMicros(s.RevokedAt), nullMicros(s.SteppedUpAt))
	return wrap("create session", err)
}

func (t *tx) Session(ctx context.Context, tokenHash []byte) (emoney.Session, error) {
	var raw row.Session
	err := t.tx.QueryRow(ctx, `SELECT `+row.SessionCols+` FROM sessions WHERE token_hash = $1`, tokenHash).Scan(raw.Dest()...)
	if errors.Is(err, pgx.ErrNoRows) {
		return emoney.Session{}, emoney.Errorf(emoney.ENotFound, "session not found")
	}
	if err != nil {
		return emoney.Session{}, wrap("session", err)
	}
	s, err := raw.Decode()
	return s, wrap("session", err)
}

func (t *tx) RevokeSession(ctx context.Context, tokenHash []byte, at time.Time) error {
	return t.execOne(ctx, "revoke session", `UPDATE sessions SET revoked_at = coalesce(revoked_at, $1) WHERE token_hash = $2`, micros(at), tokenHash)
}

// execOne runs a statement that must change exactly one row: not_found otherwise.
func (t *tx) execOne(ctx context.Context, op, q string, args ...any) error {
	tag, err := t.tx.Exec(ctx, q, args...)
	if err != nil {
		return wrap(op, err)
	}
	if tag.RowsAffected() == 0 {
		return emoney.Errorf(emoney.ENotFound, "%s: not found", op)
	}
	return nil
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func (t *tx) SetTOTP(ctx context.Context, user emoney.ID, sealed []byte, confirmed bool) error {
	err := t.execOne(ctx, "set totp", `UPDATE users SET totp_sealed = $1, totp_confirmed = $2 WHERE id = $3 AND totp_confirmed = 0`, sealed, boolInt(confirmed), user.Bytes())
	if emoney.ErrorCode(err) == emoney.ENotFound {
		if _, uerr := t.User(ctx, user); uerr == nil {
			return emoney.Errorf(emoney.EConflict, "a confirmed one-time-code app is enrolled")
		}
	}
	return err
}

func (t *tx) UseTOTPStep(ctx context.Context, user emoney.ID, step int64) (bool, error) {
	err := t.execOne(ctx, "use totp step", `UPDATE users SET totp_last_step = $1 WHERE id = $2 AND (totp_last_step IS NULL OR totp_last_step < $1)`, step, user.Bytes())
	if emoney.ErrorCode(err) == emoney.ENotFound {
		return false, nil
	}
	return err == nil, err
}

func (t *tx) MarkStepUp(ctx context.Context, tokenHash []byte, at time.Time) error {
	return t.execOne(ctx, "step up", `UPDATE sessions SET stepped_up_at = $1 WHERE token_hash = $2`, micros(at), tokenHash)
}

func (t *tx) CreatePartner(ctx context.Context, p emoney.Partner) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO partners (`+row.PartnerCols+`) VALUES ($1, $2, $3, $4, $5, $6)`,
		p.ID.Bytes(), p.Name, string(p.Role), p.KeyHash, micros(p.CreatedAt), nullMicros(p.RevokedAt))
	return wrap("create partner", err)
}

func (t *tx) RevokePartner(ctx context.Context, name string, at time.Time) (emoney.Partner, error) {
	if _, err := t.tx.Exec(ctx, `UPDATE partners SET revoked_at = coalesce(revoked_at, $1) WHERE name = $2`, micros(at), name); err != nil {
		return emoney.Partner{}, wrap("revoke partner", err)
	}
	return t.onePartner(ctx, `SELECT `+row.PartnerCols+` FROM partners WHERE name = $1`, name)
}

func (t *tx) PartnerByKey(ctx context.Context, keyHash []byte) (emoney.Partner, error) {
	return t.onePartner(ctx, `SELECT `+row.PartnerCols+` FROM partners WHERE key_hash = $1`, keyHash)
}

func (t *tx) onePartner(ctx context.Context, q string, arg any) (emoney.Partner, error) {
	var raw row.Partner
	err := t.tx.QueryRow(ctx, q, arg).Scan(raw.Dest()...)
	if errors.Is(err, pgx.ErrNoRows) {
		return emoney.Partner{}, emoney.Errorf(emoney.ENotFound, "partner not found")
	}
	if err != nil {
		return emoney.Partner{}, wrap("partner", err)
	}
	p, err := raw.Decode()
	return p, wrap("partner", err)
}
