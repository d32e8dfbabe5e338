package banksim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// AdminClient calls the admin API of a simulator running elsewhere (`emoney banksim`). Its
// methods mirror Sim's. It is safe for concurrent use.
type AdminClient struct {
	BaseURL string // e.g. "http://127.0.0.1:9000"
	Token   string // the admin token
	HTTP    *http.Client
}

// NewAdminClient returns a client of the simulator at baseURL.
func NewAdminClient(baseURL, token string) *AdminClient {
	return &AdminClient{BaseURL: strings.TrimRight(baseURL, "/"), Token: token, HTTP: http.DefaultClient}
}

// AdminError is an error answer of the admin API.
type AdminError struct {
	Status  int    `json:"-"`
	Code    string `json:"code"` // "unauthorized", "not_found", "invalid", "conflict", …
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func (e *AdminError) Error() string {
	return fmt.Sprintf("banksim admin: %d %s: %s", e.Status, e.Code, e.Message)
}

func (c *AdminClient) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var e struct{ Error AdminError }
		_ = json.Unmarshal(b, &e)
		e.Error.Status = resp.StatusCode
		if e.Error.Code == "" {
			e.Error.Code, e.Error.Message = "unknown", http.StatusText(resp.StatusCode)
		}
		return &e.Error
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

func bankPath(code string, rest ...string) string {
	p := "/admin/banks/" + url.PathEscape(code)
	for _, r := range rest {
		p += "/" + url.PathEscape(r)
	}
	return p
}

// Banks lists the simulator's banks.
func (c *AdminClient) Banks(ctx context.Context) ([]BankInfo, error) {
	var out struct{ Banks []BankInfo }
	err := c.do(ctx, "GET", "/admin/banks", nil, &out)
	return out.Banks, err
}

// Customers lists a bank's customers (with TOTP secrets).
func (c *AdminClient) Customers(ctx context.Context, code string) ([]CustomerInfo, error) {
	var out struct{ Customers []CustomerInfo }
	err := c.do(ctx, "GET", bankPath(code, "customers"), nil, &out)
	return out.Customers, err
}

// AddCustomer adds a customer; the answer carries its TOTP secret if it has an app.
func (c *AdminClient) AddCustomer(ctx context.Context, code string, nc NewCustomer) (Customer, error) {
	var out Customer
	err := c.do(ctx, "POST", bankPath(code, "customers"), nc, &out)
	return out, err
}

// Unlock lets a locked-out customer sign in again.
func (c *AdminClient) Unlock(ctx context.Context, code, login string) error {
	return c.do(ctx, "POST", bankPath(code, "customers", login, "unlock"), nil, nil)
}

// AddAccount opens an account.
func (c *AdminClient) AddAccount(ctx context.Context, code string, na NewAccount) (Account, error) {
	var out Account
	err := c.do(ctx, "POST", bankPath(code, "accounts"), na, &out)
	return out, err
}

// AddClient registers a wallet operator (see Sim.AddClient for the webhook secret).
func (c *AdminClient) AddClient(ctx context.Context, code string, cl Client) (Client, error) {
	var out Client
	err := c.do(ctx, "POST", bankPath(code, "clients"), cl, &out)
	return out, err
}

// OTPs reads the one-time codes sent by SMS (phone "" for all).
func (c *AdminClient) OTPs(ctx context.Context, code, phone string) ([]OTPMessage, error) {
	var out struct{ Messages []OTPMessage }
	p := bankPath(code, "otp")
	if phone != "" {
		p += "?phone=" + url.QueryEscape(phone)
	}
	err := c.do(ctx, "GET", p, nil, &out)
	return out.Messages, err
}

// AccountStatement reads an account ("branch-number") and all its entries.
func (c *AdminClient) AccountStatement(ctx context.Context, code, account string) (AccountStatement, error) {
	var out AccountStatement
	err := c.do(ctx, "GET", bankPath(code, "accounts", account, "statements"), nil, &out)
	return out, err
}

// ReportFraud raises a fraud report on a debit (sends the webhook).
func (c *AdminClient) ReportFraud(ctx context.Context, code, account, entryID string) (Delivery, error) {
	var out Delivery
	err := c.do(ctx, "POST", bankPath(code, "fraud-reports"), map[string]string{"account": account, "entry_id": entryID}, &out)
	return out, err
}

// Grants lists a bank's grants.
func (c *AdminClient) Grants(ctx context.Context, code string) ([]Grant, error) {
	var out struct{ Grants []Grant }
	err := c.do(ctx, "GET", bankPath(code, "grants"), nil, &out)
	return out.Grants, err
}

// RevokeGrant revokes a grant (sends the mandate_revoked webhook).
func (c *AdminClient) RevokeGrant(ctx context.Context, code, id string) (Delivery, error) {
	var out Delivery
	err := c.do(ctx, "POST", bankPath(code, "grants", id, "revoke"), nil, &out)
	return out, err
}

// InjectFailures sets a bank's pending failures.
func (c *AdminClient) InjectFailures(ctx context.Context, code string, f Failures) error {
	return c.do(ctx, "PUT", bankPath(code, "failures"), f, nil)
}

// PendingFailures reads what is left of a bank's injected failures.
func (c *AdminClient) PendingFailures(ctx context.Context, code string) (Failures, error) {
	var out Failures
	err := c.do(ctx, "GET", bankPath(code, "failures"), nil, &out)
	return out, err
}

// Notices lists what wallet operators told a bank.
func (c *AdminClient) Notices(ctx context.Context, code string) ([]Notice, error) {
	var out struct{ Notices []Notice }
	err := c.do(ctx, "GET", bankPath(code, "notices"), nil, &out)
	return out.Notices, err
}

// Deliveries lists the webhooks a bank sent.
func (c *AdminClient) Deliveries(ctx context.Context, code string) ([]Delivery, error) {
	var out struct{ Webhooks []Delivery }
	err := c.do(ctx, "GET", bankPath(code, "webhooks"), nil, &out)
	return out.Webhooks, err
}
