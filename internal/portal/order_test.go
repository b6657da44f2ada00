package portal_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/portal"
	"github.com/waybill-hub/waybill/internal/store"
)

func TestOrderAccepted(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, be string) {
		b := setup(t, be)
		r := b.call(t, "acme", "POST", "/v1/orders", order("PO-1"), "Idempotency-Key", "k1")
		require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
		var o orderView
		r.json(t, &o)
		require.Equal(t, "accepted", o.State)
		require.NotEmpty(t, o.ERPOrder)
		require.Equal(t, "ACME", o.Account)
		require.Equal(t, "/v1/orders/"+o.ID, r.Header.Get("Location"))
		require.Len(t, o.Lines, 2)
		require.Equal(t, "11", o.Lines[0].UnitPrice, "the ACME contract price, not the list price")
		require.Equal(t, "55.00", o.Lines[0].Subtotal)
		require.Equal(t, "3.1", o.Lines[1].UnitPrice)
		require.Equal(t, "92.20", o.Total)
		require.Equal(t, "accepted", o.Lines[0].Status)
		require.Equal(t, "0", o.Lines[0].Backordered)
		require.False(t, o.Lines[0].PromisedDate.IsZero())

		g := b.call(t, "acme", "GET", "/v1/orders/"+o.ID, nil)
		require.Equal(t, http.StatusOK, g.Status)
		var got orderView
		g.json(t, &got)
		require.Equal(t, []string{"received", "validated", "accepted"}, states(got.History))
		require.NotEmpty(t, g.Header.Get("ETag"))

		l := b.call(t, "acme", "GET", "/v1/orders?po_number=PO-1", nil)
		var list struct{ Items []orderView }
		l.json(t, &list)
		require.Len(t, list.Items, 1)
		require.Equal(t, o.ID, list.Items[0].ID)

		// The portal order is an order of the hub like any other: same lifecycle, same trace.
		rec, err := b.db.Order(context.Background(), o.ID)
		require.NoError(t, err)
		require.Equal(t, waybill.ChannelPortal, rec.Order.Channel)
		traces, err := b.hub.Trace(context.Background(), "PO-1")
		require.NoError(t, err)
		require.Len(t, traces, 1)
	})
}

func states(evs []portal.OrderEvent) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.To)
	}
	return out
}

func TestOrderBackordered(t *testing.T) {
	t.Parallel()
	b := setup(t, "sqlite")
	b.erp.SetStock("SKU-2", waybill.MustDecimal("5"))
	r := b.call(t, "acme", "POST", "/v1/orders", order("PO-BO"), "Idempotency-Key", "k1")
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	var o orderView
	r.json(t, &o)
	require.Equal(t, "accepted", o.Lines[0].Status)
	require.Equal(t, "backordered", o.Lines[1].Status)
	require.Equal(t, "12", o.Lines[1].Accepted)
	require.Equal(t, "7", o.Lines[1].Backordered)
	require.True(t, o.Lines[1].PromisedDate.After(o.Lines[0].PromisedDate), "a backordered line is promised later")

	// Without backorders allowed the same order is refused, line by line.
	req := order("PO-BO2")
	req["allow_backorder"] = false
	r = b.call(t, "acme", "POST", "/v1/orders", req, "Idempotency-Key", "k2")
	require.Equal(t, http.StatusUnprocessableEntity, r.Status)
	p := r.problem(t)
	require.Equal(t, portal.ProblemBase+portal.ProbOrderRejected, p.Type)
	require.Len(t, p.Errors, 1)
	require.Equal(t, "body.lines[1].quantity", p.Errors[0].Location)
}

func TestOrderRejectedPerLine(t *testing.T) {
	t.Parallel()
	b := setup(t, "sqlite")
	r := b.call(t, "acme", "POST", "/v1/orders", order("PO-BAD",
		line("SKU-1", "5", "unit_price", "12.50"), // the list price, not ACME's
		line("NOPE", "1"),                         // not in the catalog
		line("SKU-3", "4"),                        // below the minimum
		line("SKU-3", "10", "line_number", "9"),   // not a multiple of 6
		line("SKU-2", "1", "unit_price", "3.10"),  // fine
	), "Idempotency-Key", "k1")
	require.Equal(t, http.StatusUnprocessableEntity, r.Status, "%s", r.Body)
	p := r.problem(t)
	require.Equal(t, portal.ProblemBase+portal.ProbOrderRejected, p.Type)
	var locs []string
	for _, e := range p.Errors {
		locs = append(locs, e.Location)
	}
	require.Equal(t, []string{"body.lines[0].unit_price", "body.lines[1].sku", "body.lines[2].quantity", "body.lines[3].quantity"}, locs)
	require.Contains(t, p.Errors[0].Message, "11")
	require.Zero(t, b.erp.Stats().Orders, "nothing reached the ERP")

	// The same key and body answers the same rejection.
	again := b.call(t, "acme", "POST", "/v1/orders", order("PO-BAD",
		line("SKU-1", "5", "unit_price", "12.50"), line("NOPE", "1"), line("SKU-3", "4"), line("SKU-3", "10", "line_number", "9"),
		line("SKU-2", "1", "unit_price", "3.10")), "Idempotency-Key", "k1")
	require.Equal(t, r.Status, again.Status)
	require.JSONEq(t, string(r.Body), string(again.Body))

	// Schema violations are problems too, with field-level details.
	r = b.call(t, "acme", "POST", "/v1/orders", `{"po_number":"","lines":[]}`, "Idempotency-Key", "k2")
	require.Equal(t, http.StatusUnprocessableEntity, r.Status)
	p = r.problem(t)
	require.Equal(t, portal.ProblemBase+portal.ProbValidation, p.Type)
	require.NotEmpty(t, p.Errors)
}

func TestIdempotentRetry(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, be string) {
		b := setup(t, be)
		first := b.call(t, "acme", "POST", "/v1/orders", order("PO-I"), "Idempotency-Key", "same")
		require.Equal(t, http.StatusCreated, first.Status)
		second := b.call(t, "acme", "POST", "/v1/orders", order("PO-I"), "Idempotency-Key", "same")
		require.Equal(t, http.StatusCreated, second.Status)
		require.Equal(t, "true", second.Header.Get("Idempotent-Replayed"))
		var a, c orderView
		first.json(t, &a)
		second.json(t, &c)
		require.Equal(t, a.ID, c.ID)
		require.Equal(t, a.ERPOrder, c.ERPOrder)
		require.Equal(t, 1, b.erp.Stats().Orders)

		other := b.call(t, "acme", "POST", "/v1/orders", order("PO-I2"), "Idempotency-Key", "same")
		require.Equal(t, http.StatusConflict, other.Status)
		require.Equal(t, portal.ProblemBase+portal.ProbIdempotencyConflict, other.problem(t).Type)

		// The same key of another client is another request.
		g := b.call(t, "globex", "POST", "/v1/orders", order("PO-I"), "Idempotency-Key", "same")
		require.Equal(t, http.StatusCreated, g.Status)
		require.Equal(t, 2, b.erp.Stats().Orders)

		// A new key for a PO number already received is a conflict, not a second order.
		dup := b.call(t, "acme", "POST", "/v1/orders", order("PO-I", line("SKU-1", "1")), "Idempotency-Key", "new")
		require.Equal(t, http.StatusConflict, dup.Status, "%s", dup.Body)
		require.Equal(t, 2, b.erp.Stats().Orders)
	})
}

func TestERPDownThenRecovered(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, be string) {
		b := setup(t, be, func(c *portal.Config) { c.OrderWait = 400 * time.Millisecond })
		// Warm the catalog, then lose the ERP.
		require.Equal(t, http.StatusOK, b.call(t, "acme", "GET", "/v1/catalog", nil).Status)
		b.erp.SetDown(true)
		r := b.call(t, "acme", "POST", "/v1/orders", order("PO-DOWN"), "Idempotency-Key", "k1")
		require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Body)
		var o orderView
		r.json(t, &o)
		require.Equal(t, "validated", o.State)
		require.Equal(t, "/v1/orders/"+o.ID, r.Header.Get("Location"))

		b.erp.SetDown(false)
		b.eventually(t, 10*time.Second, func() bool {
			var got orderView
			b.call(t, "acme", "GET", o.StatusURL, nil).json(t, &got)
			return got.State == "accepted"
		})
		// The retry with the same key now gets the acceptance.
		again := b.call(t, "acme", "POST", "/v1/orders", order("PO-DOWN"), "Idempotency-Key", "k1")
		require.Equal(t, http.StatusCreated, again.Status, "%s", again.Body)
		require.Equal(t, 1, b.erp.Stats().Orders)
		require.Zero(t, b.erp.Stats().MaxCreates-1)
	})
}

func TestCancel(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, be string) {
		b := setup(t, be, func(c *portal.Config) { c.OrderWait = 300 * time.Millisecond })
		require.Equal(t, http.StatusOK, b.call(t, "acme", "GET", "/v1/catalog", nil).Status)

		// Before acceptance: cancelled at once, and the ERP never sees it.
		b.erp.SetDown(true)
		r := b.call(t, "acme", "POST", "/v1/orders", order("PO-C1"), "Idempotency-Key", "k1")
		require.Equal(t, http.StatusAccepted, r.Status)
		var o orderView
		r.json(t, &o)
		stale := b.call(t, "acme", "POST", "/v1/orders/"+o.ID+"/cancel", nil, "If-Match", `"v0"`)
		require.Equal(t, http.StatusPreconditionFailed, stale.Status)
		cur := b.call(t, "acme", "GET", "/v1/orders/"+o.ID, nil)
		c := b.call(t, "acme", "POST", "/v1/orders/"+o.ID+"/cancel", nil, "If-Match", cur.Header.Get("ETag"))
		require.Equal(t, http.StatusOK, c.Status, "%s", c.Body)
		var co orderView
		c.json(t, &co)
		require.Equal(t, "cancelled", co.State)
		b.erp.SetDown(false)

		// After acceptance: a change request, which the ERP (answering at once) applies.
		r = b.call(t, "acme", "POST", "/v1/orders", order("PO-C2"), "Idempotency-Key", "k2")
		require.Equal(t, http.StatusCreated, r.Status)
		r.json(t, &o)
		c = b.call(t, "acme", "POST", "/v1/orders/"+o.ID+"/cancel", nil)
		require.Equal(t, http.StatusAccepted, c.Status, "%s", c.Body)
		c.json(t, &co)
		require.Equal(t, "cancelled", co.State)
		require.Len(t, co.ChangeRequests, 1)
		require.Equal(t, "cancel", co.ChangeRequests[0].Kind)
		require.Equal(t, "accepted", co.ChangeRequests[0].State)

		// A final order cannot be cancelled.
		c = b.call(t, "acme", "POST", "/v1/orders/"+co.ID+"/cancel", nil)
		require.Equal(t, http.StatusConflict, c.Status)
		again := b.call(t, "acme", "POST", "/v1/orders/"+cancelledID(t, b)+"/cancel", nil)
		require.Equal(t, http.StatusConflict, again.Status)
		require.Equal(t, portal.ProblemBase+portal.ProbNotEditable, again.problem(t).Type)
		// The ERP never received the order cancelled before acceptance.
		recs, err := b.db.PortalOrders(context.Background(), store.PortalOrderFilter{Account: "ACME", PONumber: "PO-C1"})
		require.NoError(t, err)
		require.True(t, recs[0].Order.ERP.IsZero())
	})
}

func cancelledID(t *testing.T, b *bundle) string {
	var list struct{ Items []orderView }
	b.call(t, "acme", "GET", "/v1/orders?state=cancelled", nil).json(t, &list)
	require.NotEmpty(t, list.Items)
	return list.Items[0].ID
}

func TestEditHeldOrderThenChangeRequest(t *testing.T) {
	t.Parallel()
	b := setup(t, "sqlite")
	ctx := context.Background()
	// NEWCO is not a customer in the ERP yet: its order is held for a person.
	b.key(t, "newco", []string{"NEWCO"}, "*")
	r := b.call(t, "newco", "POST", "/v1/orders", order("PO-E1"), "Idempotency-Key", "k1")
	require.Equal(t, http.StatusUnprocessableEntity, r.Status, "%s", r.Body)
	require.Equal(t, portal.ProblemBase+portal.ProbOrderOnHold, r.problem(t).Type)
	var list struct{ Items []orderView }
	b.call(t, "newco", "GET", "/v1/orders", nil).json(t, &list)
	require.Len(t, list.Items, 1)
	o := list.Items[0]
	require.Equal(t, "on_hold", o.State)

	edit := map[string]any{"notes": "leave at dock 4", "lines": []map[string]any{{"sku": "SKU-1", "quantity": "7"}}}
	require.Equal(t, http.StatusPreconditionRequired, b.call(t, "newco", "PATCH", "/v1/orders/"+o.ID, edit).Status)
	cur := b.call(t, "newco", "GET", "/v1/orders/"+o.ID, nil)
	e := b.call(t, "newco", "PATCH", "/v1/orders/"+o.ID, edit, "If-Match", cur.Header.Get("ETag"))
	require.Equal(t, http.StatusOK, e.Status, "%s", e.Body)
	require.NotEqual(t, cur.Header.Get("ETag"), e.Header.Get("ETag"))
	stale := b.call(t, "newco", "PATCH", "/v1/orders/"+o.ID, edit, "If-Match", cur.Header.Get("ETag"))
	require.Equal(t, http.StatusPreconditionFailed, stale.Status)

	// The operator adds the customer and replays: the ERP accepts the order as edited.
	b.erp.AddCustomer("NEWCO", "New Co")
	dls, err := b.db.DeadLetters(ctx, store.DeadLetterFilter{})
	require.NoError(t, err)
	require.Len(t, dls, 1)
	require.NoError(t, b.hub.Replay(ctx, dls[0].ID, "ops"))
	b.eventually(t, 10*time.Second, func() bool {
		var got orderView
		b.call(t, "newco", "GET", o.StatusURL, nil).json(t, &got)
		o = got
		return got.State == "accepted"
	})
	require.Len(t, o.Lines, 1)
	require.Equal(t, "7", o.Lines[0].Quantity)
	require.Equal(t, "87.50", o.Total)

	// After acceptance an edit is a change request.
	cur = b.call(t, "newco", "GET", "/v1/orders/"+o.ID, nil)
	cr := b.call(t, "newco", "PATCH", "/v1/orders/"+o.ID, edit, "If-Match", cur.Header.Get("ETag"))
	require.Equal(t, http.StatusAccepted, cr.Status, "%s", cr.Body)
	var after orderView
	cr.json(t, &after)
	require.Len(t, after.ChangeRequests, 1)
	require.Equal(t, "change", after.ChangeRequests[0].Kind)
}

func TestEditWhileSubmittingRefused(t *testing.T) {
	t.Parallel()
	b := setup(t, "sqlite", func(c *portal.Config) { c.OrderWait = 300 * time.Millisecond })
	require.Equal(t, http.StatusOK, b.call(t, "acme", "GET", "/v1/catalog", nil).Status)
	b.erp.SetDown(true)
	r := b.call(t, "acme", "POST", "/v1/orders", order("PO-E2"), "Idempotency-Key", "k1")
	require.Equal(t, http.StatusAccepted, r.Status)
	var o orderView
	r.json(t, &o)
	cur := b.call(t, "acme", "GET", "/v1/orders/"+o.ID, nil)
	e := b.call(t, "acme", "PATCH", "/v1/orders/"+o.ID, map[string]any{"notes": "x"}, "If-Match", cur.Header.Get("ETag"))
	require.Equal(t, http.StatusConflict, e.Status)
	require.Equal(t, portal.ProblemBase+portal.ProbNotEditable, e.problem(t).Type)
	b.erp.SetDown(false)
}
