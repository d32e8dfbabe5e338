// Package bench drives emoney's benchmarks (`emoney bench NAME`): a closed loop of concurrent
// workers calling one operation through the same entry points production uses, and the
// specs/cli.md result line. Latency is measured on the client side, from submit to
// acknowledgement.
package bench

import (
	"context"
	"sort"
	"sync"
	"time"
)

// Result is the last line of `emoney bench NAME --json` (specs/cli.md).
type Result struct {
	Name        string  `json:"name"`
	Store       string  `json:"store"`
	Concurrency int     `json:"concurrency"`
	Ops         int64   `json:"ops"`
	Errors      int64   `json:"errors"`
	Seconds     float64 `json:"seconds"`
	OpsPerSec   float64 `json:"ops_per_sec"`
	P50ms       float64 `json:"p50_ms"`
	P99ms       float64 `json:"p99_ms"`
}

// Loop runs op from concurrency workers until duration has passed (or ctx ends) and counts the
// acknowledged operations and the refused ones. op gets the worker's number and a counter that
// is unique within the worker.
func Loop(ctx context.Context, concurrency int, duration time.Duration, op func(ctx context.Context, worker, n int) error) Result {
	ctx, cancel := context.WithTimeout(ctx, duration)
	defer cancel()
	type tally struct {
		ops, errs int64
		lat       []time.Duration
	}
	tallies := make([]tally, concurrency)
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := &tallies[w]
			for n := 0; ctx.Err() == nil; n++ {
				t0 := time.Now()
				err := op(ctx, w, n)
				if ctx.Err() != nil && err != nil {
					return // cut off by the deadline: neither acknowledged nor refused
				}
				if err != nil {
					t.errs++
					continue
				}
				t.ops++
				t.lat = append(t.lat, time.Since(t0))
			}
		}()
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	r := Result{Concurrency: concurrency, Seconds: round(secs, 2)}
	var all []time.Duration
	for _, t := range tallies {
		r.Ops += t.ops
		r.Errors += t.errs
		all = append(all, t.lat...)
	}
	r.OpsPerSec = round(float64(r.Ops)/secs, 0)
	r.P50ms = round(ms(percentile(all, 0.50)), 2)
	r.P99ms = round(ms(percentile(all, 0.99)), 2)
	return r
}

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d[int(p*float64(len(d)-1))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func round(v float64, places int) float64 {
	p := 1.0
	for i := 0; i < places; i++ {
		p *= 10
	}
	if v < 0 {
		return float64(int64(v*p-0.5)) / p
	}
	return float64(int64(v*p+0.5)) / p
}
