package alerts

import (
	"context"
	"encoding/json"
	"time"

	"emoney"
	"emoney/audit"
)

// DefaultApprovalAbove is the hold amount (yen) above which a release needs two staff members.
const DefaultApprovalAbove = 100_000

// SetApprovalAbove sets the hold amount above which a release needs a second staff member:
// amount 0 makes every release need one. Safe to call at any time.
func (s *Service) SetApprovalAbove(amount int64) {
	if amount < 0 {
		amount = 0
	}
	s.approvalAbove.Store(amount)
}

// ApprovalAbove returns the current threshold.
func (s *Service) ApprovalAbove() int64 { return s.approvalAbove.Load() }

// needsApproval reports whether releasing a's hold needs a second staff member.
func (s *Service) needsApproval(ctx context.Context, a emoney.Alert) (bool, error) {
	tr, err := s.ledger.GetTransfer(ctx, a.Transfer)
	if err != nil {
		return false, err
	}
	return tr.Amount > s.approvalAbove.Load(), nil
}

// propose records staff's release of a's hold as a proposal (maker), with its audit entry.
// Retrying it is safe; after an approval it is the same decision, and the ledger is made to
// follow.
func (s *Service) propose(ctx context.Context, a emoney.Alert, staff string) (emoney.Alert, emoney.Transfer, error) {
	now := s.now().UTC().Truncate(time.Microsecond)
	err := s.store.Update(ctx, func(tx emoney.Tx) error {
		if err := tx.ProposeAlert(ctx, a.ID, staff, now); err != nil {
			return err
		}
		detail, _ := json.Marshal(map[string]any{"hold": a.Transfer, "threshold": s.approvalAbove.Load()})
		_, err := audit.Append(ctx, tx, emoney.AuditEntry{At: now, Actor: staff, Action: "alert.propose", Object: a.ID.String(), Detail: detail})
		return err
	})
	switch {
	case err == nil:
		a.Status, a.ProposedBy, a.ProposedAt = emoney.AlertProposed, staff, now
		return a, emoney.Transfer{}, nil
	case emoney.ErrorCode(err) != emoney.EConflict:
		return emoney.Alert{}, emoney.Transfer{}, err
	}
	cur, err := s.Get(ctx, a.ID)
	if err != nil {
		return emoney.Alert{}, emoney.Transfer{}, err
	}
	switch {
	case cur.Status == emoney.AlertProposed && cur.ProposedBy == staff: // a retry
		return cur, emoney.Transfer{}, nil
	case cur.Status == emoney.AlertProposed:
		return emoney.Alert{}, emoney.Transfer{}, emoney.Errorf(emoney.EConflict,
			"another staff member proposed releasing this hold: a senior analyst or admin approves or declines it")
	case cur.Status == emoney.AlertReleased: // proposed and approved already: make sure the ledger followed
		tr, err := s.settle(ctx, cur)
		return cur, tr, err
	}
	return emoney.Alert{}, emoney.Transfer{}, emoney.Errorf(emoney.EConflict, "the alert was decided otherwise already")
}

// withdrawForReject lets a rejection overrule a proposed release: inside the rejection's
// transaction the proposal goes back to open first, so that ResolveAlert finds it open.
func withdrawForReject(ctx context.Context, tx emoney.Tx, id emoney.ID, status emoney.AlertStatus) error {
	if status != emoney.AlertRejected {
		return nil
	}
	cur, err := tx.Alert(ctx, id)
	if err != nil || cur.Status != emoney.AlertProposed {
		return err
	}
	return tx.DeclineProposal(ctx, id)
}

// Approve is the checker's half of a release above the threshold: staff (a senior analyst or an
// admin: the caller checks the role) approves the release another staff member proposed. The
// approval and its audit entry are recorded first, then the ledger posts the hold, as Resolve
// does; retrying is safe. Errors: not_found, forbidden (staff proposed it: nobody approves their
// own proposal), conflict (nothing proposed, or decided already), internal.
func (s *Service) Approve(ctx context.Context, id emoney.ID, staff string) (emoney.Alert, emoney.Transfer, error) {
	ctx = context.WithoutCancel(ctx)
	a, err := s.Get(ctx, id)
	if err != nil {
		return emoney.Alert{}, emoney.Transfer{}, err
	}
	if err := checkApproval(a, staff); err != nil {
		return emoney.Alert{}, emoney.Transfer{}, err
	}
	if a.Status == emoney.AlertProposed {
		now := s.now().UTC().Truncate(time.Microsecond)
		err = s.store.Update(ctx, func(tx emoney.Tx) error {
			if err := tx.ApproveAlert(ctx, id, staff, now); err != nil {
				return err
			}
			detail, _ := json.Marshal(map[string]any{"hold": a.Transfer, "proposed_by": a.ProposedBy})
			_, err := audit.Append(ctx, tx, emoney.AuditEntry{At: now, Actor: staff, Action: "alert.approve", Object: id.String(), Detail: detail})
			return err
		})
		if emoney.ErrorCode(err) == emoney.EConflict { // changed meanwhile: judge it afresh
			if a, err = s.Get(ctx, id); err == nil {
				err = checkApproval(a, staff)
			}
		} else if err == nil {
			a.Status, a.ResolvedBy, a.ResolvedAt = emoney.AlertReleased, staff, now
		}
		if err != nil {
			return emoney.Alert{}, emoney.Transfer{}, err
		}
	}
	tr, err := s.settle(ctx, a)
	return a, tr, err
}

// checkApproval says whether staff may approve a as it stands: nil for a proposal of someone
// else's, or for staff's own approval already recorded (a retry).
func checkApproval(a emoney.Alert, staff string) error {
	switch {
	case a.Transfer.IsZero():
		return emoney.Errorf(emoney.EConflict, "this alert holds no money; nothing to approve")
	case a.Status == emoney.AlertProposed && a.ProposedBy == staff:
		return emoney.Errorf(emoney.EForbidden, "you proposed this release: another senior analyst or admin must approve it")
	case a.Status == emoney.AlertProposed:
		return nil
	case a.Status == emoney.AlertReleased && a.ProposedBy != "" && a.ResolvedBy == staff:
		return nil
	case a.Status == emoney.AlertOpen:
		return emoney.Errorf(emoney.EConflict, "no release is proposed: POST …/release proposes one")
	}
	return emoney.Errorf(emoney.EConflict, "the alert is decided already")
}

// Decline turns down a proposed release: the alert is open again, for anyone to decide afresh
// (rejecting needs one person). Audited. Errors: not_found, conflict (nothing proposed),
// internal.
func (s *Service) Decline(ctx context.Context, id emoney.ID, staff string) (emoney.Alert, error) {
	a, err := s.Get(ctx, id)
	if err != nil {
		return emoney.Alert{}, err
	}
	if a.Status != emoney.AlertProposed {
		return emoney.Alert{}, emoney.Errorf(emoney.EConflict, "no release of this alert's hold is proposed")
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	err = s.store.Update(ctx, func(tx emoney.Tx) error {
		if err := tx.DeclineProposal(ctx, id); err != nil {
			return err
		}
		detail, _ := json.Marshal(map[string]any{"hold": a.Transfer, "proposed_by": a.ProposedBy})
		_, err := audit.Append(ctx, tx, emoney.AuditEntry{At: now, Actor: staff, Action: "alert.decline", Object: id.String(), Detail: detail})
		return err
	})
	if err != nil {
		return emoney.Alert{}, err
	}
	a.Status, a.ProposedBy, a.ProposedAt = emoney.AlertOpen, "", time.Time{}
	return a, nil
}
