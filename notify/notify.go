// Package notify is how the wallet tells its customers things (shared/DESIGN.md "Bank
// linking", steps 6–8): a notification is recorded in the store — the record the customer
// reads through GET /api/v1/notifications — and then, best effort, pushed through a channel
// (push, e-mail) after the transaction commits. A notification carries no personal data beyond
// a bank's name and an account's last three digits.
package notify

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"emoney"
)

// Notifier is the push or e-mail channel. Production configures a real one; development uses
// DevSink. Send is best effort: the store holds the record whatever it answers.
type Notifier interface {
	Send(ctx context.Context, user emoney.ID, text string) error
	// Simulated reports whether messages only pretend to leave (production refuses such a channel).
	Simulated() bool
}

// DevSink is the development channel: it delivers nothing and writes one line per message to W
// (the server's stderr), as the simulated SMS does. Safe for concurrent use.
type DevSink struct {
	W  io.Writer
	mu sync.Mutex
	n  int
}

// Send writes the message.
func (d *DevSink) Send(_ context.Context, user emoney.ID, text string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.n++
	if d.W != nil {
		fmt.Fprintf(d.W, "emoney: [simulated notification to user %s] %s\n", user, strings.ReplaceAll(text, "\n", " "))
	}
	return nil
}

// Sent is how many messages were sent.
func (d *DevSink) Sent() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.n
}

// Simulated is true.
func (d *DevSink) Simulated() bool { return true }

// Config configures a Service.
type Config struct {
	Now func() time.Time
	IDs emoney.IDSource
}

// Service records notifications and sends them. It is safe for concurrent use.
type Service struct {
	store emoney.Store
	ch    Notifier
	cfg   Config
}

// New returns a Service over store and the channel ch (nil: a DevSink writing nowhere).
func New(store emoney.Store, ch Notifier, cfg Config) *Service {
	if ch == nil {
		ch = &DevSink{}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.IDs == nil {
		cfg.IDs = &emoney.Monotonic{Now: cfg.Now}
	}
	return &Service{store: store, ch: ch, cfg: cfg}
}

// Message is a notification to be made.
type Message struct {
	User   emoney.ID
	Kind   string
	Dedupe string // one notification per user and key
	Text   string
}

// Record records m in tx, the caller's transaction (so that the notification commits with the
// change it tells of), unless the user has one with m's dedupe key already. It returns the
// notification to Send after the commit, or ok false when there is nothing new to send.
// Errors: invalid for an empty or oversized kind, key or text; internal.
func (s *Service) Record(ctx context.Context, tx emoney.Tx, m Message) (n emoney.Notification, ok bool, err error) {
	if m.User.IsZero() || m.Kind == "" || m.Dedupe == "" || len(m.Dedupe) > emoney.MaxDedupeKey || m.Text == "" || len(m.Text) > emoney.MaxNotificationText {
		return n, false, emoney.Errorf(emoney.EInvalid, "a notification needs a user, a kind, a dedupe key (at most %d bytes) and a text (at most %d bytes)", emoney.MaxDedupeKey, emoney.MaxNotificationText)
	}
	return tx.CreateNotification(ctx, emoney.Notification{ID: s.cfg.IDs.NewID(), User: m.User, Kind: m.Kind, Text: m.Text, DedupeKey: m.Dedupe, CreatedAt: s.cfg.Now()})
}

// Send pushes committed notifications through the channel, best effort: a failure is
// returned for logging, and the notification stays in the store for the customer to read.
func (s *Service) Send(ctx context.Context, ns ...emoney.Notification) error {
	var first error
	for _, n := range ns {
		if err := s.ch.Send(context.WithoutCancel(ctx), n.User, n.Text); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Notify records m in a transaction of its own and sends it: the entry point for anything that
// tells a customer something outside a transaction of its own. Making the same (user, dedupe)
// again records and sends nothing: created says whether it was new. Errors: as Record.
func (s *Service) Notify(ctx context.Context, m Message) (created bool, err error) {
	var n emoney.Notification
	var ok bool
	if err := s.store.Update(ctx, func(tx emoney.Tx) error {
		var err error
		n, ok, err = s.Record(ctx, tx, m)
		return err
	}); err != nil {
		return false, err
	}
	if ok {
		_ = s.Send(ctx, n)
	}
	return ok, nil
}

// List returns up to limit (1 to emoney.MaxNotificationsPage; 0: 50) of user's notifications,
// newest first, only unread ones if unreadOnly. Errors: invalid for a limit out of range.
func (s *Service) List(ctx context.Context, user emoney.ID, unreadOnly bool, limit int) ([]emoney.Notification, error) {
	if limit == 0 {
		limit = 50
	}
	if limit < 1 || limit > emoney.MaxNotificationsPage {
		return nil, emoney.FieldError("limit", "limit is 1 to %d", emoney.MaxNotificationsPage)
	}
	var ns []emoney.Notification
	err := s.store.View(ctx, func(tx emoney.ReadTx) error {
		var err error
		ns, err = tx.Notifications(ctx, user, unreadOnly, limit)
		return err
	})
	return ns, err
}

// MarkRead marks one of user's notifications read (again: no change) and returns it.
// Errors: not_found unless user has it.
func (s *Service) MarkRead(ctx context.Context, user, id emoney.ID) (emoney.Notification, error) {
	var n emoney.Notification
	err := s.store.Update(ctx, func(tx emoney.Tx) error {
		var err error
		n, err = tx.MarkNotificationRead(ctx, user, id, s.cfg.Now())
		return err
	})
	return n, err
}
