package money

import (
	"context"
	"fmt"
	"strconv"

	"emoney"
	"emoney/identity"
	"emoney/ledger"
)

// Limits are one KYC tier's limits in yen (0: none). Days and months are Asia/Tokyo calendar
// periods (specs/errors.md). The ledger counts and checks them in the transaction that moves
// the money, so concurrent requests cannot pass them together.
type Limits struct {
	// PerOperation caps one transfer, payment, top-up, cash-in or withdrawal.
	PerOperation int64 `toml:"per_operation" json:"per_operation"`
	// SendDaily and SendMonthly cap what leaves the wallet: transfers, payments, withdrawals.
	SendDaily   int64 `toml:"send_daily" json:"send_daily"`
	SendMonthly int64 `toml:"send_monthly" json:"send_monthly"`
	// AddDaily and AddMonthly cap what is added to the wallet from outside: top-ups from a
	// bank, cash-ins at an agent.
	AddDaily   int64 `toml:"add_daily" json:"add_daily"`
	AddMonthly int64 `toml:"add_monthly" json:"add_monthly"`
	// MaxBalance caps the balance (with money pending in): a transfer or top-up that would
	// pass it is refused. Money parked far above what a customer spends is what the 2021
	// amendment of the Payment Services Act frowns upon.
	MaxBalance int64 `toml:"max_balance" json:"max_balance"`
}

// Tiers are the limits of tiers 0 (e-mail), 1 (phone) and 2 (eKYC).
type Tiers [3]Limits

// DefaultTiers are the limits unless configured. A Japanese Type II funds transfer service may
// not move more than ¥1,000,000 at once; an unverified wallet stays small, so a wallet opened
// with only an e-mail address (2020) is worth little to a thief.
var DefaultTiers = Tiers{
	{PerOperation: 10_000, SendDaily: 30_000, SendMonthly: 100_000, AddDaily: 30_000, AddMonthly: 100_000, MaxBalance: 50_000},
	{PerOperation: 50_000, SendDaily: 100_000, SendMonthly: 300_000, AddDaily: 100_000, AddMonthly: 300_000, MaxBalance: 100_000},
	{PerOperation: 1_000_000, SendDaily: 1_000_000, SendMonthly: 3_000_000, AddDaily: 1_000_000, AddMonthly: 3_000_000, MaxBalance: 1_000_000},
}

// Validate checks that every figure is in range and that higher tiers are not below lower ones
// (which would make verifying yourself a punishment).
func (t Tiers) Validate() error {
	for i, l := range t {
		for name, v := range map[string]int64{"per_operation": l.PerOperation, "send_daily": l.SendDaily, "send_monthly": l.SendMonthly,
			"add_daily": l.AddDaily, "add_monthly": l.AddMonthly, "max_balance": l.MaxBalance} {
			if v < 0 || v > emoney.MaxAmount {
				return fmt.Errorf("limits.tier%d.%s: %d is out of range (0 means no limit)", i, name, v)
			}
		}
		if l.PerOperation > DefaultMaxAmount {
			return fmt.Errorf("limits.tier%d.per_operation: at most %d may move at once", i, DefaultMaxAmount)
		}
		if i == 0 {
			continue
		}
		lo := t[i-1]
		for _, f := range []struct {
			name     string
			low, got int64
		}{{"per_operation", lo.PerOperation, l.PerOperation}, {"send_daily", lo.SendDaily, l.SendDaily}, {"send_monthly", lo.SendMonthly, l.SendMonthly},
			{"add_daily", lo.AddDaily, l.AddDaily}, {"add_monthly", lo.AddMonthly, l.AddMonthly}, {"max_balance", lo.MaxBalance, l.MaxBalance}} {
			if f.got != 0 && (f.low == 0 || f.got < f.low) { // 0 is no limit: the highest of all
				return fmt.Errorf("limits.tier%d.%s: %d is below tier %d's limit: verifying must never lower a limit", i, f.name, f.got, i-1)
			}
		}
	}
	return nil
}

// tier returns the limits of a tier (the highest for anything above).
func (s *Service) tier(t int) Limits {
	return s.tiers[min(max(t, 0), len(s.tiers)-1)]
}

// checkOperation applies a tier's per-operation cap (and the ¥1,000,000 cap of the licence).
func (s *Service) checkOperation(l Limits, amount int64) error {
	max := s.maxAmount
	if l.PerOperation > 0 && l.PerOperation < max {
		max = l.PerOperation
	}
	if amount > max {
		return &emoney.Error{Code: emoney.ELimitExceeded, Reason: "per_operation", Field: "amount",
			Message: "one operation may move at most " + strconv.FormatInt(max, 10) + " at this verification level"}
	}
	return nil
}

// sendLimit is what the ledger checks on the sending wallet.
func sendLimit(l Limits) *ledger.Limit {
	return &ledger.Limit{Count: true, Day: l.SendDaily, Month: l.SendMonthly}
}

// addLimit is what the ledger checks on a wallet money is added to from outside.
func addLimit(l Limits) *ledger.Limit {
	return &ledger.Limit{Count: true, Day: l.AddDaily, Month: l.AddMonthly, MaxBalance: l.MaxBalance}
}

// receiveLimit is what the ledger checks on a wallet receiving a transfer.
func receiveLimit(l Limits) *ledger.Limit {
	if l.MaxBalance == 0 {
		return nil
	}
	return &ledger.Limit{MaxBalance: l.MaxBalance}
}

// holderTier returns the KYC tier of a wallet's holder.
func (s *Service) holderTier(ctx context.Context, wallet emoney.Account) (int, error) {
	user, ok := identity.WalletUser(wallet)
	if !ok {
		return 0, fmt.Errorf("money: %s is not a user's wallet", wallet.Name)
	}
	return s.identity.Tier(ctx, user)
}

// Usage is what a wallet may still do today and this month.
type Usage struct {
	Tier       int    `json:"tier"`
	Limits     Limits `json:"limits"`
	SentToday  int64  `json:"sent_today"`
	SentMonth  int64  `json:"sent_this_month"`
	AddedToday int64  `json:"added_today"`
	AddedMonth int64  `json:"added_this_month"`
	Balance    int64  `json:"balance"`
}

// Limits returns p's tier, its limits and what the wallet has used of them.
func (s *Service) Limits(ctx context.Context, p identity.Principal) (Usage, error) {
	w, err := s.identity.Wallet(ctx, p.User)
	if err != nil {
		return Usage{}, err
	}
	b, err := s.ledger.Balance(ctx, w.ID, emoney.JPY)
	if err != nil {
		return Usage{}, err
	}
	now := s.now()
	u := b.Usage.At(emoney.TokyoDay(now), emoney.TokyoMonth(now))
	return Usage{Tier: p.KYCTier, Limits: s.tier(p.KYCTier), SentToday: u.DayOut, SentMonth: u.MonthOut,
		AddedToday: u.DayIn, AddedMonth: u.MonthIn, Balance: b.Balance}, nil
}
