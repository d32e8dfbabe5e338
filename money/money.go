// Package money is how money moves for the people and partners of the API: P2P transfers,
// merchant payments and refunds, cash-ins at agents, and what a wallet may see of it. It holds
// the product's rules (who may send what to whom, how much at once); the ledger below keeps the
// books exact.
package money

import (
	"context"
	"errors"
	"strings"
	"time"

	"emoney"
	"emoney/alerts"
	"emoney/identity"
	"emoney/ledger"
	"emoney/risk"
)

// DefaultMaxAmount is the most one operation may move: a Japanese Type II funds transfer
// service may not move more than ¥1,000,000 at once (DESIGN.md).
const DefaultMaxAmount = 1_000_000

// Config tunes the service. Zero values pick the defaults.
type Config struct {
	// MaxAmount caps any one operation whatever the tier (default DefaultMaxAmount).
	MaxAmount int64
	// Tiers are the limits per KYC tier (default DefaultTiers).
	Tiers *Tiers
	Now   func() time.Time
}

// Service moves money. It is safe for concurrent use.
type Service struct {
	ledger    *ledger.Ledger
	identity  *identity.Service
	maxAmount int64
	tiers     Tiers
	now       func() time.Time
	risk      *risk.Engine    // nil: nothing is judged (SetRisk)
	alerts    *alerts.Service // where review holds go
}

// New returns the service.
func New(l *ledger.Ledger, ids *identity.Service, cfg Config) *Service {
	if cfg.MaxAmount <= 0 {
		cfg.MaxAmount = DefaultMaxAmount
	}
	if cfg.Tiers == nil {
		cfg.Tiers = &DefaultTiers
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{ledger: l, identity: ids, maxAmount: cfg.MaxAmount, tiers: *cfg.Tiers, now: cfg.Now}
}

// account returns the account id names if it is of the wanted kind; otherwise an invalid error
// naming field, so that system accounts are never addressable.
func (s *Service) account(ctx context.Context, id emoney.ID, kind emoney.AccountKind, field string) (emoney.Account, error) {
	a, err := s.ledger.Account(ctx, id)
	if err != nil || a.Kind != kind {
		return emoney.Account{}, emoney.FieldError(field, "no %s %s", kind, id)
	}
	return a, nil
}

// Transfer sends amount from p's wallet to another wallet. Errors: invalid (to, amount,
// currency), limit_exceeded, insufficient_funds, conflict (key reused), internal.
func (s *Service) Transfer(ctx context.Context, p identity.Principal, key string, to emoney.ID, amount int64, cur emoney.Currency) (emoney.Transfer, error) {
	lim := s.tier(p.KYCTier)
	if err := s.checkOperation(lim, amount); err != nil {
		return emoney.Transfer{}, err
	}
	from, err := s.identity.Wallet(ctx, p.User)
	if err != nil {
		return emoney.Transfer{}, err
	}
	dst, err := s.account(ctx, to, emoney.AccountWallet, "to")
	if err != nil {
		return emoney.Transfer{}, err
	}
	if dst.ID == from.ID {
		return emoney.Transfer{}, emoney.FieldError("to", "you cannot send money to yourself")
	}
	toTier, err := s.holderTier(ctx, dst)
	if err != nil {
		return emoney.Transfer{}, err
	}
	op := ledger.Op{From: from.ID, To: dst.ID, Amount: amount, Currency: cur, Code: "p2p",
		FromLimit: sendLimit(lim), ToLimit: receiveLimit(s.tier(toTier))}
	return s.move(ctx, p, key, from, op, risk.Event{Type: risk.Transfer, Amount: amount, To: dst.ID.String(), ToOpenedAt: dst.ID.Time()}, dst.ID.String())
}

// Pay sends amount from p's wallet to a merchant's account (its payment code).
func (s *Service) Pay(ctx context.Context, p identity.Principal, key string, merchant emoney.ID, amount int64) (emoney.Transfer, error) {
	lim := s.tier(p.KYCTier)
	if err := s.checkOperation(lim, amount); err != nil {
		return emoney.Transfer{}, err
	}
	from, err := s.identity.Wallet(ctx, p.User)
	if err != nil {
		return emoney.Transfer{}, err
	}
	dst, err := s.account(ctx, merchant, emoney.AccountMerchant, "merchant")
	if err != nil {
		return emoney.Transfer{}, err
	}
	op := ledger.Op{From: from.ID, To: dst.ID, Amount: amount, Code: "payment", FromLimit: sendLimit(lim)}
	return s.move(ctx, p, key, from, op, risk.Event{Type: risk.Payment, Amount: amount, Merchant: dst.ID.String()}, dst.ID.String())
}

// CashIn credits a wallet for cash the agent p received; the agent's account is debited (the
// cash it owes the operator).
func (s *Service) CashIn(ctx context.Context, p identity.Principal, key string, wallet emoney.ID, amount int64) (emoney.Transfer, error) {
	agent, err := s.identity.PartnerAccount(ctx, p)
	if err != nil {
		return emoney.Transfer{}, err
	}
	dst, err := s.account(ctx, wallet, emoney.AccountWallet, "wallet")
	if err != nil {
		return emoney.Transfer{}, err
	}
	tier, err := s.holderTier(ctx, dst)
	if err != nil {
		return emoney.Transfer{}, err
	}
	lim := s.tier(tier)
	if err := s.checkOperation(lim, amount); err != nil {
		return emoney.Transfer{}, err
	}
	return s.submit(ctx, p, key, ledger.Op{From: agent.ID, To: dst.ID, Amount: amount, Code: "cashin", ToLimit: addLimit(lim)})
}

// Refund gives back (part of: amount 0 is all that is left) a payment made to the merchant p.
// The ledger refuses more than remains (conflict); another merchant's payment does not exist
// for p (not_found).
func (s *Service) Refund(ctx context.Context, p identity.Principal, key string, payment emoney.ID, amount int64) (emoney.Transfer, error) {
	if amount < 0 {
		return emoney.Transfer{}, emoney.FieldError("amount", "amount must not be negative (0 refunds all that is left)")
	}
	merchant, err := s.identity.PartnerAccount(ctx, p)
	if err != nil {
		return emoney.Transfer{}, err
	}
	pay, err := s.ledger.GetTransfer(ctx, payment)
	if err != nil || pay.To != merchant.ID || pay.Code != "payment" {
		return emoney.Transfer{}, &emoney.Error{Code: emoney.ENotFound, Field: "payment", Message: "no such payment"}
	}
	return s.submit(ctx, p, key, ledger.Op{ReversalOf: pay.ID, Amount: amount, Code: "refund"})
}

// Get returns a transfer p's wallet is a party to; to anyone else it does not exist.
func (s *Service) Get(ctx context.Context, p identity.Principal, id emoney.ID) (emoney.Transfer, error) {
	wallet, err := s.identity.Wallet(ctx, p.User)
	if err != nil {
		return emoney.Transfer{}, err
	}
	tr, err := s.ledger.GetTransfer(ctx, id)
	if err != nil || (tr.From != wallet.ID && tr.To != wallet.ID) {
		return emoney.Transfer{}, emoney.Errorf(emoney.ENotFound, "no such transfer")
	}
	return tr, nil
}

// History returns p's wallet records newest first (see ledger.History).
func (s *Service) History(ctx context.Context, p identity.Principal, before emoney.ID, limit int) ([]emoney.Transfer, error) {
	wallet, err := s.identity.Wallet(ctx, p.User)
	if err != nil {
		return nil, err
	}
	return s.ledger.History(ctx, wallet.ID, emoney.JPY, before, limit)
}

// submit posts one op under p's idempotency scope, naming fields as the API does ("amount",
// not the ledger's "ops[0].amount").
func (s *Service) submit(ctx context.Context, p identity.Principal, key string, op ledger.Op) (emoney.Transfer, error) {
	return s.submitAttached(ctx, p, key, op, "", nil)
}

// submitAttached is submit with a ledger.Request's Tag and Attach: the caller's own records of
// the movement, committed with it.
func (s *Service) submitAttached(ctx context.Context, p identity.Principal, key string, op ledger.Op, tag string,
	attach func(context.Context, emoney.Tx, []emoney.Transfer) error) (emoney.Transfer, error) {
	var tr emoney.Transfer
	trs, err := s.ledger.Submit(ctx, ledger.Request{Principal: p.LedgerPrincipal(), Key: key, Ops: []ledger.Op{op}, Tag: tag, Attach: attach})
	if err == nil {
		tr = trs[0]
	}
	var e *emoney.Error
	if errors.As(err, &e) && strings.HasPrefix(e.Field, "ops[0].") {
		c := *e
		c.Field = strings.TrimPrefix(e.Field, "ops[0].")
		c.Message = strings.ReplaceAll(c.Message, "ops[0].", "")
		return tr, &c
	}
	return tr, err
}
