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
	Passkeys    int  `json:"passkeys"`
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
		reason := e.Error.Reason
		if e.Error.Challenge != "" { // how to meet a challenge_required
			reason = e.Error.Challenge
		}
		return &emoney.Error{Code: e.Error.Code, Message: e.Error.Message, Field: e.Error.Field, Reason: reason}
	}
	if out != nil && len(data) > 0 {
		return json.Unmarshal(data, out)
	}
	return nil
}

// EnrolTOTP starts enrolling a one-time-code app on c's account and returns its secret and
// otpauth URI; ConfirmTOTP with a first code finishes it.
func (c *Client) EnrolTOTP(ctx context.Context) (secret, uri string, err error) {
	var out struct{ Secret, URI string }
	err = c.do(ctx, "POST", "/api/v1/totp", "", nil, &out)
	return out.Secret, out.URI, err
}

// ConfirmTOTP finishes enrolling the app EnrolTOTP started with one of its codes.
func (c *Client) ConfirmTOTP(ctx context.Context, code string) error {
	return c.do(ctx, "POST", "/api/v1/totp/confirm", "", map[string]any{"code": code}, nil)
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

// BankOp is a top-up or withdrawal as the API shows it. Status is pending, succeeded or
// declined; a pending one is finished from the bank's answer later (GetTopUp, GetWithdrawal).
type BankOp struct {
	ID        string `json:"id"`
	Kind      string `json:"kind"`
	Bank      string `json:"bank"`
	Wallet    string `json:"wallet"`
	Amount    int64  `json:"amount"`
	Currency  string `json:"currency"`
	Status    string `json:"status"`
	Reason    string `json:"reason,omitempty"`
	CreatedAt string `json:"created_at"`
}

// TopUp pulls amount from the caller's account at the bank with the given code into the
// wallet. A decline is an *emoney.Error with code declined and the bank's reason.
func (c *Client) TopUp(ctx context.Context, key, bank string, amount int64) (BankOp, error) {
	var op BankOp
	err := c.do(ctx, "POST", "/api/v1/topups", key, map[string]any{"bank": bank, "amount": amount}, &op)
	return op, err
}

// Withdraw pushes amount from the wallet to the caller's account at the bank with the given
// code.
func (c *Client) Withdraw(ctx context.Context, key, bank string, amount int64) (BankOp, error) {
	var op BankOp
	err := c.do(ctx, "POST", "/api/v1/withdrawals", key, map[string]any{"bank": bank, "amount": amount}, &op)
	return op, err
}

// TopUpLink pulls amount from the caller's linked account (a link id from Links) into the
// wallet. During the link's cooling-off window, a top-up over the bank's cooling-off caps is
// an *emoney.Error limit_exceeded, reason cooling_off.
func (c *Client) TopUpLink(ctx context.Context, key, link string, amount int64) (BankOp, error) {
	var op BankOp
	err := c.do(ctx, "POST", "/api/v1/topups", key, map[string]any{"link": link, "amount": amount}, &op)
	return op, err
}

// WithdrawLink pays amount from the wallet into the caller's linked account.
func (c *Client) WithdrawLink(ctx context.Context, key, link string, amount int64) (BankOp, error) {
	var op BankOp
	err := c.do(ctx, "POST", "/api/v1/withdrawals", key, map[string]any{"link": link, "amount": amount}, &op)
	return op, err
}

// GetTopUp returns one of the caller's top-ups in its current status.
func (c *Client) GetTopUp(ctx context.Context, id string) (BankOp, error) {
	var op BankOp
	err := c.do(ctx, "GET", "/api/v1/topups/"+url.PathEscape(id), "", nil, &op)
	return op, err
}

// GetWithdrawal returns one of the caller's withdrawals in its current status.
func (c *Client) GetWithdrawal(ctx context.Context, id string) (BankOp, error) {
	var op BankOp
	err := c.do(ctx, "GET", "/api/v1/withdrawals/"+url.PathEscape(id), "", nil, &op)
	return op, err
}

// Passkey is a passkey as the API shows it to its owner.
type Passkey struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	AAGUID     string   `json:"aaguid"`
	Transports []string `json:"transports"`
	CreatedAt  string   `json:"created_at"`
	LastUsedAt string   `json:"last_used_at"`
}

// BeginPasskeyRegistration starts adding a passkey and returns the options for
// navigator.credentials.create, as JSON.
func (c *Client) BeginPasskeyRegistration(ctx context.Context) (json.RawMessage, error) {
	var out json.RawMessage
	err := c.do(ctx, "POST", "/api/v1/passkeys/register/begin", "", nil, &out)
	return out, err
}

// FinishPasskeyRegistration sends the authenticator's answer (PublicKeyCredential JSON) and keeps
// the passkey under name.
func (c *Client) FinishPasskeyRegistration(ctx context.Context, name string, credential json.RawMessage) (Passkey, error) {
	var p Passkey
	err := c.do(ctx, "POST", "/api/v1/passkeys/register/finish", "", map[string]any{"name": name, "credential": credential}, &p)
	return p, err
}

// Passkeys lists the signed-in user's passkeys.
func (c *Client) Passkeys(ctx context.Context) ([]Passkey, error) {
	var out struct {
		Items []Passkey `json:"items"`
	}
	err := c.do(ctx, "GET", "/api/v1/passkeys", "", nil, &out)
	return out.Items, err
}

// DeletePasskey removes one of the signed-in user's passkeys (after a fresh step-up).
func (c *Client) DeletePasskey(ctx context.Context, id string) error {
	return c.do(ctx, "DELETE", "/api/v1/passkeys/"+url.PathEscape(id), "", nil, nil)
}

// BeginPasskeyStepUp starts a step-up with a passkey and returns the options for
// navigator.credentials.get, as JSON.
func (c *Client) BeginPasskeyStepUp(ctx context.Context) (json.RawMessage, error) {
	var out json.RawMessage
	err := c.do(ctx, "POST", "/api/v1/stepup/passkey/begin", "", nil, &out)
	return out, err
}

// PasskeyStepUp proves the second factor on c's session with the authenticator's answer
// (PublicKeyCredential JSON).
func (c *Client) PasskeyStepUp(ctx context.Context, credential json.RawMessage) error {
	return c.do(ctx, "POST", "/api/v1/stepup/passkey/finish", "", map[string]any{"credential": credential}, nil)
}

// Staff sign-in and enrolment, payees, sign-out everywhere, maker-checker and staff
// administration.

// LoginOTP signs in with a one-time code as well (staff always need one) and keeps the token
// in c.
func (c *Client) LoginOTP(ctx context.Context, email, password, otp, device string) error {
	var out struct {
		Token string `json:"token"`
	}
	body := map[string]any{"email": email, "password": password, "otp": otp, "device": device}
	if err := c.do(ctx, "POST", "/api/v1/login", "", body, &out); err != nil {
		return err
	}
	c.Token = out.Token
	return nil
}

// EnrolStaff spends a staff enrolment code (from emoney staff create or reissue): it sets the
// password and returns the one-time-code app's secret and otpauth URI, shown once.
func (c *Client) EnrolStaff(ctx context.Context, code, password string) (secret, uri string, err error) {
	var out struct {
		Secret string `json:"secret"`
		URI    string `json:"uri"`
	}
	err = c.do(ctx, "POST", "/api/v1/staff/enrol", "", map[string]any{"code": code, "password": password}, &out)
	return out.Secret, out.URI, err
}

// Payee is a saved wallet as the API shows it to its owner.
type Payee struct {
	ID       string `json:"id"`
	Wallet   string `json:"wallet"`
	Nickname string `json:"nickname"`
	AddedAt  string `json:"added_at"`
}

// AddPayee saves a wallet as a payee under a nickname.
func (c *Client) AddPayee(ctx context.Context, wallet, nickname string) (Payee, error) {
	var p Payee
	err := c.do(ctx, "POST", "/api/v1/payees", "", map[string]any{"wallet": wallet, "nickname": nickname}, &p)
	return p, err
}

// Payees returns a page of the caller's payees, newest first, and the next page's cursor ("" at
// the end).
func (c *Client) Payees(ctx context.Context, before string, limit int) ([]Payee, string, error) {
	q := url.Values{"limit": {strconv.Itoa(limit)}}
	if before != "" {
		q.Set("before", before)
	}
	var out struct {
		Items []Payee `json:"items"`
		Next  string  `json:"next"`
	}
	err := c.do(ctx, "GET", "/api/v1/payees?"+q.Encode(), "", nil, &out)
	return out.Items, out.Next, err
}

// DeletePayee removes one of the caller's payees.
func (c *Client) DeletePayee(ctx context.Context, id string) error {
	return c.do(ctx, "DELETE", "/api/v1/payees/"+url.PathEscape(id), "", nil, nil)
}

// RevokeAllSessions signs the caller out everywhere, c's own session included, and returns how
// many sessions were revoked.
func (c *Client) RevokeAllSessions(ctx context.Context) (int, error) {
	var out struct {
		N int `json:"sessions_revoked"`
	}
	err := c.do(ctx, "POST", "/api/v1/sessions/revoke-all", "", nil, &out)
	return out.N, err
}

// Alert is a staff alert as the API shows it.
type Alert struct {
	ID         string `json:"id"`
	Kind       string `json:"kind"`
	Subject    string `json:"subject"`
	Transfer   string `json:"transfer"`
	Reason     string `json:"reason"`
	Status     string `json:"status"`
	CreatedAt  string `json:"created_at"`
	ResolvedAt string `json:"resolved_at"`
	ResolvedBy string `json:"resolved_by"`
	ProposedAt string `json:"proposed_at"`
	ProposedBy string `json:"proposed_by"`
}

type decision struct {
	Alert    Alert     `json:"alert"`
	Transfer *Transfer `json:"transfer"`
}

// Alerts (staff) returns a page of alerts in status, oldest first, and the next page's cursor.
func (c *Client) Alerts(ctx context.Context, status, after string, limit int) ([]Alert, string, error) {
	q := url.Values{"status": {status}, "limit": {strconv.Itoa(limit)}}
	if after != "" {
		q.Set("after", after)
	}
	var out struct {
		Items []Alert `json:"items"`
		Next  string  `json:"next"`
	}
	err := c.do(ctx, "GET", "/api/v1/staff/alerts?"+q.Encode(), "", nil, &out)
	return out.Items, out.Next, err
}

// Release (staff) releases a held operation. Above the approval threshold it is only proposed:
// the alert comes back in status "proposed" and the transfer is nil until a second staff member
// approves.
func (c *Client) Release(ctx context.Context, alert string) (Alert, *Transfer, error) {
	var out decision
	err := c.do(ctx, "POST", "/api/v1/staff/alerts/"+url.PathEscape(alert)+"/release", "", nil, &out)
	return out.Alert, out.Transfer, err
}

// Approve (senior analysts, admins) approves a release someone else proposed; the held transfer
// is posted.
func (c *Client) Approve(ctx context.Context, alert string) (Alert, Transfer, error) {
	var out decision
	err := c.do(ctx, "POST", "/api/v1/staff/alerts/"+url.PathEscape(alert)+"/approve", "", nil, &out)
	var tr Transfer
	if out.Transfer != nil {
		tr = *out.Transfer
	}
	return out.Alert, tr, err
}

// Decline (senior analysts, admins) turns a proposed release down; the alert is open again.
func (c *Client) Decline(ctx context.Context, alert string) (Alert, error) {
	var out decision
	err := c.do(ctx, "POST", "/api/v1/staff/alerts/"+url.PathEscape(alert)+"/decline", "", nil, &out)
	return out.Alert, err
}

// DisableStaff (admins) disables a staff account and revokes its sessions; it returns how many.
func (c *Client) DisableStaff(ctx context.Context, user string) (int, error) {
	var out struct {
		N int `json:"sessions_revoked"`
	}
	err := c.do(ctx, "POST", "/api/v1/staff/users/"+url.PathEscape(user)+"/disable", "", nil, &out)
	return out.N, err
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
