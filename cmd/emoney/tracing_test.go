package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"

	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

// With a collector named, serve sends a span per request over OTLP/HTTP, flushed at shutdown.
func TestServeTracesToCollector(t *testing.T) {
	var mu sync.Mutex
	var names []string
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var req coltrace.ExportTraceServiceRequest
		if r.URL.Path != "/v1/traces" || proto.Unmarshal(body, &req) != nil {
			http.Error(w, "bad export", http.StatusBadRequest)
			return
		}
		mu.Lock()
		for _, rs := range req.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					names = append(names, s.Name)
				}
			}
		}
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.Write(nil)
	}))
	defer collector.Close()
	conf := writeConfig(t, "[tracing]\notlp_endpoint = \""+collector.URL+"\"\n")
	base, stop := startServerOn(t, filepath.Join(t.TempDir(), "emoney.db"), "--config", conf)
	var h struct{ Status string }
	getJSON(t, base+"/healthz", &h)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	found := false
	for _, n := range names {
		found = found || n == "GET /healthz"
	}
	if !found {
		t.Errorf("the collector got spans %v, want one named GET /healthz", names)
	}
}
