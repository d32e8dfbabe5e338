package http

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"emoney/ledger"
)

// Metrics are the Prometheus metrics the service exposes at /metrics: HTTP latency by route,
// and the ledger's group commits (it is a ledger.BatchObserver). Labels are bounded: routes are
// patterns from routes.go, never raw paths.
type Metrics struct {
	reg          *prometheus.Registry
	httpDuration *prometheus.HistogramVec
	batchOps     prometheus.Histogram
	batchSeconds prometheus.Histogram
	requests     *prometheus.CounterVec
}

// NewMetrics registers the service's metrics, with Go runtime and process metrics beside them.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "emoney_http_request_duration_seconds", Help: "Time to answer an HTTP request, by route pattern and status class.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route", "status"}),
		batchOps: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "emoney_ledger_batch_ops", Help: "Transfer ops per group-commit transaction.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 9),
		}),
		batchSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "emoney_ledger_commit_seconds", Help: "Time from the start of a group-commit transaction to its commit.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
		}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "emoney_ledger_requests_total", Help: "Ledger requests by outcome: committed, refused (a rule), failed (the transaction).",
		}, []string{"outcome"}),
	}
	m.reg.MustRegister(m.httpDuration, m.batchOps, m.batchSeconds, m.requests,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Committed records one batch transaction (ledger.BatchObserver).
func (m *Metrics) Committed(b ledger.BatchStats) {
	if b.Err != nil {
		m.requests.WithLabelValues("failed").Add(float64(b.Requests))
		return
	}
	m.batchOps.Observe(float64(b.Ops))
	m.batchSeconds.Observe(b.Duration.Seconds())
	m.requests.WithLabelValues("committed").Add(float64(b.Requests - b.Refused))
	m.requests.WithLabelValues("refused").Add(float64(b.Refused))
}

func (m *Metrics) observeHTTP(route string, status int, d time.Duration) {
	if route == "" {
		route = "unmatched"
	}
	m.httpDuration.WithLabelValues(route, strconv.Itoa(status/100)+"xx").Observe(d.Seconds())
}

func (m *Metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}
