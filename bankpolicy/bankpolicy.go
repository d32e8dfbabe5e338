// Package bankpolicy keeps each bank's policy and kill switches (shared/DESIGN.md "Bank
// linking", step 8): staff change them at runtime, every change is audited with the policy
// before and after, and every instance enforces them on the next request it serves after a
// short, bounded delay.
//
// It is a package of its own, not part of banklink, because more than linking obeys it: money's
// top-ups and withdrawals check their kill switches, and they should not depend on the OAuth
// machinery of the linking protocol to do so.
//
// How a change reaches every instance: each Service caches the whole (small) set of stored
// policies, and trusts a cached set for at most MaxAge (1 s) counted from when the read that
// filled it BEGAN. Any read that begins after a change commits sees it, so every instance
// enforces a change made anywhere at most MaxAge after it committed; the instance that made it,
// at once (it drops its cache on commit). The cost is one small SELECT per second per instance
// while requests come in, none while idle.
package bankpolicy

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"emoney"
	"emoney/audit"
)

// MaxAge is the longest a Service trusts the policies it cached: a change made on any instance
// is enforced by every instance within it.
const MaxAge = time.Second

// Reason codes of the suspended errors Check returns (specs/errors.md: reason is stable).
const (
	ReasonBankDisabled   = "bank_disabled"
	ReasonNewLinksOff    = "new_links_off"
	ReasonTopUpsOff      = "topups_off"
	ReasonWithdrawalsOff = "withdrawals_off"
)

// Config configures a Service.
type Config struct {
	Now func() time.Time // time.Now if nil
	// MaxAge bounds how long a cached policy set is trusted; zero or more than MaxAge: MaxAge.
	MaxAge time.Duration
}

// Service reads, changes and enforces bank policies. It is safe for concurrent use.
type Service struct {
	store emoney.Store
	cfg   Config

	load sync.Mutex // one reload at a time; the others wait for it and use its result

	mu       sync.Mutex // guards the fields below
	cache    map[string]emoney.BankPolicy
	loadedAt time.Time // when the read that filled cache began
	gen      uint64    // moved on by every change made here: a read begun before one is not kept
}

// New returns a service over store.
func New(store emoney.Store, cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxAge <= 0 || cfg.MaxAge > MaxAge {
		cfg.MaxAge = MaxAge
	}
	return &Service{store: store, cfg: cfg}
}

// Global is the reserved bank code of the global kill switches: a switch pulled for Global
// stops that operation with every bank at once (shared/DESIGN.md step 8, issue 6 item 5), on
// top of each bank's own switch. It is stored as a policy row of its own, so it is pulled,
// released, audited (object "bank:all") and cached like any bank's, and the two are
// independent: releasing one does not release the other. Only its kill switches mean
// anything; its settings cannot be set.
const Global = "all"

// validCode returns a not_found error unless code is four digits or Global.
func validCode(code string) error {
	if code == Global {
		return nil
	}
	p := emoney.BankPolicy{Bank: code}
	if err := p.Validate(); emoney.ErrorField(err) == "bank" {
		return emoney.Errorf(emoney.ENotFound, "no bank with code %q: a bank code is four digits", code)
	}
	return nil
}

// Get returns the policy the bank with the given code is held to now, as this instance knows
// it (at most MaxAge old): the stored one, or DefaultBankPolicy. For enforcement; staff read
// with Load. Errors: not_found (not a bank code), internal.
func (s *Service) Get(ctx context.Context, code string) (emoney.BankPolicy, error) {
	p, _, err := s.getWithGlobal(ctx, code)
	return p, err
}

// getWithGlobal is Get, with the Global policy from the same snapshot.
func (s *Service) getWithGlobal(ctx context.Context, code string) (p, global emoney.BankPolicy, err error) {
	if err := validCode(code); err != nil {
		return p, global, err
	}
	m, err := s.snapshot(ctx)
	if err != nil {
		return p, global, err
	}
	of := func(code string) emoney.BankPolicy {
		if p, ok := m[code]; ok {
			return p
		}
		return emoney.DefaultBankPolicy(code)
	}
	return of(code), of(Global), nil
}

// snapshot returns the cached policies, reading them again if they are older than MaxAge.
func (s *Service) snapshot(ctx context.Context) (map[string]emoney.BankPolicy, error) {
	if m, ok := s.cached(); ok {
		return m, nil
	}
	s.load.Lock()
	defer s.load.Unlock()
	if m, ok := s.cached(); ok {
		return m, nil // another caller reloaded while this one waited
	}
	s.mu.Lock()
	gen := s.gen
	s.mu.Unlock()
	began := s.cfg.Now()
	var ps []emoney.BankPolicy
	err := s.store.View(ctx, func(tx emoney.ReadTx) error {
		var err error
		ps, err = tx.BankPolicies(ctx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("bankpolicy: reading policies: %w", err)
	}
	m := make(map[string]emoney.BankPolicy, len(ps))
	for _, p := range ps {
		m[p.Bank] = p
	}
	s.mu.Lock()
	if s.gen == gen {
		s.cache, s.loadedAt = m, began
	}
	s.mu.Unlock()
	return m, nil
}

func (s *Service) cached() (map[string]emoney.BankPolicy, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cache == nil {
		return nil, false
	}
	age := s.cfg.Now().Sub(s.loadedAt)
	return s.cache, age >= 0 && age < s.cfg.MaxAge
}

// changed drops the cache after a change committed here, so the next Get reads it.
func (s *Service) changed() {
	s.mu.Lock()
	s.gen++
	s.cache = nil
	s.mu.Unlock()
}

// Load returns the stored policy of a bank (or DefaultBankPolicy, version 0), read now, not
// from the cache. Errors: not_found (not a bank code), internal.
func (s *Service) Load(ctx context.Context, code string) (emoney.BankPolicy, error) {
	if err := validCode(code); err != nil {
		return emoney.BankPolicy{}, err
	}
	var p emoney.BankPolicy
	err := s.store.View(ctx, func(tx emoney.ReadTx) error {
		var err error
		p, err = current(ctx, tx, code)
		return err
	})
	return p, err
}

// List returns the policy of every bank that has one stored and of every bank in also (with
// defaults), read now, ordered by bank code. Errors: internal.
func (s *Service) List(ctx context.Context, also []string) ([]emoney.BankPolicy, error) {
	var ps []emoney.BankPolicy
	err := s.store.View(ctx, func(tx emoney.ReadTx) error {
		var err error
		ps, err = tx.BankPolicies(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	m := map[string]emoney.BankPolicy{}
	for _, code := range also {
		m[code] = emoney.DefaultBankPolicy(code)
	}
	for _, p := range ps {
		m[p.Bank] = p
	}
	out := make([]emoney.BankPolicy, 0, len(m))
	for _, code := range slices.Sorted(maps.Keys(m)) {
		out = append(out, m[code])
	}
	return out, nil
}

// current reads a bank's stored policy, or its defaults.
func current(ctx context.Context, tx emoney.ReadTx, code string) (emoney.BankPolicy, error) {
	p, err := tx.BankPolicy(ctx, code)
	if emoney.ErrorCode(err) == emoney.ENotFound {
		return emoney.DefaultBankPolicy(code), nil
	}
	return p, err
}

// Set replaces the settings of a bank's policy with p's (not its kill switches, which only
// PullKillSwitch and Release move), if the stored policy is still at version expected (0: none
// stored yet, the defaults). It returns the new policy, one version on, audited as
// "bank_policy.set" by actor ("staff:<id>", "cli") with the policy before and after, in the
// same transaction. Every instance enforces it within MaxAge. Errors: not_found (not a bank
// code), invalid (naming the field), conflict (the policy is at another version), internal.
func (s *Service) Set(ctx context.Context, code string, p emoney.BankPolicy, actor string, expected int64) (emoney.BankPolicy, error) {
	if err := validCode(code); err != nil {
		return emoney.BankPolicy{}, err
	}
	if code == Global {
		return emoney.BankPolicy{}, emoney.FieldError("bank", "%q holds only the global kill switches: set a policy per bank", Global)
	}
	p.Bank = code
	if err := p.Validate(); err != nil {
		return emoney.BankPolicy{}, err
	}
	if expected < 0 {
		return emoney.BankPolicy{}, emoney.FieldError("version", "version must be the version you read (0 for a bank with no stored policy)")
	}
	return s.change(ctx, code, actor, "bank_policy.set", nil, func(cur emoney.BankPolicy) (emoney.BankPolicy, error) {
		if cur.Version != expected {
			return cur, emoney.Errorf(emoney.EConflict, "the policy of bank %s is at version %d, not %d: someone changed it; read it again", code, cur.Version, expected)
		}
		next := p
		next.NewLinks, next.TopUps, next.Withdrawals = cur.NewLinks, cur.TopUps, cur.Withdrawals
		return next, nil
	})
}

// PullKillSwitch stops one kind of operation with a bank: new links, top-ups or withdrawals.
// reason is required; until, if not zero, is when the puller expects to release it (it must be
// in the future, and is only what refused requests are told to retry after). Audited as
// "killswitch.pull" with the reason and the policy before and after. This instance refuses the
// next request; every instance within MaxAge. Errors: not_found (not a bank code), invalid
// (switch, reason, until), conflict (pulled already), internal.
func (s *Service) PullKillSwitch(ctx context.Context, code string, which emoney.KillSwitchName, reason string, until time.Time, actor string) (emoney.BankPolicy, error) {
	if err := validCode(code); err != nil {
		return emoney.BankPolicy{}, err
	}
	if _, err := emoney.ParseKillSwitch(string(which)); err != nil {
		return emoney.BankPolicy{}, err
	}
	if err := emoney.ValidKillSwitchReason(reason); err != nil {
		return emoney.BankPolicy{}, err
	}
	now := s.cfg.Now()
	if !until.IsZero() && !until.After(now) {
		return emoney.BankPolicy{}, emoney.FieldError("until", "until must be in the future")
	}
	extra := map[string]any{"switch": which, "reason": reason}
	if !until.IsZero() {
		extra["until"] = until.UTC().Format(time.RFC3339)
	}
	return s.change(ctx, code, actor, "killswitch.pull", extra, func(cur emoney.BankPolicy) (emoney.BankPolicy, error) {
		sw := cur.Switch(which)
		if sw.Pulled {
			return cur, emoney.Errorf(emoney.EConflict, "the %s switch of bank %s is pulled already (%s)", which, code, sw)
		}
		next := cur
		*next.Switch(which) = emoney.KillSwitch{Pulled: true, Reason: reason, PulledBy: actor, PulledAt: now.UTC().Truncate(time.Microsecond),
			Until: until.UTC().Truncate(time.Microsecond)}
		return next, nil
	})
}

// Release lets a pulled kill switch go: the operations it stopped work again (here at once,
// everywhere within MaxAge). reason is required. Audited as "killswitch.release" with the
// reason and the policy before (naming who pulled it, when and why) and after. Errors:
// not_found (not a bank code), invalid (switch, reason), conflict (not pulled), internal.
func (s *Service) Release(ctx context.Context, code string, which emoney.KillSwitchName, reason, actor string) (emoney.BankPolicy, error) {
	if err := validCode(code); err != nil {
		return emoney.BankPolicy{}, err
	}
	if _, err := emoney.ParseKillSwitch(string(which)); err != nil {
		return emoney.BankPolicy{}, err
	}
	if err := emoney.ValidKillSwitchReason(reason); err != nil {
		return emoney.BankPolicy{}, err
	}
	return s.change(ctx, code, actor, "killswitch.release", map[string]any{"switch": which, "reason": reason}, func(cur emoney.BankPolicy) (emoney.BankPolicy, error) {
		if !cur.Switch(which).Pulled {
			return cur, emoney.Errorf(emoney.EConflict, "the %s switch of bank %s is not pulled", which, code)
		}
		next := cur
		*next.Switch(which) = emoney.KillSwitch{}
		return next, nil
	})
}

// change applies edit to a bank's current policy in one transaction with its audit entry.
func (s *Service) change(ctx context.Context, code, actor, action string, extra map[string]any,
	edit func(cur emoney.BankPolicy) (emoney.BankPolicy, error)) (emoney.BankPolicy, error) {
	if actor == "" {
		return emoney.BankPolicy{}, emoney.Errorf(emoney.EInvalid, "a policy change needs an actor")
	}
	var next emoney.BankPolicy
	err := s.store.Update(ctx, func(tx emoney.Tx) error {
		cur, err := current(ctx, tx, code)
		if err != nil {
			return err
		}
		if next, err = edit(cur); err != nil {
			return err
		}
		now := s.cfg.Now().UTC().Truncate(time.Microsecond)
		next.Bank, next.Version, next.UpdatedAt, next.UpdatedBy = code, cur.Version+1, now, actor
		if err := tx.SaveBankPolicy(ctx, next); err != nil {
			return err
		}
		detail := map[string]any{"before": ViewOf(cur), "after": ViewOf(next)}
		for k, v := range extra {
			detail[k] = v
		}
		b, err := json.Marshal(detail)
		if err != nil {
			return err
		}
		_, err = audit.Append(ctx, tx, emoney.AuditEntry{At: now, Actor: actor, Action: action, Object: "bank:" + code, Detail: b})
		return err
	})
	if err != nil {
		return emoney.BankPolicy{}, err
	}
	s.changed()
	return next, nil
}

// Check returns nil if the bank's policy, as this instance knows it (Get), lets the operation
// that switch stops go ahead: the bank is enabled and the switch not pulled. Otherwise a
// suspended error with a stable reason (ReasonBankDisabled, ReasonNewLinksOff, ...) and, if
// the puller said when they expect to release it, the seconds until then (retry_after). The
// Global switch of the same name is checked first: pulled, it stops the operation with every
// bank (same reason code). The message names the bank, never the staff's reason. Errors:
// suspended, not_found (not a bank code), internal.
func (s *Service) Check(ctx context.Context, code string, which emoney.KillSwitchName) error {
	p, global, err := s.getWithGlobal(ctx, code)
	if err != nil {
		return err
	}
	if global.Switch(which) == nil {
		return emoney.Errorf(emoney.EInternal, "bankpolicy: no kill switch %q", which)
	}
	if global.Switch(which).Pulled { // every bank's, whatever the bank's own switch says
		return s.suspended(global, which, code, true)
	}
	if !p.Enabled {
		return &Suspended{Err: &emoney.Error{Code: emoney.ESuspended, Reason: ReasonBankDisabled,
			Message: fmt.Sprintf("bank %s is not available at the moment", code)}}
	}
	if !p.Switch(which).Pulled {
		return nil
	}
	return s.suspended(p, which, code, code == Global)
}

// suspended is the error of a pulled switch of p, for an operation with bank code; all says
// the switch is the global one.
func (s *Service) suspended(p emoney.BankPolicy, which emoney.KillSwitchName, code string, all bool) error {
	what := map[emoney.KillSwitchName]string{emoney.SwitchNewLinks: "linking accounts at", emoney.SwitchTopUps: "top-ups from",
		emoney.SwitchWithdrawals: "withdrawals to"}[which]
	sw := p.Switch(which)
	reason := map[emoney.KillSwitchName]string{emoney.SwitchNewLinks: ReasonNewLinksOff, emoney.SwitchTopUps: ReasonTopUpsOff,
		emoney.SwitchWithdrawals: ReasonWithdrawalsOff}[which]
	e := &Suspended{Err: &emoney.Error{Code: emoney.ESuspended, Reason: reason,
		Message: fmt.Sprintf("%s bank %s are suspended for now: nothing was moved; try again later", what, code)}}
	if which == emoney.SwitchNewLinks {
		e.Err.Message = fmt.Sprintf("linking accounts at bank %s is suspended for now; try again later", code)
	}
	if all {
		e.Err.Message = fmt.Sprintf("%s every bank are suspended for now: nothing was moved; try again later", what)
		if which == emoney.SwitchNewLinks {
			e.Err.Message = "linking bank accounts is suspended for now; try again later"
		}
	}
	if !sw.Until.IsZero() {
		if d := sw.Until.Sub(s.cfg.Now()); d > 0 {
			e.RetryAfter = int((d + time.Second - 1) / time.Second)
		}
	}
	return e
}

// NewLinksAllowed is Check for new links: nil if accounts at the bank may be linked now, else a
// suspended error. For banklink.
func (s *Service) NewLinksAllowed(ctx context.Context, code string) error {
	return s.Check(ctx, code, emoney.SwitchNewLinks)
}

// Suspended is the error Check returns: an *emoney.Error with code suspended, and how many
// seconds to wait if that is known (0: unknown; the HTTP layer then leaves retry_after out).
type Suspended struct {
	Err        *emoney.Error
	RetryAfter int
}

func (e *Suspended) Error() string { return e.Err.Error() }
func (e *Suspended) Unwrap() error { return e.Err }

// RetryAfterSeconds is RetryAfter (the HTTP layer's RetryAfter interface).
func (e *Suspended) RetryAfterSeconds() int { return e.RetryAfter }
