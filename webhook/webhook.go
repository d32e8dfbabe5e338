// Package webhook tells merchants what happened to their money, by HTTPS POSTs signed with a
// secret of theirs (HMAC-SHA256 over timestamp and body), from the ledger's transactional outbox
// and without a broker. A fan-out stage turns committed outbox events into one delivery per
// (event, partner), in the transaction that moves its cursor; a delivery stage claims due
// deliveries under a lease, sends them and retries failures with exponential backoff and jitter.
// Delivery is at least once: a receiver deduplicates on the event id. docs/webhooks.md is the
// receiver's guide.
package webhook

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/prometheus/client_golang/prometheus"

	"emoney"
	"emoney/audit"
	"emoney/pii"
)

// Config tunes a Service. Zero values pick the defaults.
type Config struct {
	// AllowInsecure (development only) lets endpoints be http:// on localhost, 127.0.0.1 or
	// ::1, and lets deliveries reach loopback and private addresses. Without it endpoints must
	// be https:// and deliveries go to public addresses only, so that a partner cannot point
	// the dispatcher at the operator's own network.
	AllowInsecure bool
	Now           func() time.Time // default time.Now
	IDs           emoney.IDSource  // default a Monotonic
	Logger        *slog.Logger     // default discards
	// Client sends deliveries (default: no redirects followed, and without AllowInsecure, no
	// connections to non-public addresses). Timeout bounds each attempt (default 10s).
	Client  *http.Client
	Timeout time.Duration
	// MinBackoff and MaxBackoff bound the wait before a retry (default 10s and 1h): it doubles
	// from MinBackoff at each failure up to MaxBackoff, then Jitter spreads it.
	MinBackoff, MaxBackoff time.Duration
	// Jitter spreads a wait so that receivers coming back up are not hit by every retry at
	// once (default: uniform between half the wait and the whole).
	Jitter func(time.Duration) time.Duration
	// A delivery is given up on (failed) after MaxAttempts attempts (default 40) or once MaxAge
	// has passed since it was made (default 24h), whichever comes first.
	MaxAttempts int
	MaxAge      time.Duration
	// Lease is how long a claim holds a delivery (default 2m): longer than an attempt takes,
	// or another instance may send it too.
	Lease time.Duration
	// Batch is how many deliveries one claim takes (default 32); Workers how many are sent at
	// once (default 8); Events how many outbox events one fan-out transaction reads (default
	// 256); Poll how often Run looks for work (default 1s).
	Batch, Workers, Events int
	Poll                   time.Duration
}

// Service manages partners' endpoints and delivers their events. It is safe for concurrent use;
// several Services (in several processes) may run over one database.
type Service struct {
	store emoney.Store
	keys  *pii.Keys
	cfg   Config
	log   *slog.Logger

	deliveries *prometheus.CounterVec
	backlog    prometheus.Gauge
}

// New returns a Service over store, sealing secrets with keys.
func New(store emoney.Store, keys *pii.Keys, cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.IDs == nil {
		cfg.IDs = &emoney.Monotonic{Now: cfg.Now}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	defInt := func(n *int, v int) {
		if *n <= 0 {
			*n = v
		}
	}
	def(&cfg.Timeout, 10*time.Second)
	def(&cfg.MinBackoff, 10*time.Second)
	def(&cfg.MaxBackoff, time.Hour)
	def(&cfg.MaxAge, 24*time.Hour)
	def(&cfg.Lease, 2*time.Minute)
	def(&cfg.Poll, time.Second)
	defInt(&cfg.MaxAttempts, 40)
	defInt(&cfg.Batch, 32)
	defInt(&cfg.Workers, 8)
	defInt(&cfg.Events, 256)
	if cfg.Jitter == nil {
		cfg.Jitter = equalJitter
	}
	if cfg.Client == nil {
		cfg.Client = newClient(cfg.AllowInsecure)
	}
	return &Service{store: store, keys: keys, cfg: cfg, log: cfg.Logger,
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "emoney_webhook_deliveries_total", Help: "Webhook delivery attempts by outcome: delivered, retry (will be tried again), failed (given up).",
		}, []string{"outcome"}),
		backlog: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "emoney_webhook_backlog", Help: "Webhook deliveries pending (due or waiting to be retried), as last counted.",
		}),
	}
}

// Collectors are the service's metrics, for the server's registry.
func (s *Service) Collectors() []prometheus.Collector {
	return []prometheus.Collector{s.deliveries, s.backlog}
}

// Endpoint is a partner's webhook endpoint as it may be shown: never the secret.
type Endpoint struct {
	Partner   emoney.ID
	URL       string
	UpdatedAt time.Time
}

func secretBinding(partner emoney.ID) string {
	return "partner:" + partner.String() + ":webhook_secret"
}

// SetEndpoint sets the URL partner's events are sent to and makes it a new signing secret,
// returned this once (it is kept sealed; calling again rotates it). actor is who did it, for
// the audit log ("partner:<id>", "cli:<user>"). Errors: invalid (url), not_found (partner),
// internal.
func (s *Service) SetEndpoint(ctx context.Context, partner emoney.ID, rawURL, actor string) (Endpoint, string, error) {
	u, err := CheckURL(rawURL, s.cfg.AllowInsecure)
	if err != nil {
		return Endpoint{}, "", err
	}
	secret, err := NewSecret()
	if err != nil {
		return Endpoint{}, "", err
	}
	sealed, err := s.keys.Seal([]byte(secret), secretBinding(partner))
	if err != nil {
		return Endpoint{}, "", err
	}
	now := s.cfg.Now().UTC().Truncate(time.Microsecond)
	w := emoney.PartnerWebhook{Partner: partner, URL: u.String(), SecretSealed: sealed, UpdatedAt: now}
	// The audit entry names the host only: a URL's path or query may carry the partner's own
	// tokens.
	detail, _ := json.Marshal(map[string]string{"host": u.Host})
	err = s.store.Update(ctx, func(tx emoney.Tx) error {
		if err := tx.SetPartnerWebhook(ctx, w); err != nil {
			return err
		}
		_, err := audit.Append(ctx, tx, emoney.AuditEntry{At: now, Actor: actor, Action: "partner.webhook.set", Object: partner.String(), Detail: detail})
		return err
	})
	if err != nil {
		return Endpoint{}, "", err
	}
	return Endpoint{Partner: partner, URL: w.URL, UpdatedAt: now}, secret, nil
}

// SetEndpointByName is SetEndpoint for the merchant with the given name (the CLI's way in).
// Errors: not_found (no such partner), invalid (not a merchant, or the url), internal.
func (s *Service) SetEndpointByName(ctx context.Context, name, rawURL, actor string) (emoney.Partner, Endpoint, string, error) {
	var p emoney.Partner
	err := s.store.View(ctx, func(tx emoney.ReadTx) error {
		var err error
		p, err = tx.PartnerByName(ctx, name)
		return err
	})
	if err != nil {
		return p, Endpoint{}, "", err
	}
	if p.Role != emoney.RoleMerchant {
		return p, Endpoint{}, "", emoney.FieldError("name", "only merchants receive webhooks so far; %q is a partner of role %s", name, p.Role)
	}
	if !p.RevokedAt.IsZero() {
		return p, Endpoint{}, "", emoney.FieldError("name", "partner %q is revoked", name)
	}
	e, secret, err := s.SetEndpoint(ctx, p.ID, rawURL, actor)
	return p, e, secret, err
}

// GetEndpoint returns partner's endpoint; not_found if it has none (or its key is revoked).
func (s *Service) GetEndpoint(ctx context.Context, partner emoney.ID) (Endpoint, error) {
	var ws []emoney.PartnerWebhook
	err := s.store.View(ctx, func(tx emoney.ReadTx) error {
		var err error
		ws, err = tx.PartnerWebhooks(ctx, []emoney.ID{partner})
		return err
	})
	if err != nil {
		return Endpoint{}, err
	}
	if len(ws) == 0 {
		return Endpoint{}, emoney.Errorf(emoney.ENotFound, "no webhook endpoint is set (PUT /api/v1/partner/webhook sets one)")
	}
	return Endpoint{Partner: partner, URL: ws[0].URL, UpdatedAt: ws[0].UpdatedAt}, nil
}

// CheckURL parses an endpoint URL and says what is wrong with it (invalid, field "url"): it must
// be absolute https:// with a host and no user name, password or fragment, at most 2,048
// bytes; with allowInsecure, http:// to localhost, 127.0.0.1 or [::1] is accepted too.
func CheckURL(raw string, allowInsecure bool) (*url.URL, error) {
	bad := func(format string, args ...any) (*url.URL, error) {
		return nil, emoney.FieldError("url", format, args...)
	}
	if len(raw) > 2048 || strings.ContainsFunc(raw, unicode.IsControl) || strings.ContainsFunc(raw, unicode.IsSpace) {
		return bad("url must be at most 2048 characters, without spaces or control characters")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return bad("url must be an absolute URL such as https://shop.example/emoney-webhooks")
	}
	if u.User != nil {
		return bad("url must not carry a user name or password")
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return bad("url must not have a fragment")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !allowInsecure || !isLocalHost(u.Hostname()) {
			return bad("url must be https:// (http:// is accepted only for localhost in development)")
		}
	default:
		return bad("url must be https://")
	}
	if !allowInsecure && isLocalHost(u.Hostname()) {
		return bad("url must not point at this machine")
	}
	return u, nil
}

func isLocalHost(h string) bool {
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
