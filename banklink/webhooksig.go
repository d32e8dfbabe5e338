package banklink

// Verifying the banks' webhook signatures (docs/banks.md "Webhooks from banks"):
//
//	X-Bank-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
//
// with one secret per bank, shared when the wallet registered there. A signature is good
// within WebhookWindow of the wallet's clock either way; a replay inside the window verifies,
// so receivers also drop event ids they have seen (the store does).

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// WebhookWindow is how far a webhook signature's timestamp may be from the wallet's clock.
const WebhookWindow = 5 * time.Minute

// Errors of VerifyWebhook.
var (
	ErrWebhookSignature = errors.New("banklink: webhook signature missing or wrong")
	ErrWebhookStale     = errors.New("banklink: webhook signature outside the replay window")
)

// VerifyWebhook checks an X-Bank-Signature header against body and the bank's secret: one of
// its v1 values must be the HMAC (compared in constant time), and its t within WebhookWindow of
// now. It returns nil, ErrWebhookSignature (also for an empty secret, which verifies nothing)
// or ErrWebhookStale. The signature is checked before the time, so that an unsigned request
// learns nothing about the window.
func VerifyWebhook(secret, header string, body []byte, now time.Time) error {
	if secret == "" || len(header) > 1024 {
		return ErrWebhookSignature
	}
	var ts string
	var sigs [][]byte
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			if b, err := hex.DecodeString(v); err == nil && len(b) == sha256.Size {
				sigs = append(sigs, b)
			}
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return ErrWebhookSignature
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	want := m.Sum(nil)
	ok := false
	for _, s := range sigs {
		ok = hmac.Equal(s, want) || ok
	}
	if !ok {
		return ErrWebhookSignature
	}
	if d := now.Sub(time.Unix(sec, 0)); d > WebhookWindow || d < -WebhookWindow {
		return ErrWebhookStale
	}
	return nil
}
