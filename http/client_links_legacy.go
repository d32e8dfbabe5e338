package http

import (
	"context"

	"emoney/banklink"
)

// LinkLegacy links a bank account with the 2020 protocol (holder name, branch, account number,
// PIN): only a development server run with --legacy-linking answers it, others 404 not_found.
func (c *Client) LinkLegacy(ctx context.Context, req banklink.LegacyRequest) (Link, error) {
	var out Link
	err := c.do(ctx, "POST", "/api/v1/links/legacy", "", req, &out)
	return out, err
}
