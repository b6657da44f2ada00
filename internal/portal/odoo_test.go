package portal_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/waybill-hub/waybill/internal/odoo"
	"github.com/waybill-hub/waybill/internal/odoo/odoosim"
	"github.com/waybill-hub/waybill/internal/portal"
)

// setupOdoo runs the portal over the Odoo connector talking to the Odoo simulator (Odoo 19,
// JSON-2, demo data: customers ACME, GLOBEX, INITECH; products WID-10, WID-20, GAD-PRO, ...).
func setupOdoo(t *testing.T) (*bundle, *odoosim.Server) {
	t.Helper()
	b, sim, _ := setupOdooClient(t)
	return b, sim
}

// setupOdooClient is setupOdoo that also returns a connector of its own to the simulator, for
// the tests to act as Odoo's users do (validating transfers, invoicing).
func setupOdooClient(t *testing.T) (*bundle, *odoosim.Server, *odoo.Client) {
	t.Helper()
	sim := odoosim.New(odoosim.Options{Version: "19.0", Database: "sim"})
	sim.SeedDemo()
	srv := httptest.NewServer(sim)
	t.Cleanup(func() { srv.Close(); sim.Close() })
	oc := odoo.Default()
	oc.URL, oc.Database, oc.User, oc.APIKey = srv.URL, "sim", "admin", "sim-admin-key"
	c, err := odoo.New(context.Background(), oc)
	require.NoError(t, err)
	user, err := odoo.New(context.Background(), oc)
	require.NoError(t, err)
	return setupWith(t, "sqlite", c), sim, user
}

func TestOdooOrderAccepted(t *testing.T) {
	t.Parallel()
	b, _ := setupOdoo(t)
	r := b.call(t, "acme", "POST", "/v1/orders", order("PO-ODOO-1", line("WID-10", "5"), line("BLT-M8", "10")), "Idempotency-Key", "k1")
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	var o orderView
	r.json(t, &o)
	require.Equal(t, "accepted", o.State)
	require.Regexp(t, `^S\d+`, o.ERPOrder, "an Odoo sale order name")
	require.Equal(t, "11", o.Lines[0].UnitPrice, "ACME's pricelist price of WID-10, as Odoo computed it")

	// Tracking goes to Odoo for the sale order's deliveries.
	g := b.call(t, "acme", "GET", "/v1/orders/"+o.ID, nil)
	require.Equal(t, http.StatusOK, g.Status, "%s", g.Body)
	var got orderView
	g.json(t, &got)
	require.False(t, got.TrackingStale)

	// An idempotent retry gives the same sale order.
	again := b.call(t, "acme", "POST", "/v1/orders", order("PO-ODOO-1", line("WID-10", "5"), line("BLT-M8", "10")), "Idempotency-Key", "k1")
	require.Equal(t, http.StatusCreated, again.Status)
	var o2 orderView
	again.json(t, &o2)
	require.Equal(t, o.ERPOrder, o2.ERPOrder)
}

func TestOdooOrderRejected(t *testing.T) {
	t.Parallel()
	b, _ := setupOdoo(t)
	// Refused up front from the Odoo catalog: nothing reaches Odoo's sale orders.
	r := b.call(t, "acme", "POST", "/v1/orders", order("PO-ODOO-2", line("NO-SUCH", "1"), line("WID-10", "5", "unit_price", "12.50")), "Idempotency-Key", "k1")
	require.Equal(t, http.StatusUnprocessableEntity, r.Status, "%s", r.Body)
	p := r.problem(t)
	require.Equal(t, portal.ProblemBase+portal.ProbOrderRejected, p.Type)
	require.Len(t, p.Errors, 2)
	require.Equal(t, "body.lines[0].sku", p.Errors[0].Location)
	require.Equal(t, "body.lines[1].unit_price", p.Errors[1].Location, "12.50 is the list price; ACME's pricelist says 11")
}

func TestOdooCatalogAndBilling(t *testing.T) {
	t.Parallel()
	b, _ := setupOdoo(t)
	var it portal.CatalogItem
	r := b.call(t, "acme", "GET", "/v1/catalog/WID-10", nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	r.json(t, &it)
	require.Equal(t, "11", it.Price.UnitPrice)
	require.Len(t, it.PriceBreaks, 2)
	require.Equal(t, "100", it.PriceBreaks[1].MinQuantity)
	require.Equal(t, "10", it.PriceBreaks[1].UnitPrice)
	require.Contains(t, it.Price.Rule, "product.pricelist.item/")
	// GLOBEX has no pricelist: list prices.
	b.call(t, "globex", "GET", "/v1/catalog/WID-10", nil).json(t, &it)
	require.Equal(t, "12.5", it.Price.UnitPrice)

	var av struct{ Items []portal.Availability }
	b.call(t, "acme", "GET", "/v1/availability?sku=WID-10,PAL-WRP", nil).json(t, &av)
	require.Len(t, av.Items, 2)

	var invs struct{ Items []portal.Invoice }
	g := b.call(t, "acme", "GET", "/v1/invoices", nil)
	require.Equal(t, http.StatusOK, g.Status, "%s", g.Body)
	g.json(t, &invs)
	var st portal.Statement
	s := b.call(t, "acme", "GET", "/v1/statement", nil)
	require.Equal(t, http.StatusOK, s.Status, "%s", s.Body)
	s.json(t, &st)
	require.Equal(t, "0.00", st.Balance)
}

// TestOdooReturnCredited takes part of a delivered and invoiced order back through the portal:
// Odoo makes the return transfer at once, the warehouse receives it, and the dispatcher follows
// the RMA to credited with Odoo's credit note, telling the subscriber.
func TestOdooReturnCredited(t *testing.T) {
	t.Parallel()
	b, _, c := setupOdooClient(t)
	ctx := t.Context()
	r := newReceiver(t)
	b.subscribe(t, "acme", r, portal.EventReturnUpdated)
	res := b.call(t, "acme", "POST", "/v1/orders", order("PO-ODOO-RET", line("WID-10", "5"), line("BLT-M8", "10")), "Idempotency-Key", "ret")
	require.Equal(t, http.StatusCreated, res.Status, "%s", res.Body)
	var o orderView
	res.json(t, &o)
	require.Equal(t, "accepted", o.State)
	rec, err := b.db.Order(ctx, o.ID)
	require.NoError(t, err)
	so := rec.Order.ERP.ID

	// The warehouse ships everything; accounting invoices and posts.
	st, err := c.OrderStatus(ctx, rec.Order.ERP)
	require.NoError(t, err)
	require.Len(t, st.Deliveries, 1)
	_, err = c.Method(ctx, "stock.picking", "button_validate", []int64{st.Deliveries[0].Ref.ID}, nil)
	require.NoError(t, err)
	wctx := map[string]any{"active_model": "sale.order", "active_ids": []any{so}, "active_id": so}
	w, err := c.Create(ctx, "sale.advance.payment.inv", []map[string]any{{"advance_payment_method": "delivered"}}, wctx)
	require.NoError(t, err)
	_, err = c.Method(ctx, "sale.advance.payment.inv", "create_invoices", w, wctx)
	require.NoError(t, err)
	st, err = c.OrderStatus(ctx, rec.Order.ERP)
	require.NoError(t, err)
	require.Len(t, st.Invoices, 1)
	_, err = c.Method(ctx, "account.move", "action_post", []int64{st.Invoices[0].Ref.ID}, nil)
	require.NoError(t, err)

	// Two of the five widgets come back.
	res = b.call(t, "acme", "POST", "/v1/returns", map[string]any{"order_id": o.ID, "reason": "damaged",
		"lines": []map[string]any{{"line_number": "1", "quantity": "2"}}})
	require.Equal(t, http.StatusCreated, res.Status, "%s", res.Body)
	var ret portal.Return
	res.json(t, &ret)
	require.Equal(t, "approved", ret.State, "%s", ret.Reason)
	require.Regexp(t, `^WH/IN/\d+$`, ret.ERPReturn, "Odoo's return transfer")

	// Four more is above what is left to return.
	res = b.call(t, "acme", "POST", "/v1/returns", map[string]any{"order_id": o.ID,
		"lines": []map[string]any{{"line_number": "1", "quantity": "4"}}})
	require.Equal(t, http.StatusUnprocessableEntity, res.Status, "%s", res.Body)

	// The warehouse receives the return; the dispatcher finds it and the credit note.
	picks, err := c.SearchRead(ctx, "stock.picking", []any{[]any{"name", "=", ret.ERPReturn}}, []string{"id"}, nil)
	require.NoError(t, err)
	require.Len(t, picks, 1)
	id, _ := picks[0]["id"].(json.Number).Int64()
	_, err = c.Method(ctx, "stock.picking", "button_validate", []int64{id}, nil)
	require.NoError(t, err)
	var got portal.Return
	b.eventually(t, 10*time.Second, func() bool {
		b.call(t, "acme", "GET", "/v1/returns/"+ret.ID, nil).json(t, &got)
		return got.State == "credited"
	})
	require.Regexp(t, `^RINV/\d{4}/\d+$`, got.Credit, "Odoo's credit note number")
	require.Equal(t, ret.ERPReturn, got.ERPReturn)
	marked, err := c.SearchRead(ctx, "stock.picking", []any{[]any{"origin", "=", c.HubRef(ret.ID)}}, []string{"id"}, nil)
	require.NoError(t, err)
	require.Len(t, marked, 1, "one Odoo return transfer per RMA")

	evs := r.waitFor(t, 2)
	var last portal.Return
	require.Equal(t, portal.EventReturnUpdated, evs[len(evs)-1].Type)
	require.NoError(t, json.Unmarshal(evs[len(evs)-1].Data, &last))
	require.Equal(t, "credited", last.State)
	require.Equal(t, got.Credit, last.Credit)
}
