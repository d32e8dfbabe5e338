package webhook_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"emoney"
	"emoney/webhook"
)

func TestSignAndVerify(t *testing.T) {
	secret, err := webhook.NewSecret()
	if err != nil || !strings.HasPrefix(secret, webhook.SecretPrefix) || len(secret) < 40 {
		t.Fatalf("NewSecret = %q, %v", secret, err)
	}
	if other, _ := webhook.NewSecret(); other == secret {
		t.Fatal("two secrets alike")
	}
	sent := time.Unix(1_800_000_000, 0)
	body := []byte(`{"id":"evt_1","type":"payment.received"}`)
	header := webhook.Sign(secret, sent, body)
	if !strings.HasPrefix(header, "t=1800000000,v1=") || len(header) != len("t=1800000000,v1=")+64 {
		t.Fatalf("header %q", header)
	}
	// A vector computed independently (Python's hmac), so that receivers in other languages can
	// check their code against it: HMAC-SHA256("whsec_test", "1800000000.{}").
	if got := webhook.Sign("whsec_test", sent, []byte("{}")); got != "t=1800000000,v1=482e6337ac5272392d375c6fdc4d52a7e615dc2facedab0ffe155ddfd6a56e66" {
		t.Errorf("vector: %s", got)
	}
	v1 := strings.TrimPrefix(header, "t=1800000000,")
	for _, tc := range []struct {
		name, secret, header string
		body                 string
		now                  time.Time
		want                 error
	}{
		{"valid", secret, header, string(body), sent, nil},
		{"valid within tolerance", secret, header, string(body), sent.Add(4 * time.Minute), nil},
		{"valid with a second, unknown signature", secret, header + ",v1=00ff", string(body), sent, nil},
		{"valid with the parts reordered", secret, v1 + ",t=1800000000", string(body), sent, nil},
		{"body changed", secret, header, `{"id":"evt_1","type":"refund.created"}`, sent, webhook.ErrBadSignature},
		{"other secret", "whsec_other", header, string(body), sent, webhook.ErrBadSignature},
		{"timestamp changed", secret, "t=1800000001," + v1, string(body), sent, webhook.ErrBadSignature},
		{"too old", secret, header, string(body), sent.Add(6 * time.Minute), webhook.ErrTimestamp},
		{"from the future", secret, header, string(body), sent.Add(-6 * time.Minute), webhook.ErrTimestamp},
		{"no header", secret, "", string(body), sent, webhook.ErrNoSignature},
		{"no timestamp", secret, v1, string(body), sent, webhook.ErrNoSignature},
		{"no v1", secret, "t=1800000000", string(body), sent, webhook.ErrNoSignature},
		{"two timestamps", secret, "t=1,t=1800000000," + v1, string(body), sent, webhook.ErrNoSignature},
		{"garbage", secret, "sha256=abc", string(body), sent, webhook.ErrNoSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := webhook.VerifyAt(tc.secret, tc.header, []byte(tc.body), 5*time.Minute, tc.now); !errors.Is(err, tc.want) {
				t.Errorf("VerifyAt = %v, want %v", err, tc.want)
			}
		})
	}
	// Verify uses the wall clock and DefaultTolerance.
	if err := webhook.Verify(secret, webhook.Sign(secret, time.Now(), body), body, 0); err != nil {
		t.Errorf("Verify of a fresh signature: %v", err)
	}
}

func TestCheckURL(t *testing.T) {
	for _, tc := range []struct {
		url      string
		insecure bool
		ok       bool
	}{
		{"https://shop.example/hooks?token=abc", false, true},
		{"https://shop.example:8443/hooks", false, true},
		{"http://shop.example/hooks", false, false},
		{"http://shop.example/hooks", true, false}, // http only for this machine, even in development
		{"http://127.0.0.1:9000/hooks", true, true},
		{"http://localhost:9000/hooks", true, true},
		{"http://[::1]:9000/hooks", true, true},
		{"http://127.0.0.1:9000/hooks", false, false},
		{"https://localhost/hooks", false, false},
		{"https://user:pass@shop.example/hooks", false, false},
		{"https://shop.example/hooks#frag", false, false},
		{"ftp://shop.example/", false, false},
		{"shop.example/hooks", false, false},
		{"https:///nohost", false, false},
		{"https://shop.example/a b", false, false},
		{"https://shop.example/" + strings.Repeat("a", 2048), false, false},
		{"", false, false},
	} {
		_, err := webhook.CheckURL(tc.url, tc.insecure)
		if (err == nil) != tc.ok {
			t.Errorf("CheckURL(%.60q, insecure %v) = %v, want ok %v", tc.url, tc.insecure, err, tc.ok)
		}
		if err != nil && (emoney.ErrorCode(err) != emoney.EInvalid || emoney.ErrorField(err) != "url") {
			t.Errorf("CheckURL(%.60q): %v is not invalid naming url", tc.url, err)
		}
	}
}
