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
	_, err := t.tx.Exec(ctx, `INSERT INTO users (`+row.UserCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		u.ID.Bytes(), u.EmailIndex, u.EmailSealed, u.PasswordHash, string(u.Role), u.KYCTier, micros(u.CreatedAt))
	return wrap("create user", err)
}

func (t *tx) User(ctx context.Context, id emoney.ID) (emoney.User, error) {
	return t.oneUser(ctx, `SELECT `+row.UserCols+` FROM users WHERE id = $1`, id.Bytes())
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
	_, err := t.tx.Exec(ctx, `INSERT INTO sessions (`+row.SessionCols+`) VALUES ($1, $2, $3, $4, $5, $6)`,
		s.TokenHash, s.User.Bytes(), s.Device, micros(s.CreatedAt), micros(s.ExpiresAt), nullMicros(s.RevokedAt))
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
	tag, err := t.tx.Exec(ctx, `UPDATE sessions SET revoked_at = coalesce(revoked_at, $1) WHERE token_hash = $2`, micros(at), tokenHash)
	if err != nil {
		return wrap("revoke session", err)
	}
	if tag.RowsAffected() == 0 {
		return emoney.Errorf(emoney.ENotFound, "session not found")
	}
	return nil
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
