package kyc

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
)

// SMS sends text messages to phone numbers (E.164). Production configures a real gateway;
// development uses DevSMS.
type SMS interface {
	Send(ctx context.Context, to, text string) error
	// Simulated reports whether messages only pretend to leave (production refuses such a sender).
	Simulated() bool
}

// DevSMS is the development sink: it delivers nothing, writes every message to W (the server's
// stderr, where the developer reads the code) and remembers the last message per number. It is
// never used in production mode.
type DevSMS struct {
	W    io.Writer
	mu   sync.Mutex
	last map[string]string
}

// Send records the message.
func (d *DevSMS) Send(_ context.Context, to, text string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.last == nil {
		d.last = map[string]string{}
	}
	d.last[to] = text
	if d.W != nil {
		fmt.Fprintf(d.W, "emoney: [simulated SMS to %s] %s\n", to, text)
	}
	return nil
}

// Simulated is true.
func (d *DevSMS) Simulated() bool { return true }

// Last returns the last message sent to a number ("" if none).
func (d *DevSMS) Last(to string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.last[to]
}

// LastCode returns the one-time code in the last message sent to a number ("" if none).
func (d *DevSMS) LastCode(to string) string {
	msg := d.Last(to)
	for i := 0; i+6 <= len(msg); i++ {
		if strings.IndexFunc(msg[i:i+6], func(r rune) bool { return r < '0' || r > '9' }) < 0 {
			return msg[i : i+6]
		}
	}
	return ""
}
