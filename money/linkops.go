package money

// Top-ups and withdrawals through bank links (docs/bank.md, docs/banks.md "Linking"): the
// link must be the caller's and active; during its cooling-off window a top-up is capped by
// the bank policy's per-top-up and per-day cooling-off caps, counted per bank account (all
// its links) in the store under the live link's row lock (emoney.LinkOp), so concurrent requests from any process cannot
// pass the cap together. The ledger's wallet limits do not fit here: they count per wallet,
// and a wallet's other links and a link's age are not theirs to know.

import (
	"context"
	"fmt"
	"slices"
	"time"

	"emoney"
	"emoney/bank"
	"emoney/identity"
)

// ReasonCoolingOff is the limit_exceeded reason of a top-up over a new link's cooling-off caps.
const ReasonCoolingOff = "cooling_off"

// SetLinks sets the connector of operations through bank links (banklink.LinkConnector). Call
// it before serving; without it TopUpLink and WithdrawLink answer not_found.
func (b *BankOps) SetLinks(c bank.Connector) { b.links = c }

// TopUpLink pulls amount from p's linked account link into p's wallet, as TopUp does for a
// bank code, within the link's mandate and, during its cooling-off window, the bank policy's
// cooling-off caps. Errors: not_found (no such link of p's, or no links configured), conflict
// (the link is revoked, under review or needs re-consent; or the key was used for another
// request), forbidden (the link's grant lacks the scope), limit_exceeded (reason cooling_off),
// and TopUp's.
func (b *BankOps) TopUpLink(ctx context.Context, p identity.Principal, key string, link emoney.ID, amount int64) (BankOp, error) {
	return b.startLink(ctx, p, key, KindTopUp, link, amount)
}

// WithdrawLink pays amount from p's wallet into p's linked account link. Errors as TopUpLink
// (no cooling-off caps: money going back to the holder's own account is not the risk), and
// Withdraw's.
func (b *BankOps) WithdrawLink(ctx context.Context, p identity.Principal, key string, link emoney.ID, amount int64) (BankOp, error) {
	return b.startLink(ctx, p, key, KindWithdrawal, link, amount)
}

func (b *BankOps) startLink(ctx context.Context, p identity.Principal, key, kind string, id emoney.ID, amount int64) (BankOp, error) {
	if b.links == nil {
		return BankOp{}, emoney.Errorf(emoney.ENotFound, "no bank links are configured on this server")
	}
	if err := emoney.ValidateAmount("amount", amount); err != nil {
		return BankOp{}, err
	}
	var link emoney.BankLink
	err := b.cfg.Store.View(ctx, func(tx emoney.ReadTx) error {
		var err error
		link, err = tx.Link(ctx, id)
		return err
	})
	if err == nil && link.User != p.User {
		err = emoney.Errorf(emoney.ENotFound, "no such bank link") // others' links do not exist
	}
	if err != nil {
		return BankOp{}, &emoney.Error{Code: emoney.ErrorCode(err), Field: "link", Message: emoney.ErrorMessage(err), Err: err}
	}
	// A link that may not move money is a policy refusal (declined, with a stable reason).
	refuse := func(reason, msg string) (BankOp, error) {
		return BankOp{}, &emoney.Error{Code: emoney.EDeclined, Field: "link", Reason: reason, Message: msg}
	}
	if link.Method == emoney.LinkLegacy && !b.legacy {
		return refuse("legacy_off", "this bank link was made with the 2020 protocol, which this server does not run")
	}
	switch link.Status {
	case emoney.LinkActive:
	case emoney.LinkRevoked:
		return refuse("link_revoked", "this bank link is revoked; link the account again")
	case emoney.LinkReview:
		return refuse("link_in_review", "this bank link is waiting for a check by our staff")
	case emoney.LinkReconsent:
		return refuse("relink_required", "the bank no longer accepts this link: link the account again")
	default:
		return refuse("link_unusable", "this bank link cannot move money")
	}
	// Consent is renewed at the bank every ReconsentDays (DESIGN.md step 8): an older one moves
	// nothing until the customer links again.
	if b.cfg.Policies != nil {
		pol, err := b.cfg.Policies.Get(ctx, link.Bank)
		if err != nil {
			return BankOp{}, err
		}
		if pol.ReconsentDays > 0 && !b.cfg.Now().Before(link.ConsentedAt.AddDate(0, 0, pol.ReconsentDays)) {
			return refuse("relink_required", fmt.Sprintf("consent to this bank link is older than %d days: link the account again", pol.ReconsentDays))
		}
	}
	scope := "debit"
	if kind == KindWithdrawal {
		scope = "credit"
	}
	if !slices.Contains(link.Scope, scope) {
		return BankOp{}, &emoney.Error{Code: emoney.EForbidden, Field: "link", Message: "the bank did not grant this link " + scope + "s"}
	}
	return b.start(ctx, p, key, kind, link.Bank, amount, &link)
}

// record returns the ledger.Request.Attach that records the operation under p's key with its
// pending transfer, in the ledger's batch transaction, checking a top-up against the cooling-off
// caps while the link is in its window. A request whose
// key the ledger finds used before is answered from the ledger and never gets here: the
// request's Tag (its link) tells a retry from another request under the same key.
func (b *BankOps) record(ctx context.Context, p identity.Principal, key, kind string, link emoney.BankLink, amount int64) (func(context.Context, emoney.Tx, []emoney.Transfer) error, error) {
	now := b.cfg.Now()
	cooling := kind == KindTopUp && now.Before(link.CoolingOffUntil)
	var pol emoney.BankPolicy
	if cooling {
		if b.cfg.Policies != nil {
			var err error
			if pol, err = b.cfg.Policies.Get(ctx, link.Bank); err != nil {
				return nil, err
			}
		} else {
			pol = emoney.DefaultBankPolicy(link.Bank)
		}
	}
	principal := p.LedgerPrincipal()
	op := emoney.LinkOp{Principal: principal, Key: key, Link: link.ID, User: p.User, Kind: kind, Amount: amount,
		Day: emoney.TokyoDay(now), CreatedAt: now.UTC().Truncate(time.Microsecond)}
	return func(ctx context.Context, tx emoney.Tx, trs []emoney.Transfer) error {
		op.Transfer = trs[0].ID
		prev, err := tx.LinkOp(ctx, principal, key)
		switch {
		case err == nil:
			// Recorded, unbound, by an earlier version that recorded operations before holding
			// the money and died in between: counted for its day already.
			if prev.Link != link.ID || prev.Kind != kind || prev.Amount != amount || !prev.Transfer.IsZero() {
				return emoney.Errorf(emoney.EConflict, "this Idempotency-Key was used for another request")
			}
			return tx.BindLinkOp(ctx, principal, key, op.Transfer)
		case emoney.ErrorCode(err) != emoney.ENotFound:
			return err
		}
		if cooling {
			if amount > pol.CoolingOffTopUpCap {
				return coolingOff("a new bank link tops up at most %d yen at a time until %s", pol.CoolingOffTopUpCap, link)
			}
			if err := tx.LockLink(ctx, link.ID); err != nil {
				return err
			}
			// Counted by the bank account, across all its links: unlinking and linking it
			// again (by anyone) starts no fresh day. Only one link of an account is live at a
			// time, so the live link's row lock serializes the account's top-ups (on SQLite, the
			// one write lock; in one batch, those before this one are counted already).
			used, err := tx.AccountLinkUsage(ctx, link.AccountIndex, KindTopUp, op.Day)
			if err != nil {
				return err
			}
			if used+amount > pol.CoolingOffDailyCap {
				return coolingOff("a new bank link tops up at most %d yen a day until %s", pol.CoolingOffDailyCap, link)
			}
		}
		return tx.CreateLinkOp(ctx, op)
	}, nil
}

func coolingOff(format string, limit int64, link emoney.BankLink) error {
	e := emoney.Errorf(emoney.ELimitExceeded, format, limit, link.CoolingOffUntil.In(emoney.Tokyo).Format("2006-01-02 15:04 MST"))
	e.Field, e.Reason = "amount", ReasonCoolingOff
	return e
}

// connectorOf returns the connector and account of a pending bank hold: its link's, if it was
// made through one, else its bank's by code. ok is false when neither is configured here.
func (b *BankOps) connectorOf(ctx context.Context, tr emoney.Transfer, code string) (bank.Bank, string, bool, error) {
	var op emoney.LinkOp
	err := b.cfg.Store.View(ctx, func(tx emoney.ReadTx) error {
		var err error
		op, err = tx.LinkOpByTransfer(ctx, tr.ID)
		return err
	})
	switch {
	case err == nil:
		if b.links == nil {
			return bank.Bank{}, "", false, nil
		}
		return bank.Bank{Code: code, Connector: b.links}, op.Link.String(), true, nil
	case emoney.ErrorCode(err) != emoney.ENotFound:
		return bank.Bank{}, "", false, err
	}
	bk, ok := b.cfg.Banks.Get(code)
	return bk, "", ok, nil
}
