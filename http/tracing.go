package http

import (
	"net/http"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// traceContext reads and writes W3C traceparent headers, so a request's span joins the trace
// of whoever called (a gateway, the simulator).
var traceContext = propagation.TraceContext{}

// startSpan begins the server span of a request when tracing is on (Config.Tracer); end names it
// by its route pattern, once the mux has found it, and records the status. Nothing personal is
// put in a span: no path values, query, headers or bodies.
func (s *Server) startSpan(r *http.Request, requestID string) (*http.Request, func(status int)) {
	if s.cfg.Tracer == nil {
		return r, func(int) {}
	}
	ctx := traceContext.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
	ctx, span := s.cfg.Tracer.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("http.request.method", r.Method), attribute.String("emoney.request_id", requestID)))
	r = r.WithContext(ctx)
	return r, func(status int) {
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		span.SetName(route)
		span.SetAttributes(attribute.String("http.route", route), attribute.Int("http.response.status_code", status))
		if status >= 500 {
			span.SetStatus(codes.Error, strconv.Itoa(status))
		}
		span.End()
	}
}
