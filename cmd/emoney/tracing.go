package main

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// startTracing sends a span of every request to an OpenTelemetry collector over OTLP/HTTP when
// an endpoint is named (config tracing.otlp_endpoint, or the standard
// OTEL_EXPORTER_OTLP_ENDPOINT); otherwise it returns a nil tracer and tracing is off. stop flushes
// what is buffered.
func startTracing(endpoint string) (tracer trace.Tracer, stop func(context.Context) error, err error) {
	if endpoint == "" {
		return nil, func(context.Context) error { return nil }, nil
	}
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, nil, fmt.Errorf("tracing: %q is not an http(s) URL of an OTLP collector", endpoint)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/v1/traces"
	}
	exp, err := otlptracehttp.New(context.Background(), otlptracehttp.WithEndpointURL(u.String()), otlptracehttp.WithTimeout(10*time.Second))
	if err != nil {
		return nil, nil, fmt.Errorf("tracing: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", "emoney"), attribute.String("service.version", version))))
	return tp.Tracer("emoney"), tp.Shutdown, nil
}
