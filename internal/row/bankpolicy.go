package row

import (
	"fmt"
	"strings"
	"time"

	"emoney"
)

// BankPolicyCols is the column list BankPolicy.Dest expects and BankPolicyArgs gives.
const BankPolicyCols = `bank, enabled, factors, notes, cooling_off_seconds, cooling_off_topup_cap, cooling_off_daily_cap,
	match_link, match_review, reconsent_days,
	new_links_pulled, new_links_reason, new_links_by, new_links_at, new_links_until,
	topups_pulled, topups_reason, topups_by, topups_at, topups_until,
	withdrawals_pulled, withdrawals_reason, withdrawals_by, withdrawals_at, withdrawals_until,
	version, updated_at, updated_by`

// BankPolicyColumns is how many columns BankPolicyCols names.
const BankPolicyColumns = 28

// killSwitch is one kill switch's columns.
type killSwitch struct {
	Pulled     int64
	Reason, By string
	At, Until  *int64
}

func (k *killSwitch) dest() []any { return []any{&k.Pulled, &k.Reason, &k.By, &k.At, &k.Until} }

func (k *killSwitch) decode() emoney.KillSwitch {
	s := emoney.KillSwitch{Pulled: k.Pulled != 0, Reason: k.Reason, PulledBy: k.By}
	if k.At != nil {
		s.PulledAt = Time(*k.At)
	}
	if k.Until != nil {
		s.Until = Time(*k.Until)
	}
	return s
}

// BankPolicy is a row of the bank_policies table as both stores select it (BankPolicyCols).
type BankPolicy struct {
	Bank, Factors, Notes                                   string
	Enabled                                                int64
	CoolingOffSeconds, CoolingOffTopUpCap, CoolingOffDaily int64
	MatchLink, MatchReview, ReconsentDays                  int64
	NewLinks, TopUps, Withdrawals                          killSwitch
	Version, UpdatedAt                                     int64
	UpdatedBy                                              string
}

// Dest returns the scan destinations, in column order.
func (r *BankPolicy) Dest() []any {
	d := []any{&r.Bank, &r.Enabled, &r.Factors, &r.Notes, &r.CoolingOffSeconds, &r.CoolingOffTopUpCap, &r.CoolingOffDaily,
		&r.MatchLink, &r.MatchReview, &r.ReconsentDays}
	d = append(d, r.NewLinks.dest()...)
	d = append(d, r.TopUps.dest()...)
	d = append(d, r.Withdrawals.dest()...)
	return append(d, &r.Version, &r.UpdatedAt, &r.UpdatedBy)
}

// Decode returns the policy the row holds; an error if its version is not positive.
func (r *BankPolicy) Decode() (emoney.BankPolicy, error) {
	p := emoney.BankPolicy{Bank: r.Bank, Enabled: r.Enabled != 0, Notes: r.Notes,
		CoolingOff: time.Duration(r.CoolingOffSeconds) * time.Second, CoolingOffTopUpCap: r.CoolingOffTopUpCap, CoolingOffDailyCap: r.CoolingOffDaily,
		MatchLink: int(r.MatchLink), MatchReview: int(r.MatchReview), ReconsentDays: int(r.ReconsentDays),
		NewLinks: r.NewLinks.decode(), TopUps: r.TopUps.decode(), Withdrawals: r.Withdrawals.decode(),
		Version: r.Version, UpdatedAt: Time(r.UpdatedAt), UpdatedBy: r.UpdatedBy}
	if r.Factors != "" {
		p.Factors = strings.Split(r.Factors, ",")
	}
	if r.Version < 1 {
		return p, fmt.Errorf("bank policy %s has version %d", r.Bank, r.Version)
	}
	return p, nil
}

// BankPolicyArgs returns p's column values in BankPolicyCols order: flags as 0 or 1, times as
// Unix microseconds (nil when zero), factors joined by commas.
func BankPolicyArgs(p emoney.BankPolicy) []any {
	a := []any{p.Bank, flag(p.Enabled), strings.Join(p.Factors, ","), p.Notes, int64(p.CoolingOff / time.Second), p.CoolingOffTopUpCap, p.CoolingOffDailyCap,
		int64(p.MatchLink), int64(p.MatchReview), int64(p.ReconsentDays)}
	for _, k := range []emoney.KillSwitch{p.NewLinks, p.TopUps, p.Withdrawals} {
		a = append(a, flag(k.Pulled), k.Reason, k.PulledBy, nullTime(k.PulledAt), nullTime(k.Until))
	}
	return append(a, p.Version, p.UpdatedAt.UnixMicro(), p.UpdatedBy)
}

func flag(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// nullTime is t in Unix microseconds, or nil (NULL) when t is zero.
func nullTime(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	v := t.UnixMicro()
	return &v
}
