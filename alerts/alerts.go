// Package alerts holds money for review and lets staff decide: a review hold is a pending
// ledger transfer that never expires, with an alert about it; releasing posts it, rejecting
// voids it. The linking and risk issues raise holds through it; cases build on its alerts.
package alerts

import (
	"context"
	"encoding/json"
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
}

// New returns the service; now nil means time.Now.
func New(store emoney.Store, l *ledger.Ledger, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, ledger: l, now: now}
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
	case emoney.AlertOpen, emoney.AlertReleased, emoney.AlertRejected, emoney.AlertDismissed:
	default:
		return nil, emoney.FieldError("status", "status must be open, released, rejected or dismissed")
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
// and the money goes back. staff is who decided ("staff:<id>"), recorded on the alert and in the
// audit log. Retrying the same decision is safe; the other decision after one is conflict.
// Errors: not_found, conflict, invalid (an alert without a hold), internal.
func (s *Service) Resolve(ctx context.Context, id emoney.ID, release bool, staff string) (emoney.Alert, emoney.Transfer, error) {
	a, err := s.Get(ctx, id)
	if err != nil {
		return emoney.Alert{}, emoney.Transfer{}, err
	}
	if a.Transfer.IsZero() {
		return emoney.Alert{}, emoney.Transfer{}, emoney.Errorf(emoney.EInvalid, "this alert holds no money; nothing to release or reject")
	}
	kind, status, verb := emoney.TransferVoid, emoney.AlertRejected, "reject"
	if release {
		kind, status, verb = emoney.TransferPost, emoney.AlertReleased, "release"
	}
	// The key is the alert and the decision: a retry finds its first result, the other
	// decision finds the hold resolved (conflict).
	tr, err := s.ledger.Transfer(ctx, "alerts", "alert:"+id.String()+":"+verb, ledger.Op{Kind: kind, PendingID: a.Transfer})
	if err != nil {
		return emoney.Alert{}, emoney.Transfer{}, err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	err = s.store.Update(ctx, func(tx emoney.Tx) error {
		if err := tx.ResolveAlert(ctx, id, status, staff, now); err != nil {
			return err
		}
		detail, _ := json.Marshal(map[string]any{"transfer": tr.ID, "amount": tr.Amount})
		_, err := audit.Append(ctx, tx, emoney.AuditEntry{At: now, Actor: staff, Action: "alert." + verb, Object: id.String(), Detail: detail})
		return err
	})
	if emoney.ErrorCode(err) == emoney.EConflict {
		if cur, gerr := s.Get(ctx, id); gerr == nil && cur.Status == status {
			return cur, tr, nil // this decision was recorded by an earlier try
		}
	}
	if err != nil {
		return emoney.Alert{}, emoney.Transfer{}, err
	}
	a.Status, a.ResolvedAt, a.ResolvedBy = status, now, staff
	return a, tr, nil
}

// Sweep raises an alert for every review hold that has none (its raiser died between the hold
// and the alert, and its caller never retried), so that no held money waits unseen. It returns
// how many it raised.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	var orphans []emoney.Transfer
	err := s.store.View(ctx, func(tx emoney.ReadTx) error {
		var err error
		orphans, err = tx.OrphanHolds(ctx, 1000)
		return err
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, tr := range orphans {
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
