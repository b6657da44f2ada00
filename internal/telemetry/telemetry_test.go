package telemetry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/memerp"
	"github.com/waybill-hub/waybill/internal/sqlite"
	"github.com/waybill-hub/waybill/internal/store"
	"github.com/waybill-hub/waybill/internal/telemetry"
)

// recorder installs a global provider recording spans in memory (tests using it do not run in
// parallel with each other: the provider is global).
func recorder(t *testing.T) *tracetest.SpanRecorder {
	rec := tracetest.NewSpanRecorder()
	tp := telemetry.NewProvider(rec, telemetry.Config{})
	prev := otel.GetTracerProvider()
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	t.Cleanup(func() { otel.SetTracerProvider(prev) })
	return rec
}

func attr(s sdktrace.ReadOnlySpan, key string) string {
	for _, a := range s.Attributes() {
		if string(a.Key) == key {
			return a.Value.Emit()
		}
	}
	return ""
}

func TestJobSpanContinuesTheEnqueuersTrace(t *testing.T) {
	rec := recorder(t)
	ctx, parent := telemetry.Start(telemetry.WithCorrelation(context.Background(), "cor_1"), "receive")
	mw := &telemetry.JobMiddleware{}
	params := []*rivertype.JobInsertParams{{Kind: "process_message", EncodedArgs: []byte(`{"correlation_id":"cor_1"}`), Metadata: []byte(`{"x":1}`)}}
	_, err := mw.InsertMany(ctx, params, func(context.Context) ([]*rivertype.JobInsertResult, error) { return nil, nil })
	require.NoError(t, err)
	parent.End()
	var meta map[string]any
	require.NoError(t, json.Unmarshal(params[0].Metadata, &meta))
	require.EqualValues(t, 1, meta["x"], "existing metadata is kept")
	require.Contains(t, meta, "otel")

	job := &rivertype.JobRow{ID: 7, Kind: "process_message", Attempt: 2, EncodedArgs: params[0].EncodedArgs, Metadata: params[0].Metadata}
	var seen string
	err = mw.Work(context.Background(), job, func(ctx context.Context) error {
		seen = telemetry.Correlation(ctx)
		return waybill.Errorf(waybill.EINVALID, "bad", "bad document")
	})
	require.Error(t, err)
	require.Equal(t, "cor_1", seen, "the job's context carries the correlation id")
	spans := rec.Ended()
	require.Len(t, spans, 2)
	job0 := spans[1]
	require.Equal(t, "job process_message", job0.Name())
	require.Equal(t, spans[0].SpanContext().TraceID(), job0.SpanContext().TraceID(), "same trace as the enqueuer")
	require.Equal(t, spans[0].SpanContext().SpanID(), job0.Parent().SpanID())
	require.Equal(t, "cor_1", attr(job0, "correlation_id"))
	require.Equal(t, "2", attr(job0, "job.attempt"))
	require.Equal(t, "Error", job0.Status().Code.String())
}

func TestTraceERP(t *testing.T) {
	rec := recorder(t)
	erp := memerp.New(false)
	erp.AddCustomer("ACME", "Acme")
	traced := telemetry.TraceERP(erp)
	ctx := telemetry.WithCorrelation(context.Background(), "cor_2")
	_, err := traced.FindCustomer(ctx, waybill.PartyKey{Code: "ACME"})
	require.NoError(t, err)
	_, err = traced.FindCustomer(ctx, waybill.PartyKey{Code: "NOPE"})
	require.Error(t, err)
	spans := rec.Ended()
	require.Len(t, spans, 2)
	require.Equal(t, "erp.FindCustomer", spans[0].Name())
	require.Equal(t, "cor_2", attr(spans[0], "correlation_id"))
	require.Equal(t, "Error", spans[1].Status().Code.String())
	u, ok := traced.(interface{ Unwrap() waybill.ERP })
	require.True(t, ok)
	require.Same(t, erp, u.Unwrap())
}

func TestLogHandlerAddsCorrelationAndTrace(t *testing.T) {
	recorder(t)
	var buf bytes.Buffer
	log := slog.New(telemetry.LogHandler(slog.NewJSONHandler(&buf, nil)))
	ctx, span := telemetry.Start(telemetry.WithCorrelation(context.Background(), "cor_3"), "x")
	log.InfoContext(ctx, "hello")
	log.InfoContext(ctx, "explicit", "correlation_id", "cor_other")
	span.End()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.Len(t, lines, 2)
	var rec map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &rec))
	require.Equal(t, "cor_3", rec["correlation_id"])
	require.Equal(t, span.SpanContext().TraceID().String(), rec["trace_id"])
	require.Equal(t, 1, strings.Count(lines[1], "correlation_id"), "an explicit id is not repeated")
}

func TestSetupExportsOverOTLP(t *testing.T) {
	var posts atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/traces" && r.Method == http.MethodPost {
			io.Copy(io.Discard, r.Body)
			posts.Add(1)
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	prev := otel.GetTracerProvider()
	defer otel.SetTracerProvider(prev)
	shutdown, err := telemetry.Setup(context.Background(), telemetry.Config{Endpoint: srv.URL})
	require.NoError(t, err)
	_, span := telemetry.Start(context.Background(), "exported")
	span.End()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, shutdown(ctx))
	require.EqualValues(t, 1, posts.Load(), "the span was exported to the collector")

	_, err = telemetry.Setup(context.Background(), telemetry.Config{Endpoint: "ftp://x"})
	require.ErrorContains(t, err, "telemetry.endpoint must be an http(s) URL")
}

func TestCollectorAndHTTPMetrics(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b, err := sqlite.Open(ctx, t.TempDir())
	require.NoError(t, err)
	db := store.New(b)
	defer db.Close()
	require.NoError(t, db.Migrate(ctx))
	now := time.Now().UTC()
	for i, due := range []time.Duration{-time.Hour, time.Hour} {
		o := &store.EDIOutbound{MessageID: store.NewID("msg"), Partner: "acme", SetID: "855", Interchange: "1", Group: "1",
			SetControl: string(rune('1' + i)), QueuedAt: now.Add(-2 * time.Hour), AckDueAt: now.Add(due)}
		require.NoError(t, db.InTx(ctx, func(tx *store.Tx) error { return tx.InsertEDIOutbound(ctx, o) }))
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(telemetry.NewCollector(telemetry.Sources{DB: db, Breaker: func() string { return "open" },
		Endpoints: func(context.Context) []telemetry.EndpointState {
			return []telemetry.EndpointState{{Partner: "acme", Endpoint: "as2", Up: true, Latency: 30 * time.Millisecond}}
		}}))
	hm := telemetry.NewHTTPMetrics(reg)
	h := hm.Wrap("dashboard", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) }))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/ui/", nil))

	got := map[string]float64{}
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			key := mf.GetName()
			for _, l := range m.GetLabel() {
				key += "," + l.GetName() + "=" + l.GetValue()
			}
			switch {
			case m.Gauge != nil:
				got[key] = m.GetGauge().GetValue()
			case m.Histogram != nil:
				got[key] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	want := map[string]float64{
		"waybill_acks_overdue,doc_type=855,partner=acme":                          1,
		"waybill_erp_breaker_state,state=open":                                    1,
		"waybill_erp_breaker_state,state=closed":                                  0,
		"waybill_endpoint_up,endpoint=as2,partner=acme":                           1,
		"waybill_endpoint_latency_seconds,endpoint=as2,partner=acme":              0.03,
		"waybill_payloads_archived,purged=true":                                   0,
		"waybill_http_request_duration_seconds,api=dashboard,code=4xx,method=GET": 1,
	}
	for k, v := range want {
		require.Contains(t, got, k)
		require.InDelta(t, v, got[k], 1e-9, k)
	}
}
