package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"emoney"
	"emoney/internal/row"
)

func (t *tx) KYC(ctx context.Context, user emoney.ID) (emoney.KYC, error) {
	var raw row.KYC
	err := t.tx.QueryRow(ctx, `SELECT `+row.KYCCols+` FROM kyc WHERE user_id = $1`, user.Bytes()).Scan(raw.Dest()...)
	if errors.Is(err, pgx.ErrNoRows) {
		return emoney.KYC{}, emoney.Errorf(emoney.ENotFound, "no verification record")
	}
	if err != nil {
		return emoney.KYC{}, wrap("kyc", err)
	}
	k, err := raw.Decode()
	return k, wrap("kyc", err)
}

func (t *tx) UsersByIdentity(ctx context.Context, index []byte) ([]emoney.ID, error) {
	rows, err := t.tx.Query(ctx, `SELECT user_id FROM kyc WHERE identity_index = $1 ORDER BY user_id`, index)
	if err != nil {
		return nil, wrap("users by identity", err)
	}
	out, err := collect(rows, func(r pgx.Row) (emoney.ID, error) {
		var b []byte
		if err := r.Scan(&b); err != nil {
			return emoney.ID{}, err
		}
		return emoney.IDFromBytes(b)
	})
	return out, wrap("users by identity", err)
}

func (t *tx) PhoneChallenge(ctx context.Context, user emoney.ID) (emoney.PhoneChallenge, error) {
	return t.phoneChallenge(ctx, user, "")
}

// LockPhoneChallenge reads the challenge FOR UPDATE: concurrent confirms and resends of one user
// wait for each other instead of each seeing the attempts as they were.
func (t *tx) LockPhoneChallenge(ctx context.Context, user emoney.ID) (emoney.PhoneChallenge, error) {
	return t.phoneChallenge(ctx, user, " FOR UPDATE")
}

func (t *tx) phoneChallenge(ctx context.Context, user emoney.ID, lock string) (emoney.PhoneChallenge, error) {
	var raw row.PhoneChallenge
	err := t.tx.QueryRow(ctx, `SELECT `+row.PhoneChallengeCols+` FROM phone_challenges WHERE user_id = $1`+lock, user.Bytes()).Scan(raw.Dest()...)
	if errors.Is(err, pgx.ErrNoRows) {
		return emoney.PhoneChallenge{}, emoney.Errorf(emoney.ENotFound, "no phone code was sent")
	}
	if err != nil {
		return emoney.PhoneChallenge{}, wrap("phone challenge", err)
	}
	c, err := raw.Decode()
	return c, wrap("phone challenge", err)
}

func (t *tx) SavePhoneChallenge(ctx context.Context, c emoney.PhoneChallenge) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO phone_challenges (`+row.PhoneChallengeCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (user_id) DO UPDATE SET phone_index = excluded.phone_index, phone_sealed = excluded.phone_sealed,
		code_hash = excluded.code_hash, expires_at = excluded.expires_at, attempts = excluded.attempts,
		sent_at = excluded.sent_at, sends = excluded.sends, window_start = excluded.window_start`,
		c.User.Bytes(), c.PhoneIndex, c.PhoneSealed, c.CodeHash, micros(c.ExpiresAt), c.Attempts, micros(c.SentAt), c.Sends, micros(c.WindowStart))
	return wrap("save phone challenge", err)
}

func (t *tx) FailPhoneChallenge(ctx context.Context, user emoney.ID) (int, error) {
	var n int
	err := t.tx.QueryRow(ctx, `UPDATE phone_challenges SET attempts = attempts + 1 WHERE user_id = $1 RETURNING attempts`, user.Bytes()).Scan(&n)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, emoney.Errorf(emoney.ENotFound, "no phone code was sent")
	}
	return n, wrap("phone challenge", err)
}

func (t *tx) VerifyPhone(ctx context.Context, user emoney.ID, index, sealed []byte, at time.Time) error {
	var taken bool
	if err := t.tx.QueryRow(ctx, `SELECT EXISTS (SELECT FROM kyc WHERE phone_index = $1 AND user_id <> $2)`, index, user.Bytes()).Scan(&taken); err != nil {
		return wrap("verify phone", err)
	}
	if taken {
		return &emoney.Error{Code: emoney.EConflict, Field: "phone", Message: "this phone number already verifies another wallet"}
	}
	if _, err := t.tx.Exec(ctx, `INSERT INTO kyc (user_id, phone_index, phone_sealed, phone_verified_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (user_id) DO UPDATE SET phone_index = excluded.phone_index, phone_sealed = excluded.phone_sealed,
		phone_verified_at = excluded.phone_verified_at`, user.Bytes(), index, sealed, micros(at)); err != nil {
		return wrap("verify phone", err)
	}
	_, err := t.tx.Exec(ctx, `DELETE FROM phone_challenges WHERE user_id = $1`, user.Bytes())
	return wrap("verify phone", err)
}

func (t *tx) VerifyIdentity(ctx context.Context, user emoney.ID, sealed, index []byte, at time.Time) error {
	return t.execOne(ctx, "verify identity", `UPDATE kyc SET identity_sealed = $1, identity_index = $2, identity_verified_at = $3 WHERE user_id = $4`,
		sealed, index, micros(at), user.Bytes())
}

func (t *tx) SetKYCTier(ctx context.Context, user emoney.ID, tier int) error {
	return t.execOne(ctx, "set kyc tier", `UPDATE users SET kyc_tier = $1 WHERE id = $2`, tier, user.Bytes())
}

func (t *tx) ResealKYC(ctx context.Context, user emoney.ID, phoneSealed, identitySealed []byte) error {
	return t.execOne(ctx, "reseal kyc", `UPDATE kyc SET phone_sealed = $1, identity_sealed = $2 WHERE user_id = $3`, phoneSealed, identitySealed, user.Bytes())
}
