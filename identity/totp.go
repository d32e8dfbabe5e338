package identity

import (
	"context"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"emoney"
)

// StepUpFresh is how long a step-up counts as fresh for the actions that ask for one (linking a
// bank account, risky payments).
const StepUpFresh = 5 * time.Minute

const totpPeriod = 30 // seconds

var totpOpts = totp.ValidateOpts{Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// EnrolTOTP gives p's user a new TOTP secret, to be confirmed with a code from it before it
// counts. It returns the secret (base32) and its otpauth:// URI for an authenticator app, both
// shown this once. Errors: conflict (a confirmed factor exists), internal.
func (s *Service) EnrolTOTP(ctx context.Context, p Principal) (secret, uri string, err error) {
	u, err := s.User(ctx, p.User)
	if err != nil {
		return "", "", err
	}
	if u.TOTPConfirmed {
		return "", "", emoney.Errorf(emoney.EConflict, "a one-time-code app is enrolled already")
	}
	email, err := s.Email(u)
	if err != nil {
		return "", "", err
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: "emoney", AccountName: email, Period: totpPeriod, SecretSize: 20})
	if err != nil {
		return "", "", err
	}
	sealed, err := s.keys.Seal([]byte(key.Secret()), "user:"+u.ID.String()+":totp")
	if err != nil {
		return "", "", err
	}
	err = s.store.Update(ctx, func(tx emoney.Tx) error { return tx.SetTOTP(ctx, u.ID, sealed, false) })
	return key.Secret(), key.URL(), err
}

// ConfirmTOTP checks a first code from the enrolled secret; from then on it is a step-up factor.
// Errors: invalid (no enrolment), unauthorized (wrong or used code), rate_limited, internal.
func (s *Service) ConfirmTOTP(ctx context.Context, p Principal, code string) error {
	u, err := s.checkCode(ctx, p, code, false)
	if err != nil {
		return err
	}
	return s.store.Update(ctx, func(tx emoney.Tx) error { return tx.SetTOTP(ctx, u.ID, u.TOTPSealed, true) })
}

// StepUp proves the second factor on p's session now: actions that want a fresh step-up accept
// the session for StepUpFresh. Errors: invalid (no confirmed factor), unauthorized (wrong or
// used code), rate_limited, internal.
func (s *Service) StepUp(ctx context.Context, p Principal, code string) (time.Time, error) {
	if _, err := s.checkCode(ctx, p, code, true); err != nil {
		return time.Time{}, err
	}
	now := s.cfg.Now().UTC().Truncate(time.Microsecond)
	err := s.store.Update(ctx, func(tx emoney.Tx) error { return tx.MarkStepUp(ctx, p.Session, now) })
	s.sessions.forget(p.Session) // the next request reads the new step-up time
	return now, err
}

// checkCode verifies a code against the user's secret, once: a code's time step is recorded and
// never accepted again. Guesses are limited per user.
func (s *Service) checkCode(ctx context.Context, p Principal, code string, confirmed bool) (emoney.User, error) {
	now := s.cfg.Now()
	if ok, wait := s.perAccount.allow(stepUpLimitKey(p.User), now); !ok {
		return emoney.User{}, &RateLimited{emoney.Errorf(emoney.ERateLimited, "too many one-time codes tried"), wait}
	}
	u, err := s.User(ctx, p.User)
	if err != nil {
		return emoney.User{}, err
	}
	if u.TOTPSealed == nil || (confirmed && !u.TOTPConfirmed) {
		return emoney.User{}, emoney.Errorf(emoney.EConflict, "no one-time-code app is enrolled: POST /api/v1/totp first")
	}
	secret, err := s.keys.Open(u.TOTPSealed, "user:"+u.ID.String()+":totp")
	if err != nil {
		return emoney.User{}, err
	}
	// Accept the step before, the current and the next (clocks drift), and learn which matched.
	for _, d := range []int64{0, -1, 1} {
		at := now.Add(time.Duration(d*totpPeriod) * time.Second)
		if ok, _ := totp.ValidateCustom(code, string(secret), at, totpOpts); !ok {
			continue
		}
		var fresh bool
		err := s.store.Update(ctx, func(tx emoney.Tx) error {
			var err error
			fresh, err = tx.UseTOTPStep(ctx, u.ID, at.Unix()/totpPeriod)
			return err
		})
		if err != nil {
			return emoney.User{}, err
		}
		if !fresh {
			break // a replayed code
		}
		return u, nil
	}
	return emoney.User{}, emoney.Errorf(emoney.EUnauthorized, "wrong or already used one-time code")
}

// stepUpLimitKey is the limiter bucket of a user's step-up attempts: one-time codes and passkey
// answers draw on the same one, so having two factors does not double the guesses.
func stepUpLimitKey(user emoney.ID) string { return "totp:" + user.String() }

// Fresh reports whether p stepped up within StepUpFresh.
func (s *Service) Fresh(p Principal) bool {
	return !p.SteppedUpAt.IsZero() && s.cfg.Now().Sub(p.SteppedUpAt) < StepUpFresh
}
