package risk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"emoney"
)

// Config configures an Engine. Zero values pick the defaults.
type Config struct {
	// Store records decisions and holds the rules; nil: decisions are recorded nowhere and
	// the rules are Rules (a backtest, a benchmark of the engine alone).
	Store emoney.Store
	// Rules are the rules when Store is nil, and what a store without any is seeded with
	// (default: DefaultRules).
	Rules *RuleSet
	IDs   emoney.IDSource  // default: emoney.Monotonic
	Now   func() time.Time // default: time.Now
	// MaxKeys bounds the entities the features keep (DefaultMaxKeys).
	MaxKeys int
	Log     *slog.Logger
	// RecordBuffer is how many decisions may wait to be written (default 65,536); a full
	// buffer makes Decide wait for the writer rather than lose a decision.
	RecordBuffer int
}

// Engine judges events: Decide computes an event's features from what came before it, runs the
// rules, and returns the decision, which it records. Safe for concurrent use: the decisions of
// one wallet are made one at a time (their counts read and updated as one step), others in
// parallel.
type Engine struct {
	cfg      Config
	features *Features
	rules    atomic.Pointer[RuleSet]
	stripes  [256]sync.Mutex
	seed     maphash.Seed
	// decided remembers the ids of events recently entered into the features, so that a
	// retried request (the same idempotency key, judged again) is not counted twice.
	decided recent

	queue   chan emoney.Decision
	flushed chan struct{}
	closing sync.Once

	decisions *prometheus.CounterVec
	fired     *prometheus.CounterVec
	latency   prometheus.Histogram
	dropped   prometheus.Counter
}

// New returns an engine with empty features; Start loads the rules and rebuilds the features
// from the store.
func New(cfg Config) *Engine {
	if cfg.Rules == nil {
		cfg.Rules = DefaultRules()
	}
	if cfg.IDs == nil {
		cfg.IDs = &emoney.Monotonic{}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.RecordBuffer <= 0 {
		cfg.RecordBuffer = 65_536
	}
	e := &Engine{cfg: cfg, features: NewFeatures(cfg.MaxKeys), seed: maphash.MakeSeed(),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "emoney_risk_decisions_total",
			Help: "Risk decisions by event type and outcome."}, []string{"type", "outcome"}),
		fired: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "emoney_risk_rule_hits_total",
			Help: "Rules that fired, by rule and mode (enabled or shadow)."}, []string{"rule", "mode"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "emoney_risk_decision_seconds",
			Help:    "Time to decide an event, features and rules.",
			Buckets: []float64{.00001, .000025, .00005, .0001, .00025, .0005, .001, .0025, .005, .01}}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "emoney_risk_decisions_dropped_total",
			Help: "Decisions the store kept refusing for a minute, given up (alert on any)."}),
	}
	e.rules.Store(cfg.Rules)
	if cfg.Store != nil {
		e.queue, e.flushed = make(chan emoney.Decision, cfg.RecordBuffer), make(chan struct{})
		go e.writer()
	}
	return e
}

// Collectors are the engine's metrics, for /metrics.
func (e *Engine) Collectors() []prometheus.Collector {
	return []prometheus.Collector{e.decisions, e.fired, e.latency, e.dropped}
}

// Rules returns the rules in force.
func (e *Engine) Rules() *RuleSet { return e.rules.Load() }

// SetRules puts rs in force for the next decision.
func (e *Engine) SetRules(rs *RuleSet) { e.rules.Store(rs) }

// Features returns the engine's features (their size, for metrics and tests).
func (e *Engine) Features() *Features { return e.features }

// Judgement is a decision as its caller uses it.
type Judgement struct {
	emoney.Decision
	// Challenged says a challenge rule fired and was met by the step-up the event came with.
	Challenged bool
}

// Decide judges ev and records the decision. Events the engine judges
// (Type.Judged) get the most severe action of the enabled rules that fired; others are only
// recorded into the features (allow). steppedUp says the request carries a step-up bound to
// this very operation: a challenge is then met (allow, unless another rule asks for more).
// The event enters the features when its outcome is allow or review (it happens, or its money
// is held), and always for logins (failed ones are what streaks count).
func (e *Engine) Decide(ev Event, steppedUp bool) Judgement {
	j := e.Judge(ev, steppedUp)
	e.Record(j.Decision)
	return j
}

// Record queues a decision Judge made for the writer. A caller that writes the decision itself
// in the transaction of what it decided (tx.SaveDecisions, as the money paths do in the
// ledger's batch) does not call it.
func (e *Engine) Record(d emoney.Decision) {
	if e.queue != nil {
		e.queue <- d
	}
}

// Judge is Decide without recording: the decision comes back complete (its inputs summary and
// event record made), for the caller to record with what it decided, or to Record.
func (e *Engine) Judge(ev Event, steppedUp bool) Judgement {
	start := time.Now()
	if ev.At.IsZero() {
		ev.At = e.cfg.Now()
	}
	if ev.ID == "" {
		ev.ID = e.cfg.IDs.NewID().String()
	}
	if ev.At.Before(epoch) { // (a log line from before 1970 would index no bucket)
		ev.At = epoch
	}
	var v Vector
	j := e.judgeLocked(&ev, &v, steppedUp)
	took := time.Since(start)
	j.LatencyUS = took.Microseconds()
	e.latency.Observe(took.Seconds())
	e.decisions.WithLabelValues(j.Type, string(j.Outcome)).Inc()
	for _, r := range j.Rules {
		e.fired.WithLabelValues(r, "enabled").Inc()
	}
	for _, r := range j.Shadow {
		e.fired.WithLabelValues(r, "shadow").Inc()
	}
	if e.cfg.Store != nil { // (no store, no record: a backtest needs the outcome and the rules only)
		j.Decision = e.encode(j.Decision, &v, &ev) // encoded here: the writer is one goroutine, the deciders many
	}
	return j
}

// epoch is the earliest time the engine keeps features for.
var epoch = time.Unix(0, 0)

// judgeLocked computes the features and runs the rules with the wallet's stripe held, and
// counts the event in the features.
func (e *Engine) judgeLocked(ev *Event, v *Vector, steppedUp bool) Judgement {
	mu := &e.stripes[maphash.String(e.seed, ev.Wallet)%uint64(len(e.stripes))]
	mu.Lock()
	defer mu.Unlock()
	e.features.vector(ev, v)
	j := Judgement{Decision: emoney.Decision{ID: e.cfg.IDs.NewID(), Event: ev.ID, Type: string(ev.Type), Wallet: ev.Wallet,
		Amount: ev.Amount, Outcome: emoney.RiskAllow, At: ev.At}}
	if ev.Type.Judged() {
		score := 0
		for _, r := range e.rules.Load().rules {
			if r.Mode == emoney.RuleDisabled || !r.fires(v) {
				continue
			}
			if r.Mode == emoney.RuleShadow {
				j.Shadow = append(j.Shadow, r.ID)
				continue
			}
			j.Rules = append(j.Rules, r.ID)
			score += r.Weight
			if r.Action.Severity() > j.Outcome.Severity() {
				j.Outcome = r.Action
			}
		}
		j.Score = min(score, 100)
		if j.Outcome == emoney.RiskChallenge && steppedUp {
			j.Outcome, j.Challenged = emoney.RiskAllow, true
		}
	}
	if (j.Outcome == emoney.RiskAllow || j.Outcome == emoney.RiskReview || ev.Type == Login) && e.decided.add(maphash.String(e.seed, ev.ID)) {
		e.features.Record(ev)
	}
	return j
}

// writer writes queued decisions in batches until Close.
func (e *Engine) writer() {
	defer close(e.flushed)
	batch := make([]emoney.Decision, 0, 512)
	for d := range e.queue {
		batch = append(batch[:0], d)
	drain:
		for len(batch) < cap(batch) {
			select {
			case d, ok := <-e.queue:
				if !ok {
					break drain
				}
				batch = append(batch, d)
			default:
				break drain
			}
		}
		// A store that fails is tried again (a saved decision is skipped on a repeat), with the
		// deciders waiting once the queue is full; after about a minute the batch is given up,
		// logged and counted.
		var err error
		for attempt, wait := 0, 100*time.Millisecond; attempt < 8; attempt, wait = attempt+1, min(2*wait, 10*time.Second) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			err = e.cfg.Store.Update(ctx, func(tx emoney.Tx) error { return tx.SaveDecisions(ctx, batch) })
			cancel()
			if err == nil {
				break
			}
			time.Sleep(wait)
		}
		if err != nil {
			e.dropped.Add(float64(len(batch)))
			e.cfg.Log.Error("risk: recording decisions failed, given up", slog.Int("decisions", len(batch)), slog.String("err", err.Error()))
		}
	}
}

// encode fills in the decision's inputs summary and event record.
func (e *Engine) encode(d emoney.Decision, v *Vector, ev *Event) emoney.Decision {
	d.Inputs = v.AppendSummary(make([]byte, 0, 256))
	l := ev.Log()
	l.ID = "" // the decision's Event says it
	d.EventData, _ = json.Marshal(l)
	return d
}

// Close writes the decisions still queued and stops the writer. Decide must not be called after.
func (e *Engine) Close() {
	e.closing.Do(func() {
		if e.queue != nil {
			close(e.queue)
			<-e.flushed
		}
	})
}

// Start loads the stored rules (seeding the store with Config.Rules if it holds none) and
// rebuilds the features from the decisions of the last 30 days. Call it before Decide.
func (e *Engine) Start(ctx context.Context) error {
	if e.cfg.Store == nil {
		return nil
	}
	if err := e.seedRules(ctx); err != nil {
		return err
	}
	if err := e.Refresh(ctx); err != nil {
		return err
	}
	return e.rebuild(ctx)
}

// seedRules stores Config.Rules if the store has no rules yet (the first start); another instance
// seeding at the same time wins harmlessly.
func (e *Engine) seedRules(ctx context.Context) error {
	return e.cfg.Store.Update(ctx, func(tx emoney.Tx) error {
		have, err := tx.RiskRules(ctx)
		if err != nil || len(have) > 0 {
			return err
		}
		now := e.cfg.Now().UTC().Truncate(time.Microsecond)
		for _, r := range e.cfg.Rules.Rules() {
			r.UpdatedAt, r.UpdatedBy = now, "system:risk"
			if err := tx.SaveRiskRule(ctx, r, 0); err != nil && emoney.ErrorCode(err) != emoney.EConflict {
				return err
			}
		}
		return nil
	})
}

// Refresh puts the stored rules in force if they changed (another instance, or the staff API
// of this one, saved a change). A stored rule that does not compile (it was saved by a newer
// version) keeps the rules in force and is an error.
func (e *Engine) Refresh(ctx context.Context) error {
	if e.cfg.Store == nil {
		return nil
	}
	var stored []emoney.RiskRule
	if err := e.cfg.Store.View(ctx, func(tx emoney.ReadTx) error {
		var err error
		stored, err = tx.RiskRules(ctx)
		return err
	}); err != nil {
		return err
	}
	if same(e.rules.Load().Rules(), stored) {
		return nil
	}
	rs, err := NewRuleSet(stored)
	if err != nil {
		return fmt.Errorf("risk: stored rules: %w", err)
	}
	e.rules.Store(rs)
	return nil
}

func same(a, b []emoney.RiskRule) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].ID != b[i].ID || a[i].Version != b[i].Version {
			return false
		}
	}
	return true
}

// rebuild replays the decisions of the last 30 days into the features, in the order they were
// made.
func (e *Engine) rebuild(ctx context.Context) error {
	since := e.cfg.Now().Add(-30 * 24 * time.Hour)
	after := emoney.ID{}
	for {
		var page []emoney.Decision
		if err := e.cfg.Store.View(ctx, func(tx emoney.ReadTx) error {
			var err error
			page, err = tx.Decisions(ctx, "", since, after, 5000)
			return err
		}); err != nil {
			return err
		}
		for _, d := range page {
			if d.Outcome != emoney.RiskAllow && d.Outcome != emoney.RiskReview && d.Type != string(Login) {
				continue
			}
			var l LogEvent
			if err := json.Unmarshal(d.EventData, &l); err != nil {
				continue
			}
			l.ID = d.Event
			ev, err := l.Event()
			if err != nil || !e.decided.add(maphash.String(e.seed, ev.ID)) { // a retry's decision: counted once
				continue
			}
			e.features.Record(&ev)
		}
		if len(page) < 5000 {
			return nil
		}
		after = page[len(page)-1].ID
	}
}

// Watch calls Refresh every period until ctx ends, so that rule changes made on any instance
// are in force here within that period.
func (e *Engine) Watch(ctx context.Context, period time.Duration) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := e.Refresh(ctx); err != nil && !errors.Is(err, context.Canceled) {
				e.cfg.Log.Error("risk: refreshing rules", slog.String("err", err.Error()))
			}
		}
	}
}

// recent is a bounded set of event ids (hashed): the last maxRecent added.
type recent struct {
	mu   sync.Mutex
	set  map[uint64]struct{}
	ring []uint64
	next int
}

// maxRecent bounds recent: about 40 MiB, some minutes of decisions at full speed, days at a
// busy service's pace. A retry later than that is counted again.
const maxRecent = 1_000_000

// add adds id and reports whether it was not in the set.
func (r *recent) add(id uint64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.set == nil {
		r.set, r.ring = make(map[uint64]struct{}, 1024), make([]uint64, 0, 1024)
	}
	if _, ok := r.set[id]; ok {
		return false
	}
	if len(r.ring) < maxRecent {
		r.ring = append(r.ring, id)
	} else {
		delete(r.set, r.ring[r.next])
		r.ring[r.next] = id
		r.next = (r.next + 1) % maxRecent
	}
	r.set[id] = struct{}{}
	return true
}
