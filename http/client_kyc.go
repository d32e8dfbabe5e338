package http

import (
	"context"
)

// Document is an identity document for eKYC (see kyc.Document).
type Document struct {
	Type      string `json:"type"`
	Number    string `json:"number"`
	NameKanji string `json:"name_kanji"`
	NameKana  string `json:"name_kana"`
	BirthDate string `json:"birth_date"`
}

// KYC is GET /api/v1/kyc.
type KYC struct {
	Tier               int    `json:"tier"`
	Phone              string `json:"phone"`
	PhoneVerifiedAt    string `json:"phone_verified_at"`
	NameKanji          string `json:"name_kanji"`
	NameKana           string `json:"name_kana"`
	IdentityVerifiedAt string `json:"identity_verified_at"`
}

// Limits is GET /api/v1/limits.
type Limits struct {
	Tier   int `json:"tier"`
	Limits struct {
		PerOperation int64 `json:"per_operation"`
		SendDaily    int64 `json:"send_daily"`
		SendMonthly  int64 `json:"send_monthly"`
		AddDaily     int64 `json:"add_daily"`
		AddMonthly   int64 `json:"add_monthly"`
		MaxBalance   int64 `json:"max_balance"`
	} `json:"limits"`
	SentToday  int64 `json:"sent_today"`
	SentMonth  int64 `json:"sent_this_month"`
	AddedToday int64 `json:"added_today"`
	AddedMonth int64 `json:"added_this_month"`
	Balance    int64 `json:"balance"`
}

// StartPhone asks for a one-time code to be sent to phone.
func (c *Client) StartPhone(ctx context.Context, phone string) error {
	return c.do(ctx, "POST", "/api/v1/kyc/phone", "", map[string]any{"phone": phone}, nil)
}

// ConfirmPhone enters the code and returns the new tier.
func (c *Client) ConfirmPhone(ctx context.Context, code string) (int, error) {
	var out struct {
		Tier int `json:"kyc_tier"`
	}
	err := c.do(ctx, "POST", "/api/v1/kyc/phone/confirm", "", map[string]any{"code": code}, &out)
	return out.Tier, err
}

// EKYC has the eKYC provider verify d and returns the new tier.
func (c *Client) EKYC(ctx context.Context, d Document) (int, error) {
	var out struct {
		Tier int `json:"kyc_tier"`
	}
	err := c.do(ctx, "POST", "/api/v1/kyc/ekyc", "", d, &out)
	return out.Tier, err
}

// KYC returns the caller's verification status.
func (c *Client) KYC(ctx context.Context) (KYC, error) {
	var out KYC
	err := c.do(ctx, "GET", "/api/v1/kyc", "", nil, &out)
	return out, err
}

// Limits returns the caller's limits and usage.
func (c *Client) Limits(ctx context.Context) (Limits, error) {
	var out Limits
	err := c.do(ctx, "GET", "/api/v1/limits", "", nil, &out)
	return out, err
}
