package app_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/app"
	"github.com/waybill-hub/waybill/internal/config"
	"github.com/waybill-hub/waybill/internal/odoo"
	"github.com/waybill-hub/waybill/internal/odoo/odoosim"
	"github.com/waybill-hub/waybill/internal/sqlite"
	"github.com/waybill-hub/waybill/internal/store"
)

// TestOneTraceFromReceiptToOdoo checks that a message's receipt, the jobs it leads to and the
// Odoo calls they make are spans of one trace, carrying the correlation id.
func TestOneTraceFromReceiptToOdoo(t *testing.T) {
	// Not parallel: it installs the process's tracer provider.
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	prevTP, prevProp := otel.GetTracerProvider(), otel.GetTextMapPropagator()
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	t.Cleanup(func() { otel.SetTracerProvider(prevTP); otel.SetTextMapPropagator(prevProp) })

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
		names = traceOf(rec.Ended(), "receive http")
		if names["job process_message"] || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	require.True(t, names["job process_message"], "the processing job continues the receipt's trace: %v", names)
	require.True(t, names["erp batch"], "and the ERP submission it made: %v", names)
	require.True(t, names["odoo sale.order.create"], "and the Odoo calls it made: %v", names)
}

// traceOf returns the names of the spans in the trace of the span named root.
func traceOf(spans []sdktrace.ReadOnlySpan, root string) map[string]bool {
	names := map[string]bool{}
	for _, r := range spans {
		if r.Name() != root {
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
