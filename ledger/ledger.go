// Package ledger is emoney's double-entry core: accounts with a balance per currency, transfers
// between two accounts, two-phase (pending → post | void) transfers, linked all-or-nothing
// requests, reversals as new transfers, idempotency keys scoped per principal, and the
// invariants Verify checks. The rules live here; the store only records.
//
// Writes are group-committed: concurrent Submit calls are gathered into one store transaction
// (one fsync), each request validated against balances read under lock inside that transaction,
// so the design holds with several writer processes on one database. A request that fails
// (insufficient funds, say) fails alone; the others in its batch commit.
package ledger

import (
	"context"
	"errors"
	"sync"
	"time"

	"emoney"
)

// Config tunes a Ledger. Zero values pick the defaults.
type Config struct {
	// MaxBatchOps bounds the transfers committed in one transaction (default 16,384).
	MaxBatchOps int
	// Committers is how many transactions may be in flight at once (default 1; SQLite has one
	// writer anyway, PostgreSQL can use a few).
	Committers int
	// Now and IDs are injected for deterministic tests (defaults: time.Now, emoney.Monotonic).
	Now func() time.Time
	IDs emoney.IDSource
	// BatchTimeout bounds one commit (default 30s).
	BatchTimeout time.Duration
	// AccountCache bounds the accounts kept in memory (default 1,000,000, about 100 MB).
	AccountCache int
	// Observer, if set, hears about every batch transaction (metrics).
	Observer BatchObserver
}

// BatchObserver hears about every batch transaction the ledger ran. Committed is called on the
// committer's goroutine and must return quickly.
type BatchObserver interface {
	Committed(BatchStats)
}

// BatchStats describes one batch transaction.
type BatchStats struct {
	Requests int           // requests in the batch
	Ops      int           // their ops
	Refused  int           // requests that failed a rule and were not applied
	Duration time.Duration // from the start of the transaction to its commit
	Err      error         // the transaction's own failure, if any (then nothing was applied)
}

// Ledger posts transfers. It is safe for concurrent use.
type Ledger struct {
	store    emoney.Store
	cfg      Config
	queue    chan *item
	accounts *accountCache
	balances *balanceCache // nil unless one committer: see balanceCache
	wg       sync.WaitGroup

	mu     sync.RWMutex
	closed bool
}

// item is one request waiting in the queue.
type item struct {
	ctx  context.Context
	req  Request
	hash []byte
	plan plan // the ids its records will have, drawn by the caller's goroutine, not the committer's
	done chan struct{}

	// set by the committer; valid once done is closed
	result []emoney.Transfer
	err    error
}

// New starts a ledger over store. Close it to stop its committers.
func New(store emoney.Store, cfg Config) *Ledger {
	if cfg.MaxBatchOps <= 0 {
		cfg.MaxBatchOps = 16384
	}
	if cfg.Committers <= 0 {
		cfg.Committers = 1
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.IDs == nil {
		cfg.IDs = &emoney.Monotonic{Now: cfg.Now}
	}
	if cfg.BatchTimeout <= 0 {
		cfg.BatchTimeout = 30 * time.Second
	}
	if cfg.AccountCache <= 0 {
		cfg.AccountCache = 1_000_000
	}
	l := &Ledger{store: store, cfg: cfg, queue: make(chan *item, 4*cfg.MaxBatchOps), accounts: newAccountCache(cfg.AccountCache)}
	if cfg.Committers == 1 {
		l.balances = newBalanceCache(cfg.AccountCache)
	}
	for i := 0; i < cfg.Committers; i++ {
		l.wg.Add(1)
		go l.committer()
	}
	return l
}

// Close stops accepting requests, lets the queued ones commit and waits for the committers.
func (l *Ledger) Close() error {
	l.mu.Lock()
	if !l.closed {
		l.closed = true
		close(l.queue)
	}
	l.mu.Unlock()
	l.wg.Wait()
	return nil
}

// Submit applies req and returns the transfer records it created, one per op in order.
// A retry with the same principal, key and ops returns the first result; the same key with other
// ops is a conflict. Errors: invalid (field named), not_found (an account or referenced
// transfer), insufficient_funds, conflict (key reuse, pending already resolved or expired,
// reversal beyond what remains), limit_exceeded (a balance would overflow), internal.
// If ctx ends first Submit returns its error, and the request may or may not have been
// committed: retry with the same key to learn which.
func (l *Ledger) Submit(ctx context.Context, req Request) ([]emoney.Transfer, error) {
	req.Ops = append([]Op(nil), req.Ops...) // validate fills defaults; leave the caller's slice alone
	if err := req.validate(); err != nil {
		return nil, err
	}
	it := &item{ctx: ctx, req: req, hash: req.hash(), done: make(chan struct{})}
	it.plan = plan{batch: l.cfg.IDs.NewID(), ids: make([]emoney.ID, len(req.Ops))}
	for j := range it.plan.ids {
		it.plan.ids[j] = l.cfg.IDs.NewID()
	}
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		return nil, emoney.Errorf(emoney.EInternal, "ledger is closed")
	}
	select {
	case l.queue <- it:
	case <-ctx.Done():
		l.mu.RUnlock()
		return nil, ctx.Err()
	}
	l.mu.RUnlock()
	select {
	case <-it.done:
		return it.result, it.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Transfer submits a request of one op and returns its one record.
func (l *Ledger) Transfer(ctx context.Context, principal, key string, op Op) (emoney.Transfer, error) {
	trs, err := l.Submit(ctx, Request{Principal: principal, Key: key, Ops: []Op{op}})
	if err != nil {
		return emoney.Transfer{}, err
	}
	return trs[0], nil
}

// committer gathers queued requests into batches and commits them, one batch at a time.
// Requests that arrive while a batch commits form the next batch, so batches grow with load
// and a lone request waits for nobody.
func (l *Ledger) committer() {
	defer l.wg.Done()
	var carry []*item
	for {
		batch := carry
		carry = nil
		if len(batch) == 0 {
			it, ok := <-l.queue
			if !ok {
				return
			}
			batch = append(batch, it)
		}
		ops := 0
		for _, it := range batch {
			ops += len(it.req.Ops)
		}
	drain:
		for ops < l.cfg.MaxBatchOps {
			select {
			case it, ok := <-l.queue:
				if !ok {
					break drain
				}
				batch = append(batch, it)
				ops += len(it.req.Ops)
			default:
				break drain
			}
		}
		batch, carry = splitDuplicates(batch)
		l.commit(batch)
	}
}

// splitDuplicates keeps the first request of each idempotency key in batch and carries the
// others over to the next batch, where they see the first one's outcome.
func splitDuplicates(batch []*item) (keep, carry []*item) {
	seen := make(map[emoney.IdempotencyKey]bool, len(batch))
	keep = batch[:0:0]
	for _, it := range batch {
		k := emoney.IdempotencyKey{Principal: it.req.Principal, Key: it.req.Key}
		if seen[k] {
			carry = append(carry, it)
			continue
		}
		seen[k] = true
		keep = append(keep, it)
	}
	return keep, carry
}

// commit commits one batch. If the transaction fails as a whole (not one request's rule, which
// fails only that request, but the database), each request is retried in a transaction of its
// own, so one bad request cannot sink the others.
func (l *Ledger) commit(batch []*item) {
	live := batch[:0:0]
	for _, it := range batch {
		if err := it.ctx.Err(); err != nil {
			it.err = err
			close(it.done)
			continue
		}
		live = append(live, it)
	}
	if len(live) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), l.cfg.BatchTimeout)
	defer cancel()
	var res applied
	start := time.Now()
	err := l.store.Update(ctx, func(tx emoney.Tx) error {
		var err error
		res, err = l.apply(ctx, tx, live)
		return err
	})
	if l.cfg.Observer != nil {
		st := BatchStats{Requests: len(live), Duration: time.Since(start), Err: err}
		for i, it := range live {
			st.Ops += len(it.req.Ops)
			if err == nil && res.out[i].err != nil {
				st.Refused++
			}
		}
		l.cfg.Observer.Committed(st)
	}
	if l.balances != nil {
		switch {
		case err != nil:
			l.balances.forget()
		case res.versionOK:
			l.balances.keep(res.balances, res.version+1) // +1: our own commit
		}
	}
	out := res.out
	if err != nil && len(live) > 1 {
		// One request may have broken the batch (a value one store refuses): find it by
		// committing each alone. If the database itself is down, stop trying after one batch
		// timeout rather than wait that long for every request.
		deadline := time.Now().Add(l.cfg.BatchTimeout)
		for _, it := range live {
			if time.Now().After(deadline) {
				it.err = internal(err)
				close(it.done)
				continue
			}
			l.commit([]*item{it})
		}
		return
	}
	for i, it := range live {
		if err != nil {
			it.err = internal(err)
		} else {
			it.result, it.err = out[i].result, out[i].err
		}
		close(it.done)
	}
}

// internal makes sure a database failure reaches the caller as an *emoney.Error: its own code if
// it has one (conflict on a lost race), internal otherwise.
func internal(err error) error {
	var e *emoney.Error
	if errors.As(err, &e) {
		return err
	}
	return &emoney.Error{Code: emoney.EInternal, Message: "ledger: commit failed", Err: err}
}
