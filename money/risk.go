package money

// Risk decisions on money movements (issue 7): every transfer, payment, top-up and withdrawal
// is judged by the risk engine before it takes effect. allow goes ahead; challenge answers
// challenge_required (step up for this very operation, then retry it with the proof); review
// holds a transfer's or payment's money as a pending transfer with an alert for staff (never
// voided by itself); block answers declined, reason "risk".

import (
	"context"
	"fmt"

	"emoney"
	"emoney/alerts"
	"emoney/identity"
	"emoney/ledger"
	"emoney/risk"
)

// ReasonRisk is the reason of a movement the risk engine blocked. Which rule fired is for staff
// (the decision record), not for whoever tries.
const ReasonRisk = "risk"

// SetRisk makes the service judge every movement with e, holding those it sends to review with
// al. Call it before serving.
func (s *Service) SetRisk(e *risk.Engine, al *alerts.Service) { s.risk, s.alerts = e, al }

// judge decides ev for p: nil to go ahead (and the judgement, for review), or the error to
// answer. ev gets p's wallet, device, tier and age, and the request's address and step-up. A
// decision other than allow is recorded here; an allow is the caller's to record, with the
// money (recordWith), or with record if it goes nowhere.
func (s *Service) judge(ctx context.Context, p identity.Principal, wallet emoney.Account, ev risk.Event, digest string) (risk.Judgement, error) {
	if s.risk == nil {
		return risk.Judgement{Decision: emoney.Decision{Outcome: emoney.RiskAllow}}, nil
	}
	req := risk.RequestFrom(ctx)
	// Devices and addresses are personal data: the engine (and its records) see pseudonyms.
	ev.Wallet, ev.KYCTier = wallet.ID.String(), p.KYCTier
	ev.Device, ev.IP = s.identity.Pseudonym("risk-device", p.Device), s.identity.Pseudonym("risk-ip", req.IP)
	ev.WalletOpenedAt, ev.Available = wallet.ID.Time(), -1
	if ev.Type != risk.TopUp && ev.Type != risk.Refund {
		if b, err := s.ledger.Balance(ctx, wallet.ID, emoney.JPY); err == nil {
			ev.Available = b.Available()
		}
	}
	if ev.At.IsZero() {
		ev.At = s.now()
	}
	j := s.risk.Judge(ev, req.Proof != "" && s.identity.ProvesOperation(p, req.Proof, digest))
	if j.Outcome != emoney.RiskAllow {
		s.risk.Record(j.Decision) // nothing goes to the ledger with it (a review hold is alerts')
	}
	switch j.Outcome {
	case emoney.RiskBlock:
		return j, &emoney.Error{Code: emoney.EDeclined, Reason: ReasonRisk,
			Message: "this operation was refused by our fraud checks; if it is yours, contact support"}
	case emoney.RiskChallenge:
		return j, &emoney.Error{Code: emoney.EChallengeRequired, Reason: "totp",
			Message: "confirm this operation with your second factor: POST /api/v1/stepup with your code and the operation " +
				"(type, to, amount, idempotency_key), then send it again with the proof in the Step-Up-Proof header"}
	}
	return j, nil
}

// move submits op as p's movement of the given kind, judged first: allowed, it posts; sent to
// review, it is held for staff (the transfer answered is pending, hold review). A retry of a
// movement decided otherwise the first time gets the first result.
func (s *Service) move(ctx context.Context, p identity.Principal, key string, wallet emoney.Account, op ledger.Op, ev risk.Event, counterparty string) (emoney.Transfer, error) {
	digest := risk.OperationDigest(string(ev.Type), counterparty, op.Amount, key)
	ev.ID = eventID(p, key, digest)
	j, err := s.judge(ctx, p, wallet, ev, digest)
	if err != nil {
		// A retry of a movement made before is answered with it, whatever the engine thinks of
		// it now (a rule added since, the features counting the first attempt).
		if prior, ok := s.prior(ctx, p, key, op); ok {
			return prior, nil
		}
		return emoney.Transfer{}, err
	}
	var tr emoney.Transfer
	if j.Outcome == emoney.RiskReview && s.alerts != nil {
		tr, _, err = s.alerts.Hold(ctx, p.LedgerPrincipal(), key, op, "wallet:"+wallet.ID.String(),
			fmt.Sprintf("risk decision %s: %v (score %d)", j.ID, j.Rules, j.Score))
	} else {
		attach, saved := s.recordWith(j, nil)
		tr, err = s.submitAttached(ctx, p, key, op, "", attach)
		saved(tr, err)
	}
	if emoney.ErrorCode(err) == emoney.EConflict {
		// The key's first request may be this movement, decided otherwise (held then, allowed
		// now, or the other way round): answer with it.
		if prior, ok := s.prior(ctx, p, key, op); ok {
			return prior, nil
		}
	}
	return tr, err
}

// eventID is the risk event id of p's movement under key: the key and what it moves (a key
// given back by a refused movement and used for another one is another event).
func eventID(p identity.Principal, key, digest string) string {
	return "user:" + p.User.String() + ":" + key + ":" + digest[:16]
}

// prior returns the movement p's key committed, if it is op (posted, or held for review).
func (s *Service) prior(ctx context.Context, p identity.Principal, key string, op ledger.Op) (emoney.Transfer, bool) {
	prior, used, err := s.ledger.Prior(ctx, p.LedgerPrincipal(), key)
	if err != nil || !used || len(prior) != 1 || !sameMovement(prior[0], op) {
		return emoney.Transfer{}, false
	}
	return prior[0], true
}

// sameMovement reports whether tr is op made: posted, held for review, or (a bank operation)
// held for the bank.
func sameMovement(tr emoney.Transfer, op ledger.Op) bool {
	cur := op.Currency
	if cur == "" {
		cur = emoney.JPY
	}
	if tr.From != op.From || tr.To != op.To || tr.Amount != op.Amount || tr.Currency != cur || tr.Code != op.Code {
		return false
	}
	switch {
	case op.Kind == emoney.TransferPending:
		return tr.Kind == emoney.TransferPending && tr.Hold == op.Hold
	default:
		return tr.Kind == emoney.TransferPosted || tr.Kind == emoney.TransferPending && tr.Hold == emoney.HoldReview
	}
}

// recordWith returns the ledger Attach that records an allow decision in the batch that moves
// its money (after attach, if not nil), and the function to call with the ledger's answer: if
// the decision did not commit with the money (refused, or a retry answered with the first
// result), it queues it for the engine's writer instead. With no engine, attach as it is.
func (s *Service) recordWith(j risk.Judgement, attach func(context.Context, emoney.Tx, []emoney.Transfer) error) (
	func(context.Context, emoney.Tx, []emoney.Transfer) error, func(emoney.Transfer, error)) {
	if s.risk == nil || j.ID.IsZero() || j.Outcome != emoney.RiskAllow {
		return attach, func(emoney.Transfer, error) {}
	}
	var made emoney.ID
	return func(ctx context.Context, tx emoney.Tx, trs []emoney.Transfer) error {
			if attach != nil {
				if err := attach(ctx, tx, trs); err != nil {
					return err
				}
			}
			if err := tx.SaveDecisions(ctx, []emoney.Decision{j.Decision}); err != nil {
				return err
			}
			made = trs[0].ID
			return nil
		}, func(tr emoney.Transfer, err error) {
			if err != nil || tr.ID != made {
				s.risk.Record(j.Decision)
			}
		}
}
