package sqlite

import (
	"context"
	"time"

	"emoney"
	"emoney/internal/row"
)

func (t *tx) CreatePasskey(ctx context.Context, p emoney.Passkey) error {
	err := t.exec(ctx, `INSERT INTO passkeys (`+row.PasskeyCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.ID.Bytes(), p.User.Bytes(), p.CredentialID, p.PublicKey, int64(p.SignCount), nonNil(p.AAGUID), row.Transports(p.Transports),
		int64(p.Flags), p.Name, micros(p.CreatedAt), nullMicros(p.LastUsedAt))
	return wrap("create passkey", err)
}

func (t *tx) Passkeys(ctx context.Context, user emoney.ID) ([]emoney.Passkey, error) {
	return t.passkeys(ctx, `SELECT `+row.PasskeyCols+` FROM passkeys WHERE user_id = ? ORDER BY id`, user.Bytes())
}

func (t *tx) PasskeyByCredential(ctx context.Context, credentialID []byte) (emoney.Passkey, error) {
	ps, err := t.passkeys(ctx, `SELECT `+row.PasskeyCols+` FROM passkeys WHERE credential_id = ?`, credentialID)
	if err != nil {
		return emoney.Passkey{}, err
	}
	if len(ps) == 0 {
		return emoney.Passkey{}, emoney.Errorf(emoney.ENotFound, "passkey not found")
	}
	return ps[0], nil
}

func (t *tx) UpdatePasskeySignCount(ctx context.Context, id emoney.ID, signCount uint32, at time.Time) (bool, error) {
	n := int64(signCount)
	err := t.execOne(ctx, "use passkey", `UPDATE passkeys SET sign_count = ?, last_used_at = ?
		WHERE id = ? AND (sign_count < ? OR (sign_count = 0 AND ? = 0))`, n, micros(at), id.Bytes(), n, n)
	if emoney.ErrorCode(err) != emoney.ENotFound {
		return err == nil, err
	}
	ps, err := t.passkeys(ctx, `SELECT `+row.PasskeyCols+` FROM passkeys WHERE id = ?`, id.Bytes())
	if err != nil {
		return false, err
	}
	if len(ps) == 0 {
		return false, emoney.Errorf(emoney.ENotFound, "passkey not found")
	}
	return false, nil
}

func (t *tx) DeletePasskey(ctx context.Context, user, id emoney.ID) error {
	return t.execOne(ctx, "delete passkey", `DELETE FROM passkeys WHERE id = ? AND user_id = ?`, id.Bytes(), user.Bytes())
}

func (t *tx) passkeys(ctx context.Context, q string, args ...any) ([]emoney.Passkey, error) {
	rows, err := t.query(ctx, q, args...)
	if err != nil {
		return nil, wrap("passkeys", err)
	}
	defer rows.Close()
	out := []emoney.Passkey{}
	for rows.Next() {
		var raw row.Passkey
		if err := rows.Scan(raw.Dest()...); err != nil {
			return nil, wrap("passkeys", err)
		}
		p, err := raw.Decode()
		if err != nil {
			return nil, wrap("passkeys", err)
		}
		out = append(out, p)
	}
	return out, wrap("passkeys", rows.Err())
}

func (t *tx) SaveCeremony(ctx context.Context, c emoney.Ceremony) error {
	if err := t.exec(ctx, `DELETE FROM webauthn_ceremonies WHERE expires_at <= ?`, micros(c.CreatedAt)); err != nil {
		return wrap("save ceremony", err)
	}
	err := t.exec(ctx, `INSERT INTO webauthn_ceremonies (token_hash, kind, data, created_at, expires_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (token_hash, kind) DO UPDATE SET data = excluded.data, created_at = excluded.created_at, expires_at = excluded.expires_at`,
		c.TokenHash, string(c.Kind), nonNil(c.Data), micros(c.CreatedAt), micros(c.ExpiresAt))
	return wrap("save ceremony", err)
}

func (t *tx) TakeCeremony(ctx context.Context, tokenHash []byte, kind emoney.CeremonyKind, now time.Time) (emoney.Ceremony, error) {
	rows, err := t.query(ctx, `DELETE FROM webauthn_ceremonies WHERE token_hash = ? AND kind = ?
		RETURNING token_hash, kind, data, created_at, expires_at`, tokenHash, string(kind))
	if err != nil {
		return emoney.Ceremony{}, wrap("take ceremony", err)
	}
	defer rows.Close()
	var c emoney.Ceremony
	var k string
	var created, expires int64
	found := rows.Next()
	if found {
		if err := rows.Scan(&c.TokenHash, &k, &c.Data, &created, &expires); err != nil {
			return emoney.Ceremony{}, wrap("take ceremony", err)
		}
	}
	for rows.Next() { // run the statement to its end
	}
	if err := rows.Err(); err != nil {
		return emoney.Ceremony{}, wrap("take ceremony", err)
	}
	if !found || expires <= micros(now) {
		return emoney.Ceremony{}, emoney.Errorf(emoney.ENotFound, "no ceremony in progress, or it expired")
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
