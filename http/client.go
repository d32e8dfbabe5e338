package http

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"emoney"
)

// Client calls the emoney API: used by tests, the benchmarks and the simulator. Errors the API
// answers come back as *emoney.Error with the code, field and reason it sent. A Client is safe
// for concurrent use; give each user their own (their token is the Client's).
type Client struct {
	Base  string // "http://127.0.0.1:8080"
	Token string // a session token or a partner's API key
	// ForwardedFor, if set, is sent as X-Forwarded-For (a client behind a trusted proxy).
	ForwardedFor string
	HTTP         *http.Client // default http.DefaultClient
}

// Transfer is a ledger record as the API shows it.
type Transfer struct {
	ID         string `json:"id"`
	Kind       string `json:"kind"`
	From       string `json:"from"`
	To         string `json:"to"`
	Amount     int64  `json:"amount"`
	Currency   string `json:"currency"`
	Code       string `json:"code"`
	PendingID  string `json:"pending_id,omitempty"`
	ReversalOf string `json:"reversal_of,omitempty"`
	CreatedAt  string `json:"created_at"`
}

// Me is GET /api/v1/me.
type Me struct {
	User struct {
		ID      string `json:"id"`
		Email   string `json:"email"`
		Role    string `json:"role"`
		KYCTier int    `json:"kyc_tier"`
		TOTP    bool   `json:"totp"`
	} `json:"user"`
	Wallet *struct {
		Account   string `json:"account"`
		Currency  string `json:"currency"`
		Balance   int64  `json:"balance"`
		Available int64  `json:"available"`
	} `json:"wallet"`
	StepUpFresh bool `json:"step_up_fresh"`
}

// SignUp opens an account and returns its user and wallet ids.
func (c *Client) SignUp(ctx context.Context, email, password string) (user, wallet string, err error) {
	var out struct {
		User struct {
			ID string `json:"id"`
		} `json:"user"`
		Wallet string `json:"wallet"`
	}
	err = c.do(ctx, "POST", "/api/v1/signup", "", map[string]any{"email": email, "password": password}, &out)
	return out.User.ID, out.Wallet, err
}

// Login signs in and keeps the token in c.
func (c *Client) Login(ctx context.Context, email, password, device string) error {
	var out struct {
		Token string `json:"token"`
	}
	if err := c.do(ctx, "POST", "/api/v1/login", "", map[string]any{"email": email, "password": password, "device": device}, &out); err != nil {
		return err
	}
	c.Token = out.Token
	return nil
}

// Logout revokes c's session.
func (c *Client) Logout(ctx context.Context) error {
	return c.do(ctx, "POST", "/api/v1/logout", "", nil, nil)
}

// Me describes the signed-in user.
func (c *Client) Me(ctx context.Context) (Me, error) {
	var me Me
	err := c.do(ctx, "GET", "/api/v1/me", "", nil, &me)
	return me, err
}

// Transfer sends amount (yen) to another wallet under an idempotency key.
func (c *Client) Transfer(ctx context.Context, key, toWallet string, amount int64) (Transfer, error) {
	var t Transfer
	err := c.do(ctx, "POST", "/api/v1/transfers", key, map[string]any{"to": toWallet, "amount": amount}, &t)
	return t, err
}

// Pay pays a merchant (its payment code) under an idempotency key.
func (c *Client) Pay(ctx context.Context, key, merchant string, amount int64) (Transfer, error) {
	var t Transfer
	err := c.do(ctx, "POST", "/api/v1/payments", key, map[string]any{"merchant": merchant, "amount": amount}, &t)
	return t, err
}

// Refund (merchants) gives back amount of a payment (0: all that is left).
func (c *Client) Refund(ctx context.Context, key, payment string, amount int64) (Transfer, error) {
	var t Transfer
	err := c.do(ctx, "POST", "/api/v1/refunds", key, map[string]any{"payment": payment, "amount": amount}, &t)
	return t, err
}

// CashIn (agents) credits a wallet for cash received.
func (c *Client) CashIn(ctx context.Context, key, wallet string, amount int64) (Transfer, error) {
	var t Transfer
	err := c.do(ctx, "POST", "/api/v1/cashins", key, map[string]any{"wallet": wallet, "amount": amount}, &t)
	return t, err
}

// History returns a page of the wallet's records, newest first, and the next page's cursor
// ("" at the end).
func (c *Client) History(ctx context.Context, before string, limit int) ([]Transfer, string, error) {
	q := url.Values{"limit": {strconv.Itoa(limit)}}
	if before != "" {
		q.Set("before", before)
	}
	var out struct {
		Items []Transfer `json:"items"`
		Next  string     `json:"next"`
	}
	err := c.do(ctx, "GET", "/api/v1/history?"+q.Encode(), "", nil, &out)
	return out.Items, out.Next, err
}

// do sends one request and decodes a 2xx answer into out, or the error answer into an
// *emoney.Error.
func (c *Client) do(ctx context.Context, method, path, key string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.Base+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	if c.ForwardedFor != "" {
		req.Header.Set("X-Forwarded-For", c.ForwardedFor)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		var e errorBody
		if json.Unmarshal(data, &e) != nil || e.Error.Code == "" {
			return fmt.Errorf("%s %s: HTTP %d", method, path, resp.StatusCode)
		}
		return &emoney.Error{Code: e.Error.Code, Message: e.Error.Message, Field: e.Error.Field, Reason: e.Error.Reason}
	}
	if out != nil && len(data) > 0 {
		return json.Unmarshal(data, out)
	}
	return nil
}

// StepUp proves the second factor on c's session with a one-time code.
func (c *Client) StepUp(ctx context.Context, code string) error {
	return c.do(ctx, "POST", "/api/v1/stepup", "", map[string]any{"code": code}, nil)
}

// Decide (staff) releases (release true) or rejects a held operation.
func (c *Client) Decide(ctx context.Context, alert string, release bool) error {
	verb := "reject"
	if release {
		verb = "release"
	}
	return c.do(ctx, "POST", "/api/v1/staff/alerts/"+alert+"/"+verb, "", nil, nil)
}

// WebhookEndpoint is a merchant's webhook endpoint; Secret only in SetWebhook's answer.
type WebhookEndpoint struct {
	URL       string `json:"url"`
	UpdatedAt string `json:"updated_at"`
	Secret    string `json:"secret,omitempty"`
}

// SetWebhook (merchants) sets where events are POSTed; the answer carries a new signing secret,
// shown this once.
func (c *Client) SetWebhook(ctx context.Context, url string) (WebhookEndpoint, error) {
	var e WebhookEndpoint
	err := c.do(ctx, "PUT", "/api/v1/partner/webhook", "", map[string]any{"url": url}, &e)
	return e, err
}

// Webhook (merchants) returns the webhook endpoint, without its secret.
func (c *Client) Webhook(ctx context.Context) (WebhookEndpoint, error) {
	var e WebhookEndpoint
	err := c.do(ctx, "GET", "/api/v1/partner/webhook", "", nil, &e)
	return e, err
}
