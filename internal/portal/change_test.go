package portal_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/odoo"
	"github.com/waybill-hub/waybill/internal/odoo/odoosim"
	"github.com/waybill-hub/waybill/internal/portal"
	"github.com/waybill-hub/waybill/internal/store"
)

// patch sends an edit of an order with its current ETag.
func (b *bundle) patch(t *testing.T, key, id string, edit map[string]any) resp {
	t.Helper()
	cur := b.call(t, key, "GET", "/v1/orders/"+id, nil)
	require.Equal(t, http.StatusOK, cur.Status, "%s", cur.Body)
	return b.call(t, key, "PATCH", "/v1/orders/"+id, edit, "If-Match", cur.Header.Get("ETag"))
}

// get reads an order through the API.
func (b *bundle) get(t *testing.T, key, id string) orderView {
	t.Helper()
	var o orderView
	r := b.call(t, key, "GET", "/v1/orders/"+id, nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	r.json(t, &o)
	return o
}

// lastChange returns the newest change request of an order view.
func lastChange(t *testing.T, o orderView) portal.ChangeRequest {
	t.Helper()
	require.NotEmpty(t, o.ChangeRequests, "order %s has no change request", o.ID)
	return o.ChangeRequests[len(o.ChangeRequests)-1]
}

// decisions returns the change_request.updated events received, decoded.
func decisions(t *testing.T, evs []portal.Event) []portal.ChangeDecision {
	t.Helper()
	var out []portal.ChangeDecision
	for _, ev := range evs {
		if ev.Type != portal.EventChangeRequestUpdated {
			continue
		}
		var d portal.ChangeDecision
		require.NoError(t, json.Unmarshal(ev.Data, &d))
		out = append(out, d)
	}
	return out
}

func (b *bundle) auditKinds(t *testing.T, orderID string) []string {
	t.Helper()
	rec, err := b.db.Order(t.Context(), orderID)
	require.NoError(t, err)
	trail, err := b.db.AuditTrail(t.Context(), rec.Order.CorrelationID)
	require.NoError(t, err)
	var kinds []string
	for _, a := range trail {
		kinds = append(kinds, a.Kind)
	}
	return kinds
}

// TestChangeRequestCancelApplied cancels an accepted order: 202, the ERP cancels the sale order,
// the hub's order follows, and the subscriber hears of both.
func TestChangeRequestCancelApplied(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, be string) {
		b := setup(t, be)
		r := newReceiver(t)
		b.subscribe(t, "acme", r, portal.EventChangeRequestUpdated, portal.EventOrderCancelled)
		o := b.accepted(t, "acme", "PO-CR-C1")

		c := b.call(t, "acme", "POST", "/v1/orders/"+o.ID+"/cancel", nil)
		require.Equal(t, http.StatusAccepted, c.Status, "%s", c.Body)
		var co orderView
		c.json(t, &co)
		require.Equal(t, "cancelled", co.State, "a healthy ERP decides before the answer")
		cr := lastChange(t, co)
		require.Equal(t, "cancel", cr.Kind)
		require.Equal(t, "accepted", cr.State)
		require.False(t, cr.DecidedAt.IsZero())

		rec, err := b.db.Order(t.Context(), o.ID)
		require.NoError(t, err)
		st, err := b.erp.OrderStatus(t.Context(), rec.Order.ERP)
		require.NoError(t, err)
		require.Equal(t, "cancel", st.State, "the sale order is cancelled in the ERP")
		require.Equal(t, "cancelled", states(co.History)[len(co.History)-1])

		evs := r.waitFor(t, 2)
		types := []string{evs[0].Type, evs[1].Type}
		require.ElementsMatch(t, []string{portal.EventChangeRequestUpdated, portal.EventOrderCancelled}, types)
		d := decisions(t, evs)
		require.Len(t, d, 1)
		require.Equal(t, cr.ID, d[0].ChangeRequest.ID)
		require.Equal(t, "accepted", d[0].ChangeRequest.State)
		require.Equal(t, "cancelled", d[0].Order.State)
		require.Contains(t, b.auditKinds(t, o.ID), "order.change_applied")
	})
}

// TestChangeRequestLinesApplied changes the quantities of an accepted order: a changed line
// takes the ERP's quantity and price, a line left out is cancelled, a new item is refused.
func TestChangeRequestLinesApplied(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, be string) {
		b := setup(t, be)
		r := newReceiver(t)
		b.subscribe(t, "acme", r, portal.EventChangeRequestUpdated)
		o := b.accepted(t, "acme", "PO-CR-L1") // line 1 SKU-1 × 5, line 2 SKU-2 × 12
		require.Equal(t, "5", o.Lines[0].Quantity)

		edit := map[string]any{"lines": []map[string]any{
			line("SKU-1", "8", "line_number", "1"),
			line("SKU-3", "6"),
		}}
		res := b.patch(t, "acme", o.ID, edit)
		require.Equal(t, http.StatusAccepted, res.Status, "%s", res.Body)
		var got orderView
		res.json(t, &got)
		cr := lastChange(t, got)
		require.Equal(t, "change", cr.Kind)
		require.Equal(t, "accepted", cr.State)
		require.Contains(t, cr.Reason, "SKU-3: adding items is not supported; place a new order")
		require.Len(t, cr.Lines, 2, "the change request shows what was asked")

		require.Equal(t, "accepted", got.State)
		require.Equal(t, "8", got.Lines[0].Quantity)
		require.Equal(t, "8", got.Lines[0].Accepted)
		require.Equal(t, "88.00", got.Lines[0].Subtotal, "ACME's price of 11")
		require.Equal(t, "0", got.Lines[1].Accepted, "line 2 was left out: cancelled")
		require.Equal(t, "rejected", got.Lines[1].Status)
		require.Equal(t, "88.00", got.Total)

		rec, err := b.db.Order(t.Context(), o.ID)
		require.NoError(t, err)
		st, err := b.erp.OrderStatus(t.Context(), rec.Order.ERP)
		require.NoError(t, err)
		require.Equal(t, "8", st.Lines[0].Quantity.String())
		require.Equal(t, "0", st.Lines[1].Quantity.String(), "the ERP keeps the line at 0")

		d := decisions(t, r.waitFor(t, 1))
		require.Equal(t, "accepted", d[0].ChangeRequest.State)
		require.Equal(t, "8", d[0].Order.Lines[0].Quantity)

		// Nothing new: refused with the reason, and the order is unchanged.
		res = b.patch(t, "acme", o.ID, map[string]any{"notes": "ring twice"})
		require.Equal(t, http.StatusAccepted, res.Status, "%s", res.Body)
		res.json(t, &got)
		cr = lastChange(t, got)
		require.Equal(t, "refused", cr.State)
		require.Equal(t, "notes cannot be changed after acceptance", cr.Reason)
		require.Equal(t, "8", got.Lines[0].Quantity)
		kinds := b.auditKinds(t, o.ID)
		require.Contains(t, kinds, "order.change_applied")
		require.Contains(t, kinds, "order.change_refused")
	})
}

// TestChangeRequestRefusedAfterDelivery asks for less than was delivered, then for a
// cancellation: the ERP refuses both, and the customer sees why.
func TestChangeRequestRefusedAfterDelivery(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, be string) {
		b := setup(t, be)
		r := newReceiver(t)
		b.subscribe(t, "acme", r, portal.EventChangeRequestUpdated, portal.EventOrderCancelled)
		o := b.accepted(t, "acme", "PO-CR-R1")
		b.ship(t, o, map[string]waybill.Decimal{"1": waybill.MustDecimal("5")})

		res := b.patch(t, "acme", o.ID, map[string]any{"lines": []map[string]any{line("SKU-1", "3"), line("SKU-2", "12")}})
		require.Equal(t, http.StatusAccepted, res.Status, "%s", res.Body)
		var got orderView
		res.json(t, &got)
		cr := lastChange(t, got)
		require.Equal(t, "refused", cr.State)
		require.Contains(t, cr.Reason, "the ERP refused the change")
		require.Contains(t, cr.Reason, "5 of line 1 of sale order")
		require.Equal(t, "5", got.Lines[0].Quantity, "the order is unchanged")

		c := b.call(t, "acme", "POST", "/v1/orders/"+o.ID+"/cancel", nil)
		require.Equal(t, http.StatusAccepted, c.Status, "%s", c.Body)
		c.json(t, &got)
		require.Equal(t, "accepted", got.State)
		cr = lastChange(t, got)
		require.Equal(t, "refused", cr.State)
		require.Contains(t, cr.Reason, "has delivered goods and cannot be cancelled")

		// The order view shows both decisions, and the subscriber heard both (and no cancellation).
		got = b.get(t, "acme", o.ID)
		require.Len(t, got.ChangeRequests, 2)
		evs := r.waitFor(t, 2)
		d := decisions(t, evs)
		require.Len(t, d, 2)
		require.Equal(t, "refused", d[0].ChangeRequest.State)
		require.Equal(t, "refused", d[1].ChangeRequest.State)
	})
}

// TestChangeRequestERPDownThenUp files a cancellation while the ERP is down: it stays requested
// while attempts fail, and is applied once the ERP is back. A request whose filer died before
// trying it (only the row exists) is applied too.
func TestChangeRequestERPDownThenUp(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, be string) {
		b := setup(t, be)
		ctx := t.Context()
		o := b.accepted(t, "acme", "PO-CR-D1")
		o2 := b.accepted(t, "acme", "PO-CR-D2")
		b.erp.SetDown(true)

		c := b.call(t, "acme", "POST", "/v1/orders/"+o.ID+"/cancel", nil)
		require.Equal(t, http.StatusAccepted, c.Status, "%s", c.Body)
		var got orderView
		c.json(t, &got)
		require.Equal(t, "accepted", got.State)
		cr := lastChange(t, got)
		require.Equal(t, "requested", cr.State)

		// As if the hub died right after committing a request: no attempt was made.
		rec2, err := b.db.Order(ctx, o2.ID)
		require.NoError(t, err)
		orphan := &store.ChangeRequest{ID: store.NewID("chg"), Account: "ACME", OrderID: o2.ID, Kind: "change",
			Detail: `{"lines":[{"line_number":"1","sku":"SKU-1","quantity":"7"},{"line_number":"2","sku":"SKU-2","quantity":"12"}]}`}
		require.NoError(t, b.db.InTx(ctx, func(tx *store.Tx) error { return tx.InsertChangeRequest(ctx, orphan) }))

		b.eventually(t, 10*time.Second, func() bool {
			c, err := b.db.ChangeRequest(ctx, cr.ID)
			require.NoError(t, err)
			return c.Attempts >= 3
		})
		stored, err := b.db.ChangeRequest(ctx, cr.ID)
		require.NoError(t, err)
		require.Equal(t, store.ChangeRequested, stored.State, "an outage is not a refusal")
		require.Contains(t, stored.LastError, "the ERP is down")
		require.Equal(t, "accepted", b.get(t, "acme", o.ID).State)

		b.erp.SetDown(false)
		b.eventually(t, 20*time.Second, func() bool {
			return b.get(t, "acme", o.ID).State == "cancelled" && lastChange(t, b.get(t, "acme", o2.ID)).State == "accepted"
		})
		require.Equal(t, "accepted", lastChange(t, b.get(t, "acme", o.ID)).State)
		st, err := b.erp.OrderStatus(ctx, rec2.Order.ERP)
		require.NoError(t, err)
		require.Equal(t, "7", st.Lines[0].Quantity.String())
		require.Equal(t, "7", b.get(t, "acme", o2.ID).Lines[0].Quantity)
	})
}

// TestChangeRequestsInOrder files two changes of one order while the ERP is down: the older is
// applied first, so the newer one's quantity stands.
func TestChangeRequestsInOrder(t *testing.T) {
	t.Parallel()
	b := setup(t, "sqlite")
	o := b.accepted(t, "acme", "PO-CR-O1")
	b.erp.SetDown(true)
	for _, qty := range []string{"6", "9"} {
		res := b.patch(t, "acme", o.ID, map[string]any{"lines": []map[string]any{line("SKU-1", qty), line("SKU-2", "12")}})
		require.Equal(t, http.StatusAccepted, res.Status, "%s", res.Body)
	}
	b.erp.SetDown(false)
	b.eventually(t, 20*time.Second, func() bool {
		got := b.get(t, "acme", o.ID)
		return len(got.ChangeRequests) == 2 && got.ChangeRequests[0].State == "accepted" && got.ChangeRequests[1].State == "accepted"
	})
	got := b.get(t, "acme", o.ID)
	require.Equal(t, "9", got.Lines[0].Quantity)
	require.True(t, !got.ChangeRequests[1].DecidedAt.Before(got.ChangeRequests[0].DecidedAt), "decided in the order filed")
}

// setupOdooFast is setupOdoo with a circuit breaker that cools down in half a second, so that an
// outage of the simulator ends quickly for the connector too, and the portal configured by mods.
// It also returns the connector, for the test to act as Odoo's users do.
func setupOdooFast(t *testing.T, mods ...func(*portal.Config)) (*bundle, *odoosim.Server, *odoo.Client) {
	t.Helper()
	sim := odoosim.New(odoosim.Options{Version: "19.0", Database: "sim"})
	sim.SeedDemo()
	srv := httptest.NewServer(sim)
	t.Cleanup(func() { srv.Close(); sim.Close() })
	oc := odoo.Default()
	oc.URL, oc.Database, oc.User, oc.APIKey = srv.URL, "sim", "admin", "sim-admin-key"
	oc.Breaker.Cooldown = 500 * time.Millisecond
	c, err := odoo.New(context.Background(), oc)
	require.NoError(t, err)
	return setupWith(t, "sqlite", c, mods...), sim, c
}

// odooLines reads the quantities of a sale order's lines in Odoo, in order.
func odooLines(t *testing.T, c *odoo.Client, so int64) []float64 {
	t.Helper()
	rows, err := c.SearchRead(context.Background(), "sale.order.line", []any{[]any{"order_id", "=", so}}, []string{"product_uom_qty"},
		map[string]any{"order": "sequence, id"})
	require.NoError(t, err)
	var out []float64
	for _, r := range rows {
		out = append(out, numberOf(t, r["product_uom_qty"]))
	}
	return out
}

func odooState(t *testing.T, c *odoo.Client, so int64) string {
	t.Helper()
	rows, err := c.SearchRead(context.Background(), "sale.order", []any{[]any{"id", "=", so}}, []string{"state"}, nil)
	require.NoError(t, err)
	require.Len(t, rows, 1)
	s, _ := rows[0]["state"].(string)
	return s
}

// TestOdooChangeRequests runs change requests through the Odoo connector against the
// simulator: a quantity change and a cancellation after acceptance (in Odoo's sale order), a
// change filed while Odoo is unreachable (applied when it is back), and a change refused once the
// order shipped.
func TestOdooChangeRequests(t *testing.T) {
	t.Parallel()
	b, sim, c := setupOdooFast(t)
	ctx := t.Context()
	r := newReceiver(t)
	b.subscribe(t, "acme", r, portal.EventChangeRequestUpdated, portal.EventOrderCancelled)
	place := func(po string) (orderView, int64) {
		t.Helper()
		res := b.call(t, "acme", "POST", "/v1/orders", order(po, line("WID-10", "5"), line("BLT-M8", "10")), "Idempotency-Key", po)
		require.Equal(t, http.StatusCreated, res.Status, "%s", res.Body)
		var o orderView
		res.json(t, &o)
		rec, err := b.db.Order(ctx, o.ID)
		require.NoError(t, err)
		return o, rec.Order.ERP.ID
	}

	// A quantity change after acceptance: Odoo's sale order line changes.
	o, so := place("PO-ODOO-CR1")
	require.Equal(t, []float64{5, 10}, odooLines(t, c, so))
	res := b.patch(t, "acme", o.ID, map[string]any{"lines": []map[string]any{line("WID-10", "8", "line_number", "1"), line("BLT-M8", "10", "line_number", "2")}})
	require.Equal(t, http.StatusAccepted, res.Status, "%s", res.Body)
	var got orderView
	res.json(t, &got)
	require.Equal(t, "accepted", lastChange(t, got).State, "%s", res.Body)
	require.Equal(t, []float64{8, 10}, odooLines(t, c, so))
	require.Equal(t, "8", got.Lines[0].Quantity)
	require.Equal(t, "11", got.Lines[0].UnitPrice, "Odoo's price for ACME")

	// A cancellation after acceptance: Odoo cancels the sale order, the hub follows.
	o2, so2 := place("PO-ODOO-CR2")
	res = b.call(t, "acme", "POST", "/v1/orders/"+o2.ID+"/cancel", nil)
	require.Equal(t, http.StatusAccepted, res.Status, "%s", res.Body)
	res.json(t, &got)
	require.Equal(t, "cancelled", got.State)
	require.Equal(t, "cancel", odooState(t, c, so2))
	evs := r.waitFor(t, 3)
	var cancelled int
	for _, ev := range evs {
		if ev.Type == portal.EventOrderCancelled {
			cancelled++
		}
	}
	require.Equal(t, 1, cancelled)
	require.Len(t, decisions(t, evs), 2)

	// Odoo unreachable: the change waits, and is applied when Odoo is back.
	o3, so3 := place("PO-ODOO-CR3")
	sim.Faults().SetErrorRate(1, http.StatusBadGateway)
	res = b.patch(t, "acme", o3.ID, map[string]any{"lines": []map[string]any{line("WID-10", "2"), line("BLT-M8", "10")}})
	require.Equal(t, http.StatusAccepted, res.Status, "%s", res.Body)
	res.json(t, &got)
	require.Equal(t, "requested", lastChange(t, got).State)
	cr3 := lastChange(t, got).ID
	b.eventually(t, 20*time.Second, func() bool {
		c, err := b.db.ChangeRequest(ctx, cr3)
		require.NoError(t, err)
		return c.Attempts >= 2
	})
	sim.Faults().SetErrorRate(0, 0)
	b.eventually(t, 30*time.Second, func() bool { return lastChange(t, b.get(t, "acme", o3.ID)).State == "accepted" })
	require.Equal(t, []float64{2, 10}, odooLines(t, c, so3))

	// Shipped: Odoo's delivery is done and change capture moved the order on; a change is refused
	// with the reason, and Odoo's order is untouched.
	deliverAll(t, c, so)
	b.eventually(t, 20*time.Second, func() bool {
		_, err := b.hub.PollChanges(ctx)
		require.NoError(t, err)
		_, err = b.hub.ReconcileOpen(ctx, 0, 100)
		require.NoError(t, err)
		return b.get(t, "acme", o.ID).State != "accepted"
	})
	res = b.patch(t, "acme", o.ID, map[string]any{"lines": []map[string]any{line("WID-10", "1"), line("BLT-M8", "10")}})
	require.Equal(t, http.StatusAccepted, res.Status, "%s", res.Body)
	res.json(t, &got)
	cr := lastChange(t, got)
	require.Equal(t, "refused", cr.State)
	require.Contains(t, cr.Reason, "order PO-ODOO-CR1 is "+got.State)
	require.Equal(t, []float64{8, 10}, odooLines(t, c, so))
}

// TestOdooCancelBeforeAcceptance cancels an order Odoo has not accepted (it is unreachable): the
// hub cancels it alone (200), and Odoo never gets a sale order for it, even once it is back.
func TestOdooCancelBeforeAcceptance(t *testing.T) {
	t.Parallel()
	b, sim, c := setupOdooFast(t)
	jobs, unsubscribe := b.q.Subscribe()
	defer unsubscribe()
	sim.Faults().SetErrorRate(1, http.StatusBadGateway)
	res := b.call(t, "acme", "POST", "/v1/orders", order("PO-ODOO-CR0", line("WID-10", "5")), "Idempotency-Key", "cr0")
	require.Equal(t, http.StatusAccepted, res.Status, "%s", res.Body)
	var o orderView
	res.json(t, &o)
	res = b.call(t, "acme", "POST", "/v1/orders/"+o.ID+"/cancel", nil)
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	res.json(t, &o)
	require.Equal(t, "cancelled", o.State)
	require.Empty(t, o.ChangeRequests)
	sim.Faults().SetErrorRate(0, 0)

	// The submission job, retrying, finds the order cancelled and completes without sending it.
	deadline := time.After(30 * time.Second)
	for done := false; !done; {
		select {
		case f := <-jobs:
			done = f.Kind == "submit_order" && f.State == "completed"
		case <-deadline:
			t.Fatal("the submission job did not complete")
		}
	}
	var rows []map[string]any
	b.eventually(t, 10*time.Second, func() bool { // the breaker cools down
		var err error
		rows, err = c.SearchRead(t.Context(), "sale.order", []any{[]any{"client_order_ref", "=", "PO-ODOO-CR0"}}, []string{"id"}, nil)
		return err == nil
	})
	require.Empty(t, rows, "Odoo never got the order")
	recs, err := b.db.PortalOrders(t.Context(), store.PortalOrderFilter{Account: "ACME", PONumber: "PO-ODOO-CR0"})
	require.NoError(t, err)
	require.Equal(t, waybill.OrderCancelled, recs[0].Order.State)
}

// deliverAll validates the outgoing transfers of a sale order in Odoo for their full demand, as
// a warehouse user does.
func deliverAll(t *testing.T, c *odoo.Client, so int64) {
	t.Helper()
	ctx := context.Background()
	picks, err := c.SearchRead(ctx, "stock.picking", []any{[]any{"sale_id", "=", so}, []any{"state", "not in", []any{"done", "cancel"}}},
		[]string{"id"}, nil)
	require.NoError(t, err)
	require.NotEmpty(t, picks)
	for _, p := range picks {
		id := int64(numberOf(t, p["id"]))
		moves, err := c.SearchRead(ctx, "stock.move", []any{[]any{"picking_id", "=", id}}, []string{"id", "product_uom_qty"}, nil)
		require.NoError(t, err)
		for _, m := range moves {
			require.NoError(t, c.Write(ctx, "stock.move", []int64{int64(numberOf(t, m["id"]))}, c.MoveDoneFields(numberOf(t, m["product_uom_qty"]))))
		}
		res, err := c.Call(ctx, "stock.picking", "button_validate", []any{[]any{id}}, nil)
		require.NoError(t, err)
		if act, ok := res.(map[string]any); ok { // a wizard (backorder, immediate transfer)
			wctx, _ := act["context"].(map[string]any)
			ids, err := c.Create(ctx, act["res_model"].(string), []map[string]any{{}}, wctx)
			require.NoError(t, err)
			_, err = c.Call(ctx, act["res_model"].(string), "process", []any{[]any{ids[0]}}, map[string]any{"context": wctx})
			require.NoError(t, err)
		}
	}
}

func numberOf(t *testing.T, v any) float64 {
	t.Helper()
	switch n := v.(type) {
	case float64:
		return n
	case int64:
		return float64(n)
	case json.Number:
		f, err := n.Float64()
		require.NoError(t, err)
		return f
	}
	t.Fatalf("not a number: %T %v", v, v)
	return 0
}
