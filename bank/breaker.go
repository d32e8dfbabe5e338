package bank

// Per-bank circuit breakers (issue 6 item 4). A bank that stops answering must not collect a
// pile of holds whose outcome nobody knows: after a run of calls without an answer its breaker
// opens, and new top-ups and withdrawals with that bank are refused before any money is held
// (bank_unavailable, with how long to wait), while the holds already made wait for the
// reconciler. After a cool-down one call is let through as a probe; an answer closes the
// breaker, none opens it again.

import (
	"fmt"
	"sync"
	"time"

	"emoney"

	"github.com/prometheus/client_golang/prometheus"
)

// BreakerState is where one bank's breaker stands.
type BreakerState string

const (
	// BreakerClosed: calls go through.
	BreakerClosed BreakerState = "closed"
	// BreakerOpen: calls are refused until the cool-down has passed.
	BreakerOpen BreakerState = "open"
	// BreakerHalfOpen: the cool-down has passed; one call (the probe) goes through, and its
	// outcome closes or re-opens the breaker.
	BreakerHalfOpen BreakerState = "half_open"
)

// Defaults of BreakerConfig.
const (
	DefaultBreakerFailures = 5
	DefaultBreakerCooldown = 30 * time.Second
)

// BreakerConfig configures Breakers. Zero values pick the defaults.
type BreakerConfig struct {
	// Failures is how many calls in a row without an answer (an unknown outcome: a time-out, a
	// 5xx, a connection lost) open a bank's breaker.
	Failures int
	// Cooldown is how long an open breaker refuses calls before it lets a probe through.
	Cooldown time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// OnChange, if set, is called (outside any lock) whenever a bank's breaker changes state:
	// for logs.
	OnChange func(code string, from, to BreakerState)
}

// Breakers holds one circuit breaker per bank code, made on first use. Each process keeps its
// own: a breaker reflects what this process sees of a bank, and an instance that still reaches
// the bank keeps using it. It is safe for concurrent use.
type Breakers struct {
	cfg    BreakerConfig
	mu     sync.Mutex
	banks  map[string]*breaker
	state  *prometheus.GaugeVec
	opened *prometheus.CounterVec
}

type breaker struct {
	state    BreakerState
	failures int       // calls in a row without an answer (closed)
	openedAt time.Time // open: since when
	probing  bool      // half-open: the probe is out
}

// NewBreakers returns the breakers of every bank, all closed.
func NewBreakers(cfg BreakerConfig) *Breakers {
	if cfg.Failures <= 0 {
		cfg.Failures = DefaultBreakerFailures
	}
	if cfg.Cooldown <= 0 {
		cfg.Cooldown = DefaultBreakerCooldown
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Breakers{cfg: cfg, banks: map[string]*breaker{},
		state: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "emoney_bank_breaker_state",
			Help: "Circuit breaker of calls to each bank, as this instance sees it: 0 closed, 1 half-open, 2 open."}, []string{"bank"}),
		opened: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "emoney_bank_breaker_opened_total",
			Help: "Times each bank's circuit breaker opened after calls without an answer."}, []string{"bank"}),
	}
}

// Collectors are the breakers' metrics, for /metrics.
func (b *Breakers) Collectors() []prometheus.Collector {
	return []prometheus.Collector{b.state, b.opened}
}

// Ticket is the permission for one call to a bank. Exactly one of Answered, NoAnswer or Release
// should follow; the first one counts and later ones do nothing.
type Ticket struct {
	b     *Breakers
	code  string
	probe bool
	done  bool
}

// Acquire asks to call the bank with the given code. It returns a ticket, or a
// bank_unavailable error (an *Unavailable, with the seconds until a probe may go) while the
// bank's breaker is open, or half-open with its probe still out.
func (b *Breakers) Acquire(code string) (*Ticket, error) {
	b.mu.Lock()
	br := b.get(code)
	now := b.cfg.Now()
	var change func()
	t := &Ticket{b: b, code: code}
	switch br.state {
	case BreakerOpen:
		if wait := br.openedAt.Add(b.cfg.Cooldown).Sub(now); wait > 0 {
			b.mu.Unlock()
			return nil, unavailable(code, wait)
		}
		change = b.set(code, br, BreakerHalfOpen)
		fallthrough
	case BreakerHalfOpen:
		if br.probing {
			b.mu.Unlock()
			return nil, unavailable(code, time.Second)
		}
		br.probing, t.probe = true, true
	}
	b.mu.Unlock()
	if change != nil {
		change()
	}
	return t, nil
}

// Answered records that the bank answered the call (whatever it said: a refusal is an answer
// too). It closes the bank's breaker.
func (t *Ticket) Answered() { t.finish(true) }

// NoAnswer records that the call got no answer (the outcome is unknown). Enough of them in a
// row open the breaker; a probe's re-opens it.
func (t *Ticket) NoAnswer() { t.finish(false) }

// Release gives back a ticket whose call was not made (the operation was refused before it
// reached the bank), so that a probe not sent does not keep the breaker half-open for good.
func (t *Ticket) Release() {
	if t == nil || t.done {
		return
	}
	t.done = true
	if !t.probe {
		return
	}
	b := t.b
	b.mu.Lock()
	if br := b.get(t.code); br.state == BreakerHalfOpen {
		br.probing = false
	}
	b.mu.Unlock()
}

func (t *Ticket) finish(answered bool) {
	if t == nil || t.done {
		return
	}
	t.done = true
	b := t.b
	b.mu.Lock()
	br := b.get(t.code)
	var change func()
	switch {
	case answered:
		br.failures = 0
		if br.state != BreakerClosed {
			br.probing = false
			change = b.set(t.code, br, BreakerClosed)
		}
	case br.state == BreakerClosed:
		br.failures++
		if br.failures >= b.cfg.Failures {
			change = b.open(t.code, br)
		}
	case br.state == BreakerHalfOpen && t.probe:
		change = b.open(t.code, br)
	}
	b.mu.Unlock()
	if change != nil {
		change()
	}
}

// State returns where the bank's breaker stands and, when open, the time it lets a probe through.
func (b *Breakers) State(code string) (BreakerState, time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	br, ok := b.banks[code]
	if !ok {
		return BreakerClosed, time.Time{}
	}
	if br.state == BreakerOpen {
		return br.state, br.openedAt.Add(b.cfg.Cooldown)
	}
	return br.state, time.Time{}
}

// get returns code's breaker, making it closed. b.mu is held.
func (b *Breakers) get(code string) *breaker {
	br, ok := b.banks[code]
	if !ok {
		br = &breaker{state: BreakerClosed}
		b.banks[code] = br
		b.state.WithLabelValues(code).Set(0)
	}
	return br
}

// open opens br now. b.mu is held.
func (b *Breakers) open(code string, br *breaker) func() {
	br.openedAt, br.probing, br.failures = b.cfg.Now(), false, 0
	b.opened.WithLabelValues(code).Inc()
	return b.set(code, br, BreakerOpen)
}

// set moves br to state s and returns the call of OnChange to make once b.mu is released.
// b.mu is held.
func (b *Breakers) set(code string, br *breaker, s BreakerState) func() {
	from := br.state
	br.state = s
	b.state.WithLabelValues(code).Set(map[BreakerState]float64{BreakerClosed: 0, BreakerHalfOpen: 1, BreakerOpen: 2}[s])
	if b.cfg.OnChange == nil || from == s {
		return nil
	}
	return func() { b.cfg.OnChange(code, from, s) }
}

// Unavailable is the error of a call refused by an open breaker: an *emoney.Error with code
// bank_unavailable, and the seconds to wait (the HTTP layer's Retry-After).
type Unavailable struct {
	Err        *emoney.Error
	RetryAfter int
}

func unavailable(code string, wait time.Duration) *Unavailable {
	return &Unavailable{RetryAfter: max(1, int((wait+time.Second-1)/time.Second)),
		Err: &emoney.Error{Code: emoney.EBankUnavailable,
			Message: fmt.Sprintf("bank %s is not answering at the moment: nothing was held or moved; try again later", code)}}
}

func (e *Unavailable) Error() string { return e.Err.Error() }
func (e *Unavailable) Unwrap() error { return e.Err }

// RetryAfterSeconds is RetryAfter (the HTTP layer's RetryAfter interface).
func (e *Unavailable) RetryAfterSeconds() int { return e.RetryAfter }
