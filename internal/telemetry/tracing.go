// Package telemetry carries the hub's observability beyond the core metrics: OpenTelemetry
// tracing (set up once, exported over OTLP/HTTP when configured, a no-op otherwise), the
// correlation id on every span and log line, a River middleware that turns each job into a span
// linked to the transaction that enqueued it, an ERP decorator that spans every ERP call, HTTP
// latency histograms, and Prometheus gauges for acknowledgement lateness, the ERP circuit breaker
// and endpoint availability (AS2 certificate expiry is exported by the transport package).
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// TracerName is the instrumentation scope of the hub's spans.
const TracerName = "github.com/waybill-hub/waybill"

// CorrelationKey is the span attribute and log key of the correlation id.
const CorrelationKey = "correlation_id"

// Config configures tracing. With no Endpoint (and no OTEL_EXPORTER_OTLP_ENDPOINT in the
// environment) tracing stays off and costs nothing.
type Config struct {
	// Endpoint is the OTLP/HTTP collector URL, e.g. http://127.0.0.1:4318 (the path
	// /v1/traces is added when the URL has none).
	Endpoint string `koanf:"endpoint"`
	// Headers are sent with every export (an API key of a hosted collector: take it from the
	// environment with ${VAR}).
	Headers map[string]string `koanf:"headers"`
	// SampleRatio is the share of new traces kept (0 means 1: keep all).
	SampleRatio float64 `koanf:"sample_ratio"`
	// ServiceName names the hub in the tracing backend (default "waybill").
	ServiceName string `koanf:"service_name"`
}

// Setup installs the global tracer provider and the W3C trace-context propagator. It returns a
// shutdown function that flushes pending spans; call it when the hub stops.
func Setup(ctx context.Context, cfg Config) (func(context.Context) error, error) {
	otel.SetTextMapPropagator(propagation.TraceContext{})
	endpoint := cfg.Endpoint
	if endpoint == "" {
		endpoint = os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
	}
	if endpoint == "" {
		endpoint = os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT")
	}
	if endpoint == "" {
		return func(context.Context) error { return nil }, nil
	}
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("telemetry.endpoint must be an http(s) URL, not %q", endpoint)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/v1/traces"
	}
	opts := []otlptracehttp.Option{otlptracehttp.WithEndpointURL(u.String())}
	if len(cfg.Headers) > 0 {
		opts = append(opts, otlptracehttp.WithHeaders(cfg.Headers))
	}
	exp, err := otlptracehttp.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("creating the OTLP exporter: %w", err)
	}
	tp := NewProvider(sdktrace.NewBatchSpanProcessor(exp), cfg)
	otel.SetTracerProvider(tp)
	return func(ctx context.Context) error { return errors.Join(tp.Shutdown(ctx)) }, nil
}

// NewProvider returns a tracer provider sending spans to sp, sampled by cfg.SampleRatio (tests
// pass an in-memory processor).
func NewProvider(sp sdktrace.SpanProcessor, cfg Config) *sdktrace.TracerProvider {
	name := cfg.ServiceName
	if name == "" {
		name = "waybill"
	}
	ratio := cfg.SampleRatio
	if ratio <= 0 || ratio > 1 {
		ratio = 1
	}
	return sdktrace.NewTracerProvider(
		sdktrace.WithSpanProcessor(sp),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", name))),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio))),
	)
}

type corrKey struct{}

// WithCorrelation returns ctx carrying the correlation id; spans started from it and log lines
// written with it (LogHandler) carry the id.
func WithCorrelation(ctx context.Context, id string) context.Context {
	if id == "" {
		return ctx
	}
	return context.WithValue(ctx, corrKey{}, id)
}

// Correlation returns the correlation id ctx carries, or "".
func Correlation(ctx context.Context) string {
	s, _ := ctx.Value(corrKey{}).(string)
	return s
}

// Start starts a span of the hub's tracer, with the correlation id of ctx as an attribute.
func Start(ctx context.Context, name string, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	if c := Correlation(ctx); c != "" {
		attrs = append(attrs, attribute.String(CorrelationKey, c))
	}
	return otel.Tracer(TracerName).Start(ctx, name, trace.WithAttributes(attrs...))
}

// End ends span, recording err (if any) as the span's error status.
func End(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}
