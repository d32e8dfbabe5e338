package sqlite

import (
	"context"
	"time"

	"emoney"
	"emoney/internal/row"
)

func (t *tx) KYC(ctx context.Context, user emoney.ID) (emoney.KYC, error) {
	rows, err := t.query(ctx, `SELECT `+row.KYCCols+` FROM kyc WHERE user_id = ?`, user.Bytes())
	if err != nil {
		return emoney.KYC{}, wrap("kyc", err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return emoney.KYC{}, wrap("kyc", err)
		}
		return emoney.KYC{}, emoney.Errorf(emoney.ENotFound, "no verification record")
	}
	var raw row.KYC
	if err := rows.Scan(raw.Dest()...); err != nil {
		return emoney.KYC{}, wrap("kyc", err)
	}
	k, err := raw.Decode()
	return k, wrap("kyc", err)
}

func (t *tx) UsersByIdentity(ctx context.Context, index []byte) ([]emoney.ID, error) {
	rows, err := t.query(ctx, `SELECT user_id FROM kyc WHERE identity_index = ? ORDER BY user_id`, index)
	if err != nil {
		return nil, wrap("users by identity", err)
	}
	defer rows.Close()
	var out []emoney.ID
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			return nil, wrap("users by identity", err)
		}
		id, err := emoney.IDFromBytes(b)
		if err != nil {
			return nil, wrap("users by identity", err)
		}
		out = append(out, id)
	}
	return out, wrap("users by identity", rows.Err())
}

func (t *tx) PhoneChallenge(ctx context.Context, user emoney.ID) (emoney.PhoneChallenge, error) {
	rows, err := t.query(ctx, `SELECT `+row.PhoneChallengeCols+` FROM phone_challenges WHERE user_id = ?`, user.Bytes())
	if err != nil {
		return emoney.PhoneChallenge{}, wrap("phone challenge", err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return emoney.PhoneChallenge{}, wrap("phone challenge", err)
		}
		return emoney.PhoneChallenge{}, emoney.Errorf(emoney.ENotFound, "no phone code was sent")
	}
	var raw row.PhoneChallenge
	if err := rows.Scan(raw.Dest()...); err != nil {
		return emoney.PhoneChallenge{}, wrap("phone challenge", err)
	}
	c, err := raw.Decode()
	return c, wrap("phone challenge", err)
}

// LockPhoneChallenge needs no row lock on SQLite: a write transaction holds the database's only
// write lock.
func (t *tx) LockPhoneChallenge(ctx context.Context, user emoney.ID) (emoney.PhoneChallenge, error) {
	return t.PhoneChallenge(ctx, user)
}

func (t *tx) SavePhoneChallenge(ctx context.Context, c emoney.PhoneChallenge) error {
	err := t.exec(ctx, `INSERT INTO phone_challenges (`+row.PhoneChallengeCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (user_id) DO UPDATE SET phone_index = excluded.phone_index, phone_sealed = excluded.phone_sealed,
		code_hash = excluded.code_hash, expires_at = excluded.expires_at, attempts = excluded.attempts,
		sent_at = excluded.sent_at, sends = excluded.sends, window_start = excluded.window_start`,
		c.User.Bytes(), c.PhoneIndex, c.PhoneSealed, c.CodeHash, micros(c.ExpiresAt), c.Attempts, micros(c.SentAt), c.Sends, micros(c.WindowStart))
	return wrap("save phone challenge", err)
}

func (t *tx) FailPhoneChallenge(ctx context.Context, user emoney.ID) (int, error) {
	if err := t.execOne(ctx, "phone challenge", `UPDATE phone_challenges SET attempts = attempts + 1 WHERE user_id = ?`, user.Bytes()); err != nil {
		return 0, err
	}
	c, err := t.PhoneChallenge(ctx, user)
	return c.Attempts, err
}

func (t *tx) VerifyPhone(ctx context.Context, user emoney.ID, index, sealed []byte, at time.Time) error {
	if err := t.phoneFree(ctx, user, index); err != nil {
		return err
	}
	if err := t.exec(ctx, `INSERT INTO kyc (user_id, phone_index, phone_sealed, phone_verified_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (user_id) DO UPDATE SET phone_index = excluded.phone_index, phone_sealed = excluded.phone_sealed,
		phone_verified_at = excluded.phone_verified_at`, user.Bytes(), index, sealed, micros(at)); err != nil {
		return wrap("verify phone", err)
	}
	return wrap("verify phone", t.exec(ctx, `DELETE FROM phone_challenges WHERE user_id = ?`, user.Bytes()))
}

// phoneFree answers conflict if another user's verified phone has the index.
func (t *tx) phoneFree(ctx context.Context, user emoney.ID, index []byte) error {
	rows, err := t.query(ctx, `SELECT 1 FROM kyc WHERE phone_index = ? AND user_id <> ?`, index, user.Bytes())
	if err != nil {
		return wrap("verify phone", err)
	}
	defer rows.Close()
	if rows.Next() {
		return &emoney.Error{Code: emoney.EConflict, Field: "phone", Message: "this phone number already verifies another wallet"}
	}
	return wrap("verify phone", rows.Err())
}

func (t *tx) VerifyIdentity(ctx context.Context, user emoney.ID, sealed, index []byte, at time.Time) error {
	return t.execOne(ctx, "verify identity", `UPDATE kyc SET identity_sealed = ?, identity_index = ?, identity_verified_at = ? WHERE user_id = ?`,
		sealed, index, micros(at), user.Bytes())
}

func (t *tx) SetKYCTier(ctx context.Context, user emoney.ID, tier int) error {
	return t.execOne(ctx, "set kyc tier", `UPDATE users SET kyc_tier = ? WHERE id = ?`, tier, user.Bytes())
}

func (t *tx) ResealKYC(ctx context.Context, user emoney.ID, phoneSealed, identitySealed []byte) error {
	return t.execOne(ctx, "reseal kyc", `UPDATE kyc SET phone_sealed = ?, identity_sealed = ? WHERE user_id = ?`, phoneSealed, identitySealed, user.Bytes())
}
