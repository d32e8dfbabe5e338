package money

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"emoney"
	"emoney/alerts"
	"emoney/bank"
	"emoney/bankpolicy"
	"emoney/identity"
	"emoney/ledger"
	"emoney/risk"
)

// Kinds of bank operation; each is also the ledger code of its pending transfer.
const (
	KindTopUp      = "topup"      // bank → wallet, held as emoney.HoldBankDebit
	KindWithdrawal = "withdrawal" // wallet → bank, held as emoney.HoldBankCredit
)

// BankStatus is where a bank operation stands.
type BankStatus string

const (
	BankPending   BankStatus = "pending"   // the bank's answer is not known yet; the money is held
	BankSucceeded BankStatus = "succeeded" // the bank moved the money; the hold is posted
	BankDeclined  BankStatus = "declined"  // nothing moved; the hold is voided (Reason says why)
)

// BankOp is a top-up or a withdrawal as its owner sees it. Its id is the id of the pending
// ledger transfer that holds the money, which is also the reference the bank knows it by.
type BankOp struct {
	ID        emoney.ID
	Kind      string // KindTopUp or KindWithdrawal
	Bank      string // the bank's code
	Wallet    emoney.ID
	Amount    int64
	Currency  emoney.Currency
	Status    BankStatus
	Reason    string // declined only: the bank's reason code, or "not_completed" (staff voided it)
	CreatedAt time.Time
}

// Defaults of BankConfig.
const (
	DefaultBankGrace       = time.Minute
	DefaultBankAlertAfter  = 24 * time.Hour
	DefaultBankCallTimeout = 30 * time.Second
)

// BankConfig configures BankOps. Zero durations pick the defaults.
type BankConfig struct {
	Banks  *bank.Registry
	Store  emoney.Store
	Alerts *alerts.Service // where the reconciler raises alerts; nil: it never does
	// Grace is how old a pending bank hold must be before the reconciler takes it up: the
	// request that made it is done with it by then (it is never less than CallTimeout).
	Grace time.Duration
	// AlertAfter is how long a hold may stay unknown before staff are alerted.
	AlertAfter time.Duration
	// CallTimeout bounds one call to a bank; running out of it means the outcome is unknown.
	CallTimeout time.Duration
	// Policies are the banks' policies and kill switches: a disabled bank, or one whose
	// top-ups or withdrawals switch is pulled, is refused (suspended) before anything is held.
	// nil: every configured bank is open.
	Policies *bankpolicy.Service
	// Now is the clock of cooling-off windows and days (default time.Now).
	Now func() time.Time
	// Breaker configures the banks' circuit breakers: a bank whose calls went unanswered too
	// often is not called (new operations are refused bank_unavailable before anything is
	// held, the reconciler waits) until a probe gets an answer. Its clock defaults to Now.
	Breaker bank.BreakerConfig
}

// BankOps moves money between wallets and customers' bank accounts: top-ups and withdrawals.
// Each is a pending ledger transfer first (the money is held), then the bank call, then a post
// (succeeded) or a void (declined); when the bank's answer is lost the hold stays pending and
// Reconcile finishes it later. It is safe for concurrent use.
type BankOps struct {
	svc      *Service
	cfg      BankConfig
	breakers *bank.Breakers
	inflight sync.Map // pending transfer id → struct{}: a bank call this process is making
	// links is the connector of operations through bank links (SetLinks; nil: none).
	links bank.Connector
	// legacy: links of the 2020 protocol may move money (AllowLegacyLinks; development only).
	legacy bool
}

// NewBankOps returns bank operations over svc's ledger and identity.
func NewBankOps(svc *Service, cfg BankConfig) *BankOps {
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = DefaultBankCallTimeout
	}
	if cfg.Grace <= 0 {
		cfg.Grace = DefaultBankGrace
	}
	if cfg.Grace < cfg.CallTimeout {
		cfg.Grace = cfg.CallTimeout
	}
	if cfg.AlertAfter <= 0 {
		cfg.AlertAfter = DefaultBankAlertAfter
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	b := &BankOps{svc: svc, cfg: cfg}
	if b.cfg.Breaker.Now == nil {
		b.cfg.Breaker.Now = func() time.Time { return b.cfg.Now() } // SetNow moves it too
	}
	b.breakers = bank.NewBreakers(b.cfg.Breaker)
	return b
}

// Breakers returns the banks' circuit breakers (their state, for staff; their metrics).
func (b *BankOps) Breakers() *bank.Breakers { return b.breakers }

// Banks returns the configured banks, ordered by code.
func (b *BankOps) Banks() []bank.Bank { return b.cfg.Banks.List() }

// SetNow replaces the clock of cooling-off windows, days and consent ages (tests; a simulated
// world's clock). Not safe to call while operations run.
func (b *BankOps) SetNow(now func() time.Time) { b.cfg.Now = now }

// TopUp pulls amount from p's account at the bank with the given code into p's wallet, under
// p's idempotency key. It returns the operation succeeded or pending (the bank's answer was
// lost: the reconciler finishes it), or a declined error with the bank's reason (the hold is
// voided, nothing moved). The same key again returns the same operation in its current status,
// without calling the bank again. Errors: invalid (bank, amount), limit_exceeded, those of the
// limits hook, suspended (the bank is disabled or its kill switch pulled: nothing held),
// conflict (key reused), declined, internal.
func (b *BankOps) TopUp(ctx context.Context, p identity.Principal, key, code string, amount int64) (BankOp, error) {
	return b.start(ctx, p, key, KindTopUp, code, amount, nil)
}

// Withdraw pushes amount from p's wallet to p's account at the bank with the given code. The
// money is reserved in the wallet before the bank is called, so a wallet without it is refused
// (insufficient_funds) and the bank never hears of it; a declined withdrawal gives it back.
// Otherwise as TopUp.
func (b *BankOps) Withdraw(ctx context.Context, p identity.Principal, key, code string, amount int64) (BankOp, error) {
	return b.start(ctx, p, key, KindWithdrawal, code, amount, nil)
}

// start runs a top-up or withdrawal with the bank of the given code, or through link when it
// is not nil (code is then the link's bank; the caller checked that the link is p's and active).
func (b *BankOps) start(ctx context.Context, p identity.Principal, key, kind, code string, amount int64, link *emoney.BankLink) (BankOp, error) {
	if err := emoney.ValidateAmount("amount", amount); err != nil {
		return BankOp{}, err
	}
	// Only a verified identity moves money to or from a bank account (DESIGN.md: tiers 0 and 1
	// can never link a bank or withdraw); the tier's limits apply to what it adds and sends.
	// A 2020 legacy link (development only, AllowLegacyLinks) is the exception that shows why.
	if p.KYCTier < 2 && (link == nil || link.Method != emoney.LinkLegacy) {
		return BankOp{}, emoney.Errorf(emoney.EForbidden, "verify your identity (tier 2) to top up from or withdraw to a bank account")
	}
	lim := b.svc.tier(p.KYCTier)
	if err := b.svc.checkOperation(lim, amount); err != nil {
		return BankOp{}, err
	}
	var bk bank.Bank
	if link != nil {
		bk = bank.Bank{Code: link.Bank, Connector: b.links}
	} else {
		if !bank.ValidCode(code) {
			return BankOp{}, emoney.FieldError("bank", "bank must be a four-digit bank code")
		}
		var ok bool
		if bk, ok = b.cfg.Banks.Get(code); !ok {
			return BankOp{}, emoney.FieldError("bank", "bank %s is not available", code)
		}
	}
	wallet, err := b.svc.identity.Wallet(ctx, p.User)
	if err != nil {
		return BankOp{}, err
	}
	settlement, err := b.settlement(ctx, code)
	if err != nil {
		return BankOp{}, err
	}
	op := ledger.Op{Kind: emoney.TransferPending, From: settlement.ID, To: wallet.ID, Amount: amount, Currency: emoney.JPY,
		Code: kind, Hold: emoney.HoldBankDebit, ToLimit: addLimit(lim)}
	if kind == KindWithdrawal {
		op.From, op.To, op.Hold, op.ToLimit, op.FromLimit = wallet.ID, settlement.ID, emoney.HoldBankCredit, nil, sendLimit(lim)
	}
	// The risk engine, a kill switch, or the breaker of a bank that has stopped answering
	// stops new operations before any money is held; a retry of one made earlier still answers
	// how that one stands.
	j, err := b.judge(ctx, p, key, kind, code, amount, wallet, link)
	// An allow decision commits with the hold; if there is none of it (refused below, or a
	// retry answered with the first one), it is recorded on its own.
	decision, saved := b.svc.recordWith(j, nil)
	var held emoney.Transfer
	heldErr := errors.New("no hold made")
	defer func() { saved(held, heldErr) }()
	var ticket *bank.Ticket
	if err == nil {
		ticket, err = b.admit(ctx, code, kind)
	}
	if err != nil {
		if seen, serr := b.seen(ctx, p.LedgerPrincipal(), key); serr != nil || !seen {
			return BankOp{}, errors.Join(err, serr)
		}
	}
	defer ticket.Release() // not called after all (refused, a retry, or another request is calling)
	var account, tag string
	var attach func(context.Context, emoney.Tx, []emoney.Transfer) error
	if link != nil {
		// Recorded with the hold, in its transaction: the cooling-off caps count it from then
		// on, and the reconciler finds the link by the hold.
		if attach, err = b.record(ctx, p, key, kind, *link, amount); err != nil {
			return BankOp{}, err
		}
		account, tag = link.ID.String(), "link:"+link.ID.String()
	}
	// The hold made now (not a retry answered with the first one's) is the one Attach saw.
	var made emoney.ID
	tr, err := b.svc.submitAttached(ctx, p, key, op, tag, func(ctx context.Context, tx emoney.Tx, trs []emoney.Transfer) error {
		for _, a := range [2]func(context.Context, emoney.Tx, []emoney.Transfer) error{attach, decision} {
			if a != nil {
				if err := a(ctx, tx, trs); err != nil {
					return err
				}
			}
		}
		made = trs[0].ID
		return nil
	})
	held, heldErr = tr, err
	if emoney.ErrorCode(err) == emoney.EConflict {
		// The key's first request may be this very operation, keyed before its link was part of
		// the request's identity (a retry across an upgrade): answer with it.
		if prior, ok := b.svc.prior(ctx, p, key, op); ok {
			tr, err = prior, nil
		}
	}
	if err != nil {
		return BankOp{}, err
	}
	if tr.ID == made {
		b.reviewed(ctx, j, tr, kind, code)
	}
	if tr.ID == made && ticket != nil {
		if _, busy := b.inflight.LoadOrStore(tr.ID, struct{}{}); !busy {
			// From here on the client going away must not stop us half-way.
			ctx = context.WithoutCancel(ctx)
			res, err := b.call(ctx, bk, tr, account, false)
			answered(ticket, err)
			var done bool
			if err == nil {
				// If this fails the hold stays pending, which is what the answer below says;
				// the reconciler resolves it.
				done, _ = b.resolve(ctx, tr, res)
			}
			b.inflight.Delete(tr.ID)
			if done { // resolved by this call: its status is known without reading it back
				got := b.opOf(tr, code)
				got.Status, got.Reason = BankSucceeded, ""
				if res.Outcome == bank.Declined {
					got.Status, got.Reason = BankDeclined, bank.CleanReason(res.Reason)
					return got, declined(got)
				}
				return got, nil
			}
		}
	}
	got, err := b.status(ctx, tr)
	if err != nil {
		return BankOp{}, err
	}
	if got.Status == BankDeclined {
		return got, declined(got)
	}
	return got, nil
}

// judge asks the risk engine about a new top-up or withdrawal (nil error: go on; an allow is
// recorded with the hold). block and challenge are answered as for transfers; review raises an
// alert for staff once the hold is made (reviewed) but holds nothing more yet: holding a bank
// operation for review (the money pulled, then frozen until staff decide) comes with fraud
// operations.
func (b *BankOps) judge(ctx context.Context, p identity.Principal, key, kind, code string, amount int64, wallet emoney.Account, link *emoney.BankLink) (risk.Judgement, error) {
	if b.svc.risk == nil {
		return risk.Judgement{}, nil
	}
	ev := risk.Event{Type: risk.TopUp, Amount: amount, Bank: code}
	if kind == KindWithdrawal {
		ev.Type = risk.Withdrawal
	}
	counterparty := code
	if link != nil {
		ev.Account, ev.LinkedAt, counterparty = hex.EncodeToString(link.AccountIndex), link.CreatedAt, link.ID.String()
	}
	digest := risk.OperationDigest(kind, counterparty, amount, key)
	ev.ID = eventID(p, key, digest)
	return b.svc.judge(ctx, p, wallet, ev, digest)
}

// reviewed raises the alert of a bank operation the risk engine sent to review, named by its
// hold (a retry raises none), once the hold is made.
func (b *BankOps) reviewed(ctx context.Context, j risk.Judgement, tr emoney.Transfer, kind, code string) {
	if j.Outcome != emoney.RiskReview || b.cfg.Alerts == nil {
		return
	}
	a := emoney.Alert{ID: tr.ID, Kind: "risk_review", Subject: "wallet:" + tr.To.String(), Transfer: tr.ID,
		Reason: fmt.Sprintf("risk decision %s on %s %s of %d at bank %s: %v (score %d); the operation went ahead", j.ID, kind, tr.ID, tr.Amount, code, j.Rules, j.Score),
		Status: emoney.AlertOpen, CreatedAt: b.cfg.Now().UTC().Truncate(time.Microsecond)}
	if kind == KindWithdrawal {
		a.Subject = "wallet:" + tr.From.String()
	}
	// A failure to raise it leaves the decision (with its rules) on record: staff find it there.
	_ = b.cfg.Store.Update(context.WithoutCancel(ctx), func(tx emoney.Tx) error { return tx.CreateAlert(ctx, a) })
}

// admit checks that a new operation of kind may go to the bank with the given code now: its
// kill switch is not pulled (suspended otherwise) and its breaker lets the call through
// (bank_unavailable otherwise). It returns the breaker's ticket for the call.
func (b *BankOps) admit(ctx context.Context, code, kind string) (*bank.Ticket, error) {
	if b.cfg.Policies != nil {
		which := emoney.SwitchTopUps
		if kind == KindWithdrawal {
			which = emoney.SwitchWithdrawals
		}
		if err := b.cfg.Policies.Check(ctx, code, which); err != nil {
			return nil, err
		}
	}
	return b.breakers.Acquire(code)
}

// answered records on the breaker's ticket whether the bank answered the call that ended in err.
func answered(t *bank.Ticket, err error) {
	switch {
	case err == nil:
		t.Answered()
	case errors.Is(err, bank.ErrNotSent): // the bank was not asked: it says nothing about it
		t.Release()
	default:
		t.NoAnswer()
	}
}

// declined is the error a declined operation answers with.
func declined(op BankOp) error {
	what := "top-up"
	if op.Kind == KindWithdrawal {
		what = "withdrawal"
	}
	return &emoney.Error{Code: emoney.EDeclined, Reason: op.Reason,
		Message: fmt.Sprintf("the bank declined %s %s; nothing was moved", what, op.ID)}
}

// Get returns a top-up (kind KindTopUp) or withdrawal of p's wallet in its current status; to
// anyone else, and for any other transfer, it does not exist (not_found).
func (b *BankOps) Get(ctx context.Context, p identity.Principal, kind string, id emoney.ID) (BankOp, error) {
	wallet, err := b.svc.identity.Wallet(ctx, p.User)
	if err != nil {
		return BankOp{}, err
	}
	tr, err := b.svc.ledger.GetTransfer(ctx, id)
	mine := tr.To == wallet.ID && tr.Hold == emoney.HoldBankDebit
	if kind == KindWithdrawal {
		mine = tr.From == wallet.ID && tr.Hold == emoney.HoldBankCredit
	}
	if err != nil || tr.Kind != emoney.TransferPending || tr.Code != kind || !mine {
		return BankOp{}, emoney.Errorf(emoney.ENotFound, "no such %s", strings.Replace(kind, "topup", "top-up", 1))
	}
	return b.status(ctx, tr)
}

// settlement returns the bank's settlement account, opening it the first time.
func (b *BankOps) settlement(ctx context.Context, code string) (emoney.Account, error) {
	a, err := b.svc.ledger.AccountByName(ctx, bank.AccountName(code))
	if emoney.ErrorCode(err) == emoney.ENotFound {
		return b.svc.ledger.OpenAccount(ctx, ledger.AccountSpec{Name: bank.AccountName(code), Kind: emoney.AccountBank})
	}
	return a, err
}

// seen reports whether the principal's key was used before: then the operation exists and the
// bank has been called for it already (or the reconciler will), so it must not be called again.
func (b *BankOps) seen(ctx context.Context, principal, key string) (bool, error) {
	var recs []emoney.IdempotencyRecord
	err := b.cfg.Store.View(ctx, func(tx emoney.ReadTx) error {
		var err error
		recs, err = tx.Idempotency(ctx, []emoney.IdempotencyKey{{Principal: principal, Key: key}})
		return err
	})
	return len(recs) > 0, err
}

// call sends the hold's debit or credit to the bank, with the hold's id as the reference.
func (b *BankOps) call(ctx context.Context, bk bank.Bank, tr emoney.Transfer, account string, resend bool) (bank.Result, error) {
	ctx, cancel := context.WithTimeout(ctx, b.cfg.CallTimeout)
	defer cancel()
	req := bank.Request{Reference: tr.ID.String(), Amount: tr.Amount, Currency: tr.Currency, Account: account, Resend: resend}
	if tr.Hold == emoney.HoldBankCredit {
		return bk.Connector.Credit(ctx, req)
	}
	return bk.Connector.Debit(ctx, req)
}

// resolve makes the ledger follow a definite answer: post on success, void on decline (the
// void's code keeps the reason), and reports whether this call did (rather than someone before). Keys are derived from the hold, so however often and from
// wherever it runs, the hold is resolved once; resolved already (by another process, or staff)
// is not an error.
func (b *BankOps) resolve(ctx context.Context, tr emoney.Transfer, res bank.Result) (bool, error) {
	// A declined operation gives back what it counted against the wallet's daily and monthly
	// limits: the ledger does that for any void of a counted hold.
	op := ledger.Op{PendingID: tr.ID}
	switch res.Outcome {
	case bank.Succeeded:
		op.Kind = emoney.TransferPost
	case bank.Declined:
		op.Kind, op.Code = emoney.TransferVoid, "declined."+bank.CleanReason(res.Reason)
	default:
		return false, fmt.Errorf("money: bank answered %q for %s", res.Outcome, tr.ID)
	}
	_, err := b.svc.ledger.Transfer(ctx, "system:bank", "bank:"+tr.ID.String()+":"+string(op.Kind), op)
	if emoney.ErrorCode(err) == emoney.EConflict {
		return false, nil
	}
	return err == nil, err
}

// opOf is the operation held by tr with the bank of the given code, pending.
func (b *BankOps) opOf(tr emoney.Transfer, code string) BankOp {
	op := BankOp{ID: tr.ID, Kind: tr.Code, Bank: code, Wallet: tr.To, Amount: tr.Amount, Currency: tr.Currency, Status: BankPending, CreatedAt: tr.CreatedAt}
	if tr.Hold == emoney.HoldBankCredit {
		op.Wallet = tr.From
	}
	return op
}

// status reads where the operation held by tr stands.
func (b *BankOps) status(ctx context.Context, tr emoney.Transfer) (BankOp, error) {
	settlement := tr.From
	if tr.Hold == emoney.HoldBankCredit {
		settlement = tr.To
	}
	a, err := b.svc.ledger.Account(ctx, settlement)
	if err != nil {
		return BankOp{}, err
	}
	code, _ := bank.CodeOf(a.Name)
	op := b.opOf(tr, code)
	var res []emoney.Transfer
	err = b.cfg.Store.View(ctx, func(tx emoney.ReadTx) error {
		res, err = tx.Resolutions(ctx, []emoney.ID{tr.ID})
		return err
	})
	if err != nil {
		return BankOp{}, err
	}
	if len(res) > 0 {
		if res[0].Kind == emoney.TransferPost {
			op.Status = BankSucceeded
		} else {
			op.Status = BankDeclined
			reason, ok := strings.CutPrefix(res[0].Code, "declined.")
			if !ok {
				reason = "not_completed"
			}
			op.Reason = reason
		}
	}
	return op, nil
}

// ReconcileStats is what one Reconcile pass did.
type ReconcileStats struct {
	Resolved int // holds posted or voided on the bank's answer
	Alerted  int // holds unknown for too long, newly alerted to staff
}

// Reconcile finishes bank operations whose answer was lost: for every pending bank hold older
// than the grace period it asks the bank (Status), and if the bank never received the request
// (the process died before the call, or the call was lost on the way) sends it again under the
// same reference, which is idempotent. A definite answer posts or voids the hold; no answer
// leaves it pending for the next pass, and once that has lasted AlertAfter, staff get an alert
// (kind "bank_unresolved", named by the hold's id) to release or reject it once they know from
// the bank: the reconciler never guesses. Several processes may reconcile at once. now is the
// time the pass runs at.
func (b *BankOps) Reconcile(ctx context.Context, now time.Time) (ReconcileStats, error) {
	var (
		st   ReconcileStats
		errs []error
	)
	for _, hold := range []emoney.HoldKind{emoney.HoldBankDebit, emoney.HoldBankCredit} {
		var due []emoney.Transfer
		err := b.cfg.Store.View(ctx, func(tx emoney.ReadTx) error {
			var err error
			due, err = tx.PendingHolds(ctx, hold, now.Add(-b.cfg.Grace), 1000)
			return err
		})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, tr := range due {
			if ctx.Err() != nil {
				return st, ctx.Err()
			}
			if _, busy := b.inflight.Load(tr.ID); busy {
				continue
			}
			done, err := b.reconcile(ctx, tr, now)
			if err != nil {
				errs = append(errs, fmt.Errorf("reconciling %s: %w", tr.ID, err))
				continue
			}
			if done {
				st.Resolved++
				continue
			}
			if now.Sub(tr.CreatedAt) >= b.cfg.AlertAfter {
				raised, err := b.raise(ctx, tr, now)
				if err != nil {
					errs = append(errs, fmt.Errorf("alerting %s: %w", tr.ID, err))
				} else if raised {
					st.Alerted++
				}
			}
		}
	}
	return st, errors.Join(errs...)
}

// reconcile asks the bank about one hold and resolves it on a definite answer. It reports
// whether it resolved it; an unknown outcome is not an error.
func (b *BankOps) reconcile(ctx context.Context, tr emoney.Transfer, now time.Time) (bool, error) {
	settlement := tr.From
	if tr.Hold == emoney.HoldBankCredit {
		settlement = tr.To
	}
	a, err := b.svc.ledger.Account(ctx, settlement)
	if err != nil {
		return false, err
	}
	code, _ := bank.CodeOf(a.Name)
	bk, account, ok, err := b.connectorOf(ctx, tr, code)
	if err != nil || !ok {
		return false, err // the bank is not configured here any more: staff will be alerted
	}
	// While the bank's breaker is open the hold waits: the bank is not answering anyway.
	ticket, err := b.breakers.Acquire(code)
	if err != nil {
		return false, nil
	}
	defer ticket.Release()
	sctx, cancel := context.WithTimeout(ctx, b.cfg.CallTimeout)
	res, err := bk.Connector.Status(sctx, tr.ID.String())
	cancel()
	if !errors.Is(err, bank.ErrUnknownReference) {
		// (A connector may answer "unknown reference" without asking the bank: only the
		// re-send below then says whether the bank answers.)
		answered(ticket, err)
	}
	if errors.Is(err, bank.ErrUnknownReference) {
		// The bank never got the request. Send it again under the same reference, but only
		// while nobody else can decide the hold: re-sends stop at half of AlertAfter, long
		// before staff are alerted (and only an alert lets staff reject), and the hold must
		// still be pending with no alert about it. A re-send after staff voided the hold would
		// move money the ledger has given back.
		if now.Sub(tr.CreatedAt) >= b.cfg.AlertAfter/2 {
			return false, nil
		}
		if open, err := b.undecided(ctx, tr); err != nil || !open {
			return false, err
		}
		res, err = b.call(ctx, bk, tr, account, true)
		answered(ticket, err)
	}
	if err != nil || (res.Outcome != bank.Succeeded && res.Outcome != bank.Declined) {
		return false, nil // still unknown: ask again next time
	}
	if b.cfg.Alerts != nil {
		// Staff were alerted about this hold: an open alert is resolved by the bank's answer,
		// recorded as a decision like theirs; a decided one is theirs, and the alerts
		// sweeper makes the ledger follow it.
		al, err := b.cfg.Alerts.Get(ctx, tr.ID)
		switch {
		case err == nil && al.Status == emoney.AlertOpen:
			// The bank's word settles it, whatever the amount: maker-checker is for staff.
			_, _, err := b.cfg.Alerts.ResolveFromSource(ctx, tr.ID, res.Outcome == bank.Succeeded, "system:bank")
			if emoney.ErrorCode(err) == emoney.EConflict {
				return false, nil // decided by staff meanwhile
			}
			return err == nil, err
		case err == nil:
			return false, nil
		case emoney.ErrorCode(err) != emoney.ENotFound:
			return false, err
		}
	}
	if _, err := b.resolve(ctx, tr, res); err != nil {
		return false, err
	}
	return true, nil
}

// raise alerts staff about a hold whose outcome stayed unknown, once (the alert is named by the
// hold's id); it reports whether it raised a new one.
func (b *BankOps) raise(ctx context.Context, tr emoney.Transfer, now time.Time) (bool, error) {
	if b.cfg.Alerts == nil {
		return false, nil
	}
	op, err := b.status(ctx, tr)
	if err != nil {
		return false, err
	}
	a := emoney.Alert{ID: tr.ID, Kind: "bank_unresolved", Subject: "wallet:" + op.Wallet.String(), Transfer: tr.ID,
		Reason: fmt.Sprintf("bank %s has not confirmed %s %s of %d %s since %s: release if the bank moved the money, reject if it did not",
			op.Bank, op.Kind, tr.ID, tr.Amount, tr.Currency, tr.CreatedAt.UTC().Format(time.RFC3339)),
		Status: emoney.AlertOpen, CreatedAt: now.UTC().Truncate(time.Microsecond)}
	err = b.cfg.Store.Update(ctx, func(tx emoney.Tx) error { return tx.CreateAlert(ctx, a) })
	if emoney.ErrorCode(err) == emoney.EConflict {
		return false, nil // raised before
	}
	return err == nil, err
}

// undecided reports whether a bank hold is still pending with no alert about it: nobody but
// the reconciler can resolve it yet.
func (b *BankOps) undecided(ctx context.Context, tr emoney.Transfer) (bool, error) {
	if b.cfg.Alerts != nil {
		_, err := b.cfg.Alerts.Get(ctx, tr.ID)
		if err == nil {
			return false, nil
		}
		if emoney.ErrorCode(err) != emoney.ENotFound {
			return false, err
		}
	}
	var res []emoney.Transfer
	err := b.cfg.Store.View(ctx, func(tx emoney.ReadTx) error {
		var err error
		res, err = tx.Resolutions(ctx, []emoney.ID{tr.ID})
		return err
	})
	return err == nil && len(res) == 0, err
}
