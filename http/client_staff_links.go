package http

import (
	"context"
	"net/url"
	"strconv"
)

// StaffLink is a bank link as staff see it (GET /api/v1/staff/links).
type StaffLink struct {
	Link
	User  string `json:"user"`
	Score int    `json:"score"`
}

// StaffLinkDetail is one link with the bank's holder and the wallet's eKYC identity side by
// side (GET /api/v1/staff/links/{id}; the viewing is audited).
type StaffLinkDetail struct {
	StaffLink
	BankHolderKana      string `json:"bank_holder_kana"`
	BankHolderBirthDate string `json:"bank_holder_birth_date"`
	EKYCNameKana        string `json:"ekyc_name_kana"`
	EKYCNameKanji       string `json:"ekyc_name_kanji"`
	EKYCBirthDate       string `json:"ekyc_birth_date"`
}

// StaffLinks lists links in a status ("" is review), oldest first, and the cursor of the next
// page ("" when there is none).
func (c *Client) StaffLinks(ctx context.Context, status string, limit int, after string) ([]StaffLink, string, error) {
	q := url.Values{}
	if status != "" {
		q.Set("status", status)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if after != "" {
		q.Set("after", after)
	}
	var out struct {
		Links []StaffLink `json:"links"`
		Next  string      `json:"next"`
	}
	path := "/api/v1/staff/links"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	err := c.do(ctx, "GET", path, "", nil, &out)
	return out.Links, out.Next, err
}

// StaffLink reads one link with both identities (audited at the server).
func (c *Client) StaffLink(ctx context.Context, id string) (StaffLinkDetail, error) {
	var out StaffLinkDetail
	err := c.do(ctx, "GET", "/api/v1/staff/links/"+url.PathEscape(id), "", nil, &out)
	return out, err
}

// DecideLink releases, rejects or revokes a link: decision is "release", "reject" or "revoke".
func (c *Client) DecideLink(ctx context.Context, id, decision, reason string) (StaffLink, error) {
	var out StaffLink
	err := c.do(ctx, "POST", "/api/v1/staff/links/"+url.PathEscape(id)+"/"+url.PathEscape(decision), "", map[string]any{"reason": reason}, &out)
	return out, err
}

// UnlockLinking lets a user locked out of linking link again.
func (c *Client) UnlockLinking(ctx context.Context, user, reason string) error {
	return c.do(ctx, "POST", "/api/v1/staff/users/"+url.PathEscape(user)+"/link-unlock", "", map[string]any{"reason": reason}, nil)
}
