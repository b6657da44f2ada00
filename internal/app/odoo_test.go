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

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/app"
	"github.com/waybill-hub/waybill/internal/config"
	"github.com/waybill-hub/waybill/internal/hub"
	"github.com/waybill-hub/waybill/internal/odoo"
	"github.com/waybill-hub/waybill/internal/odoo/odoosim"
	"github.com/waybill-hub/waybill/internal/sqlite"
	"github.com/waybill-hub/waybill/internal/store"
)

// TestOdooOrderToCash runs an order through the hub against the Odoo simulator, over the real
// connector, then fulfils, invoices and pays it in "Odoo" and checks that change capture walks
// the hub's order through the whole lifecycle with exact line quantities.
func TestOdooOrderToCash(t *testing.T) {
	t.Parallel()
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
	cfg.ERP.Odoo.PollInterval = time.Hour // the test polls when it wants to
	cust := demo.Customers[0]
	cfg.Partners = []config.Partner{{ID: "acme", Account: cust.Ref}}
	a, err := app.New(ctx, cfg, app.Options{Storage: app.StorageFor(b), ERP: client, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	require.NoError(t, a.Start(ctx))
	defer a.Stop(context.Background())

	p0, p1 := demo.Products[0], demo.Products[1]
	order := waybill.Order{PONumber: "PO-O2C-1", Lines: []waybill.Line{
		{Number: "1", VendorItem: p0.Code, Quantity: waybill.MustDecimal("5"), UOM: "EA"},
		{Number: "2", GTIN: p1.Barcode, Quantity: waybill.MustDecimal("3"), UOM: "EA"},
	}}
	payload, _ := json.Marshal(order)
	rc, err := a.Hub.Receive(ctx, waybill.InboundMessage{Channel: waybill.ChannelHTTP, Partner: "acme", Payload: payload})
	require.NoError(t, err)

	state := func() *store.OrderRecord {
		list, err := a.Storage.DB.Orders(ctx, store.OrderFilter{CorrelationID: rc.CorrelationID})
		require.NoError(t, err)
		if len(list) == 0 {
			return nil
		}
		return list[0]
	}
	wait := func(want waybill.OrderState) *store.OrderRecord {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			if rec := state(); rec != nil && rec.Order.State == want {
				return rec
			}
			if time.Now().After(deadline) {
				rec := state()
				t.Fatalf("order did not reach %s; it is %v", want, rec.Order.State)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	poll := func() {
		t.Helper()
		_, err := a.Hub.PollChanges(ctx)
		require.NoError(t, err)
	}

	rec := wait(waybill.OrderAccepted)
	so := rec.Order.ERP
	require.NotZero(t, so.ID)
	// Odoo's own record: the PO reference and the hub reference.
	rs, err := client.SearchRead(ctx, "sale.order", []any{[]any{"id", "=", so.ID}}, []string{"name", "client_order_ref", "origin", "state", "picking_ids"}, nil)
	require.NoError(t, err)
	require.Equal(t, "PO-O2C-1", rs[0]["client_order_ref"])
	require.Equal(t, "waybill:"+rec.Order.ID, rs[0]["origin"])
	require.Equal(t, "sale", rs[0]["state"])

	// Confirmation reserved the stock: change capture sees the order allocated.
	poll()
	rec = wait(waybill.OrderAllocated)
	require.Equal(t, "5", rec.Order.Lines[0].Qty.Allocated.String())

	// Ship 2 of the 5 of line 1 and all of line 2; Odoo offers a backorder, which is created.
	pickings, err := client.SearchRead(ctx, "stock.picking", []any{[]any{"sale_id", "=", so.ID}}, []string{"id", "state"}, nil)
	require.NoError(t, err)
	require.Len(t, pickings, 1)
	pick := id64(pickings[0]["id"])
	deliver(t, ctx, client, pick, map[int64]float64{int64(p0.ID): 2})
	require.NoError(t, client.Write(ctx, "stock.picking", []int64{pick}, map[string]any{"carrier_tracking_ref": "1Z999"}))
	poll()
	rec = wait(waybill.OrderShipped)
	l1, l2 := rec.Order.Lines[0].Qty, rec.Order.Lines[1].Qty
	require.Equal(t, "2", l1.Shipped.String())
	require.Equal(t, "3", l1.Backordered.String())
	require.Equal(t, "3", l2.Shipped.String())
	require.True(t, l2.Backordered.IsZero())

	// The backorder ships; the delivered quantities are invoiced, posted and paid.
	pickings, err = client.SearchRead(ctx, "stock.picking", []any{[]any{"sale_id", "=", so.ID}, []any{"state", "!=", "done"}}, []string{"id"}, nil)
	require.NoError(t, err)
	require.Len(t, pickings, 1)
	deliver(t, ctx, client, id64(pickings[0]["id"]), nil)
	inv := invoice(t, ctx, client, so.ID)
	_, err = client.Call(ctx, "account.move", "action_post", []any{[]any{inv}}, nil)
	require.NoError(t, err)
	poll()
	rec = wait(waybill.OrderInvoiced)
	require.Equal(t, "5", rec.Order.Lines[0].Qty.Invoiced.String())
	pay(t, ctx, client, inv)
	poll()
	// Posting and paying within one second of Odoo's write_date can hide the second write from
	// the cursor; the reconcile sweep is the safety net for that.
	_, err = a.Hub.ReconcileOpen(ctx, 0, 100)
	require.NoError(t, err)
	rec = wait(waybill.OrderClosed)

	evs, err := a.Storage.DB.OrderEvents(ctx, rec.Order.ID)
	require.NoError(t, err)
	var path []string
	for _, e := range evs {
		path = append(path, string(e.To)+"/"+string(e.Source))
	}
	require.Equal(t, []string{"received/hub", "validated/hub", "accepted/erp", "allocated/erp", "fulfilled/erp", "shipped/erp",
		"invoiced/erp", "closed/payment"}, path)
	traces, err := a.Hub.Trace(ctx, so.Name)
	require.NoError(t, err)
	require.Len(t, traces, 1, "the sale order name finds the chain")
	_ = hub.PollERPChanges{}
}

func deliver(t *testing.T, ctx context.Context, c *odoo.Client, picking int64, qty map[int64]float64) {
	t.Helper()
	ms, err := c.SearchRead(ctx, "stock.move", []any{[]any{"picking_id", "=", picking}}, []string{"id", "product_id", "product_uom_qty"}, nil)
	require.NoError(t, err)
	for _, m := range ms {
		pid := id64(m["product_id"].([]any)[0])
		q, ok := qty[pid]
		if !ok {
			q = f64(m["product_uom_qty"])
		}
		require.NoError(t, c.Write(ctx, "stock.move", []int64{id64(m["id"])}, c.MoveDoneFields(q)))
	}
	res, err := c.Call(ctx, "stock.picking", "button_validate", []any{[]any{picking}}, nil)
	require.NoError(t, err)
	if act, ok := res.(map[string]any); ok {
		wctx, _ := act["context"].(map[string]any)
		ids, err := c.Create(ctx, act["res_model"].(string), []map[string]any{{}}, wctx)
		require.NoError(t, err)
		_, err = c.Call(ctx, act["res_model"].(string), "process", []any{[]any{ids[0]}}, map[string]any{"context": wctx})
		require.NoError(t, err)
	}
}

func invoice(t *testing.T, ctx context.Context, c *odoo.Client, order int64) int64 {
	t.Helper()
	wctx := map[string]any{"active_model": "sale.order", "active_ids": []any{order}, "active_id": order}
	ids, err := c.Create(ctx, "sale.advance.payment.inv", []map[string]any{{"advance_payment_method": "delivered"}}, wctx)
	require.NoError(t, err)
	_, err = c.Call(ctx, "sale.advance.payment.inv", "create_invoices", []any{[]any{ids[0]}}, map[string]any{"context": wctx})
	require.NoError(t, err)
	rs, err := c.SearchRead(ctx, "account.move", []any{[]any{"invoice_origin", "!=", false}}, []string{"id"}, map[string]any{"order": "id desc", "limit": 1})
	require.NoError(t, err)
	return id64(rs[0]["id"])
}

func pay(t *testing.T, ctx context.Context, c *odoo.Client, inv int64) {
	t.Helper()
	wctx := map[string]any{"active_model": "account.move", "active_ids": []any{inv}, "active_id": inv}
	ids, err := c.Create(ctx, "account.payment.register", []map[string]any{{}}, wctx)
	require.NoError(t, err)
	_, err = c.Call(ctx, "account.payment.register", "action_create_payments", []any{[]any{ids[0]}}, map[string]any{"context": wctx})
	require.NoError(t, err)
}

func f64(v any) float64 {
	switch n := v.(type) {
	case float64:
		return n
	case json.Number:
		f, _ := n.Float64()
		return f
	case int64:
		return float64(n)
	}
	return 0
}

func id64(v any) int64 { return int64(f64(v)) }
