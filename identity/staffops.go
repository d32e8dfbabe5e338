package identity

import (
	"context"
	"encoding/json"
	"time"

	"emoney"
	"emoney/audit"
)

// SessionRetention is how long an expired or revoked session is kept (for investigations:
// which device was signed in when) before the sweeper deletes it.
const SessionRetention = 30 * 24 * time.Hour

// errDisabled is what a disabled user hears once they proved every factor.
var errDisabled = emoney.Errorf(emoney.EForbidden, "this account is disabled: ask an administrator")

// refuseDisabled returns refusal if the user is disabled.
func refuseDisabled(ctx context.Context, tx emoney.ReadTx, user emoney.ID, refusal error) error {
	at, err := tx.UserDisabledAt(ctx, user)
	if err != nil {
		return err
	}
	if !at.IsZero() {
		return refusal
	}
	return nil
}

// revokeUser forgets every cached session of a user, and refuses to cache one again for longer
// than any check that began before the revocation can last (as revoke does for one session).
func (c *sessionCache) revokeUser(user emoney.ID, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for h, e := range c.m {
		if e.p.User == user {
			delete(c.m, h)
		}
	}
	if c.revokedUsers == nil || len(c.revokedUsers) >= 100_000 {
		c.revokedUsers = map[emoney.ID]time.Time{}
	}
	for u, t := range c.revokedUsers {
		if !now.Before(t) {
			delete(c.revokedUsers, u)
		}
	}
	c.revokedUsers[user] = now.Add(time.Minute)
}

// RevokeAllSessions signs p's user out everywhere, this session included, and returns how many
// sessions it revoked. This instance refuses them at once; another instance within the 2 s it
// trusts a checked session. Errors: internal.
func (s *Service) RevokeAllSessions(ctx context.Context, p Principal) (int, error) {
	var n int
	err := s.store.Update(ctx, func(tx emoney.Tx) error {
		now := s.cfg.Now()
		var err error
		if n, err = tx.RevokeUserSessions(ctx, p.User, now); err != nil {
			return err
		}
		detail, _ := json.Marshal(map[string]int{"sessions": n})
		_, err = audit.Append(ctx, tx, emoney.AuditEntry{At: now, Actor: "user:" + p.User.String(), Action: "sessions.revoke_all", Object: p.User.String(), Detail: detail})
		return err
	})
	if err != nil {
		return 0, err
	}
	s.sessions.revokeUser(p.User, s.cfg.Now())
	return n, nil
}

// StaffByEmail returns the staff member with the given e-mail. Errors: invalid (email),
// not_found (nobody, or not staff), internal.
func (s *Service) StaffByEmail(ctx context.Context, email string) (emoney.User, error) {
	email, err := normalEmail(email)
	if err != nil {
		return emoney.User{}, err
	}
	index, err := s.keys.Index("email", email)
	if err != nil {
		return emoney.User{}, err
	}
	var u emoney.User
	err = s.store.View(ctx, func(tx emoney.ReadTx) error {
		u, err = tx.UserByEmail(ctx, index)
		return err
	})
	if err == nil && !u.Role.Staff() {
		err = emoney.Errorf(emoney.ENotFound, "not staff")
	}
	if emoney.ErrorCode(err) == emoney.ENotFound {
		return emoney.User{}, emoney.Errorf(emoney.ENotFound, "no staff member with this e-mail")
	}
	return u, err
}

// DisableStaff stops a staff member for good: they cannot sign in or enrol, and every session
// of theirs is revoked, in one transaction with its audit entry; this instance refuses their
// tokens at once, others within the 2 s they trust a checked session (and every instance refuses
// a disabled user's session whatever it has cached after that). actor is who did it ("cli",
// "staff:<id>"); nobody disables themselves. Disabling again is harmless and audited again. It
// returns the sessions revoked. Errors: not_found (no such staff member), forbidden (oneself),
// internal.
func (s *Service) DisableStaff(ctx context.Context, id emoney.ID, actor string) (int, error) {
	if actor == "staff:"+id.String() {
		return 0, emoney.Errorf(emoney.EForbidden, "you cannot disable your own account: ask another administrator")
	}
	var n int
	err := s.store.Update(ctx, func(tx emoney.Tx) error {
		u, err := tx.User(ctx, id)
		if err == nil && !u.Role.Staff() {
			err = emoney.Errorf(emoney.ENotFound, "not staff")
		}
		if emoney.ErrorCode(err) == emoney.ENotFound {
			return emoney.Errorf(emoney.ENotFound, "no such staff member")
		}
		if err != nil {
			return err
		}
		now := s.cfg.Now()
		if err := tx.DisableUser(ctx, id, now); err != nil {
			return err
		}
		if n, err = tx.RevokeUserSessions(ctx, id, now); err != nil {
			return err
		}
		detail, _ := json.Marshal(map[string]any{"role": u.Role, "sessions": n})
		_, err = audit.Append(ctx, tx, emoney.AuditEntry{At: now, Actor: actor, Action: "staff.disable", Object: id.String(), Detail: detail})
		return err
	})
	if err != nil {
		return 0, err
	}
	s.sessions.revokeUser(id, s.cfg.Now())
	return n, nil
}

// ReissueEnrolment gives a staff member who never enrolled a new one-time enrolment code (shown
// once), good for EnrolmentTTL; the old code stops working, expired or not (a lost code must not
// wait for its expiry, nor stay usable). Audited. Errors: not_found (no such staff member),
// conflict (enrolled already: they sign in; or disabled), internal.
func (s *Service) ReissueEnrolment(ctx context.Context, id emoney.ID, actor string) (string, error) {
	code, hash, err := newSecret("ems_")
	if err != nil {
		return "", err
	}
	err = s.store.Update(ctx, func(tx emoney.Tx) error {
		u, err := tx.User(ctx, id)
		if err == nil && !u.Role.Staff() {
			err = emoney.Errorf(emoney.ENotFound, "not staff")
		}
		if emoney.ErrorCode(err) == emoney.ENotFound {
			return emoney.Errorf(emoney.ENotFound, "no such staff member")
		}
		if err != nil {
			return err
		}
		if err := refuseDisabled(ctx, tx, id, emoney.Errorf(emoney.EConflict, "the account is disabled")); err != nil {
			return err
		}
		now := s.cfg.Now().UTC().Truncate(time.Microsecond)
		if err := tx.ReissueEnrolment(ctx, id, hash, now.Add(EnrolmentTTL)); err != nil {
			if emoney.ErrorCode(err) == emoney.EConflict {
				return emoney.Errorf(emoney.EConflict, "this staff member has enrolled already: they sign in with their password and one-time code")
			}
			return err
		}
		_, err = audit.Append(ctx, tx, emoney.AuditEntry{At: now, Actor: actor, Action: "staff.reissue", Object: id.String()})
		return err
	})
	if err != nil {
		return "", err
	}
	return code, nil
}

// PurgeSessions deletes the sessions that expired, or were revoked, more than retention ago, a
// batch at a time, and returns how many it deleted. Several instances may run it at once.
func (s *Service) PurgeSessions(ctx context.Context, retention time.Duration) (int, error) {
	before := s.cfg.Now().Add(-retention)
	total := 0
	for {
		var n int
		err := s.store.Update(ctx, func(tx emoney.Tx) error {
			var err error
			n, err = tx.DeleteSessions(ctx, before, 1000)
			return err
		})
		total += n
		if err != nil || n < 1000 {
			return total, err
		}
	}
}
