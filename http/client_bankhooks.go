package http

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"emoney"
)

// BankWebhookReceipt is the answer to a bank's webhook.
type BankWebhookReceipt struct {
	Received  bool `json:"received"`
	Duplicate bool `json:"duplicate"` // the event was received before: nothing was done again
}

// BankWebhook sends a bank's webhook as the bank would: body exactly as signed, with its event
// id and X-Bank-Signature header (banks and tests; no token is sent). Errors as the API answers
// them (*emoney.Error).
func (c *Client) BankWebhook(ctx context.Context, bank, eventID, signature string, body []byte) (BankWebhookReceipt, error) {
	var out BankWebhookReceipt
	req, err := http.NewRequestWithContext(ctx, "POST", c.Base+"/api/v1/banks/"+url.PathEscape(bank)+"/webhooks", bytes.NewReader(body))
	if err != nil {
		return out, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Bank-Event-Id", eventID)
	req.Header.Set("X-Bank-Signature", signature)
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return out, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return out, err
	}
	if resp.StatusCode != http.StatusOK {
		var e errorBody
		if json.Unmarshal(raw, &e) != nil || e.Error.Code == "" {
			return out, fmt.Errorf("bank webhook: HTTP %d", resp.StatusCode)
		}
		return out, &emoney.Error{Code: e.Error.Code, Message: e.Error.Message, Field: e.Error.Field, Reason: e.Error.Reason}
	}
	return out, json.Unmarshal(raw, &out)
}
