package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"sync"
	"syscall"
	"time"

	"emoney"
	"emoney/ledger"
)

// cursorName is the fan-out's outbox cursor.
const cursorName = "webhooks"

// Run fans out and delivers until ctx ends, looking for work every Poll. Errors are logged and
// tried again at the next look. An attempt cut short by ctx is not recorded: its claim's lease
// runs out and it is sent again (at least once).
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(s.cfg.Poll)
	defer t.Stop()
	for {
		s.pass(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// pass does all the work there is now: every new outbox event fanned out, every due delivery
// attempted once.
func (s *Service) pass(ctx context.Context) {
	for ctx.Err() == nil {
		n, _, err := s.FanOut(ctx)
		if err != nil {
			s.logErr(ctx, "webhook fan-out", err)
			break
		}
		if n < s.cfg.Events {
			break
		}
	}
	for ctx.Err() == nil {
		n, err := s.Deliver(ctx)
		if err != nil {
			s.logErr(ctx, "webhook delivery", err)
			break
		}
		if n < s.cfg.Batch {
			break
		}
	}
	if ctx.Err() == nil {
		if err := s.countBacklog(ctx); err != nil {
			s.logErr(ctx, "webhook backlog", err)
		}
	}
}

func (s *Service) logErr(ctx context.Context, what string, err error) {
	if ctx.Err() == nil {
		s.log.Error(what, slog.Any("err", err))
	}
}

func (s *Service) countBacklog(ctx context.Context) error {
	return s.store.View(ctx, func(tx emoney.ReadTx) error {
		c, err := tx.DeliveryCounts(ctx)
		s.backlog.Set(float64(c[emoney.DeliveryPending]))
		return err
	})
}

// FanOut reads the outbox events after the fan-out's cursor (up to Events of them) and makes a
// delivery for each merchant event whose merchant has an endpoint, in the transaction that
// moves the cursor past them: a crash loses none, and fan-outs running at once (in several
// processes) take turns on the cursor, so none is made twice. It returns how many events it
// read and how many deliveries it made. An event whose payload cannot be read is logged and
// passed over, so that one bad event cannot stop every merchant's webhooks.
func (s *Service) FanOut(ctx context.Context) (events, made int, err error) {
	// A look first, so that an idle fan-out costs a read, not a write transaction.
	var more bool
	err = s.store.View(ctx, func(tx emoney.ReadTx) error {
		cur, err := tx.OutboxCursor(ctx, cursorName)
		if err != nil {
			return err
		}
		es, err := tx.Outbox(ctx, cur, 1)
		more = len(es) > 0
		return err
	})
	if err != nil || !more {
		return 0, 0, err
	}
	err = s.store.Update(ctx, func(tx emoney.Tx) error {
		events, made = 0, 0
		cur, err := tx.LockOutboxCursor(ctx, cursorName)
		if err != nil {
			return err
		}
		es, err := tx.Outbox(ctx, cur, s.cfg.Events)
		if err != nil || len(es) == 0 {
			return err
		}
		ds, err := s.deliveriesFor(ctx, tx, es)
		if err != nil {
			return err
		}
		if err := tx.CreateDeliveries(ctx, ds); err != nil {
			return err
		}
		events, made = len(es), len(ds)
		return tx.AdvanceOutboxCursor(ctx, cursorName, es[len(es)-1].Seq)
	})
	return events, made, err
}

// deliveriesFor makes the deliveries of the merchant events in es, for merchants with an
// endpoint.
func (s *Service) deliveriesFor(ctx context.Context, tx emoney.Tx, es []emoney.OutboxEvent) ([]emoney.Delivery, error) {
	var evs []merchantEvent
	for _, e := range es {
		if e.Topic != ledger.TopicCommitted {
			continue
		}
		m, err := merchantEvents(e.Payload)
		if err != nil {
			s.log.Error("webhook fan-out: passing over an outbox event whose payload is not readable", slog.Int64("seq", e.Seq), slog.Any("err", err))
			continue
		}
		evs = append(evs, m...)
	}
	if len(evs) == 0 {
		return nil, nil
	}
	var accountIDs []emoney.ID
	seen := map[emoney.ID]bool{}
	for _, e := range evs {
		if !seen[e.account] {
			seen[e.account] = true
			accountIDs = append(accountIDs, e.account)
		}
	}
	accounts, err := tx.Accounts(ctx, accountIDs)
	if err != nil {
		return nil, err
	}
	partnerOf := map[emoney.ID]emoney.ID{}
	var partners []emoney.ID
	for _, a := range accounts {
		if p, ok := merchantPartner(a); ok {
			partnerOf[a.ID] = p
			partners = append(partners, p)
		}
	}
	hooks, err := tx.PartnerWebhooks(ctx, partners)
	if err != nil {
		return nil, err
	}
	hooked := map[emoney.ID]bool{}
	for _, h := range hooks {
		hooked[h.Partner] = true
	}
	now := s.cfg.Now().UTC().Truncate(time.Microsecond)
	var ds []emoney.Delivery
	for _, e := range evs {
		p, ok := partnerOf[e.account]
		if !ok || !hooked[p] {
			continue
		}
		body, err := json.Marshal(e.event)
		if err != nil {
			return nil, err
		}
		ds = append(ds, emoney.Delivery{ID: s.cfg.IDs.NewID(), EventID: e.event.ID, Partner: p, Type: e.event.Type,
			Payload: body, Status: emoney.DeliveryPending, NextAt: now, CreatedAt: now})
	}
	return ds, nil
}

// Deliver claims up to Batch due deliveries and attempts each once (Workers at a time),
// recording each outcome as it comes. It returns how many it claimed. A delivery whose claim
// was lost meanwhile (its lease ran out and another instance took it) is not recorded: the
// other instance records its own attempt.
func (s *Service) Deliver(ctx context.Context) (int, error) {
	now := s.cfg.Now()
	var next time.Time
	if err := s.store.View(ctx, func(tx emoney.ReadTx) error {
		var err error
		next, err = tx.NextDeliveryAt(ctx)
		return err
	}); err != nil || next.IsZero() || next.After(now) {
		return 0, err
	}
	claim := s.cfg.IDs.NewID()
	var ds []emoney.Delivery
	if err := s.store.Update(ctx, func(tx emoney.Tx) error {
		var err error
		ds, err = tx.ClaimDeliveries(ctx, claim, now, now.Add(s.cfg.Lease), s.cfg.Batch)
		return err
	}); err != nil || len(ds) == 0 {
		return 0, err
	}
	hooks := map[emoney.ID]emoney.PartnerWebhook{}
	if err := s.store.View(ctx, func(tx emoney.ReadTx) error {
		var partners []emoney.ID
		for _, d := range ds {
			partners = append(partners, d.Partner)
		}
		ws, err := tx.PartnerWebhooks(ctx, partners)
		for _, w := range ws {
			hooks[w.Partner] = w
		}
		return err
	}); err != nil {
		return 0, err // the claims lapse with their lease
	}

	var (
		wg       sync.WaitGroup
		sem      = make(chan struct{}, s.cfg.Workers)
		errMu    sync.Mutex
		firstErr error
	)
	for _, d := range ds {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			o, ok := s.attempt(ctx, d, hooks)
			if !ok {
				return
			}
			err := s.store.Update(ctx, func(tx emoney.Tx) error { return tx.RecordDelivery(ctx, o) })
			switch {
			case emoney.ErrorCode(err) == emoney.EConflict:
				s.log.Warn("webhook delivery: the claim ran out before the attempt was recorded; another attempt was made", slog.String("delivery", d.ID.String()))
			case err != nil:
				errMu.Lock()
				firstErr = errors.Join(firstErr, err)
				errMu.Unlock()
			default:
				outcome := map[emoney.DeliveryStatus]string{emoney.DeliveryDelivered: "delivered", emoney.DeliveryPending: "retry", emoney.DeliveryFailed: "failed"}[o.Status]
				s.deliveries.WithLabelValues(outcome).Inc()
				if o.Status == emoney.DeliveryFailed {
					s.log.Warn("webhook delivery failed for good", slog.String("delivery", d.ID.String()), slog.String("event", d.EventID),
						slog.String("partner", d.Partner.String()), slog.Int("attempts", d.Attempts+1), slog.Int("status", o.LastStatus), slog.String("err", o.LastError))
				}
			}
		}()
	}
	wg.Wait()
	return len(ds), firstErr
}

// attempt sends d once and says what came of it; ok false if ctx ended first (nothing to
// record: the lease runs out and the delivery is sent again).
func (s *Service) attempt(ctx context.Context, d emoney.Delivery, hooks map[emoney.ID]emoney.PartnerWebhook) (o emoney.DeliveryOutcome, ok bool) {
	o = emoney.DeliveryOutcome{ID: d.ID, Claim: d.Claim}
	fail := func(msg string) (emoney.DeliveryOutcome, bool) {
		o.Status, o.LastError, o.At = emoney.DeliveryFailed, msg, s.cfg.Now()
		return o, true
	}
	hook, found := hooks[d.Partner]
	if !found {
		return fail("the partner has no webhook endpoint any more (or its key was revoked)")
	}
	if _, err := CheckURL(hook.URL, s.cfg.AllowInsecure); err != nil {
		return fail("the endpoint URL is not allowed: " + emoney.ErrorMessage(err))
	}
	secret, err := s.keys.Open(hook.SecretSealed, secretBinding(d.Partner))
	if err != nil {
		// The keyset does not open it (a wrong keyset loaded?): worth retrying once fixed.
		return s.retry(o, d, 0, "the signing secret cannot be opened with this keyset")
	}
	actx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, hook.URL, bytes.NewReader(d.Payload))
	if err != nil {
		return fail("the endpoint URL is not usable")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "emoney-webhooks/1")
	req.Header.Set(HeaderEventID, d.EventID)
	req.Header.Set(HeaderEventType, d.Type)
	req.Header.Set(HeaderSignature, Sign(string(secret), s.cfg.Now(), d.Payload))
	resp, err := s.cfg.Client.Do(req)
	if ctx.Err() != nil {
		if resp != nil {
			resp.Body.Close()
		}
		return o, false
	}
	if err != nil {
		return s.retry(o, d, 0, sendError(err))
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // the receiver's answer is not kept
	resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		o.Status, o.LastStatus, o.At = emoney.DeliveryDelivered, resp.StatusCode, s.cfg.Now()
		return o, true
	}
	return s.retry(o, d, resp.StatusCode, fmt.Sprintf("the endpoint answered HTTP %d", resp.StatusCode))
}

// retry makes o a retry after the backoff due for d's next attempt, or failed if d has had
// its attempts or its time.
func (s *Service) retry(o emoney.DeliveryOutcome, d emoney.Delivery, status int, msg string) (emoney.DeliveryOutcome, bool) {
	o.At, o.LastStatus, o.LastError = s.cfg.Now(), status, msg
	attempts := d.Attempts + 1
	next := o.At.Add(s.Backoff(attempts))
	if attempts >= s.cfg.MaxAttempts || next.Sub(d.CreatedAt) > s.cfg.MaxAge {
		o.Status = emoney.DeliveryFailed
		return o, true
	}
	o.Status, o.NextAt = emoney.DeliveryPending, next
	return o, true
}

// Backoff is the wait after the given number of failed attempts: MinBackoff doubled each time,
// at most MaxBackoff, spread by Jitter.
func (s *Service) Backoff(attempts int) time.Duration {
	d := s.cfg.MinBackoff
	for i := 1; i < attempts && d < s.cfg.MaxBackoff; i++ {
		d *= 2
	}
	return s.cfg.Jitter(min(d, s.cfg.MaxBackoff))
}

// equalJitter waits between half of d and d.
func equalJitter(d time.Duration) time.Duration {
	if d < 2 {
		return d
	}
	return d/2 + rand.N(d/2+1)
}

// sendError says why a request got no answer, without the URL (whose path or query may carry
// the partner's own tokens).
func sendError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "no answer within the timeout"
	case errors.Is(err, errForbiddenAddress):
		return "the endpoint's address is not public"
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "no answer within the timeout"
	}
	return "the request failed: " + err.Error()
}

var errForbiddenAddress = errors.New("webhook: the endpoint resolves to a non-public address")

// newClient is the default delivery client: it never follows a redirect (a 3xx is a failed
// attempt), and unless insecure it connects to public addresses only (checked on the address
// actually dialled, after DNS, so a name cannot resolve its way into the private network).
func newClient(insecure bool) *http.Client {
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	if !insecure {
		dialer.Control = func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil || !public(ap.Addr()) {
				return errForbiddenAddress
			}
			return nil
		}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = dialer.DialContext
	tr.Proxy = nil // deliveries go straight to the partner
	tr.MaxIdleConnsPerHost = 4
	return &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// notPublic are ranges that look global but do not reach the public internet, or wrap an IPv4
// address that may be private (RFC 6890 special-purpose registries).
var notPublic = []netip.Prefix{
	netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // documentation
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved
	netip.MustParsePrefix("64:ff9b::/96"),    // NAT64: wraps any IPv4 address
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local NAT64
	netip.MustParsePrefix("2002::/16"),       // 6to4: wraps any IPv4 address
	netip.MustParsePrefix("2001::/32"),       // Teredo
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
}

// public reports whether a is an address on the public internet.
func public(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsGlobalUnicast() || a.IsPrivate() {
		return false
	}
	for _, p := range notPublic {
		if p.Contains(a) {
			return false
		}
	}
	return true
}
