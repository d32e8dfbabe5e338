package kyc

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// HTTPSMS sends messages through an SMS gateway that takes a JSON POST
// {"to":"+81…","text":"…"} with a bearer token and answers 2xx once it accepted the message
// (the common shape of SMS APIs; an adapter in front of any other fits it).
type HTTPSMS struct {
	URL    string
	Token  string
	Client *http.Client // nil: a client with a 10 s timeout
}

// Send posts the message.
func (h *HTTPSMS) Send(ctx context.Context, to, text string) error {
	_, err := postJSON(ctx, h.Client, h.URL, h.Token, map[string]string{"to": to, "text": text}, nil)
	return err
}

// Simulated is false.
func (h *HTTPSMS) Simulated() bool { return false }

// HTTPProvider asks an eKYC service over HTTP: a JSON POST of the Document with a bearer token,
// answered 200 with {"verified":true,"identity":{…Identity…}} or {"verified":false,"reason":"…"}.
type HTTPProvider struct {
	URL    string
	Token  string
	Client *http.Client
}

// Verify posts the document and reads the provider's verdict.
func (h *HTTPProvider) Verify(ctx context.Context, d Document) (Identity, error) {
	var out struct {
		Verified bool     `json:"verified"`
		Reason   string   `json:"reason"`
		Identity Identity `json:"identity"`
	}
	if _, err := postJSON(ctx, h.Client, h.URL, h.Token, d, &out); err != nil {
		return Identity{}, err
	}
	if !out.Verified {
		if out.Reason == "" {
			out.Reason = "document_not_verified"
		}
		return Identity{}, &Rejected{Reason: out.Reason}
	}
	if out.Identity.NameKana == "" || out.Identity.BirthDate == "" {
		return Identity{}, fmt.Errorf("kyc: provider verified an identity without a kana name or birth date")
	}
	return out.Identity, nil
}

// Simulated is false.
func (h *HTTPProvider) Simulated() bool { return false }

func postJSON(ctx context.Context, c *http.Client, url, token string, in, out any) (int, error) {
	if c == nil {
		c = &http.Client{Timeout: 10 * time.Second}
	}
	body, err := json.Marshal(in)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, fmt.Errorf("kyc: %s answered %d", req.URL.Host, resp.StatusCode)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, fmt.Errorf("kyc: %s answered something that is not the expected JSON: %w", req.URL.Host, err)
		}
	}
	return resp.StatusCode, nil
}
