package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/app"
	"github.com/waybill-hub/waybill/internal/config"
	"github.com/waybill-hub/waybill/internal/hub"
	"github.com/waybill-hub/waybill/internal/memerp"
	"github.com/waybill-hub/waybill/internal/odoo"
	"github.com/waybill-hub/waybill/internal/odoo/odoosim"
	"github.com/waybill-hub/waybill/internal/sqlite"
	"github.com/waybill-hub/waybill/internal/store"
)

// TestOneTraceFromReceiptToOdoo checks that a message's receipt, the jobs it leads to and the
// Odoo calls they make are spans of one trace, carrying the correlation id.
func TestOneTraceFromReceiptToOdoo(t *testing.T) {
	tp, rec := recordSpans()

	ctx := context.Background()
	sim := odoosim.New(odoosim.Options{Version: "19.0"})
	demo := sim.SeedDemo()
	srv := httptest.NewServer(sim)
	defer srv.Close()
	oc := odoo.Default()
	oc.URL, oc.Database, oc.User, oc.APIKey = srv.URL, "sim", odoosim.AdminLogin, odoosim.AdminAPIKey
	client, err := odoo.New(ctx, oc)
	require.NoError(t, err)
	b, err := sqlite.Open(ctx, t.TempDir())
	require.NoError(t, err)
	cfg := config.Default()
	cfg.Listen = ""
	cfg.Pipeline.PollInterval = 10 * time.Millisecond
	cfg.ERP.Odoo.PollInterval = time.Hour
	cfg.Partners = []config.Partner{{ID: "acme", Account: demo.Customers[0].Ref}}
	a, err := app.New(ctx, cfg, app.Options{Storage: app.StorageFor(b), ERP: client, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	require.NoError(t, a.Start(ctx))
	defer a.Stop(context.Background())

	payload, _ := json.Marshal(waybill.Order{PONumber: "PO-TRACE", Lines: []waybill.Line{
		{Number: "1", VendorItem: demo.Products[0].Code, Quantity: waybill.MustDecimal("1"), UOM: "EA"}}})
	rc, err := a.Hub.Receive(ctx, waybill.InboundMessage{Channel: waybill.ChannelHTTP, Partner: "acme", Payload: payload})
	require.NoError(t, err)
	deadline := time.Now().Add(20 * time.Second)
	for {
		list, err := a.Storage.DB.Orders(ctx, store.OrderFilter{CorrelationID: rc.CorrelationID})
		require.NoError(t, err)
		if len(list) == 1 && list[0].Order.State == waybill.OrderAccepted {
			break
		}
		require.False(t, time.Now().After(deadline), "order not accepted")
		time.Sleep(10 * time.Millisecond)
	}
	// The job's span ends once the job is done, a moment after the order it accepted is visible.
	var names map[string]bool
	for {
		require.NoError(t, tp.ForceFlush(ctx))
		names = traceOf(rec.Ended(), "receive http", rc.CorrelationID)
		if names["job process_message"] || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	require.True(t, names["job process_message"], "the processing job continues the receipt's trace: %v", names)
	require.True(t, names["erp batch"], "and the ERP submission it made: %v", names)
	require.True(t, names["odoo sale.order.create"], "and the Odoo calls it made: %v", names)
}

// traceOf returns the names of the spans in the trace of the span named root for correlation id
// corr.
func traceOf(spans []sdktrace.ReadOnlySpan, root, corr string) map[string]bool {
	names := map[string]bool{}
	for _, r := range spans {
		if r.Name() != root || !slices.Contains(r.Attributes(), attribute.String("waybill.correlation_id", corr)) {
			continue
		}
		for _, s := range spans {
			if s.SpanContext().TraceID() == r.SpanContext().TraceID() {
				names[s.Name()] = true
			}
		}
	}
	return names
}

// TestBatchedMessagesKeepTheirTraces runs one process_messages job over three messages received
// in three traces: each message's processing continues its own receipt's trace, with the
// batch job's span as a link.
func TestBatchedMessagesKeepTheirTraces(t *testing.T) {
	tp, rec := recordSpans()

	ctx := context.Background()
	b, err := sqlite.Open(ctx, t.TempDir())
	require.NoError(t, err)
	cfg := config.Default()
	cfg.Listen = ""
	cfg.Pipeline.PollInterval = 10 * time.Millisecond
	cfg.Partners = []config.Partner{{ID: "acme", Account: "ACME"}}
	a, err := app.New(ctx, cfg, app.Options{Storage: app.StorageFor(b), ERP: memerp.New(true), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	defer a.Stop(context.Background())

	var batch hub.ProcessMessages
	traces := map[trace.TraceID]bool{}
	for i := range 3 {
		cctx, span := tp.Tracer("test").Start(ctx, fmt.Sprintf("client %d", i))
		payload, _ := json.Marshal(waybill.Order{PONumber: fmt.Sprintf("PO-BT%d", i), Lines: []waybill.Line{
			{Number: "1", VendorItem: "SKU-1", Quantity: waybill.MustDecimal("1"), UOM: "EA"}}})
		rc, err := a.Hub.Receive(cctx, waybill.InboundMessage{Channel: waybill.ChannelHTTP, Partner: "acme", Payload: payload})
		require.NoError(t, err)
		carrier := propagation.MapCarrier{}
		otel.GetTextMapPropagator().Inject(cctx, carrier)
		span.End()
		traces[span.SpanContext().TraceID()] = true
		batch.Messages = append(batch.Messages, hub.ProcessMessage{MessageID: rc.MessageID, CorrelationID: rc.CorrelationID,
			Partner: "acme", Trace: carrier})
	}
	// The receipts enqueued a job each; one job takes the three instead.
	_, err = a.Storage.DB.Backend().Exec(ctx, `DELETE FROM river_job`)
	require.NoError(t, err)
	require.NoError(t, a.Queue.Insert(ctx, batch, nil))
	require.NoError(t, a.Start(ctx))

	// The job's span ends after its messages'; it is the one they link to.
	deadline := time.Now().Add(20 * time.Second)
	var processed []sdktrace.ReadOnlySpan
	var job sdktrace.ReadOnlySpan
	for {
		require.NoError(t, tp.ForceFlush(ctx))
		processed, job = nil, nil
		ended := rec.Ended()
		for _, s := range ended {
			if s.Name() == "process message" && traces[s.SpanContext().TraceID()] {
				processed = append(processed, s)
			}
		}
		if len(processed) > 0 && len(processed[0].Links()) == 1 {
			for _, s := range ended {
				if s.Name() == "job process_messages" && s.SpanContext().SpanID() == processed[0].Links()[0].SpanContext.SpanID() {
					job = s
				}
			}
		}
		if (len(processed) == 3 && job != nil) || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	require.Len(t, processed, 3, "a span per message, in its receipt's trace")
	require.NotNil(t, job, "the batch job's span, which the messages' spans link")
	seen := map[trace.TraceID]bool{}
	for _, s := range processed {
		seen[s.SpanContext().TraceID()] = true
		require.Len(t, s.Links(), 1)
		require.Equal(t, job.SpanContext().SpanID(), s.Links()[0].SpanContext.SpanID(), "and links the batch job")
	}
	require.Len(t, seen, 3, "each message's processing continues its own receipt's trace")
	list, err := a.Storage.DB.Orders(ctx, store.OrderFilter{State: waybill.OrderAccepted})
	require.NoError(t, err)
	require.Len(t, list, 3)
}

var (
	spansOnce sync.Once
	spansTP   *sdktrace.TracerProvider
	spansRec  *tracetest.SpanRecorder
)

// recordSpans installs, once for this package's tests, a tracer provider that records every span
// and the W3C propagator, and returns them. Once: the hub's tracers delegate to the first
// provider installed in the process and stay with it, so each test cannot install its own.
func recordSpans() (*sdktrace.TracerProvider, *tracetest.SpanRecorder) {
	spansOnce.Do(func() {
		spansRec = tracetest.NewSpanRecorder()
		spansTP = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spansRec))
		otel.SetTracerProvider(spansTP)
		otel.SetTextMapPropagator(propagation.TraceContext{})
	})
	return spansTP, spansRec
}
