package http

import "github.com/prometheus/client_golang/prometheus"

// Register adds collectors that live elsewhere (the webhook dispatcher's) to /metrics.
func (m *Metrics) Register(cs ...prometheus.Collector) error {
	for _, c := range cs {
		if err := m.reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}
