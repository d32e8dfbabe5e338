package emoney

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// BankPolicy is what emoney asks of, and allows with, one bank (shared/DESIGN.md "Bank
// linking", step 8): whether the bank is enabled at all, how its customers must authenticate
// when linking, how long a new link is held to low caps, the holder-match thresholds, how often
// consent is renewed, and three kill switches that stop new links, top-ups or withdrawals for
// this bank alone (in 2020 linking could only be stopped for 35 banks at once). A bank with no
// stored policy has DefaultBankPolicy. Policies change at runtime, audited; Version counts the
// changes, so a change made against an old version is refused (conflict).
type BankPolicy struct {
	Bank    string // Zengin bank code: four digits
	Enabled bool   // false: nothing at all with this bank (links, top-ups, withdrawals)
	// Factors are the authentication methods (RFC 8176 "amr" values) the bank must report
	// for its customer when a link is made: at least two different ones.
	Factors []string
	Notes   string // for staff: why the policy is what it is (not shown to customers)

	// A new link starts in a cooling-off window of CoolingOff with low caps: at most
	// CoolingOffTopUpCap per top-up and CoolingOffDailyCap per Asia/Tokyo day (minor units).
	CoolingOff         time.Duration
	CoolingOffTopUpCap int64
	CoolingOffDailyCap int64

	// Holder-match thresholds (banklink.Thresholds): a score ≥ MatchLink links, ≥ MatchReview
	// goes to review, lower is refused.
	MatchLink   int
	MatchReview int

	ReconsentDays int // the customer renews consent at the bank after this many days

	NewLinks    KillSwitch
	TopUps      KillSwitch
	Withdrawals KillSwitch

	Version   int64 // 0: never stored (the defaults); each change adds one
	UpdatedAt time.Time
	UpdatedBy string // "staff:<id>", "cli"
}

// KillSwitch stops one kind of operation with one bank while it is pulled.
type KillSwitch struct {
	Pulled   bool
	Reason   string    // why, for staff and the audit log
	PulledBy string    // who: "staff:<id>", "cli"
	PulledAt time.Time // when
	// Until is when the puller expects to release it (zero: unknown). It releases nothing by
	// itself; refused requests are told to retry after it.
	Until time.Time
}

// KillSwitchName names one of a bank's kill switches.
type KillSwitchName string

// The kill switches, by name (API paths, CLI flags, audit entries).
const (
	SwitchNewLinks    KillSwitchName = "new_links"
	SwitchTopUps      KillSwitchName = "topups"
	SwitchWithdrawals KillSwitchName = "withdrawals"
)

// KillSwitchNames are all kill switches, in a fixed order.
var KillSwitchNames = []KillSwitchName{SwitchNewLinks, SwitchTopUps, SwitchWithdrawals}

// ParseKillSwitch returns the kill switch named s; invalid (field "switch") for any other name.
func ParseKillSwitch(s string) (KillSwitchName, error) {
	n := KillSwitchName(s)
	if !slices.Contains(KillSwitchNames, n) {
		return "", FieldError("switch", "switch must be one of new_links, topups, withdrawals")
	}
	return n, nil
}

// Switch returns a pointer to the named kill switch of p (nil for an unknown name).
func (p *BankPolicy) Switch(n KillSwitchName) *KillSwitch {
	switch n {
	case SwitchNewLinks:
		return &p.NewLinks
	case SwitchTopUps:
		return &p.TopUps
	case SwitchWithdrawals:
		return &p.Withdrawals
	}
	return nil
}

// Defaults of a bank with no stored policy (shared/DESIGN.md: ≥ 90 links, 70–89 review,
// re-consent every 180 days).
const (
	DefaultCoolingOff         = 72 * time.Hour
	DefaultCoolingOffTopUpCap = 10_000
	DefaultCoolingOffDailyCap = 30_000
	DefaultMatchLink          = 90
	DefaultMatchReview        = 70
	DefaultReconsentDays      = 180
)

// Bounds of a policy's values.
const (
	MaxCoolingOff      = 90 * 24 * time.Hour
	MaxCoolingOffCap   = 1_000_000 // the most one transfer may move at all (Type II)
	MaxReconsentDays   = 365
	MaxBankPolicyNotes = 1000 // characters
	MaxKillSwitchNote  = 500  // characters of a reason
)

// amrValues are the authentication methods of RFC 8176 a policy may require.
var amrValues = []string{"face", "fpt", "geo", "hwk", "iris", "kba", "mca", "mfa", "otp", "pin", "pop", "pwd", "rba", "retina", "sc", "sms", "swk", "tel", "user", "vbm", "wia"}

// DefaultBankPolicy is the policy of a bank with no stored one: enabled, password and one-time
// code, 72 hours of cooling-off at ¥10,000 per top-up and ¥30,000 a day, thresholds 90/70,
// re-consent every 180 days, no switch pulled, version 0.
func DefaultBankPolicy(code string) BankPolicy {
	return BankPolicy{Bank: code, Enabled: true, Factors: []string{"pwd", "otp"},
		CoolingOff: DefaultCoolingOff, CoolingOffTopUpCap: DefaultCoolingOffTopUpCap, CoolingOffDailyCap: DefaultCoolingOffDailyCap,
		MatchLink: DefaultMatchLink, MatchReview: DefaultMatchReview, ReconsentDays: DefaultReconsentDays}
}

// Validate checks the settings a staff member chooses (not Version, the audit fields or the
// kill switches, which the service keeps). Errors: invalid, naming the field at fault.
func (p BankPolicy) Validate() error {
	if !validBankCode(p.Bank) {
		return FieldError("bank", "bank must be a four-digit bank code")
	}
	seen := map[string]bool{}
	for _, f := range p.Factors {
		if !slices.Contains(amrValues, f) {
			return FieldError("factors", "factor %q is not an RFC 8176 authentication method (%s)", f, strings.Join(amrValues, ", "))
		}
		seen[f] = true
	}
	if len(seen) < 2 {
		return FieldError("factors", "a bank must authenticate its customer with at least two different factors")
	}
	if utf8.RuneCountInString(p.Notes) > MaxBankPolicyNotes || !utf8.ValidString(p.Notes) {
		return FieldError("notes", "notes must be valid text of at most %d characters", MaxBankPolicyNotes)
	}
	switch {
	case p.CoolingOff < time.Hour || p.CoolingOff > MaxCoolingOff || p.CoolingOff%time.Second != 0:
		return FieldError("cooling_off_seconds", "cooling-off must be whole seconds between 1 hour and 90 days")
	case p.CoolingOffTopUpCap < 0 || p.CoolingOffTopUpCap > MaxCoolingOffCap:
		return FieldError("cooling_off_topup_cap", "the cooling-off cap per top-up must be between 0 and %d", MaxCoolingOffCap)
	case p.CoolingOffDailyCap < p.CoolingOffTopUpCap || p.CoolingOffDailyCap > MaxCoolingOffCap:
		return FieldError("cooling_off_daily_cap", "the cooling-off daily cap must be between the cap per top-up and %d", MaxCoolingOffCap)
	case p.MatchLink < 1 || p.MatchLink > 100:
		return FieldError("match_link", "the link threshold must be between 1 and 100")
	case p.MatchReview < 1 || p.MatchReview > p.MatchLink:
		return FieldError("match_review", "the review threshold must be between 1 and the link threshold")
	case p.ReconsentDays < 1 || p.ReconsentDays > MaxReconsentDays:
		return FieldError("reconsent_days", "re-consent must be due after 1 to %d days", MaxReconsentDays)
	}
	return nil
}

// ValidKillSwitchReason returns an invalid error (field "reason") unless reason is non-blank
// text of at most MaxKillSwitchNote characters.
func ValidKillSwitchReason(reason string) error {
	if strings.TrimSpace(reason) == "" || utf8.RuneCountInString(reason) > MaxKillSwitchNote || !utf8.ValidString(reason) {
		return FieldError("reason", "reason is required: text of at most %d characters", MaxKillSwitchNote)
	}
	return nil
}

// validBankCode reports whether code is four ASCII digits (bank.ValidCode, which this package
// cannot import).
func validBankCode(code string) bool {
	if len(code) != 4 {
		return false
	}
	for _, c := range []byte(code) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// String says whether the switch is pulled, by whom and when (not why: staff free text).
func (k KillSwitch) String() string {
	if !k.Pulled {
		return "released"
	}
	return fmt.Sprintf("pulled by %s at %s", k.PulledBy, k.PulledAt.Format(time.RFC3339))
}
