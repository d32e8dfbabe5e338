package banklink_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"emoney/banklink"
	"emoney/banksim"
)

// The wallet verifies what the bank simulator signs, and nothing else.
func TestVerifyWebhook(t *testing.T) {
	const secret = "whsec_0123456789abcdef"
	now := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	body := []byte(`{"id":"evt_1","type":"mandate_revoked","bank":"0001","data":{"grant_id":"g_1"}}`)
	good := banksim.SignWebhook(secret, now, body)
	cases := []struct {
		name, secret, header string
		body                 []byte
		now                  time.Time
		want                 error
	}{
		{"Good", secret, good, body, now, nil},
		{"GoodAtTheEdgeOfTheWindow", secret, good, body, now.Add(banklink.WebhookWindow), nil},
		{"ClockBehind", secret, good, body, now.Add(-banklink.WebhookWindow), nil},
		{"AnotherV1First", secret, "t=" + strings.TrimPrefix(strings.Split(good, ",")[0], "t=") + ",v1=" + strings.Repeat("00", 32) + "," + strings.Split(good, ",")[1], body, now, nil},
		{"WrongSecret", "whsec_another_secret_", good, body, now, banklink.ErrWebhookSignature},
		{"NoSecret", "", good, body, now, banklink.ErrWebhookSignature},
		{"BodyChanged", secret, good, []byte(strings.Replace(string(body), "g_1", "g_2", 1)), now, banklink.ErrWebhookSignature},
		{"TimeChanged", secret, strings.Replace(good, "t=", "t=1", 1), body, now, banklink.ErrWebhookSignature},
		{"NoHeader", secret, "", body, now, banklink.ErrWebhookSignature},
		{"NoV1", secret, strings.Split(good, ",")[0], body, now, banklink.ErrWebhookSignature},
		{"Stale", secret, good, body, now.Add(banklink.WebhookWindow + time.Second), banklink.ErrWebhookStale},
		{"FromTheFuture", secret, good, body, now.Add(-banklink.WebhookWindow - time.Second), banklink.ErrWebhookStale},
		{"StaleAndWrong", "whsec_another_secret_", good, body, now.Add(time.Hour), banklink.ErrWebhookSignature},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := banklink.VerifyWebhook(c.secret, c.header, c.body, c.now); !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
				t.Errorf("VerifyWebhook: %v, want %v", err, c.want)
			}
		})
	}
}
