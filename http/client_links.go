package http

import (
	"context"
	"net/url"
)

// LinkStart is POST /api/v1/links: where to send the customer's browser, and until when.
type LinkStart struct {
	AuthorizationURL string `json:"authorization_url"`
	ExpiresAt        string `json:"expires_at"`
}

// Link is one bank link as GET /api/v1/links shows it (account number masked).
type Link struct {
	ID              string `json:"id"`
	Bank            string `json:"bank"`
	Account         string `json:"account"`
	Status          string `json:"status"`
	CreatedAt       string `json:"created_at"`
	CoolingOffUntil string `json:"cooling_off_until"`
	ConsentedAt     string `json:"consented_at"`
	RevokedAt       string `json:"revoked_at"`
}

// StartLink starts linking an account at bank (a Zengin code); the customer's browser goes to
// the returned URL.
func (c *Client) StartLink(ctx context.Context, bank string) (LinkStart, error) {
	var out LinkStart
	err := c.do(ctx, "POST", "/api/v1/links", "", map[string]any{"bank": bank}, &out)
	return out, err
}

// Links lists the caller's bank links, newest first.
func (c *Client) Links(ctx context.Context) ([]Link, error) {
	var out struct {
		Links []Link `json:"links"`
	}
	err := c.do(ctx, "GET", "/api/v1/links", "", nil, &out)
	return out.Links, err
}

// Unlink revokes one of the caller's links, at the bank and here, and returns it.
func (c *Client) Unlink(ctx context.Context, id string) (Link, error) {
	var out Link
	err := c.do(ctx, "DELETE", "/api/v1/links/"+url.PathEscape(id), "", nil, &out)
	return out, err
}
