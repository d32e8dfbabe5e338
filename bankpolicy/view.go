package bankpolicy

import (
	"time"

	"emoney"
)

// View is a policy as the staff API shows it and the audit log records it.
type View struct {
	Bank               string      `json:"bank"`
	Enabled            bool        `json:"enabled"`
	Factors            []string    `json:"factors"`
	Notes              string      `json:"notes"`
	CoolingOffSeconds  int64       `json:"cooling_off_seconds"`
	CoolingOffTopUpCap int64       `json:"cooling_off_topup_cap"`
	CoolingOffDailyCap int64       `json:"cooling_off_daily_cap"`
	MatchLink          int         `json:"match_link"`
	MatchReview        int         `json:"match_review"`
	ReconsentDays      int         `json:"reconsent_days"`
	KillSwitches       SwitchViews `json:"kill_switches"`
	Version            int64       `json:"version"`
	UpdatedAt          string      `json:"updated_at,omitempty"` // RFC 3339; absent for the defaults
	UpdatedBy          string      `json:"updated_by,omitempty"`
}

// SwitchViews are a policy's three kill switches.
type SwitchViews struct {
	NewLinks    SwitchView `json:"new_links"`
	TopUps      SwitchView `json:"topups"`
	Withdrawals SwitchView `json:"withdrawals"`
}

// SwitchView is one kill switch as the API shows it.
type SwitchView struct {
	Pulled   bool   `json:"pulled"`
	Reason   string `json:"reason,omitempty"`
	PulledBy string `json:"pulled_by,omitempty"`
	PulledAt string `json:"pulled_at,omitempty"`
	Until    string `json:"until,omitempty"`
}

// ViewOf returns p's view.
func ViewOf(p emoney.BankPolicy) View {
	v := View{Bank: p.Bank, Enabled: p.Enabled, Factors: p.Factors, Notes: p.Notes,
		CoolingOffSeconds: int64(p.CoolingOff / time.Second), CoolingOffTopUpCap: p.CoolingOffTopUpCap, CoolingOffDailyCap: p.CoolingOffDailyCap,
		MatchLink: p.MatchLink, MatchReview: p.MatchReview, ReconsentDays: p.ReconsentDays,
		KillSwitches: SwitchViews{NewLinks: switchView(p.NewLinks), TopUps: switchView(p.TopUps), Withdrawals: switchView(p.Withdrawals)},
		Version:      p.Version, UpdatedBy: p.UpdatedBy}
	if v.Factors == nil {
		v.Factors = []string{}
	}
	if !p.UpdatedAt.IsZero() {
		v.UpdatedAt = p.UpdatedAt.UTC().Format(time.RFC3339Nano)
	}
	return v
}

func switchView(k emoney.KillSwitch) SwitchView {
	v := SwitchView{Pulled: k.Pulled, Reason: k.Reason, PulledBy: k.PulledBy}
	if !k.PulledAt.IsZero() {
		v.PulledAt = k.PulledAt.UTC().Format(time.RFC3339Nano)
	}
	if !k.Until.IsZero() {
		v.Until = k.Until.UTC().Format(time.RFC3339Nano)
	}
	return v
}
