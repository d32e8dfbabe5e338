// Package alerts holds money for review and lets staff decide: a review hold is a pending
// ledger transfer that never expires, with an alert about it; releasing posts it, rejecting
// voids it. The linking and risk issues raise holds through it; cases build on its alerts.
package alerts

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"time"

	"emoney"
	"emoney/audit"
	"emoney/ledger"
)

// Service raises and resolves holds. It is safe for concurrent use.
type Service struct {
	store  emoney.Store
	ledger *ledger.Ledger
	now    func() time.Time
	// approvalAbove is the hold amount above which a release needs a second staff member
	// (makerchecker.go).
	approvalAbove atomic.Int64
}

// New returns the service; now nil means time.Now.
func New(store emoney.Store, l *ledger.Ledger, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	s := &Service{store: store, ledger: l, now: now}
	s.approvalAbove.Store(DefaultApprovalAbove)
	return s
}

// Hold reserves op's money for review (op becomes a pending transfer with a review hold, which
// never expires) and raises an alert about it, named by the hold's id. It is idempotent by
// principal and key: a retry returns the same hold and its one alert. Errors: those of
// ledger.Submit, internal.
func (s *Service) Hold(ctx context.Context, principal, key string, op ledger.Op, subject, reason string) (emoney.Transfer, emoney.Alert, error) {
	op.Kind, op.Hold, op.Timeout = emoney.TransferPending, emoney.HoldReview, 0
	tr, err := s.ledger.Transfer(ctx, principal, key, op)
	if err != nil {
		return emoney.Transfer{}, emoney.Alert{}, err
	}
	a := emoney.Alert{ID: tr.ID, Kind: "review_hold", Subject: subject, Transfer: tr.ID, Reason: reason,
		Status: emoney.AlertOpen, CreatedAt: s.now().UTC().Truncate(time.Microsecond)}
	err = s.store.Update(ctx, func(tx emoney.Tx) error { return tx.CreateAlert(ctx, a) })
	if emoney.ErrorCode(err) == emoney.EConflict { // a retry: the alert is there already
		a, err = s.Get(ctx, tr.ID)
	}
	return tr, a, err
}

// Get returns one alert (not_found if none).
func (s *Service) Get(ctx context.Context, id emoney.ID) (a emoney.Alert, err error) {
	err = s.store.View(ctx, func(tx emoney.ReadTx) error {
		a, err = tx.Alert(ctx, id)
		return err
	})
	return a, err
}

// List returns up to limit alerts in status, oldest first, after the given id.
func (s *Service) List(ctx context.Context, status emoney.AlertStatus, after emoney.ID, limit int) (as []emoney.Alert, err error) {
	switch status {
	case emoney.AlertOpen, emoney.AlertProposed, emoney.AlertReleased, emoney.AlertRejected, emoney.AlertDismissed:
	default:
		return nil, emoney.FieldError("status", "status must be open, proposed, released, rejected or dismissed")
	}
	if limit < 1 || limit > 200 {
		return nil, emoney.FieldError("limit", "limit must be 1 to 200")
	}
	err = s.store.View(ctx, func(tx emoney.ReadTx) error {
		as, err = tx.Alerts(ctx, status, after, limit)
		return err
	})
	return as, err
}

// Resolve decides an open alert's hold: release posts the held transfer, otherwise it is voided
// and the money goes back. staff is who decided ("staff:<id>"). The decision and its audit entry
// are recorded first, in one transaction, and the ledger follows; the request's cancellation
// does not stop it half-way, and if the process dies in between, Sweep makes the ledger follow.
// Retrying the same decision is safe; the other decision after one is conflict.
//
// Releasing a hold above the approval threshold decides nothing yet: it is recorded as a
// proposal (the alert is returned in status proposed, with no transfer) that a second staff
// member approves or declines (makerchecker.go). Rejecting stays one person's decision, a
// proposed release included: money going back needs no second opinion.
// Errors: not_found, conflict (decided otherwise already, proposed by someone else, or no money
// held), internal.
func (s *Service) Resolve(ctx context.Context, id emoney.ID, release bool, staff string) (emoney.Alert, emoney.Transfer, error) {
	return s.resolve(ctx, id, release, staff, true)
}

// ResolveFromSource decides an open alert's hold the way Resolve does, on the word of the
// system that knows the outcome (a bank's definite answer), not of staff: maker-checker, which
// guards staff judgement, does not apply. actor is "system:…".
func (s *Service) ResolveFromSource(ctx context.Context, id emoney.ID, release bool, actor string) (emoney.Alert, emoney.Transfer, error) {
	return s.resolve(ctx, id, release, actor, false)
}

func (s *Service) resolve(ctx context.Context, id emoney.ID, release bool, staff string, checked bool) (emoney.Alert, emoney.Transfer, error) {
	ctx = context.WithoutCancel(ctx)
	a, err := s.Get(ctx, id)
	if err != nil {
		return emoney.Alert{}, emoney.Transfer{}, err
	}
	if a.Transfer.IsZero() {
		return emoney.Alert{}, emoney.Transfer{}, emoney.Errorf(emoney.EConflict, "this alert holds no money; nothing to release or reject")
	}
	if release && checked {
		second, err := s.needsApproval(ctx, a)
		if err != nil {
			return emoney.Alert{}, emoney.Transfer{}, err
		}
		if second {
			return s.propose(ctx, a, staff)
		}
	}
	status := emoney.AlertRejected
	if release {
		status = emoney.AlertReleased
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	err = s.store.Update(ctx, func(tx emoney.Tx) error {
		if err := withdrawForReject(ctx, tx, id, status); err != nil {
			return err
		}
		if err := tx.ResolveAlert(ctx, id, status, staff, now); err != nil {
			return err
		}
		detail, _ := json.Marshal(map[string]any{"hold": a.Transfer})
		_, err := audit.Append(ctx, tx, emoney.AuditEntry{At: now, Actor: staff, Action: "alert." + verb(status), Object: id.String(), Detail: detail})
		return err
	})
	switch {
	case emoney.ErrorCode(err) == emoney.EConflict:
		cur, gerr := s.Get(ctx, id)
		if gerr != nil || cur.Status != status {
			return emoney.Alert{}, emoney.Transfer{}, emoney.Errorf(emoney.EConflict, "the alert was decided otherwise already")
		}
		a = cur // the same decision, recorded by an earlier try: make sure the ledger followed
	case err != nil:
		return emoney.Alert{}, emoney.Transfer{}, err
	default:
		a.Status, a.ResolvedAt, a.ResolvedBy = status, now, staff
	}
	tr, err := s.settle(ctx, a)
	return a, tr, err
}

// settle makes the ledger follow a recorded decision. The key is the alert and the decision, so
// however often it runs, the hold is resolved once.
func (s *Service) settle(ctx context.Context, a emoney.Alert) (emoney.Transfer, error) {
	kind := emoney.TransferVoid
	if a.Status == emoney.AlertReleased {
		kind = emoney.TransferPost
	}
	tr, err := s.ledger.Transfer(ctx, "alerts", "alert:"+a.ID.String()+":"+verb(a.Status), ledger.Op{Kind: kind, PendingID: a.Transfer})
	if err != nil {
		var e *emoney.Error
		if errors.As(err, &e) {
			c := *e
			c.Field = "" // the ledger's field names mean nothing to the caller here
			return tr, &c
		}
	}
	return tr, err
}

func verb(s emoney.AlertStatus) string {
	if s == emoney.AlertReleased {
		return "release"
	}
	return "reject"
}

// SweepGrace is how old a hold must be before the sweeper counts it as having lost its alert:
// Hold writes the two one after the other.
const SweepGrace = time.Minute

// Sweep keeps held money from waiting unseen or half-decided: it makes the ledger follow every
// recorded decision it has not followed yet (the process died in between), and raises an alert
// for every review hold older than SweepGrace that has none (its raiser died between the hold
// and the alert, and its caller never retried). It returns how many holds it touched.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	var (
		orphans   []emoney.Transfer
		unsettled []emoney.Alert
	)
	err := s.store.View(ctx, func(tx emoney.ReadTx) error {
		var err error
		if orphans, err = tx.OrphanHolds(ctx, 1000); err != nil {
			return err
		}
		unsettled, err = tx.UnsettledDecisions(ctx, 1000)
		return err
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, a := range unsettled {
		if _, err := s.settle(ctx, a); err != nil {
			return n, err
		}
		n++
	}
	cutoff := s.now().Add(-SweepGrace)
	for _, tr := range orphans {
		if tr.CreatedAt.After(cutoff) {
			continue
		}
		a := emoney.Alert{ID: tr.ID, Kind: "review_hold", Subject: "account:" + tr.From.String(), Transfer: tr.ID,
			Reason: "a hold found without its alert (raised by the sweeper)", Status: emoney.AlertOpen, CreatedAt: s.now().UTC().Truncate(time.Microsecond)}
		err := s.store.Update(ctx, func(tx emoney.Tx) error { return tx.CreateAlert(ctx, a) })
		switch emoney.ErrorCode(err) {
		case "":
			n++
		case emoney.EConflict: // raised meanwhile
		default:
			return n, err
		}
	}
	return n, nil
}
