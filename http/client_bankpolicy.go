package http

import (
	"context"
	"net/url"
	"time"

	"emoney/bankpolicy"
)

// StaffBank is one bank with its policy, as GET /api/v1/staff/banks shows it.
type StaffBank struct {
	Code       string          `json:"code"`
	Name       string          `json:"name,omitempty"`
	Configured bool            `json:"configured"`
	Policy     bankpolicy.View `json:"policy"`
}

// PolicySettings are what PUT /api/v1/staff/banks/{code}/policy replaces: every field is sent.
// Version is the policy version the caller read.
type PolicySettings struct {
	Version            int64    `json:"version"`
	Enabled            bool     `json:"enabled"`
	Factors            []string `json:"factors"`
	Notes              string   `json:"notes"`
	CoolingOffSeconds  int64    `json:"cooling_off_seconds"`
	CoolingOffTopUpCap int64    `json:"cooling_off_topup_cap"`
	CoolingOffDailyCap int64    `json:"cooling_off_daily_cap"`
	MatchLink          int      `json:"match_link"`
	MatchReview        int      `json:"match_review"`
	ReconsentDays      int      `json:"reconsent_days"`
}

// SettingsOf returns the settings of a policy as read, at its version: change what you need and
// PUT them back.
func SettingsOf(v bankpolicy.View) PolicySettings {
	return PolicySettings{Version: v.Version, Enabled: v.Enabled, Factors: v.Factors, Notes: v.Notes,
		CoolingOffSeconds: v.CoolingOffSeconds, CoolingOffTopUpCap: v.CoolingOffTopUpCap, CoolingOffDailyCap: v.CoolingOffDailyCap,
		MatchLink: v.MatchLink, MatchReview: v.MatchReview, ReconsentDays: v.ReconsentDays}
}

// Banks (staff) lists every configured bank and every bank with a stored policy.
func (c *Client) Banks(ctx context.Context) ([]StaffBank, error) {
	var out struct {
		Banks []StaffBank `json:"banks"`
	}
	err := c.do(ctx, "GET", "/api/v1/staff/banks", "", nil, &out)
	return out.Banks, err
}

// Bank (staff) returns one bank's policy.
func (c *Client) Bank(ctx context.Context, code string) (StaffBank, error) {
	var b StaffBank
	err := c.do(ctx, "GET", "/api/v1/staff/banks/"+url.PathEscape(code), "", nil, &b)
	return b, err
}

// SetBankPolicy (admins, fresh step-up) replaces a bank's policy settings; conflict if it is no
// longer at s.Version.
func (c *Client) SetBankPolicy(ctx context.Context, code string, s PolicySettings) (StaffBank, error) {
	var b StaffBank
	err := c.do(ctx, "PUT", "/api/v1/staff/banks/"+url.PathEscape(code)+"/policy", "", s, &b)
	return b, err
}

// PullKillSwitch (senior analysts, admins; fresh step-up) pulls one of a bank's kill switches
// ("new_links", "topups", "withdrawals"); until, if not zero, is when you expect to release it.
func (c *Client) PullKillSwitch(ctx context.Context, code, which, reason string, until time.Time) (StaffBank, error) {
	body := map[string]any{"reason": reason}
	if !until.IsZero() {
		body["until"] = until.UTC().Format(time.RFC3339)
	}
	var b StaffBank
	err := c.do(ctx, "POST", "/api/v1/staff/banks/"+url.PathEscape(code)+"/killswitch/"+url.PathEscape(which), "", body, &b)
	return b, err
}

// ReleaseKillSwitch (senior analysts, admins; fresh step-up) releases a pulled kill switch.
func (c *Client) ReleaseKillSwitch(ctx context.Context, code, which, reason string) (StaffBank, error) {
	var b StaffBank
	err := c.do(ctx, "DELETE", "/api/v1/staff/banks/"+url.PathEscape(code)+"/killswitch/"+url.PathEscape(which), "", map[string]any{"reason": reason}, &b)
	return b, err
}
