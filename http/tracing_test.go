package http_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	emhttp "emoney/http"
)

// Every request becomes a span named by its route, joined to the caller's trace.
func TestTracing(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	srv := emhttp.New(emhttp.Config{Tracer: tp.Tracer("emoney")}, emhttp.Deps{})
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()

	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	req, _ := http.NewRequest("GET", ts.URL+"/healthz", nil)
	req.Header.Set("traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v", err)
	}
	if resp, err := http.Get(ts.URL + "/api/v1/nothing-here"); err != nil || resp.StatusCode != 404 {
		t.Fatalf("unknown route: %v", err)
	}
	spans := rec.Ended()
	if len(spans) != 2 {
		t.Fatalf("%d spans, want 2", len(spans))
	}
	if s := spans[0]; s.Name() != "GET /healthz" || s.SpanContext().TraceID().String() != traceID || s.Parent().SpanID().String() != "00f067aa0ba902b7" {
		t.Errorf("healthz span %q trace %s parent %s", s.Name(), s.SpanContext().TraceID(), s.Parent().SpanID())
	}
	attrs := map[string]string{}
	for _, a := range spans[1].Attributes() {
		attrs[string(a.Key)] = a.Value.Emit()
	}
	if spans[1].Name() != "/" || attrs["http.response.status_code"] != "404" || attrs["http.request.method"] != "GET" || attrs["emoney.request_id"] == "" {
		t.Errorf("unknown route span %q %v", spans[1].Name(), attrs)
	}
	for k, v := range attrs {
		if v == "/api/v1/nothing-here" {
			t.Errorf("the span carries the raw path in %s", k)
		}
	}
}
