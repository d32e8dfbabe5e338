package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Headers every delivery carries.
const (
	// HeaderSignature is "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>". More
	// than one v1 may appear one day (while a secret is rotated); any one that matches will do.
	HeaderSignature = "Emoney-Signature"
	// HeaderEventID is the event's stable id ("evt_…"), the same on every retry: receivers
	// deduplicate on it.
	HeaderEventID = "Emoney-Event-Id"
	// HeaderEventType is the event's type, also in the body.
	HeaderEventType = "Emoney-Event-Type"
)

// SecretPrefix starts every signing secret.
const SecretPrefix = "whsec_"

// DefaultTolerance is how far a signature's timestamp may be from the receiver's clock when
// Verify is given no tolerance: enough for clock skew and a slow network, short enough that a
// captured request cannot be replayed much later.
const DefaultTolerance = 5 * time.Minute

// Errors Verify returns.
var (
	ErrNoSignature  = errors.New("webhook: no valid " + HeaderSignature + " header")
	ErrBadSignature = errors.New("webhook: the signature does not match the body")
	ErrTimestamp    = errors.New("webhook: the signature's timestamp is outside the tolerance")
)

// NewSecret returns a fresh signing secret: "whsec_" and 32 random bytes, base64url.
func NewSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return SecretPrefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// Sign returns the HeaderSignature value for body sent at t. The HMAC key is the whole secret
// string as the partner was given it, prefix included.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + mac(secret, ts, body)
}

func mac(secret, ts string, body []byte) string {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte(ts))
	h.Write([]byte{'.'})
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// Verify checks a delivery as a receiver gets it: header is the HeaderSignature value, body the
// raw request body (before any JSON parsing), tolerance how old (or how far in the future) the
// signature may be, by the receiver's clock (0: DefaultTolerance). It returns nil if one v1
// signature matches and the timestamp is within tolerance; ErrNoSignature, ErrBadSignature or
// ErrTimestamp otherwise. The comparison takes constant time.
func Verify(secret, header string, body []byte, tolerance time.Duration) error {
	return VerifyAt(secret, header, body, tolerance, time.Now())
}

// VerifyAt is Verify with the receiver's clock reading now.
func VerifyAt(secret, header string, body []byte, tolerance time.Duration, now time.Time) error {
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	var ts string
	var sigs []string
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			if ts != "" {
				return ErrNoSignature // two timestamps: which one was signed?
			}
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return ErrNoSignature
	}
	want := []byte(mac(secret, ts, body))
	ok := false
	for _, s := range sigs {
		if hmac.Equal([]byte(s), want) {
			ok = true
		}
	}
	if !ok {
		return ErrBadSignature
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return ErrTimestamp
	}
	return nil
}
