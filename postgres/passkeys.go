package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"emoney"
	"emoney/internal/row"
)

func (t *tx) CreatePasskey(ctx context.Context, p emoney.Passkey) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO passkeys (`+row.PasskeyCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		p.ID.Bytes(), p.User.Bytes(), p.CredentialID, p.PublicKey, int64(p.SignCount), nonNil(p.AAGUID), row.Transports(p.Transports),
		int64(p.Flags), p.Name, micros(p.CreatedAt), nullMicros(p.LastUsedAt))
	return wrap("create passkey", err)
}

func (t *tx) Passkeys(ctx context.Context, user emoney.ID) ([]emoney.Passkey, error) {
	return t.passkeys(ctx, `SELECT `+row.PasskeyCols+` FROM passkeys WHERE user_id = $1 ORDER BY id`, user.Bytes())
}

func (t *tx) PasskeyByCredential(ctx context.Context, credentialID []byte) (emoney.Passkey, error) {
	ps, err := t.passkeys(ctx, `SELECT `+row.PasskeyCols+` FROM passkeys WHERE credential_id = $1`, credentialID)
	if err != nil {
		return emoney.Passkey{}, err
	}
	if len(ps) == 0 {
		return emoney.Passkey{}, emoney.Errorf(emoney.ENotFound, "passkey not found")
	}
	return ps[0], nil
}

func (t *tx) UpdatePasskeySignCount(ctx context.Context, id emoney.ID, signCount uint32, at time.Time) (bool, error) {
	err := t.execOne(ctx, "use passkey", `UPDATE passkeys SET sign_count = $1, last_used_at = $2
		WHERE id = $3 AND (sign_count < $1 OR (sign_count = 0 AND $1 = 0))`, int64(signCount), micros(at), id.Bytes())
	if emoney.ErrorCode(err) != emoney.ENotFound {
		return err == nil, err
	}
	ps, err := t.passkeys(ctx, `SELECT `+row.PasskeyCols+` FROM passkeys WHERE id = $1`, id.Bytes())
	if err != nil {
		return false, err
	}
	if len(ps) == 0 {
		return false, emoney.Errorf(emoney.ENotFound, "passkey not found")
	}
	return false, nil
}

func (t *tx) DeletePasskey(ctx context.Context, user, id emoney.ID) error {
	return t.execOne(ctx, "delete passkey", `DELETE FROM passkeys WHERE id = $1 AND user_id = $2`, id.Bytes(), user.Bytes())
}

func (t *tx) passkeys(ctx context.Context, q string, args ...any) ([]emoney.Passkey, error) {
	rows, err := t.tx.Query(ctx, q, args...)
	if err != nil {
		return nil, wrap("passkeys", err)
	}
	out, err := collect(rows, func(r pgx.Row) (emoney.Passkey, error) {
		var raw row.Passkey
		if err := r.Scan(raw.Dest()...); err != nil {
			return emoney.Passkey{}, err
		}
		return raw.Decode()
	})
	if out == nil {
		out = []emoney.Passkey{}
	}
	return out, wrap("passkeys", err)
}

func (t *tx) SaveCeremony(ctx context.Context, c emoney.Ceremony) error {
	if _, err := t.tx.Exec(ctx, `DELETE FROM webauthn_ceremonies WHERE expires_at <= $1`, micros(c.CreatedAt)); err != nil {
		return wrap("save ceremony", err)
	}
	_, err := t.tx.Exec(ctx, `INSERT INTO webauthn_ceremonies (token_hash, kind, data, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (token_hash, kind) DO UPDATE SET data = excluded.data, created_at = excluded.created_at, expires_at = excluded.expires_at`,
		c.TokenHash, string(c.Kind), nonNil(c.Data), micros(c.CreatedAt), micros(c.ExpiresAt))
	return wrap("save ceremony", err)
}

func (t *tx) TakeCeremony(ctx context.Context, tokenHash []byte, kind emoney.CeremonyKind, now time.Time) (emoney.Ceremony, error) {
	var c emoney.Ceremony
	var k string
	var created, expires int64
	err := t.tx.QueryRow(ctx, `DELETE FROM webauthn_ceremonies WHERE token_hash = $1 AND kind = $2
		RETURNING token_hash, kind, data, created_at, expires_at`, tokenHash, string(kind)).Scan(&c.TokenHash, &k, &c.Data, &created, &expires)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && expires <= micros(now)) {
		return emoney.Ceremony{}, emoney.Errorf(emoney.ENotFound, "no ceremony in progress, or it expired")
	}
	if err != nil {
		return emoney.Ceremony{}, wrap("take ceremony", err)
	}
	c.Kind, c.CreatedAt, c.ExpiresAt = emoney.CeremonyKind(k), fromMicros(created), fromMicros(expires)
	return c, nil
}

// nonNil keeps an empty byte slice from becoming NULL in a NOT NULL column.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
