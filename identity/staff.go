package identity

import (
	"context"
	"time"

	"github.com/pquerna/otp/totp"

	"emoney"
	"emoney/audit"
)

// EnrolmentTTL is how long a staff enrolment code works.
const EnrolmentTTL = 72 * time.Hour

// CreateStaff makes a staff account with no password and returns its one-time enrolment code
// (shown once): its first use sets the password and the one-time-code app. Errors: invalid
// (email, role), conflict (the e-mail has an account), internal.
func (s *Service) CreateStaff(ctx context.Context, email string, role emoney.Role) (emoney.User, string, error) {
	if !role.Staff() {
		return emoney.User{}, "", emoney.FieldError("role", "role must be support, analyst, senior_analyst or admin")
	}
	email, err := normalEmail(email)
	if err != nil {
		return emoney.User{}, "", err
	}
	code, hash, err := newSecret("ems_")
	if err != nil {
		return emoney.User{}, "", err
	}
	now := s.cfg.Now().UTC().Truncate(time.Microsecond)
	u := emoney.User{ID: s.cfg.IDs.NewID(), Role: role, CreatedAt: now, EnrolHash: hash, EnrolExpires: now.Add(EnrolmentTTL)}
	if u.EmailIndex, err = s.keys.Index("email", email); err != nil {
		return emoney.User{}, "", err
	}
	if u.EmailSealed, err = s.keys.Seal([]byte(email), "user:"+u.ID.String()+":email"); err != nil {
		return emoney.User{}, "", err
	}
	err = s.store.Update(ctx, func(tx emoney.Tx) error {
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		_, err := audit.Append(ctx, tx, emoney.AuditEntry{At: now, Actor: "cli", Action: "staff.create", Object: u.ID.String(), Detail: []byte(`{"role":"` + string(role) + `"}`)})
		return err
	})
	if err != nil {
		if emoney.ErrorCode(err) == emoney.EConflict {
			return emoney.User{}, "", &emoney.Error{Code: emoney.EConflict, Field: "email", Message: "an account with this e-mail exists"}
		}
		return emoney.User{}, "", err
	}
	return u, code, nil
}

// EnrolStaff spends an enrolment code: it sets the password and a new TOTP secret, returned
// (secret and otpauth URI) for the authenticator app. The first sign-in with a code from it
// confirms it. Errors: unauthorized (unknown, used or expired code), forbidden (the account is
// disabled), invalid (password),
// rate_limited, internal.
func (s *Service) EnrolStaff(ctx context.Context, code, password string) (secret, uri string, err error) {
	bad := emoney.Errorf(emoney.EUnauthorized, "the enrolment code is unknown, used or expired")
	if len(code) > 100 {
		return "", "", bad
	}
	if n := len([]rune(password)); n < 12 || len(password) > 1024 {
		return "", "", emoney.FieldError("password", "staff passwords must be 12 to 1024 characters")
	}
	var u emoney.User
	err = s.store.View(ctx, func(tx emoney.ReadTx) error {
		var err error
		u, err = tx.UserByEnrolment(ctx, tokenHash(code))
		return err
	})
	if emoney.ErrorCode(err) == emoney.ENotFound || (err == nil && !s.cfg.Now().Before(u.EnrolExpires)) {
		return "", "", bad
	}
	if err != nil {
		return "", "", err
	}
	email, err := s.Email(u)
	if err != nil {
		return "", "", err
	}
	done, err := s.work(ctx)
	if err != nil {
		return "", "", err
	}
	hash, err := s.cfg.Argon2.hashPassword(password)
	done()
	if err != nil {
		return "", "", err
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: "emoney staff", AccountName: email, Period: totpPeriod, SecretSize: 20})
	if err != nil {
		return "", "", err
	}
	sealed, err := s.keys.Seal([]byte(key.Secret()), "user:"+u.ID.String()+":totp")
	if err != nil {
		return "", "", err
	}
	if err := s.store.Update(ctx, func(tx emoney.Tx) error {
		if err := refuseDisabled(ctx, tx, u.ID, errDisabled); err != nil {
			return err
		}
		if err := tx.CompleteEnrolment(ctx, u.ID, hash, sealed); err != nil {
			return err
		}
		_, err := audit.Append(ctx, tx, emoney.AuditEntry{At: s.cfg.Now(), Actor: "staff:" + u.ID.String(), Action: "staff.enrol", Object: u.ID.String()})
		return err
	}); err != nil {
		if emoney.ErrorCode(err) == emoney.ENotFound {
			return "", "", bad // spent by a concurrent use
		}
		return "", "", err
	}
	return key.Secret(), key.URL(), nil
}
